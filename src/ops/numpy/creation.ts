/** Array creation: `array`, `zeros`, `ones`, `full`, `arange`, `linspace`, `eye` and the `*Like` forms. */
import { Array, type ArrayLike, arrayFromHost } from "../../core/array.js";
import { ShapedArray } from "../../core/aval.js";
import { type DType, checkDType, resultType } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import { type HostData, allocHost, convertScalar } from "../../core/hostData.js";
import { checkShape } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { cast } from "./promote.js";

export interface DTypeOption {
  dtype?: DType;
}

/** The JS typed arrays `array` accepts, each holding the elements of one dtype. */
export type TypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray;

/** Nested JS arrays of numbers or booleans, whose innermost lists may be typed arrays. */
export type NestedArray = number | boolean | TypedArray | readonly NestedArray[];

const TYPED_ARRAY_DTYPES = new Map<unknown, DType>([
  [Float64Array, "float64"],
  [Float32Array, "float32"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Uint8ClampedArray, "uint8"],
]);

function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && TYPED_ARRAY_DTYPES.has(value.constructor);
}

const typedArrayDType = (values: TypedArray): DType => TYPED_ARRAY_DTYPES.get(values.constructor)!;

function describe(value: unknown): string {
  return typeof value === "object" && value !== null ? value.constructor.name : typeof value;
}

function inferShape(value: NestedArray, argument: string): number[] {
  const shape: number[] = [];
  let level: NestedArray = value;
  while (globalThis.Array.isArray(level) || isTypedArray(level)) {
    shape.push(level.length);
    level = level[0] ?? 0;
  }
  const check = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== "number" && typeof v !== "boolean") {
        throw new ArgumentError(`${argument}: expected numbers, booleans or typed arrays, got ${describe(v)}`);
      }
      return;
    }
    const innermost = depth === shape.length - 1;
    if (!(globalThis.Array.isArray(v) || (isTypedArray(v) && innermost)) || v.length !== shape[depth]) {
      throw new ArgumentError(`${argument}: the nested lists are ragged (expected a list of length ${shape[depth]} at depth ${depth})`);
    }
    if (globalThis.Array.isArray(v)) for (const item of v) check(item, depth + 1);
  };
  check(value, 0);
  return shape;
}

/**
 * The dtype `array` gives `value`, promoting over its elements as `jnp.array` does: a typed array
 * contributes its own dtype (a Float64Array float32, as Python floats with x64 off), a JS number
 * float32 and a boolean bool; an empty list is float32.
 */
function inferDType(value: NestedArray): DType {
  const dtypes = new Set<DType>();
  const visit = (v: NestedArray): void => {
    if (isTypedArray(v)) dtypes.add(typedArrayDType(v) === "float64" ? "float32" : typedArrayDType(v));
    else if (typeof v === "boolean") dtypes.add("bool");
    else if (typeof v === "number") dtypes.add("float32");
    else v.forEach(visit);
  };
  visit(value);
  if (dtypes.size === 0) return "float32";
  return resultType(...[...dtypes].map((dtype) => ({ dtype, weakType: false }))).dtype;
}

/** Writes `values` converted to `dtype` into `data` from `offset`, natively where that rounds the same. */
function writeTypedArray(data: HostData, offset: number, values: TypedArray, dtype: DType): void {
  const from = typedArrayDType(values);
  if (from === dtype || dtype === "float32") {
    data.set(values, offset);
    return;
  }
  for (let i = 0; i < values.length; i++) data[offset + i] = convertScalar(values[i]!, from, dtype);
}

/**
 * `np.array(values, {dtype})`. JS has one number type, so numbers default to float32 (booleans to bool);
 * pass `dtype` for integers. Typed arrays (also as the rows of a list) keep their dtype, a Float64Array
 * becoming float32; their elements are copied. An Array argument is converted (or returned as is).
 */
export function array(values: NestedArray | Array, options: DTypeOption = {}): Array {
  if (values instanceof Array) return options.dtype ? lax.convertElementType(values, options.dtype) : values;
  const shape = inferShape(values, "array: values");
  const dtype = options.dtype ? checkDType(options.dtype, "array: dtype") : inferDType(values);
  const data = allocHost(dtype, shape.reduce((a, b) => a * b, 1));
  let offset = 0;
  const fill = (v: NestedArray): void => {
    if (isTypedArray(v)) {
      writeTypedArray(data, offset, v, dtype);
      offset += v.length;
    } else if (typeof v === "number" || typeof v === "boolean") {
      data[offset++] = convertScalar(Number(v), Number.isInteger(Number(v)) ? "int32" : "float32", dtype);
    } else {
      v.forEach(fill);
    }
  };
  fill(values);
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
