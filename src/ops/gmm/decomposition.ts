/**
 * gmm and tgmm in generic lax operations only (what the `ragged-dot` backend runs, and what the kernel
 * lowering expands the primitives into until grouped kernels exist). One dense product per group, every
 * group at once, then a selection by each row's group: never a multiplication by a mask, so a NaN or Inf in
 * a row or an expert that does not take part never reaches an output. It costs G dense products; the grouped
 * kernels visit only the tiles of active groups.
 */
import type { Array } from "../../core/array.js";
import { type DType, isFloat } from "../../core/dtype.js";
import * as lax from "../lax/api.js";
import type { GmmCall, TgmmCall } from "./backend.js";
import { localRowGroups, zeros } from "./groups.js";

/** The type products accumulate in: float32 for floats narrower than float64, else the result type. */
const accumulatorType = (dtype: DType): DType => (isFloat(dtype) && dtype !== "float64" ? "float32" : dtype);

export function gmmByGroups(lhs: Array, rhs: Array, groupSizes: Array, call: GmmCall): Array {
  const [m] = lhs.shape as [number];
  const [g] = rhs.shape as [number];
  const acc = accumulatorType(call.preferredElementType);
  // products[r, j, c]: row r times group j's weights.
  const products = lax.dotGeneral(lhs, rhs, [[[1], [call.transposeRhs ? 2 : 1]], [[], []]], { preferredElementType: acc });
  const shape = products.shape;
  const n = shape[2]!;
  const local = localRowGroups(groupSizes, call.groupOffset, m);
  const owned = lax.eq(lax.broadcastInDim(local, shape, [0]), lax.broadcastedIota("int32", shape, 1));
  const summed = lax.reduceSum(lax.select(owned, products, zeros(shape, acc)), [1]);
  const inactive = lax.bitwiseOr(lax.lt(local, 0), lax.ge(local, g));
  const rest = call.existingOut ? lax.convertElementType(call.existingOut, acc) : zeros([m, n], acc);
  return lax.convertElementType(lax.select(lax.broadcastInDim(inactive, [m, n], [0]), rest, summed), call.preferredElementType);
}

export function tgmmByGroups(lhs: Array, rhs: Array, groupSizes: Array, call: TgmmCall): Array {
  const m = lhs.shape[1]!;
  const g = call.numActualGroups;
  const acc = accumulatorType(call.preferredElementType);
  const local = localRowGroups(groupSizes, call.groupOffset, m);
  /** `x` broadcast to `[g, ...x.shape]`, zero outside each group's rows (`rowAxis` is the axis of m in the result). */
  const masked = (x: Array, rowAxis: number): Array => {
    const shape = [g, ...x.shape];
    const owned = lax.eq(lax.broadcastInDim(local, shape, [rowAxis]), lax.broadcastedIota("int32", shape, 0));
    return lax.select(owned, lax.broadcastInDim(x, shape, [1, 2]), zeros(shape, x.dtype));
  };
  const product = lax.dotGeneral(masked(lhs, 2), masked(rhs, 1), [[[2], [1]], [[0], [0]]], { preferredElementType: acc });
  const total = call.existingOut ? lax.add(product, lax.convertElementType(call.existingOut, acc)) : product;
  return lax.convertElementType(total, call.preferredElementType);
}
