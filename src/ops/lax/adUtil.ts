/** Helpers shared by the differentiation and batching rules of the lax primitives and by the layers above. */
import { ShapedArray } from "../../core/aval.js";
import type { Array } from "../../core/array.js";
import { type Tangent, Zero, instantiate } from "../../vjp/ad.js";
import * as lax from "./api.js";

export const zeros = (aval: ShapedArray): Array => lax.broadcastInDim(lax.convertElementType(0, aval.dtype), aval.shape, []);

/** Broadcasts `x` (rank 0, or the target's rank with unit axes) to `shape`, as lax's implicit broadcasting does. */
export function expandTo(x: Array, shape: readonly number[]): Array {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  if (x.ndim === 0) return lax.broadcastInDim(x, shape, []);
  const kept = x.shape.map((d, i) => (d === 1 && shape[i] !== 1 ? -1 : i)).filter((i) => i >= 0);
  return lax.broadcastInDim(lax.reshape(x, kept.map((i) => x.shape[i]!)), shape, kept);
}

/** The transpose of `expandTo`: sums a cotangent of the broadcast shape back to `aval`'s shape. */
export function unbroadcast(ct: Array, aval: ShapedArray): Array {
  let out = ct;
  if (aval.ndim === 0 && ct.ndim > 0) out = lax.reduceSum(ct, ct.shape.map((_, i) => i));
  else if (aval.ndim > 0) {
    const axes = aval.shape.map((d, i) => (d === 1 && ct.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    if (axes.length > 0) out = lax.reshape(lax.reduceSum(ct, axes), aval.shape);
  }
  return out.dtype === aval.dtype ? out : lax.convertElementType(out, aval.dtype);
}

/** A tangent broadcast to `shape` (zeros stay symbolic). */
export const expandTangent = (t: Tangent, shape: readonly number[]): Tangent => (t instanceof Zero ? new Zero(new ShapedArray(shape, t.aval.dtype)) : expandTo(t, shape));

/** `x` gathered along `axis` at `indices` of the same rank (take_along_axis), via gather with batching dims. */
export function takeAlong(x: Array, indices: Array, axis: number): Array {
  const others = x.shape.map((_, i) => i).filter((i) => i !== axis);
  return lax.gather(
    x,
    lax.expandDims(indices, [indices.ndim]),
    { offset_dims: [], collapsed_slice_dims: [axis], start_index_map: [axis], operand_batching_dims: others, start_indices_batching_dims: others },
    x.shape.map(() => 1),
    { mode: "promise_in_bounds" },
  );
}

/** The rows `x[rows[p]]` along axis 0, for p = 0…: one gather whose indices must be in bounds. */
export function takeRows(x: Array, rows: Array): Array {
  const numbers = { offset_dims: x.shape.slice(1).map((_, a) => a + 1), collapsed_slice_dims: [0], start_index_map: [0], operand_batching_dims: [], start_indices_batching_dims: [] };
  return lax.gather(x, lax.reshape(rows, [rows.size, 1]), numbers, [1, ...x.shape.slice(1)], { mode: "promise_in_bounds" });
}

export { instantiate };
