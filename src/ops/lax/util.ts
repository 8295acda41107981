/** Shared checks and host-side helpers for lax primitives' abstract evaluations and reference implementations. */
import { ShapedArray } from "../../core/aval.js";
import { type DType, dtypeInfo } from "../../core/dtype.js";
import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { allocHost } from "../../core/hostData.js";
import type { HostTensor } from "../../core/primitive.js";
import { type Shape, shapesEqual, sizeOf, stridesOf } from "../../core/shape.js";

/** Requires every operand to have the first operand's shape and dtype; names operands by position. */
export function checkSameShapeAndDType(name: string, avals: readonly ShapedArray[], what = "operands"): void {
  const first = avals[0]!;
  for (const [i, a] of avals.entries()) {
    if (!shapesEqual(a.shape, first.shape)) {
      throw new ShapeError(`${name}: ${what} must have equal shapes, got operand 0 ${fmtShape(first.shape)} and operand ${i} ${fmtShape(a.shape)}`);
    }
    if (a.dtype !== first.dtype) {
      throw new DTypeError(`${name}: ${what} must have equal dtypes, got operand 0 ${first.dtype} and operand ${i} ${a.dtype}`);
    }
  }
}

export function checkSameDType(name: string, avals: readonly ShapedArray[], what = "operands"): void {
  for (const [i, a] of avals.entries()) {
    if (a.dtype !== avals[0]!.dtype) {
      throw new DTypeError(`${name}: ${what} must have equal dtypes, got operand 0 ${avals[0]!.dtype} and operand ${i} ${a.dtype}`);
    }
  }
}

export function checkDTypeKind(name: string, aval: ShapedArray, ok: (d: DType) => boolean, expected: string, argument = "operand"): void {
  if (!ok(aval.dtype)) throw new DTypeError(`${name}: ${argument} must be ${expected}, got ${aval.dtype}`);
}

export function checkRank(name: string, aval: ShapedArray, rank: number, argument = "operand"): void {
  if (aval.ndim !== rank) throw new ShapeError(`${name}: ${argument} must have rank ${rank}, got shape ${fmtShape(aval.shape)}`);
}

/** True when every operand is weakly typed (the result of an op on weak operands stays weak). */
export const allWeak = (avals: readonly ShapedArray[]): boolean => avals.length > 0 && avals.every((a) => a.weakType);

export const shortDType = (d: DType): string => dtypeInfo(d).shortName;

/** A new host tensor of `shape`/`dtype` filled by `fill(flatIndex)`. */
export function tabulate(shape: Shape, dtype: DType, fill: (i: number) => number): HostTensor {
  const size = sizeOf(shape);
  const data = allocHost(dtype, size);
  for (let i = 0; i < size; i++) data[i] = fill(i);
  return { shape, dtype, data };
}

/** Multi-index of a flat row-major position. */
export function unravel(flat: number, shape: Shape, out: number[] = new Array<number>(shape.length)): number[] {
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    out[d] = flat % n;
    flat = Math.floor(flat / n);
  }
  return out;
}

/** Flat row-major position of a multi-index, given the shape's strides. */
export function ravel(index: readonly number[], strides: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < index.length; d++) flat += index[d]! * strides[d]!;
  return flat;
}

export { stridesOf };

/** Checks a list of axes is distinct and in range, for params (already normalised by the API layer). */
export function checkAxes(name: string, axes: readonly number[], ndim: number, argument = "axes"): void {
  const seen = new Set<number>();
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= ndim || seen.has(a)) {
      throw new ShapeError(`${name}: ${argument} ${JSON.stringify(axes)} are not distinct axes of a rank-${ndim} operand`);
    }
    seen.add(a);
  }
}

/** A tuple as JAX prints it in params: `(1, 2)`, `(3,)`, `()`. */
export const tuple = (xs: readonly (number | string)[]): string => `(${xs.join(", ")}${xs.length === 1 ? "," : ""})`;

/**
 * The result shape of an elementwise op under lax's implicit broadcasting: non-scalar operands have equal
 * rank, and each axis is of equal size or 1; rank-0 operands broadcast to anything.
 */
export function elementwiseShape(name: string, avals: readonly ShapedArray[]): number[] {
  const shaped = avals.filter((a) => a.ndim > 0);
  if (shaped.length === 0) return [];
  const rank = shaped[0]!.ndim;
  const out = new Array<number>(rank).fill(1);
  for (const a of shaped) {
    const fits = a.ndim === rank && a.shape.every((d, i) => d === 1 || out[i] === 1 || d === out[i]);
    if (!fits) {
      const shapes = avals.map((x, i) => `operand ${i} ${fmtShape(x.shape)}`).join(", ");
      throw new ShapeError(`${name}: operands must have equal ranks and equal or unit sizes per axis, got ${shapes}`);
    }
    a.shape.forEach((d, i) => (out[i] = d === 1 ? out[i]! : d));
  }
  return out;
}

/** Reads a host tensor broadcast (by size-1 axes or rank 0) to `shape`: returns the flat source index of each output index. */
export function broadcastIndexer(t: HostTensor, shape: Shape): (flat: number) => number {
  if (t.shape.length === 0 || shapesEqual(t.shape, shape)) return t.shape.length === 0 ? () => 0 : (i) => i;
  const strides = stridesOf(t.shape).map((s, d) => (t.shape[d] === 1 ? 0 : s));
  const index = new Array<number>(shape.length);
  return (flat) => ravel(unravel(flat, shape, index), strides);
}
