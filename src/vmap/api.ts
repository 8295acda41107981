/**
 * `vmap(f, {inAxes, outAxes, axisSize})` with JAX's semantics: axes as a number, null (not mapped) or a pytree
 * prefix of the arguments/outputs; negative axes count from the end; mismatched sizes are JAX's error.
 */
import type { Array } from "../core/array.js";
import { ArgumentError, ShapeError, fmtShape } from "../core/errors.js";
import { type TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray } from "../trace/args.js";
import { type BatchDim, moveBatchAxis, vmapFlat } from "./batching.js";

/** An axis spec: a number, null (not mapped), or a pytree of them that is a prefix of the value's structure. */
export type AxisSpec = number | null | undefined | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

export interface VmapOptions {
  /** Which axis of each argument to map over (default 0): a number, null, or a prefix of the argument list. */
  inAxes?: AxisSpec;
  /** Where the mapped axis goes in each output (default 0). */
  outAxes?: AxisSpec;
  /** The batch size, required when no argument is mapped. */
  axisSize?: number;
}

type Fn = (...args: never[]) => unknown;

const isAxisLeaf = (spec: unknown): spec is number | null | undefined => spec === null || spec === undefined || typeof spec === "number";

/** The axis of each leaf of `tree` given a prefix `spec` (JAX's broadcast_prefix). */
function broadcastPrefix(spec: AxisSpec, tree: unknown, what: string): (number | null)[] {
  const fail = (): never => {
    const value = flatten(tree)[1].toString();
    throw new ArgumentError(`vmap ${what} specification must be a tree prefix of the corresponding value, got specification ${JSON.stringify(spec)} for value tree ${value}`);
  };
  const walk = (s: unknown, t: unknown): (number | null)[] => {
    if (isAxisLeaf(s)) {
      if (s !== null && s !== undefined && !Number.isInteger(s)) throw new ArgumentError(`vmap ${what}: axes must be integers or null, got ${s}`);
      return flatten(t)[0].map(() => (s === undefined ? null : s));
    }
    if (globalThis.Array.isArray(s)) {
      if (!globalThis.Array.isArray(t) || t.length !== s.length) return fail();
      return s.flatMap((si, i) => walk(si, t[i]));
    }
    if (typeof s === "object" && s !== null) {
      if (typeof t !== "object" || t === null || globalThis.Array.isArray(t)) return fail();
      const keys = Object.keys(s).sort();
      const tKeys = Object.keys(t).sort();
      if (keys.join("\u0000") !== tKeys.join("\u0000")) return fail();
      return keys.flatMap((k) => walk((s as Record<string, unknown>)[k], (t as Record<string, unknown>)[k]));
    }
    return fail();
  };
  return walk(spec, tree);
}

/** Where each leaf came from, for error messages: `argument 1` or `argument 0 leaf 2`. */
function leafNames(args: readonly unknown[]): string[] {
  return args.flatMap((a, i) => {
    const [leaves, def] = flatten(a);
    return leaves.map((_, j) => (def.kind === "leaf" ? `argument ${i}` : `argument ${i} leaf ${j}`));
  });
}

function canonicalAxis(axis: number, ndim: number, message: () => string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) throw new ShapeError(message());
  return a;
}

/** The batch size: every mapped leaf's size along its axis, which must agree (JAX's message otherwise). */
function batchSize(leaves: readonly Array[], axes: readonly (number | null)[], names: readonly string[], axisSize: number | undefined): number {
  const mapped = leaves.map((x, i) => ({ x, axis: axes[i], name: names[i]! })).filter((m): m is { x: Array; axis: number; name: string } => m.axis !== null);
  if (mapped.length === 0) {
    if (axisSize === undefined) throw new ArgumentError("vmap must have at least one non-None value in in_axes (or give axisSize)");
    return axisSize;
  }
  const sizes = mapped.map((m) => m.x.shape[m.axis]!);
  if (sizes.some((s) => s !== sizes[0]) || (axisSize !== undefined && axisSize !== sizes[0])) {
    const lines = mapped.map((m, i) => `  * one axis had size ${sizes[i]}: axis ${m.axis} of ${m.name} of type ${m.x.aval.toString()}`);
    const given = axisSize !== undefined ? `  * axisSize was given as ${axisSize}\n` : "";
    throw new ShapeError(`vmap got inconsistent sizes for array axes to be mapped:\n${given}${lines.join(";\n")}`);
  }
  return sizes[0]!;
}

