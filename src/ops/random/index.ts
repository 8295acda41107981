/**
 * The random namespace: JAX's default PRNG (threefry2x32, partitionable mode, the default since JAX 0.5).
 * A key is a uint32[2] array, as `jax.random.PRNGKey` gives (the raw data of `jax.random.key`).
 * `key`, `split`, `foldIn`, `bits`, `randint`, `bernoulli`, `permutation` and `uniform` on [0, 1) are
 * bit-identical to JAX. A scaled `uniform` (minval/maxval) may differ by one ulp: XLA's CPU backend fuses its
 * multiply-add into an FMA (one rounding), the reference interpreter rounds after each op. `normal` agrees to
 * a few ulps (erf_inv in float64 here, a float32 polynomial in XLA).
 */
import { Array, type ArrayLike } from "../../core/array.js";
import { type DType, dtypeInfo, intRange, isFloat, isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { float32Bits, BFLOAT16, FLOAT16, encodeFloat } from "../../core/floatFormats.js";
import { type Shape, checkShape, normalizeAxis, sizeOf } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { array } from "../numpy/creation.js";
import { take } from "../numpy/indexing.js";

function checkKey(key: Array, argument = "key"): void {
  if (!(key instanceof Array) || key.dtype !== "uint32" || key.shape.join() !== "2") {
    throw new ArgumentError(`${argument}: expected a PRNG key (a uint32[2] array from random.key or random.split), got ${key instanceof Array ? key.aval.toString() : typeof key}`);
  }
}

/** A key from an integer seed in the int32 range (negative seeds wrap to uint32, as JAX's do). */
export function key(seed: number): Array {
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed > 2 ** 31 - 1) {
    throw new ArgumentError(`key: seed must be an integer in the int32 range, got ${seed}`);
  }
  return array([0, seed >>> 0], { dtype: "uint32" });
}
export const PRNGKey = key;

/** threefry2x32 of the key with counters (hi, lo) of `shape`: the two output words. */
function hash(k: Array, hi: Array, lo: Array): [Array, Array] {
  const shape = lo.shape;
  const word = (i: number): Array => lax.broadcastInDim(lax.reshape(lax.sliceInDim(k, i, i + 1), []), shape, []);
  return lax.threefry2x32(word(0), word(1), hi, lo);
}

/** Counters 0..size-1 laid out in `shape`, as (high, low) 32-bit words (high is 0 below 2^32 elements). */
function counters(shape: Shape): [Array, Array] {
  if (sizeOf(shape) >= 2 ** 32) throw new ShapeError(`random: shape ${fmtShape(shape)} has too many elements`);
  const lo = lax.reshape(lax.iota("uint32", sizeOf(shape)), shape);
  const hi = lax.broadcastInDim(lax.scalarLike(0, "uint32"), shape, []);
  return [hi, lo];
}

/** `num` new keys, as a uint32[num, 2] array (iterate or index it for single keys). */
export function split(k: Array, num = 2): Array {
  checkKey(k);
  if (!Number.isInteger(num) || num < 0) throw new ArgumentError(`split: num must be a non-negative integer, got ${num}`);
  const [hi, lo] = counters([num]);
  const [a, b] = hash(k, hi, lo);
  return lax.concatenate([lax.expandDims(a, [1]), lax.expandDims(b, [1])], 1);
}

/** A new key that depends on `key` and the integer `data`. */
export function foldIn(k: Array, data: number): Array {
  checkKey(k);
  if (!Number.isInteger(data) || data < -(2 ** 31) || data > 2 ** 32 - 1) throw new ArgumentError(`foldIn: data must be a 32-bit integer, got ${data}`);
  const [a, b] = hash(k, array([0], { dtype: "uint32" }), array([data >>> 0], { dtype: "uint32" }));
  return lax.concatenate([a, b], 0);
}

/** Uniformly random bits: uint32 (or uint8/uint16 with `bitWidth`) of `shape`. */
export function bits(k: Array, shape: number | readonly number[] = [], bitWidth: 8 | 16 | 32 = 32): Array {
  checkKey(k);
  const dims = checkShape(shape, "bits: shape");
  const [hi, lo] = counters(dims);
  const [a, b] = hash(k, hi, lo);
  const word = lax.bitwiseXor(a, b);
  if (bitWidth === 32) return word;
  return lax.convertElementType(word, bitWidth === 16 ? "uint16" : "uint8");
}

const MANTISSA_BITS: Partial<Record<DType, number>> = { float32: 23, float16: 10, bfloat16: 7 };
const ONE_BITS: Partial<Record<DType, number>> = { float32: float32Bits(1), float16: encodeFloat(1, FLOAT16), bfloat16: encodeFloat(1, BFLOAT16) };

export interface UniformOptions {
  dtype?: DType;
  minval?: number;
  maxval?: number;
}

