/** Shape manipulation: reshape, transpose, swapaxes, moveaxis, squeeze, expandDims, ravel, flip, concatenate, stack, split, repeat, tile. */
import { Array, type ArrayLike } from "../../core/array.js";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors.js";
import { checkPermutation, normalizeAxes, normalizeAxis, sizeOf } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { asArray, promoteDTypes } from "./promote.js";
import { cumsum } from "./reductions.js";
import { take } from "./indexing.js";
import { zeros } from "./creation.js";

/** `reshape(x, shape)`; one entry may be -1 (inferred). */
export function reshape(x: ArrayLike, shape: number | readonly number[]): Array {
  const a = asArray(x, "reshape: x");
  const dims = typeof shape === "number" ? [shape] : [...shape];
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(`reshape: invalid shape ${fmtShape(dims)} (at most one -1, other entries non-negative integers)`);
  }
  if (unknown === 1) {
    const known = sizeOf(dims.filter((d) => d !== -1));
    if (known === 0 || a.size % known !== 0) throw new ShapeError(`reshape: cannot reshape an array of shape ${fmtShape(a.shape)} into shape ${fmtShape(dims)}`);
    dims[dims.indexOf(-1)] = a.size / known;
  }
  return lax.reshape(a, dims);
}

export const ravel = (x: ArrayLike): Array => reshape(x, [-1]);

export function transpose(x: ArrayLike, axes?: readonly number[]): Array {
  const a = asArray(x, "transpose: x");
  const perm = axes ? axes.map((ax) => normalizeAxis(ax, a.ndim, "transpose: axes")) : a.shape.map((_, i) => a.ndim - 1 - i);
  checkPermutation(perm, a.ndim, "transpose: axes");
  return lax.transpose(a, perm);
}

export function swapaxes(x: ArrayLike, axis1: number, axis2: number): Array {
  const a = asArray(x, "swapaxes: x");
  const perm = a.shape.map((_, i) => i);
  const i = normalizeAxis(axis1, a.ndim, "swapaxes: axis1");
  const j = normalizeAxis(axis2, a.ndim, "swapaxes: axis2");
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return lax.transpose(a, perm);
}

export function moveaxis(x: ArrayLike, source: number | readonly number[], destination: number | readonly number[]): Array {
  const a = asArray(x, "moveaxis: x");
  const src = (typeof source === "number" ? [source] : source).map((s) => normalizeAxis(s, a.ndim, "moveaxis: source"));
  const dst = (typeof destination === "number" ? [destination] : destination).map((d) => normalizeAxis(d, a.ndim, "moveaxis: destination"));
  if (src.length !== dst.length) throw new ArgumentError(`moveaxis: source and destination must have the same length, got ${src.length} and ${dst.length}`);
  const rest = a.shape.map((_, i) => i).filter((i) => !src.includes(i));
  const perm = new globalThis.Array<number>(a.ndim);
  dst.forEach((d, k) => (perm[d] = src[k]!));
  for (let i = 0, r = 0; i < a.ndim; i++) if (perm[i] === undefined) perm[i] = rest[r++]!;
  return lax.transpose(a, perm);
}

/** Removes unit axes (all of them, or those named). */
export function squeeze(x: ArrayLike, axis?: number | readonly number[] | null): Array {
  const a = asArray(x, "squeeze: x");
  const axes = axis === undefined || axis === null ? a.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : normalizeAxes(axis, a.ndim, "squeeze: axis");
  return axes.length === 0 ? a : lax.squeeze(a, axes);
}

export function expandDims(x: ArrayLike, axis: number | readonly number[]): Array {
  const a = asArray(x, "expandDims: x");
  return lax.expandDims(a, typeof axis === "number" ? [axis] : axis);
}

export function flip(x: ArrayLike, axis?: number | readonly number[] | null): Array {
  const a = asArray(x, "flip: x");
  return lax.rev(a, normalizeAxes(axis, a.ndim, "flip: axis"));
}

export function concatenate(arrays: readonly ArrayLike[], axis: number | null = 0): Array {
  if (arrays.length === 0) throw new ArgumentError("concatenate: need at least one array to concatenate");
  let xs = promoteDTypes("concatenate", ...arrays);
  if (axis === null) xs = xs.map((x) => lax.reshape(x, [x.size]));
  if (xs.some((x) => x.ndim === 0)) throw new ShapeError("concatenate: zero-dimensional arrays cannot be concatenated");
  return lax.concatenate(xs, normalizeAxis(axis ?? 0, xs[0]!.ndim, "concatenate: axis"));
}