/** `vmap(f, options)`: `f` mapped over an axis of its arguments, as one batched computation (no per-example loop). */
export function vmap<F extends Fn>(f: F, options: VmapOptions = {}): (...args: Parameters<F>) => ReturnType<F> {
  const name = f.name || "<lambda>";
  const { inAxes = 0, outAxes = 0, axisSize } = options;
  if (axisSize !== undefined && !(Number.isInteger(axisSize) && axisSize >= 0)) throw new ArgumentError(`vmap: axisSize must be a non-negative integer, got ${axisSize}`);
  const mapped = ((...args: unknown[]) => {
    const spec = inAxes;
    if (!isAxisLeaf(spec) && !globalThis.Array.isArray(spec)) {
      throw new ArgumentError(`vmap in_axes must be a number, null, or a list with one entry per positional argument, got ${JSON.stringify(spec)}`);
    }
    if (globalThis.Array.isArray(spec) && spec.length !== args.length) {
      throw new ArgumentError(`vmap in_axes must have one entry per positional argument: got ${spec.length} entries for ${args.length} arguments`);
    }
    const [rawLeaves, inTree] = flatten(args);
    const names = leafNames(args);
    const leaves = rawLeaves.map((x, i) => asArray(x, `vmap(${name}): ${names[i]}`));
    const axes = broadcastPrefix(spec, args, "in_axes").map((axis, i) => {
      if (axis === null) return null;
      const x = leaves[i]!;
      const rank = axis < 0 ? -axis : axis + 1;
      return canonicalAxis(
        axis,
        x.ndim,
        () => `vmap was requested to map its ${names[i]} along axis ${axis}, which implies that its rank should be at least ${rank}, but is only ${x.ndim} (its shape is ${fmtShape(x.shape)})`,
      );
    });
    const size = batchSize(leaves, axes, names, axisSize);
    let outTree: TreeDef | undefined;
    const flat = (...xs: Array[]): Array[] => {
      const out = (f as unknown as (...a: unknown[]) => unknown)(...(unflatten(inTree, xs) as unknown[]));
      const [outLeaves, tree] = flatten(out);
      outTree = tree;
      return outLeaves.map((x, i) => asArray(x, `vmap(${name}): output leaf ${i}`));
    };
    const [outs, outDims] = vmapFlat(flat, leaves, axes, size, name);
    const out = unflatten(outTree!, outs);
    const wanted = broadcastPrefix(outAxes, out, "out_axes");
    return unflatten(
      outTree!,
      outs.map((o, i) => placeOutput(o, outDims[i]!, wanted[i]!, size, i)),
    );
  }) as (...args: Parameters<F>) => ReturnType<F>;
  Object.defineProperty(mapped, "name", { value: name });
  return mapped;
}

function placeOutput(x: Array, dim: BatchDim, axis: number | null, size: number, index: number): Array {
  if (axis === null) {
    if (dim !== null) throw new ArgumentError(`vmap has mapped output (output leaf ${index}) but out_axes is None`);
    return x;
  }
  const ndim = x.ndim + (dim === null ? 1 : 0);
  const to = canonicalAxis(axis, ndim, () => `vmap out_axes ${axis} is out of range for output leaf ${index} of rank ${ndim} (batched)`);
  return moveBatchAxis(x, dim, to, size);
}
