/**
 * Host representation of array data and exact conversion of values between dtypes.
 * Narrow floats are held decoded in a Float32Array (every value of those formats is exact in float32);
 * int4 is held one value per Int8Array element and packed two per byte only for storage (`packInt4`).
 */
import { type DType, dtypeInfo, intRange, isFloat } from "./dtype.js";
import { BFLOAT16, FLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, type FloatFormat, roundToFormat } from "./floatFormats.js";

export type HostData = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

export function allocHost(dtype: DType, size: number): HostData {
  switch (dtype) {
    case "float64":
      return new Float64Array(size);
    case "float32":
    case "float16":
    case "bfloat16":
    case "float8_e4m3fn":
    case "float8_e5m2":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "int16":
      return new Int16Array(size);
    case "uint16":
      return new Uint16Array(size);
    case "int8":
    case "int4":
      return new Int8Array(size);
    case "uint8":
    case "bool":
      return new Uint8Array(size);
  }
}

const NARROW_FLOATS: Partial<Record<DType, FloatFormat>> = {
  float16: FLOAT16,
  bfloat16: BFLOAT16,
  float8_e4m3fn: FLOAT8_E4M3FN,
  float8_e5m2: FLOAT8_E5M2,
};

export function floatFormatOf(dtype: DType): FloatFormat | undefined {
  return NARROW_FLOATS[dtype];
}

/**
 * Converts a value of dtype `from` (given as a JS number) to `to`, as `convert_element_type` does on XLA:
 * floats round to nearest even; float→int truncates toward zero and saturates, NaN → 0;
 * int→int wraps modulo 2^bits; anything → bool is `x != 0`.
 */
export function convertScalar(x: number, from: DType, to: DType): number {
  if (to === "float64") return x;
  if (to === "float32") return Math.fround(x);
  const format = NARROW_FLOATS[to];
  if (format) return roundToFormat(x, format);
  if (to === "bool") return x !== 0 && !Number.isNaN(x) ? 1 : 0;
  if (!isFloat(from)) return wrapInt(x, to);
  if (Number.isNaN(x)) return 0;
  const [lo, hi] = intRange(to);
  return Math.min(hi, Math.max(lo, Math.trunc(x))) || 0;
}

/** Wraps an integer to the range of an integer dtype (two's complement). */
export function wrapInt(x: number, dtype: DType): number {
  const { bits, kind } = dtypeInfo(dtype);
  const modulus = 2 ** bits;
  let r = x % modulus;
  if (r < 0) r += modulus;
  if (kind === "int" && r >= modulus / 2) r -= modulus;
  return r === 0 ? 0 : r;
}

/** Rounds/wraps the result of an arithmetic operation computed exactly (in float64) to `dtype`. */
export function roundResult(x: number, dtype: DType): number {
  if (isFloat(dtype)) return convertScalar(x, "float32", dtype);
  if (dtype === "bool") return x ? 1 : 0;
  return wrapInt(x, dtype);
}

/** Packs int4 values (-8..7) two per byte, low nibble first; an odd length pads the last high nibble with 0. */
export function packInt4(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) out[i >> 1]! |= (values[i]! & 0xf) << ((i & 1) * 4);
  return out;
}

export function unpackInt4(packed: Uint8Array, length: number): Int8Array {
  const out = new Int8Array(length);
  for (let i = 0; i < length; i++) {
    const nibble = (packed[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}
