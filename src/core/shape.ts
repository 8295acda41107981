/** Shapes: sizes, strides, broadcasting and axis normalisation, with errors that name the argument. */
import { ArgumentError, ShapeError, fmtShape } from "./errors.js";

export type Shape = readonly number[];

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export const shapesEqual = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

export function checkShape(shape: unknown, argument = "shape"): number[] {
  const dims = typeof shape === "number" ? [shape] : shape;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ArgumentError(`${argument}: expected a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return dims as number[];
}

/** numpy broadcasting of several shapes; `names` label the operands in the error. */
export function broadcastShapes(shapes: readonly Shape[], names?: readonly string[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = rank - shape.length + i;
      const d = shape[i]!;
      if (d === out[axis] || d === 1) continue;
      if (out[axis] === 1) {
        out[axis] = d;
        continue;
      }
      const labelled = shapes.map((s, k) => `${names?.[k] ?? `operand ${k}`} ${fmtShape(s)}`).join(", ");
      throw new ShapeError(`shapes cannot be broadcast together: ${labelled}`);
    }
  }
  return out;
}

/** Normalises a possibly negative axis for an array of rank `ndim`. */
export function normalizeAxis(axis: number, ndim: number, argument = "axis"): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new ArgumentError(`${argument} ${axis} is out of bounds for an array of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises an axis argument (`undefined` = every axis) into sorted, distinct, non-negative axes. */
export function normalizeAxes(axis: number | readonly number[] | null | undefined, ndim: number, argument = "axis"): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const normalized = list.map((a) => normalizeAxis(a, ndim, argument));
  if (new Set(normalized).size !== normalized.length) {
    throw new ArgumentError(`${argument}: repeated axis in ${JSON.stringify(list)}`);
  }
  return normalized.sort((a, b) => a - b);
}

/** Checks that `perm` is a permutation of 0..ndim-1. */
export function checkPermutation(perm: readonly number[], ndim: number, argument = "permutation"): void {
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== ndim || !sorted.every((p, i) => p === i)) {
    throw new ShapeError(`${argument} ${JSON.stringify(perm)} is not a permutation of the ${ndim} axes`);
  }
}
