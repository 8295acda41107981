/** Array creation: `array`, `zeros`, `ones`, `full`, `arange`, `linspace`, `eye` and the `*Like` forms. */
import { Array, type ArrayLike, arrayFromHost } from "../../core/array.js";
import { ShapedArray } from "../../core/aval.js";
import { type DType, checkDType } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import { allocHost, convertScalar } from "../../core/hostData.js";
import { checkShape } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { cast } from "./promote.js";

export interface DTypeOption {
  dtype?: DType;
}

/** Nested JS arrays of numbers or booleans. */
export type NestedArray = number | boolean | readonly NestedArray[];

function inferShape(value: NestedArray, argument: string): number[] {
  const shape: number[] = [];
  let level: NestedArray = value;
  while (globalThis.Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] ?? 0;
  }
  const check = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== "number" && typeof v !== "boolean") throw new ArgumentError(`${argument}: expected numbers or booleans, got ${typeof v}`);
      return;
    }
    if (!globalThis.Array.isArray(v) || v.length !== shape[depth]) {
      throw new ArgumentError(`${argument}: the nested lists are ragged (expected a list of length ${shape[depth]} at depth ${depth})`);
    }
    for (const item of v) check(item, depth + 1);
  };
  check(value, 0);
  return shape;
}

/**
 * `np.array(values, {dtype})`. JS has one number type, so numbers default to float32 (booleans to bool);
 * pass `dtype` for integers. An Array argument is converted (or returned as is).
 */
export function array(values: NestedArray | Array, options: DTypeOption = {}): Array {
  if (values instanceof Array) return options.dtype ? lax.convertElementType(values, options.dtype) : values;
  const shape = inferShape(values, "array: values");
  const flat: (number | boolean)[] = [];
  const collect = (v: NestedArray): void => {
    if (typeof v === "number" || typeof v === "boolean") flat.push(v);
    else v.forEach(collect);
  };
  collect(values);
  const allBool = flat.length > 0 && flat.every((v) => typeof v === "boolean");
  const dtype = options.dtype ? checkDType(options.dtype, "array: dtype") : allBool ? "bool" : "float32";
  const data = allocHost(dtype, flat.length);
  flat.forEach((v, i) => (data[i] = convertScalar(Number(v), Number.isInteger(Number(v)) ? "int32" : "float32", dtype)));
  return arrayFromHost(data, new ShapedArray(shape, dtype));
}

export const asarray = array;

/** `full(shape, fillValue, {dtype})`: a broadcast scalar, as `lax.full` (numbers default to float32). */
export function full(shape: number | readonly number[], fillValue: ArrayLike, options: DTypeOption = {}): Array {
  const dims = checkShape(shape, "full: shape");
  const dtype = options.dtype ?? (fillValue instanceof Array ? fillValue.dtype : typeof fillValue === "boolean" ? "bool" : "float32");
  const scalar = cast(fillValue, { dtype: checkDType(dtype, "full: dtype"), weakType: false }, "full: fillValue");
  if (scalar.ndim !== 0) throw new ArgumentError(`full: fillValue must be a scalar, got shape (${scalar.shape.join(", ")})`);
  return lax.broadcastInDim(scalar, dims, []);
}

export const zeros = (shape: number | readonly number[], options: DTypeOption = {}): Array => full(shape, 0, options);
export const ones = (shape: number | readonly number[], options: DTypeOption = {}): Array => full(shape, 1, options);
export const fullLike = (x: Array, fillValue: ArrayLike, options: DTypeOption = {}): Array => full(x.shape, fillValue, { dtype: options.dtype ?? x.dtype });
export const zerosLike = (x: Array, options: DTypeOption = {}): Array => fullLike(x, 0, options);
export const onesLike = (x: Array, options: DTypeOption = {}): Array => fullLike(x, 1, options);

/**
 * `arange(stop)`, `arange(start, stop, step?)`: int32 when every argument is an integer, else float32.
 * Computed as `start + step * iota` like JAX, so it works inside transformations.
 */
export function arange(start: number, stop?: number, step = 1, options: DTypeOption = {}): Array {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  for (const [name, v] of [["start", lo], ["stop", hi], ["step", step]] as const) {
    if (!Number.isFinite(v)) throw new ArgumentError(`arange: ${name} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new ArgumentError("arange: step must not be zero");
  const dtype = options.dtype ?? ([lo, hi, step].every(Number.isInteger) ? "int32" : "float32");
  const size = Math.max(0, Math.ceil((hi - lo) / step));
  const index = lax.iota(dtype, size);
  if (lo === 0 && step === 1) return index;
  return lax.add(lax.mul(index, lax.scalarLike(step, dtype, "arange: step")), lax.scalarLike(lo, dtype, "arange: start"));
}

/** `linspace(start, stop, num = 50, {endpoint = true, dtype = float32})`, computed in float64 then rounded. */
export function linspace(start: number, stop: number, num = 50, options: DTypeOption & { endpoint?: boolean } = {}): Array {
  if (!Number.isInteger(num) || num < 0) throw new ArgumentError(`linspace: num must be a non-negative integer, got ${num}`);
  const endpoint = options.endpoint ?? true;
  const divisor = endpoint ? num - 1 : num;
  const step = divisor > 0 ? (stop - start) / divisor : 0;
  const values = globalThis.Array.from({ length: num }, (_, i) => (endpoint && i === num - 1 && num > 1 ? stop : start + i * step));
  return array(values, { dtype: options.dtype ?? "float32" });
}

/** `eye(n, m = n, {k = 0, dtype = float32})`: ones on the k-th diagonal. */
export function eye(n: number, m: number = n, options: DTypeOption & { k?: number } = {}): Array {
  const rows = lax.broadcastedIota("int32", [n, m], 0);
  const cols = lax.broadcastedIota("int32", [n, m], 1);
  const onDiagonal = lax.eq(lax.add(rows, options.k ?? 0), cols);
  return lax.convertElementType(onDiagonal, options.dtype ?? "float32");
}
