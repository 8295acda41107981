/**
 * `quantize(x, {qtype, channelwiseAxes, tiledAxes, calibration})` → `QArray`, and `dequantize(q, dtype?)`:
 * qwix's `quantize_api` and `dequantize` (spec §E.2–E.4), bit for bit, written with lax primitives only, so they
 * run eagerly, under `jit` and `grad`, on every device.
 *
 * - Scale shape: the dim on a channelwise axis, `dim / blockSize` on a tiled axis, 1 elsewhere. Block sizes are
 *   positive integers (qwix's float "1 / tile count" form is left out: JS cannot tell 1 from 1.0); one that does
 *   not divide its dim is an error, never a silently dropped tail. Negative axes count from the end.
 * - Symmetric (absmax, rms, symmetric fixed): scale = A / B (B from qtypes.ts); asymmetric (minmax, fixed with
 *   lo ≠ -hi; int8 and int4 only): scale = (hi - lo) / (qmax - qmin), zeroPoint = convert(qmin - lo / scale).
 *   A scale below sqrt(finfo(dtype).tiny) becomes 1 — 2^-63 in float32 and bfloat16 but 2^-7 in float16, so a
 *   float16 block whose absmax is under about 1 (int8) quantizes with scale 1, as in qwix. The scale keeps the
 *   input's dtype (float32, bfloat16 or float16; qwix refuses other inputs), and so does dequantize by default.
 * - Codes: x / scale rounded in the input's dtype; ints round half to even and saturate; float8 clips to ±max,
 *   then casts (round to nearest even). NaN gives 0 (ints) or NaN; ±Inf saturates.
 * - Rounding on the GPU: the symmetric scale and codes are correctly rounded on every device (rounding.ts). The
 *   asymmetric path divides by a general scale (`lo / scale`, `x / scale`) and is not corrected: on WebGPU its
 *   codes and zero points may differ by one at near-ties (its scale is exact).
 * - Derivatives are JAX's through qwix's operations, no straight-through estimator: rounding to an integer has a
 *   zero derivative (so the gradient of dequantize(quantize(x)) reaches x through the scale only), and a float8
 *   cast passes tangents through, clipped. The exact corrections are added as constants (stop_gradient).
 */
import { Array } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import { QArray, type QType } from "../core/qarray.js";
import { normalizeAxis } from "../core/shape.js";
import * as lax from "../ops/lax/api.js";
import { type Calibration, type Layout, calibrate, isSymmetric, parseCalibration } from "./calibration.js";
import { type QTypeInfo, qtypeInfo } from "./qtypes.js";
import { isFinite, isNaN, quotientByConstant, symmetricCodes } from "./rounding.js";

export interface QuantizeOptions {
  readonly qtype: QType;
  /** Axes with a scale per index (per channel). */
  readonly channelwiseAxes?: readonly number[];
  /** Axes with a scale per block of `blockSize` consecutive indices: `{axis: blockSize}`. */
  readonly tiledAxes?: Readonly<Record<number, number>>;
  /** How the range is found; `"absmax"` by default. */
  readonly calibration?: Calibration;
}

/** sqrt(finfo(dtype).tiny) of the dtypes that can be quantized: the floor below which a scale becomes 1. */
const SQRT_TINY: Partial<Record<DType, number>> = { float32: 2 ** -63, bfloat16: 2 ** -63, float16: 2 ** -7 };
const FLOATS = Object.keys(SQRT_TINY).join(", ");

const full = (value: number, dtype: DType, shape: readonly number[]): Array => lax.broadcast(lax.convertElementType(value, dtype), shape);

