/**
 * Shared pieces of the lax primitives' batching rules (vmap): where a per-example axis is in a batched value,
 * and the rules of the elementwise families, which keep a common batch axis in place when they can.
 */
import type { Array } from "../../core/array.js";
import type { Primitive } from "../../core/primitive.js";
import { bind } from "../../trace/trace.js";
import { type BatchDim, defBatch, moveBatchAxis } from "../../vmap/batching.js";
import * as lax from "./api.js";

/** `[from, from + 1, …, from + n - 1]`. */
export const range = (n: number, from = 0): number[] => globalThis.Array.from({ length: n }, (_, i) => i + from);
/** A per-example axis as an axis of the value batched at `dim`. */
export const batchedAxis = (axis: number, dim: number): number => (axis < dim ? axis : axis + 1);
const rankOf = (x: Array, dim: BatchDim): number => x.ndim - (dim === null ? 0 : 1);
/** Every operand batched at the front (broadcast if it was not). */
export const allAtFront = (args: readonly Array[], dims: readonly BatchDim[], size: number): Array[] => args.map((x, i) => moveBatchAxis(x, dims[i]!, 0, size));
/** Results all batched at the front. */
export const atFront = (outs: readonly Array[]): [Array[], BatchDim[]] => [[...outs], outs.map(() => 0)];

/**
 * n-ary elementwise primitives that accept scalars and unit axes beside full operands: operands batched at one
 * common axis keep it; otherwise the batch axis goes to the front and unbatched operands gain a unit axis there.
 */
export function defBroadcasting(p: Primitive<never>): void {
  defBatch(p, (args, dims, params, size) => {
    const rank = Math.max(...args.map((x, i) => rankOf(x, dims[i]!)));
    const first = dims.find((d) => d !== null)!;
    const aligned = args.every((x, i) => (dims[i] === null ? x.ndim === 0 : dims[i] === first && x.ndim === rank + 1));
    if (aligned) {
      const outs = bind(p, args, params);
      return [outs, outs.map(() => first)];
    }
    const xs = args.map((x, i) => {
      const d = dims[i]!;
      if (d === null) return x.ndim === 0 ? x : lax.expandDims(x, [0]);
      const front = moveBatchAxis(x, d, 0, size);
      return x.ndim - 1 < rank ? lax.reshape(front, [size, ...new globalThis.Array<number>(rank).fill(1)]) : front;
    });
    return atFront(bind(p, xs, params));
  });
}

/**
 * Elementwise primitives whose operands must have one shape, except operands listed in `scalarOk` that may be
 * scalars (clamp's bounds, select_n's predicate): everything batched at the front, full size.
 */
export function defSameShape(p: Primitive<never>, scalarOk: readonly number[] = []): void {
  defBatch(p, (args, dims, params, size) => {
    const full = args.find((x, i) => rankOf(x, dims[i]!) > 0);
    const shape = full ? full.shape.filter((_, a) => a !== dims[args.indexOf(full)]) : [];
    const xs = args.map((x, i) => {
      const d = dims[i]!;
      if (d === null && x.ndim === 0 && scalarOk.includes(i)) return x;
      const front = moveBatchAxis(x, d, 0, size);
      return front.ndim === shape.length + 1 ? front : lax.broadcastInDim(front, [size, ...shape], [0]);
    });
    return atFront(bind(p, xs, params));
  });
}
