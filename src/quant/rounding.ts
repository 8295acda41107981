/**
 * Division that rounds like the CPU on every device. Quantization divides twice — the scale `A / B` and the
 * codes `x / scale` — and bit-exact codes need those quotients correctly rounded, but WGSL's f32 division is only
 * accurate to 2.5 ULP (spec §E.3), so a GPU could land one code off at a near-tie. Here the device's quotient is
 * only a first guess, and the result is decided by exact comparisons built from operations WGSL rounds correctly
 * (f32 add, subtract, multiply, compare, bitcasts):
 *
 * - `x > (b + h)·s` is decided exactly when `b` has at most 9 significant bits and `h` is a power of two: `s` is
 *   split by masking its low 12 significand bits (s = hi + lo, each half 12 bits), so `b·hi` and `b·lo` are exact
 *   products, `x - b·hi` is exact (Sterbenz: both are within 2^-10 of each other when x is near b·s), and so is
 *   the remaining difference, which then compares with the exact `h·s`. Far from b·s the computed difference keeps
 *   its sign by a wide margin. Every product is exact, so a compiler fusing them into FMAs changes nothing.
 * - A quotient `t = x / s` is never exactly halfway between two floats of the result format (a midpoint has one
 *   more significant bit than x could), so "RN(t) ≥ b" is "t > b - (half the gap below b)" and "RN(t) > b" is
 *   "t > b + (half the gap above b)", with the gaps of the format the quotient is rounded to (f32, bf16, f16).
 * - Codes: the codes either side of the device's quotient (floor and floor + 1; the float8 values around it) are
 *   separated by a few-bit boundary (k + 0.5; a float8 midpoint), the only one a few ulps can cross, so one exact
 *   test picks between them, a quotient rounding onto the boundary going to the even code. Codes are found for
 *   |x| and take x's sign (rounding and the float8 clip are symmetric), so -0 stays -0.
 * - The scale `A / B` divides by a few-bit constant (127.5, 7.5, 448, 57344; 255, 15), the roles swapped: the
 *   quotient is split. One residual step makes the guess faithful, then one exact test picks it or its neighbour.
 * On the cpu device and the interpreter division is already correctly rounded and the tests are no-ops; they cost
 * some elementwise work, fused into the quantize kernel.
 */
import type { Array } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import * as lax from "../ops/lax/api.js";
import type { QTypeInfo } from "./qtypes.js";

/** The unsigned integer type holding each quotient format's encoding. */
const ENCODINGS: Partial<Record<DType, DType>> = { float32: "uint32", bfloat16: "uint16", float16: "uint16" };

const bitsOf = (x: Array): Array => lax.bitcastConvertType(x, "uint32");
const fromBits = (u: Array): Array => lax.bitcastConvertType(u, "float32");

/**
 * Whether float values are NaN, or finite, read from their bits: compilers that assume finite math may fold
 * `x != x` and `x - x == 0` (WGSL implementations are allowed to), integer tests they cannot.
 */
const magnitudeBits = (v: Array): Array => lax.bitwiseAnd(bitsOf(lax.convertElementType(v, "float32")), 0x7fffffff);
export const isNaN = (v: Array): Array => lax.gt(magnitudeBits(v), 0x7f800000);
export const isFinite = (v: Array): Array => lax.lt(magnitudeBits(v), 0x7f800000);

/** The next value of `dtype` above (where `up`) or below v > 0 (a float32 holding a `dtype` value), as float32. */
function neighbour(v: Array, up: Array, dtype: DType): Array {
  const encoded = lax.bitcastConvertType(lax.convertElementType(v, dtype), ENCODINGS[dtype]!);
  const stepped = lax.select(up, lax.add(encoded, 1), lax.sub(encoded, 1));
  return lax.convertElementType(lax.bitcastConvertType(stepped, dtype), "float32");
}

/** x - few·split, exact when few has at most 9 significant bits and x is within 2^-10 of few·split (all float32). */
function residual(x: Array, few: Array | number, split: Array): Array {
  const hi = fromBits(lax.bitwiseAnd(bitsOf(split), 0xfffff000));
  return lax.sub(lax.sub(x, lax.mul(few, hi)), lax.mul(few, lax.sub(split, hi)));
}