export function stack(arrays: readonly ArrayLike[], axis = 0): Array {
  if (arrays.length === 0) throw new ArgumentError("stack: need at least one array to stack");
  const xs = promoteDTypes("stack", ...arrays);
  const shape = xs[0]!.shape;
  xs.forEach((x, i) => {
    if (x.shape.join() !== shape.join()) throw new ShapeError(`stack: all input arrays must have the same shape, got argument 0 ${fmtShape(shape)} and argument ${i} ${fmtShape(x.shape)}`);
  });
  const ax = normalizeAxis(axis, shape.length + 1, "stack: axis");
  return lax.concatenate(xs.map((x) => lax.expandDims(x, [ax])), ax);
}

/** `split(x, sections | indices, axis)`: equal sections (must divide the axis) or split points. */
export function split(x: ArrayLike, indicesOrSections: number | readonly number[], axis = 0): Array[] {
  const a = asArray(x, "split: x");
  const ax = normalizeAxis(axis, a.ndim, "split: axis");
  const n = a.shape[ax]!;
  let points: number[];
  if (typeof indicesOrSections === "number") {
    if (!Number.isInteger(indicesOrSections) || indicesOrSections <= 0 || n % indicesOrSections !== 0) {
      throw new ShapeError(`split: array split does not result in an equal division: axis ${ax} of size ${n} into ${indicesOrSections} sections`);
    }
    const size = n / indicesOrSections;
    points = globalThis.Array.from({ length: indicesOrSections - 1 }, (_, i) => (i + 1) * size);
  } else {
    points = indicesOrSections.map((p) => Math.min(Math.max(p < 0 ? p + n : p, 0), n));
  }
  const bounds = [0, ...points, n];
  return bounds.slice(0, -1).map((start, i) => lax.sliceInDim(a, start, Math.max(start, bounds[i + 1]!), 1, ax));
}

/**
 * `repeat(x, repeats, {axis, totalRepeatLength})`. Array `repeats` need `totalRepeatLength` (the output
 * length along the axis) so the shape is known while tracing; extra output positions repeat the last value.
 */
export function repeat(x: ArrayLike, repeats: number | Array, options: { axis?: number | null; totalRepeatLength?: number } = {}): Array {
  let a = asArray(x, "repeat: x");
  if (options.axis === undefined || options.axis === null) a = lax.reshape(a, [a.size]);
  const axis = normalizeAxis(options.axis ?? 0, a.ndim, "repeat: axis");
  const n = a.shape[axis]!;
  if (typeof repeats === "number") {
    if (!Number.isInteger(repeats) || repeats < 0) throw new ArgumentError(`repeat: repeats must be a non-negative integer, got ${repeats}`);
    const expanded = lax.expandDims(a, [axis + 1]);
    const shape = [...expanded.shape];
    shape[axis + 1] = repeats;
    const tiled = lax.broadcastInDim(expanded, shape, shape.map((_, i) => i));
    const out = [...a.shape];
    out[axis] = n * repeats;
    return lax.reshape(tiled, out);
  }
  if (repeats.ndim !== 1 || repeats.shape[0] !== n) {
    throw new ShapeError(`repeat: repeats must be a scalar or have shape (${n},) to match axis ${axis} of x ${fmtShape(a.shape)}, got ${fmtShape(repeats.shape)}`);
  }
  const total = options.totalRepeatLength;
  if (total === undefined || !Number.isInteger(total) || total < 0) {
    throw new ArgumentError("repeat: an Array of repeats needs totalRepeatLength (a non-negative integer) so the output shape is static");
  }
  // Add one at the start of every block (empty blocks share the next block's start); a cumulative sum of
  // these marks minus one is then each output position's source index.
  const counts = lax.convertElementType(repeats, "int32");
  const starts = lax.sub(cumsum(counts), counts);
  const marks = lax.scatterAdd(zeros([total], { dtype: "int32" }), lax.expandDims(starts, [1]), lax.broadcastInDim(lax.scalarLike(1, "int32"), [n], []), {
    update_window_dims: [],
    inserted_window_dims: [0],
    scatter_dims_to_operand_dims: [0],
    operand_batching_dims: [],
    scatter_indices_batching_dims: [],
  });
  return take(a, lax.sub(cumsum(marks), 1), { axis, mode: "clip" });
}

export function tile(x: ArrayLike, reps: number | readonly number[]): Array {
  const a = asArray(x, "tile: x");
  const r = typeof reps === "number" ? [reps] : [...reps];
  const rank = Math.max(a.ndim, r.length);
  const base = lax.reshape(a, [...new globalThis.Array(rank - a.ndim).fill(1), ...a.shape]);
  const counts = [...new globalThis.Array(rank - r.length).fill(1), ...r];
  const shape = base.shape.flatMap((d, i) => [counts[i]!, d]);
  const broadcast = lax.broadcastInDim(base, shape, base.shape.map((_, i) => 2 * i + 1));
  return lax.reshape(broadcast, base.shape.map((d, i) => d * counts[i]!));
}