/** Uniform floats in [minval, maxval) (default [0, 1)): mantissa bits under the exponent of 1.0, minus 1. */
export function uniform(k: Array, shape: number | readonly number[] = [], options: UniformOptions = {}): Array {
  const dtype = options.dtype ?? "float32";
  const mantissa = MANTISSA_BITS[dtype];
  if (mantissa === undefined) throw new DTypeError(`uniform: dtype must be float32, float16 or bfloat16, got ${dtype}`);
  const width = dtypeInfo(dtype).bits as 16 | 32;
  const uintType: DType = width === 32 ? "uint32" : "uint16";
  // Formats with fewer than 8 mantissa bits (bfloat16) draw only 8 random bits, as JAX does.
  const rngBits = mantissa < 8 ? 8 : width;
  const raw = lax.convertElementType(bits(k, shape, rngBits), uintType);
  const floatBits = lax.bitwiseOr(lax.shiftRightLogical(raw, rngBits - mantissa), lax.scalarLike(ONE_BITS[dtype]!, uintType));
  const floats = lax.sub(lax.bitcastConvertType(floatBits, dtype), 1);
  const minval = lax.convertElementType(options.minval ?? 0, dtype);
  const maxval = lax.convertElementType(options.maxval ?? 1, dtype);
  const scaled = lax.add(lax.mul(floats, lax.sub(maxval, minval)), minval);
  return lax.max(minval, scaled);
}

/** Standard normal floats: √2 · erf_inv(u) with u uniform in (-1, 1). */
export function normal(k: Array, shape: number | readonly number[] = [], options: { dtype?: DType } = {}): Array {
  const dtype = options.dtype ?? "float32";
  if (!isFloat(dtype)) throw new DTypeError(`normal: dtype must be a float dtype, got ${dtype}`);
  const lo = nextTowardZero(-1, dtype);
  const u = uniform(k, shape, { dtype, minval: lo, maxval: 1 });
  return lax.mul(lax.erfInv(u), Math.SQRT2);
}

/** The representable value of `dtype` next to `x` in the direction of zero. */
function nextTowardZero(x: number, dtype: DType): number {
  const mantissa = MANTISSA_BITS[dtype];
  if (mantissa === undefined) throw new DTypeError(`normal: dtype must be float32, float16 or bfloat16, got ${dtype}`);
  return x + Math.sign(-x) * 2 ** -(mantissa + 1);
}

/** Integers in [minval, maxval), from two words of random bits to reduce modulo bias (JAX's algorithm). */
export function randint(k: Array, shape: number | readonly number[], minval: number, maxval: number, options: { dtype?: DType } = {}): Array {
  const dtype = options.dtype ?? "int32";
  if (!isInteger(dtype) || dtypeInfo(dtype).bits < 8) throw new DTypeError(`randint: dtype must be an 8, 16 or 32-bit integer dtype, got ${dtype}`);
  if (!Number.isInteger(minval) || !Number.isInteger(maxval)) throw new ArgumentError(`randint: minval and maxval must be integers, got ${minval} and ${maxval}`);
  const dims = checkShape(shape, "randint: shape");
  const width = dtypeInfo(dtype).bits as 8 | 16 | 32;
  const [lo, hi] = intRange(dtype);
  const maxOutOfRange = maxval > hi;
  const low = Math.min(Math.max(minval, lo), hi);
  const high = Math.min(Math.max(maxval, lo), hi);
  const unsigned: DType = width === 32 ? "uint32" : width === 16 ? "uint16" : "uint8";
  const [k1, k2] = split(k);
  const higherBits = bits(k1!, dims, width);
  const lowerBits = bits(k2!, dims, width);
  let spanValue = high <= low ? 1 : high - low;
  if (maxOutOfRange && high > low) spanValue += 1;
  const span = lax.scalarLike(spanValue % 2 ** width, unsigned);
  // 2^width mod span, computed as (2^(width/2) mod span)^2 mod span in the unsigned type.
  let multiplier = lax.rem(lax.scalarLike(2 ** (width / 2), unsigned), span);
  multiplier = lax.rem(lax.mul(multiplier, multiplier), span);
  let offset = lax.add(lax.mul(lax.rem(higherBits, span), multiplier), lax.rem(lowerBits, span));
  offset = lax.rem(offset, span);
  return lax.add(lax.convertElementType(offset, dtype), low);
}

/** Booleans that are true with probability `p`. */
export function bernoulli(k: Array, p: number = 0.5, shape: number | readonly number[] = []): Array {
  return lax.lt(uniform(k, shape), p);
}

/** A random permutation of `arange(n)` or of `x` along `axis`, by rounds of sorting on random keys (JAX's `_shuffle`). */
export function permutation(k: Array, x: number | ArrayLike, options: { axis?: number } = {}): Array {
  checkKey(k);
  if (typeof x === "number") {
    if (!Number.isInteger(x) || x < 0) throw new ArgumentError(`permutation: x must be a non-negative integer or an array, got ${x}`);
    return shuffle(k, lax.iota("int32", x));
  }
  if (!(x instanceof Array) || x.ndim === 0) throw new ShapeError("permutation: x must be an integer or an array of rank at least 1");
  const axis = normalizeAxis(options.axis ?? 0, x.ndim, "permutation: axis");
  if (x.ndim === 1) return shuffle(k, x);
  return take(x, shuffle(k, lax.iota("int32", x.shape[axis]!)), { axis, mode: "clip" });
}

function shuffle(k: Array, x: Array): Array {
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(2 ** 32 - 1));
  let current = k;
  let values = x;
  for (let r = 0; r < rounds; r++) {
    const [next, subkey] = split(current);
    current = next!;
    values = lax.sortKeyVal(bits(subkey!, values.shape), values, 0)[1];
  }
  return values;
}