/** 2^k as float32 for int32 k in the normal range. */
const powerOfTwo = (k: Array): Array => fromBits(lax.shiftLeft(lax.convertElementType(lax.add(k, 127), "uint32"), 23));

/**
 * The codes either side of the quotient guess q >= 0, clipped to the largest code (+ 1 for ints, which then
 * saturate): the boundary between them is the only one a few ulps can cross. Found arithmetically from the
 * codes' spacing (1 for ints; 2^(e - mantissaBits) for float8, e the exponent of q, at least the smallest normal
 * one), with whether the upper code is even (its last significand bit is 0).
 */
/** Whether a non-negative integer-valued f32 below 2^24 is even, in exact arithmetic (no remainder: the CPU calls out for it). */
const isEven = (x: Array): Array => lax.eq(lax.mul(lax.floor(lax.mul(x, 0.5)), 2), x);

function bracket(q: Array, info: QTypeInfo): { lower: Array; upper: Array; upperIsEven: Array } {
  const clipped = lax.min(q, info.float ? info.max : info.max + 1);
  if (!info.float) {
    const lower = lax.floor(clipped);
    const upper = lax.add(lower, 1);
    return { lower, upper, upperIsEven: isEven(upper) };
  }
  const exponent = lax.max(lax.sub(lax.convertElementType(lax.shiftRightLogical(bitsOf(clipped), 23), "int32"), 127), info.float.minExponent);
  const spacing = powerOfTwo(lax.sub(exponent, info.float.mantissaBits));
  const steps = lax.floor(lax.mul(clipped, powerOfTwo(lax.sub(info.float.mantissaBits, exponent))));
  const above = lax.add(steps, 1);
  return { lower: lax.mul(steps, spacing), upper: lax.min(lax.mul(above, spacing), info.max), upperIsEven: isEven(above) };
}

/**
 * The symmetric codes of x by scale as float32 values: round half to even and saturate (ints), or clip and cast
 * (float8) the quotient x / scale rounded to `dtype` — exactly, whatever `quotient` (the device's |x| / scale,
 * within a few ulps; a parameter so tests can feed a perturbed one) says. x and scale are float32 arrays of one
 * shape holding `dtype` values, scale > 0. NaN quotients give 0 (ints) or NaN (float8), as XLA's conversions.
 */
export function symmetricCodes(x: Array, scale: Array, info: QTypeInfo, dtype: DType, quotient = lax.div(lax.abs(x), scale)): Array {
  const { lower, upper, upperIsEven } = bracket(quotient, info);
  const boundary = lax.mul(lax.add(lower, upper), 0.5);
  // A quotient rounding exactly onto the boundary goes to the even code: up iff the upper code is even.
  const halfGap = lax.mul(lax.sub(neighbour(boundary, lax.bitwiseNot(upperIsEven), dtype), boundary), 0.5);
  const code = lax.select(lax.gt(residual(lax.abs(x), boundary, scale), lax.mul(halfGap, scale)), upper, lower);
  const signed = fromBits(lax.bitwiseOr(bitsOf(code), lax.bitwiseAnd(bitsOf(x), 0x80000000)));
  const nan = isNaN(quotient);
  if (info.float) return lax.select(nan, quotient, signed);
  return lax.clamp(-info.max - 1, lax.select(nan, lax.broadcast(lax.convertElementType(0, "float32"), x.shape), signed), info.max);
}

/**
 * a / divisor rounded to `dtype`, exactly, as float32: a >= 0 a float32 array of `dtype` values, divisor a
 * positive constant with at most 9 significant bits. `quotient` is the device's a / divisor (a parameter for tests).
 */
export function quotientByConstant(a: Array, divisor: number, dtype: DType, quotient = lax.div(a, divisor)): Array {
  const faithful = lax.add(quotient, lax.div(residual(a, divisor, quotient), divisor));
  const guess = lax.convertElementType(lax.convertElementType(faithful, dtype), "float32");
  const remainder = residual(a, divisor, guess);
  const beside = neighbour(guess, lax.ge(remainder, 0), dtype);
  // No quotient lies exactly halfway, so the guess moves iff the remainder passes half the gap (times divisor).
  return lax.select(lax.gt(lax.abs(remainder), lax.mul(lax.abs(lax.sub(beside, guess)), divisor / 2)), beside, guess);
}
