/**
 * Exact conversions between JS numbers and the narrow float formats (float16, bfloat16, float8_e4m3fn,
 * float8_e5m2), bit for bit as ml_dtypes does them: round to nearest even, subnormals kept, ±0 kept.
 * These are raw casts: e4m3fn has no infinity, so overflow and ±Inf become NaN (quantization clips first).
 */

export interface FloatFormat {
  readonly exponentBits: number;
  readonly mantissaBits: number;
  /** IEEE-like formats reserve the top exponent for Inf/NaN; "fn" formats use only the all-ones code as NaN. */
  readonly ieee: boolean;
  /** The canonical (positive, quiet) NaN code. */
  readonly nanCode: number;
}

export const FLOAT16: FloatFormat = { exponentBits: 5, mantissaBits: 10, ieee: true, nanCode: 0x7e00 };
export const BFLOAT16: FloatFormat = { exponentBits: 8, mantissaBits: 7, ieee: true, nanCode: 0x7fc0 };
export const FLOAT8_E4M3FN: FloatFormat = { exponentBits: 4, mantissaBits: 3, ieee: false, nanCode: 0x7f };
export const FLOAT8_E5M2: FloatFormat = { exponentBits: 5, mantissaBits: 2, ieee: true, nanCode: 0x7e };

const bias = (f: FloatFormat): number => 2 ** (f.exponentBits - 1) - 1;
const signBit = (f: FloatFormat): number => 2 ** (f.exponentBits + f.mantissaBits);

/** Round a non-negative number below 2^53 to the nearest integer, ties to even. */
export function roundHalfEven(y: number): number {
  const floor = Math.floor(y);
  const diff = y - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** floor(log2(a)) for a finite a > 0, exactly. */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  return e;
}

/** Encode `x` in the format, rounding to nearest even (one rounding from the exact value of `x`). */
export function encodeFloat(x: number, f: FloatFormat): number {
  const sign = x < 0 || Object.is(x, -0) ? signBit(f) : 0;
  if (Number.isNaN(x)) return f.nanCode;
  const a = Math.abs(x);
  const maxExponentField = 2 ** f.exponentBits - 1;
  const infCode = maxExponentField * 2 ** f.mantissaBits;
  if (a === Infinity) return f.ieee ? sign + infCode : sign + f.nanCode;
  if (a === 0) return sign;
  const minNormalExponent = 1 - bias(f);
  const e = Math.max(exponentOf(a), minNormalExponent);
  // Scaling by powers of two is exact in float64, so one rounding happens here.
  const significand = roundHalfEven((a / 2 ** e) * 2 ** f.mantissaBits);
  // For a normal e the significand carries the implicit leading one; for a subnormal it does not.
  // Adding it to the biased exponent's code handles the carry into the next binade exactly.
  const isNormal = a >= 2 ** minNormalExponent;
  const code = isNormal
    ? (e + bias(f)) * 2 ** f.mantissaBits + (significand - 2 ** f.mantissaBits)
    : significand;
  const largestFinite = f.ieee ? infCode - 1 : f.nanCode - 1;
  if (code > largestFinite) return f.ieee ? sign + infCode : sign + f.nanCode;
  return sign + code;
}

/** Decode a code of the format to its exact value. */
export function decodeFloat(code: number, f: FloatFormat): number {
  const mantissaScale = 2 ** f.mantissaBits;
  const sign = code & signBit(f) ? -1 : 1;
  const magnitude = code & (signBit(f) - 1);
  const exponentField = Math.floor(magnitude / mantissaScale);
  const mantissa = magnitude % mantissaScale;
  const maxExponentField = 2 ** f.exponentBits - 1;
  if (f.ieee && exponentField === maxExponentField) return mantissa === 0 ? sign * Infinity : NaN;
  if (!f.ieee && magnitude === f.nanCode) return NaN;
  if (exponentField === 0) return sign * mantissa * 2 ** (1 - bias(f) - f.mantissaBits);
  return sign * (1 + mantissa / mantissaScale) * 2 ** (exponentField - bias(f));
}

/** Round `x` to the nearest value of the format (as a JS number). */
export const roundToFormat = (x: number, f: FloatFormat): number => decodeFloat(encodeFloat(x, f), f);

const f32Scratch = new DataView(new ArrayBuffer(4));

/** The IEEE float32 bit pattern of `x` after rounding it to float32. */
export function float32Bits(x: number): number {
  f32Scratch.setFloat32(0, x);
  return f32Scratch.getUint32(0);
}

export function float32FromBits(bits: number): number {
  f32Scratch.setUint32(0, bits >>> 0);
  return f32Scratch.getFloat32(0);
}
