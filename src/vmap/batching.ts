/**
 * Vectorization (JAX's batching interpreter, Autodidax's vmap): the batch trace, whose tracers carry a value
 * with one extra axis (or none, for values every example shares), and the registry of batching rules that
 * primitives fill beside their definitions (`defBatch`, `defVectorized`).
 */
import { ShapedArray } from "../core/aval.js";
import type { Array } from "../core/array.js";
import { WgjaxError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { ClosedJaxpr, evalClosedJaxpr } from "../trace/jaxpr.js";
import { traceToJaxpr } from "../trace/stage.js";
import { type MainTrace, Trace, Tracer, bind, newMain } from "../trace/trace.js";

/** Where a value's batch axis is, or null when the value is the same for every example. */
export type BatchDim = number | null;

/** `(values, their batch dims, params, batch size) → [results, their batch dims]`. */
export type BatchRule<P> = (args: Array[], dims: BatchDim[], params: P, axisSize: number) => [Array[], BatchDim[]];

const batchRules = new Map<Primitive<never>, BatchRule<never>>();

export function defBatch<P>(primitive: Primitive<P>, rule: BatchRule<P>): void {
  batchRules.set(primitive as Primitive<never>, rule as BatchRule<never>);
}

export const getBatchRule = (p: Primitive<unknown>): BatchRule<unknown> | undefined => batchRules.get(p as Primitive<never>) as BatchRule<unknown> | undefined;

/** A primitive that acts on each element (or each example) alone: its one operand's batch dim carries through. */
export function defVectorized(primitive: Primitive<unknown>): void {
  defBatch(primitive, (args, dims, params) => [bind(primitive, args, params), [dims[0]!]]);
}

/** The array operations the batch trace needs, installed by ops/lax (this layer knows no primitives). */
export interface BatchOps {
  /** `x` with axis `from` moved to position `to`. */
  moveAxis(x: Array, from: number, to: number): Array;
  /** `x` repeated `size` times along a new axis at `axis`. */
  broadcastAxis(x: Array, size: number, axis: number): Array;
  /** The sum of `x` over `axis`. */
  sumAxis(x: Array, axis: number): Array;
}

let ops: BatchOps | undefined;

export function setBatchOps(impl: BatchOps): void {
  ops = impl;
}

function batchOps(): BatchOps {
  if (!ops) throw new WgjaxError("vmap: no batch operations installed; import wgjax through its index");
  return ops;
}

/** `x` (batched at `dim`, or not batched) as a value batched at `to`: its axis moved, or broadcast to `axisSize`. */
export function moveBatchAxis(x: Array, dim: BatchDim, to: number, axisSize: number): Array {
  if (dim === null) return batchOps().broadcastAxis(x, axisSize, to);
  return dim === to ? x : batchOps().moveAxis(x, dim, to);
}

/**
 * A value batched at `dim` as the one value every example shares, by summing over the batch axis (an unbatched
 * value counts once per example): the cotangent of an argument that vmap did not map.
 */
export function sumBatch(x: Array, dim: BatchDim, axisSize: number): Array {
  return batchOps().sumAxis(moveBatchAxis(x, dim, 0, axisSize), 0);
}

/** The per-example type of a value batched at `dim`. */
function unbatchedAval(aval: ShapedArray, dim: BatchDim): ShapedArray {
  if (dim === null) return aval;
  return new ShapedArray([...aval.shape.slice(0, dim), ...aval.shape.slice(dim + 1)], aval.dtype, aval.weakType);
}

/** The batched type of a per-example type, with the batch axis of `size` at `dim`. */
function batchedAval(aval: ShapedArray, dim: BatchDim, size: number): ShapedArray {
  if (dim === null) return aval;
  return new ShapedArray([...aval.shape.slice(0, dim), size, ...aval.shape.slice(dim)], aval.dtype, aval.weakType);
}

export class BatchTracer extends Tracer {
  constructor(
    readonly trace: BatchTrace,
    readonly val: Array,
    readonly batchDim: BatchDim,
  ) {
    super();
  }
  get aval(): ShapedArray {
    return unbatchedAval(this.val.aval, this.batchDim);
  }
  override fullLower(): Tracer | Array {
    if (this.batchDim !== null) return this;
    return this.val instanceof Tracer ? this.val.fullLower() : this.val;
  }
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as { axisSize: number }).axisSize;
  }

  pure(value: Array): BatchTracer {
    return new BatchTracer(this, value, null);
  }

  processPrimitive<P>(primitive: Primitive<P>, inputs: readonly (Tracer | Array)[], params: P): BatchTracer[] {
    const tracers = inputs as readonly BatchTracer[];
    const vals = tracers.map((t) => t.val);
    const dims = tracers.map((t) => t.batchDim);
    if (dims.every((d) => d === null)) return bind(primitive, vals, params).map((o) => new BatchTracer(this, o, null));
    const rule = getBatchRule(primitive as Primitive<unknown>);
    if (!rule) throw new WgjaxError(`Batching rule for '${primitive.name}' not implemented`);
    const [outs, outDims] = rule(vals, dims, params, this.axisSize);
    return outs.map((o, i) => new BatchTracer(this, o, outDims[i]!));
  }
}

