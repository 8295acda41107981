/** jnp reductions with `axis` and `keepdims`: sum, mean, max, min, prod, all, any, argmax, argmin, cumsum, var, std. */
import type { Array, ArrayLike } from "../../core/array.js";
import { type DType, isFloat, isUnsignedInt } from "../../core/dtype.js";
import { ArgumentError, ShapeError } from "../../core/errors.js";
import { normalizeAxes, normalizeAxis, sizeOf } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { asArray } from "./promote.js";

export type Axis = number | readonly number[] | null | undefined;

export interface ReduceOptions {
  axis?: Axis;
  keepdims?: boolean;
}

/** Options of `max`/`min`: `initial` is combined into the result (and allows empty reductions). */
export interface ExtremumOptions extends ReduceOptions {
  initial?: number;
}

/** Puts back the reduced axes as unit axes. */
function keepDims(result: Array, axes: readonly number[], ndim: number): Array {
  const shape = globalThis.Array.from({ length: ndim }, (_, i) => i);
  const kept = shape.filter((i) => !axes.includes(i));
  return lax.broadcastInDim(result, shape.map((i) => (axes.includes(i) ? 1 : result.shape[kept.indexOf(i)]!)), kept);
}

function reduce(name: string, x: ArrayLike, options: ReduceOptions, op: (a: Array, axes: number[]) => Array, prepare: (a: Array) => Array = (a) => a): Array {
  const a = prepare(asArray(x, `${name}: x`));
  const axes = normalizeAxes(options.axis, a.ndim, `${name}: axis`);
  const result = op(a, axes);
  return options.keepdims ? keepDims(result, axes, a.ndim) : result;
}

/** The dtype jnp accumulates sums and products in: small ints and bools widen to 32 bits. */
function accumulationDType(dtype: DType): DType {
  if (isFloat(dtype) || dtype === "int32" || dtype === "uint32") return dtype;
  return isUnsignedInt(dtype) ? "uint32" : "int32";
}
const widen = (a: Array): Array => lax.convertElementType(a, accumulationDType(a.dtype), a.weakType);

export const sum = (x: ArrayLike, options: ReduceOptions = {}): Array => reduce("sum", x, options, lax.reduceSum, widen);
export const prod = (x: ArrayLike, options: ReduceOptions = {}): Array => reduce("prod", x, options, lax.reduceProd, widen);

function nonEmpty(name: string) {
  return (a: Array, axes: number[]): void => {
    if (axes.some((ax) => a.shape[ax] === 0)) {
      throw new ShapeError(`${name}: zero-size array to reduction operation ${name} which has no identity (shape (${a.shape.join(", ")}))`);
    }
  };
}

function extremum(name: string, reducer: (a: Array, axes: number[]) => Array, combine: (x: Array, y: ArrayLike) => Array) {
  return (x: ArrayLike, options: ExtremumOptions = {}): Array =>
    reduce(name, x, options, (a, axes) => {
      const { initial } = options;
      if (initial === undefined) nonEmpty(name)(a, axes);
      const reduced = reducer(a, axes);
      return initial === undefined ? reduced : combine(lax.scalarLike(initial, a.dtype, `${name}: initial`), reduced);
    });
}

export const max = extremum("max", lax.reduceMax, lax.max);
export const min = extremum("min", lax.reduceMin, lax.min);
export const amax = max;
export const amin = min;

const toBool = (a: Array): Array => (a.dtype === "bool" ? a : lax.ne(a, 0));
export const all = (x: ArrayLike, options: ReduceOptions = {}): Array => reduce("all", x, options, lax.reduceAnd, toBool);
export const any = (x: ArrayLike, options: ReduceOptions = {}): Array => reduce("any", x, options, lax.reduceOr, toBool);

/** Mean in the input's float dtype (integers and bools give float32). */
export function mean(x: ArrayLike, options: ReduceOptions = {}): Array {
  return reduce("mean", x, options, (a, axes) => {
    const count = sizeOf(axes.map((ax) => a.shape[ax]!));
    return lax.div(lax.reduceSum(a, axes), count);
  }, toFloat);
}

const toFloat = (a: Array): Array => (isFloat(a.dtype) ? a : lax.convertElementType(a, "float32", a.weakType));

/** Variance with `ddof` (delta degrees of freedom). */
export function variance(x: ArrayLike, options: ReduceOptions & { ddof?: number } = {}): Array {
  const a = toFloat(asArray(x, "var: x"));
  const axes = normalizeAxes(options.axis, a.ndim, "var: axis");
  const centered = lax.sub(a, keepDims(mean(a, { axis: axes }), axes, a.ndim));
  const count = sizeOf(axes.map((ax) => a.shape[ax]!)) - (options.ddof ?? 0);
  const result = lax.div(lax.reduceSum(lax.mul(centered, centered), axes), count);
  return options.keepdims ? keepDims(result, axes, a.ndim) : result;
}

export const std = (x: ArrayLike, options: ReduceOptions & { ddof?: number } = {}): Array => lax.sqrt(variance(x, options));

function argReduce(name: string, op: (a: Array, axis: number) => Array) {
  return (x: ArrayLike, options: { axis?: number | null; keepdims?: boolean } = {}): Array => {
    let a = asArray(x, `${name}: x`);
    if (options.axis === undefined || options.axis === null) {
      if (options.keepdims) throw new ArgumentError(`${name}: keepdims needs an axis`);
      a = lax.reshape(a, [a.size]);
      if (a.size === 0) throw new ShapeError(`${name}: attempt to get ${name} of an empty sequence`);
      return op(a, 0);
    }
    const axis = normalizeAxis(options.axis, a.ndim, `${name}: axis`);
    if (a.shape[axis] === 0) throw new ShapeError(`${name}: attempt to get ${name} of an empty sequence (axis ${axis} has size 0)`);
    const result = op(a, axis);
    return options.keepdims ? keepDims(result, [axis], a.ndim) : result;
  };
}

export const argmax = argReduce("argmax", (a, axis) => lax.argmax(a, axis));
export const argmin = argReduce("argmin", (a, axis) => lax.argmin(a, axis));

/** Cumulative sum along `axis` (flattened when axis is null/undefined); small ints widen like `sum`. */
export function cumsum(x: ArrayLike, options: { axis?: number | null } = {}): Array {
  let a = widen(asArray(x, "cumsum: x"));
  if (options.axis === undefined || options.axis === null) a = lax.reshape(a, [a.size]);
  if (a.ndim === 0) return a;
  return lax.cumsum(a, normalizeAxis(options.axis ?? 0, a.ndim, "cumsum: axis"));
}