/** Axes and block sizes, validated against `shape`, and the layout of the statistics they give. */
function layoutOf(shape: readonly number[], channelwiseAxes: readonly number[] = [], tiledAxes: Readonly<Record<number, number>> = {}): Layout {
  const rank = shape.length;
  if (!globalThis.Array.isArray(channelwiseAxes)) throw new ArgumentError(`quantize: channelwiseAxes must be an array of axes, got ${JSON.stringify(channelwiseAxes)}`);
  if (typeof tiledAxes !== "object" || tiledAxes === null || globalThis.Array.isArray(tiledAxes)) {
    throw new ArgumentError(`quantize: tiledAxes must be an object {axis: blockSize}, got ${JSON.stringify(tiledAxes)}`);
  }
  const channelwise = new Set<number>();
  for (const axis of channelwiseAxes) {
    const a = normalizeAxis(axis, rank, "quantize: channelwiseAxes: axis");
    if (channelwise.has(a)) throw new ArgumentError(`quantize: channelwiseAxes lists axis ${a} twice`);
    channelwise.add(a);
  }
  const blocks = new Map<number, number>();
  for (const [key, blockSize] of Object.entries(tiledAxes)) {
    const a = normalizeAxis(Number(key), rank, "quantize: tiledAxes: axis");
    if (!Number.isInteger(blockSize) || blockSize <= 0) throw new ArgumentError(`quantize: tiledAxes[${key}]: the block size must be a positive integer, got ${blockSize}`);
    if (blocks.has(a)) throw new ArgumentError(`quantize: tiledAxes lists axis ${a} twice`);
    if (channelwise.has(a)) throw new ArgumentError(`quantize: axis ${a} is in both channelwiseAxes and tiledAxes; an axis is either per channel or tiled`);
    if (shape[a]! % blockSize !== 0) {
      throw new ShapeError(`quantize: tiledAxes[${key}]: block size ${blockSize} does not divide dimension ${shape[a]} of axis ${a} (x has shape ${fmtShape(shape)})`);
    }
    blocks.set(a, blockSize);
  }
  const scaleShape: number[] = [];
  const splitShape: number[] = [];
  const reduceAxes: number[] = [];
  shape.forEach((dim, axis) => {
    const blockSize = blocks.get(axis);
    if (blockSize !== undefined) splitShape.push(dim / blockSize);
    if (!channelwise.has(axis)) reduceAxes.push(splitShape.length);
    splitShape.push(blockSize ?? dim);
    scaleShape.push(channelwise.has(axis) ? dim : blockSize !== undefined ? dim / blockSize : 1);
  });
  return { scaleShape, splitShape, reduceAxes };
}

/** A scale (or zero point) broadcast to `shape`, each entry covering its block (qwix's generic broadcast). */
function expandScale(scale: Array, shape: readonly number[]): Array {
  const split: number[] = [];
  const dims: number[] = [];
  shape.forEach((dim, axis) => {
    const s = scale.shape[axis]!;
    dims.push(split.length);
    split.push(...(s === 1 || s === dim ? [dim] : [s, dim / s]));
  });
  return lax.reshape(lax.broadcastInDim(scale, split, dims), shape);
}

/**
 * `value` with the derivative of `plain`: value - (stop_gradient(plain) - plain), where the subtracted term is +0
 * (x - x is +0), which keeps value's sign even at -0 (for finite plain).
 */
const withDerivativeOf = (value: Array, plain: Array): Array => lax.sub(value, lax.sub(lax.stopGradient(plain), plain));

/** `a / divisor` as the device computes it (the derivative), with the correctly rounded value (rounding.ts). */
function divideByConstant(a: Array, divisor: number): Array {
  const plain = lax.div(a, divisor);
  const exact = lax.convertElementType(quotientByConstant(lax.convertElementType(lax.stopGradient(a), "float32"), divisor, a.dtype), a.dtype);
  return lax.select(isFinite(plain), withDerivativeOf(exact, plain), plain);
}

/** qwix's floor on scales: below sqrt(tiny) of the dtype, 1. */
const guard = (scale: Array): Array => lax.select(lax.lt(scale, SQRT_TINY[scale.dtype]!), full(1, scale.dtype, scale.shape), scale);

/** Rounds half to even and saturates to the qtype's integer range (NaN → 0, as XLA's conversion). */
function toIntegerCodes(v: Array, info: QTypeInfo): Array {
  const [qmin, qmax] = info.asymmetricRange!;
  const codes = lax.clamp(qmin, lax.round(v, lax.RoundingMethod.TO_NEAREST_EVEN), qmax);
  return lax.convertElementType(lax.select(isNaN(v), full(0, v.dtype, v.shape), codes), info.name);
}

function symmetricQArray(x: Array, absmax: Array, info: QTypeInfo): QArray {
  const scale = guard(divideByConstant(absmax, info.symmetricBound));
  const s = expandScale(scale, x.shape);
  const f32 = (a: Array): Array => lax.convertElementType(lax.stopGradient(a), "float32");
  const codes = symmetricCodes(f32(x), f32(s), info, x.dtype);
  if (info.kind === "int") return new QArray(lax.convertElementType(codes, info.name), scale, undefined, info.name);
  // JAX's tangent: that of clip(x / s), rounded to float8 by the final cast.
  const clipped = lax.convertElementType(lax.min(info.max, lax.max(-info.max, lax.div(x, s))), "float32");
  return new QArray(lax.convertElementType(withDerivativeOf(codes, clipped), info.name), scale, undefined, info.name);
}