/**
 * Runs `f` once on values batched at `dims` (null: shared by every example); returns the results and their
 * batch dims. `axisSize` is the batch size.
 */
export function vmapFlat(f: (...xs: Array[]) => Array[], vals: readonly Array[], dims: readonly BatchDim[], axisSize: number, name: string): [Array[], BatchDim[]] {
  return newMain(BatchTrace, { axisSize }, name, (main: MainTrace) => {
    const trace = new BatchTrace(main);
    const inputs = vals.map((v, i) => (dims[i] === null ? v : new BatchTracer(trace, v, dims[i]!)));
    const outs = f(...inputs).map((x) => (x instanceof BatchTracer && x.trace.main === main ? x : trace.pure(x)));
    return [outs.map((o) => o.val), outs.map((o) => o.batchDim)];
  });
}

type BatchedJaxpr = { jaxpr: ClosedJaxpr; outDims: BatchDim[] };
/** Batched jaxprs by source jaxpr and batching, so a loop or jit body batched again is the same object (compiled once). */
const batchedJaxprs = new WeakMap<ClosedJaxpr, Map<string, BatchedJaxpr>>();

/**
 * The batched form of a closed jaxpr: inputs batched at `inDims`, and outputs batched at 0 where `forceOut`
 * says so (or where they come out batched anyway); returns the jaxpr and where its outputs' batch axes are.
 * Control-flow and call primitives batch their bodies with it.
 */
export function batchJaxpr(closed: ClosedJaxpr, inDims: readonly BatchDim[], axisSize: number, forceOut: readonly boolean[] | boolean, name: string): BatchedJaxpr {
  const key = JSON.stringify([inDims, axisSize, forceOut]);
  let cache = batchedJaxprs.get(closed);
  if (!cache) batchedJaxprs.set(closed, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return hit;
  const inAvals = closed.inAvals.map((a, i) => batchedAval(a, inDims[i]!, axisSize));
  let outDims: BatchDim[] = [];
  const traced = traceToJaxpr(
    (...args) => {
      const [outs, dims] = vmapFlat((...xs) => evalClosedJaxpr(closed, xs), args, inDims, axisSize, name);
      const force = (i: number): boolean => (typeof forceOut === "boolean" ? forceOut : forceOut[i]!);
      outDims = dims.map((d, i) => (d === null && !force(i) ? null : 0));
      return outs.map((o, i) => (outDims[i] === null ? o : moveBatchAxis(o, dims[i]!, 0, axisSize)));
    },
    inAvals,
    name,
  );
  const result = { jaxpr: traced, outDims };
  cache.set(key, result);
  return result;
}
