/** Sorting and counting: `sort`, `argsort`, `bincount`. */
import { Array, type ArrayLike as ArrayOperand } from "../../core/array.js";
import { isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { normalizeAxis } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { zeros } from "./creation.js";
import { asArray } from "./promote.js";

/** Sorted copy along `axis` (the last by default; null sorts the flattened array). */
export function sort(x: ArrayOperand, options: { axis?: number | null } = {}): Array {
  let a = asArray(x, "sort: x");
  if (options.axis === null) a = lax.reshape(a, [a.size]);
  if (a.ndim === 0) return a;
  return lax.sort(a, { dimension: normalizeAxis(options.axis ?? -1, a.ndim, "sort: axis") });
}

/** Indices that sort `x` along `axis`; stable, so equal values keep their order (also when descending). */
export function argsort(x: ArrayOperand, options: { axis?: number | null; descending?: boolean } = {}): Array {
  let a = asArray(x, "argsort: x");
  if (options.axis === null) a = lax.reshape(a, [a.size]);
  if (a.ndim === 0) return lax.scalarLike(0, "int32");
  const axis = normalizeAxis(options.axis ?? -1, a.ndim, "argsort: axis");
  const iota = lax.broadcastedIota("int32", a.shape, axis);
  if (!options.descending) return lax.sortKeyVal(a, iota, axis)[1];
  // Descending and stable: sort the reversed array ascending, reverse the result, map indices back.
  const n = a.shape[axis]!;
  const sortedReversed = lax.sortKeyVal(lax.rev(a, [axis]), iota, axis)[1];
  return lax.sub(n - 1, lax.rev(sortedReversed, [axis]));
}

/**
 * `bincount(x, {weights, length})`: counts of each value 0..length-1. `length` fixes the output size (needed
 * under tracing); negative values count as 0 and values ≥ length are dropped, as in JAX.
 */
export function bincount(x: Array, options: { weights?: Array; length?: number } = {}): Array {
  if (!isInteger(x.dtype)) throw new DTypeError(`bincount: x must be an integer array, got ${x.dtype}`);
  if (x.ndim !== 1) throw new ShapeError(`bincount: x must be one-dimensional, got shape ${fmtShape(x.shape)}`);
  const length = options.length ?? concreteLength(x);
  if (!Number.isInteger(length) || length < 0) throw new ArgumentError(`bincount: length must be a non-negative integer, got ${length}`);
  const weights = options.weights ?? lax.broadcastInDim(lax.scalarLike(1, "int32"), x.shape, []);
  if (weights.shape.join() !== x.shape.join()) {
    throw new ShapeError(`bincount: weights ${fmtShape(weights.shape)} must have the shape of x ${fmtShape(x.shape)}`);
  }
  const indices = lax.max(lax.convertElementType(x, "int32"), 0);
  return lax.scatterAdd(zeros([length], { dtype: weights.dtype }), lax.expandDims(indices, [1]), weights, {
    update_window_dims: [],
    inserted_window_dims: [0],
    scatter_dims_to_operand_dims: [0],
    operand_batching_dims: [],
    scatter_indices_batching_dims: [],
  });
}

function concreteLength(x: Array): number {
  let data: ArrayLike<number>;
  try {
    data = x.dataSync();
  } catch {
    throw new ArgumentError("bincount: pass length when x is traced (the output shape must be static)");
  }
  let length = 0;
  for (let i = 0; i < data.length; i++) length = Math.max(length, data[i]! + 1);
  return length;
}