function asymmetricQArray(x: Array, min: Array, max: Array, info: QTypeInfo): QArray {
  const [qmin, qmax] = info.asymmetricRange!;
  const scale = guard(divideByConstant(lax.sub(max, min), qmax - qmin));
  const zeroPoint = toIntegerCodes(lax.sub(qmin, lax.div(min, scale)), info);
  const shifted = lax.add(lax.div(x, expandScale(scale, x.shape)), expandScale(lax.convertElementType(zeroPoint, x.dtype), x.shape));
  return new QArray(toIntegerCodes(shifted, info), scale, zeroPoint, info.name);
}

/** Quantizes x (float32, bfloat16 or float16) to `qtype`, calibrated per channel and block as the options say. */
export function quantize(x: Array, options: QuantizeOptions): QArray {
  if (!(x instanceof Array)) throw new ArgumentError(`quantize: x must be an Array, got ${typeof x}`);
  if (SQRT_TINY[x.dtype] === undefined) throw new DTypeError(`quantize: x must be a floating-point array (${FLOATS}), got ${x.dtype}`);
  if (typeof options !== "object" || options === null) throw new ArgumentError("quantize: options {qtype, channelwiseAxes, tiledAxes, calibration} are required");
  const info = qtypeInfo(options.qtype, "quantize: qtype");
  const calibration = parseCalibration(options.calibration ?? "absmax");
  if (!isSymmetric(calibration) && !info.asymmetricRange) {
    throw new ArgumentError(`quantize: calibration ${JSON.stringify(calibration)} is asymmetric, and ${info.name} doesn't support asymmetric quantization (int8 and int4 do)`);
  }
  const range = calibrate(x, layoutOf(x.shape, options.channelwiseAxes, options.tiledAxes), calibration);
  return "absmax" in range ? symmetricQArray(x, range.absmax, info) : asymmetricQArray(x, range.min, range.max, info);
}

/** Checks qwix's QArray invariants (`validate_qarray`), naming the part that breaks them. */
function validate(q: QArray): void {
  const info = qtypeInfo(q.qtype, "dequantize: q.qtype");
  if (q.qvalue.dtype !== info.name) throw new DTypeError(`dequantize: q.qvalue must have the qtype's dtype ${info.name}, got ${q.qvalue.dtype}`);
  if (SQRT_TINY[q.scale.dtype] === undefined) throw new DTypeError(`dequantize: q.scale must be a floating-point array (${FLOATS}), got ${q.scale.dtype}`);
  for (const [name, part] of [["scale", q.scale], ["zeroPoint", q.zeroPoint]] as const) {
    if (!part) continue;
    if (part.ndim !== q.qvalue.ndim || part.shape.some((s, i) => q.qvalue.shape[i]! % s !== 0)) {
      throw new ShapeError(`dequantize: q.${name} of shape ${fmtShape(part.shape)} must have q.qvalue's rank and dims dividing its shape ${fmtShape(q.qvalue.shape)}`);
    }
  }
  if (q.zeroPoint) {
    if (q.zeroPoint.dtype !== info.name) throw new DTypeError(`dequantize: q.zeroPoint must have the qtype's dtype ${info.name}, got ${q.zeroPoint.dtype}`);
    if (q.zeroPoint.shape.some((s, i) => s !== q.scale.shape[i])) {
      throw new ShapeError(`dequantize: q.zeroPoint must have q.scale's shape ${fmtShape(q.scale.shape)}, got ${fmtShape(q.zeroPoint.shape)}`);
    }
  }
}

/** (qvalue - zeroPoint) · scale, in `dtype` (the scale's dtype by default). */
export function dequantize(q: QArray, dtype?: DType): Array {
  if (!(q instanceof QArray)) throw new ArgumentError("dequantize: q must be a QArray (from quant.quantize)");
  validate(q);
  const out = dtype ?? q.scale.dtype;
  if (SQRT_TINY[out] === undefined) throw new DTypeError(`dequantize: dtype must be one of ${FLOATS}, got ${JSON.stringify(out)}`);
  const expand = (part: Array): Array => expandScale(lax.convertElementType(part, out), q.shape);
  const values = lax.convertElementType(q.qvalue, out);
  return lax.mul(q.zeroPoint ? lax.sub(values, expand(q.zeroPoint)) : values, expand(q.scale));
}
