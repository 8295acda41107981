/**
 * Large reductions in two passes, for targets whose invocations run in parallel (WebGPU). A reduction kernel
 * runs one invocation per output element, looping over the reduced elements; when there are few outputs and
 * many reduced elements that is little parallel work. This rewrite reads the reduced elements as [chunks, lanes]
 * (after moving the reduced axes last, flattening them and padding with the reduction's identity), reduces the
 * chunks first — lanes × outputs invocations, neighbouring lanes reading neighbouring elements — and then the
 * lanes. The transpose, reshape and pad are index functions that fuse into the first pass's loads.
 * Only 32-bit dtypes are split: a narrow dtype would round its partial results.
 */
import { ShapedArray } from "../core/aval.js";
import { type DType, intRange } from "../core/dtype.js";
import { type Primitive, getPrimitive } from "../core/primitive.js";
import { sizeOf } from "../core/shape.js";
import { type Atom, Jaxpr, type JaxprEqn, Literal, Var, eqn } from "../trace/jaxpr.js";

const IDENTITY: Record<string, (dtype: DType) => number> = {
  reduce_sum: () => 0,
  reduce_prod: () => 1,
  reduce_max: (d) => (d === "float32" ? -Infinity : intRange(d)[0]),
  reduce_min: (d) => (d === "float32" ? Infinity : intRange(d)[1]),
  reduce_and: () => 1,
  reduce_or: () => 0,
};

const WIDE: ReadonlySet<DType> = new Set(["float32", "int32", "uint32", "bool"]);

/** Reduced elements per output from which a reduction is split, and the invocations the first pass aims at. */
const MIN_REDUCED = 4096;
const TARGET_INVOCATIONS = 4096;

const primitive = (name: string): Primitive<never> => getPrimitive(name) as Primitive<never>;

/**
 * Lanes for a reduction of `reduced` elements into `outputs` elements, or 0 to leave it as it is. With `speed`,
 * large reductions with few outputs are split; with a loop limit, every reduction whose loop would exceed it is
 * split so that neither pass loops longer (for the largest reductions the first pass stays over the limit: the
 * lowering then refuses it).
 */
function lanesFor(outputs: number, reduced: number, speed: boolean, loopLimit: number): number {
  const needed = reduced > loopLimit ? 2 ** Math.ceil(Math.log2(reduced / loopLimit)) : 0;
  const fast = speed && reduced >= MIN_REDUCED && outputs < TARGET_INVOCATIONS ? 2 ** Math.floor(Math.log2(Math.min(TARGET_INVOCATIONS / outputs, Math.sqrt(reduced)))) : 0;
  const lanes = Math.min(Math.max(needed, fast >= 8 ? fast : 0), loopLimit);
  return lanes >= 2 ? lanes : 0;
}

/** How reductions are split: for speed on parallel targets, and to keep loops under an adapter's limit. */
export interface SplitOptions {
  readonly speed: boolean;
  readonly loopLimit?: number;
}

/** Binds `name` on `inputs` into a fresh variable (its aval from the primitive's abstract evaluation). */
function emit(eqns: JaxprEqn[], name: string, inputs: readonly Atom[], params: unknown): Var {
  const p = primitive(name);
  const [aval] = p.abstractEval(
    inputs.map((a) => a.aval),
    params as never,
  );
  const out = new Var(aval!);
  eqns.push(eqn(p, inputs, params, [out]));
  return out;
}

/** The jaxpr with its large reductions split in two passes (sub-jaxprs are left to their own planning). */
export function splitLargeReductions(jaxpr: Jaxpr, { speed, loopLimit = Infinity }: SplitOptions): Jaxpr {
  const eqns: JaxprEqn[] = [];
  const replace = new Map<Var, Var>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  for (const original of jaxpr.eqns) {
    const inputs = original.inputs.map(atom);
    const identity: ((dtype: DType) => number) | undefined = IDENTITY[original.primitive.name];
    const x = inputs[0];
    const { axes } = (original.params ?? {}) as { axes?: readonly number[] };
    const shape = x?.aval.shape ?? [];
    const kept = shape.map((_, i) => i).filter((i) => !axes?.includes(i));
    const reduced = axes ? sizeOf(axes.map((a) => shape[a]!)) : 0;
    const lanes = identity !== undefined && x !== undefined && axes !== undefined && WIDE.has(x.aval.dtype) ? lanesFor(sizeOf(kept.map((k) => shape[k]!)), reduced, speed, loopLimit) : 0;
    if (!lanes || !x || !axes || !identity) {
      eqns.push(eqn(original.primitive, inputs, original.params, original.outputs));
      continue;
    }
    const dtype = x.aval.dtype;
    const chunks = Math.ceil(reduced / lanes);
    const keptShape = kept.map((k) => shape[k]!);
    const moved = emit(eqns, "transpose", [x], { permutation: [...kept, ...axes] });
    const flat = emit(eqns, "reshape", [moved], { new_sizes: [...keptShape, reduced] });
    const fill = new Literal(identity(dtype), new ShapedArray([], dtype));
    const padded = emit(eqns, "pad", [flat, fill], { padding_config: [...keptShape.map(() => [0, 0, 0] as const), [0, chunks * lanes - reduced, 0] as const] });
    const grid = emit(eqns, "reshape", [padded], { new_sizes: [...keptShape, chunks, lanes] });
    const partial = emit(eqns, original.primitive.name, [grid], { ...(original.params as object), axes: [keptShape.length] });
    const total = emit(eqns, original.primitive.name, [partial], { ...(original.params as object), axes: [keptShape.length] });
    replace.set(original.outputs[0]!, total);
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}
