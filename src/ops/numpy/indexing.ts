/** Indexing: `take`, `takeAlongAxis`, and numpy-style `x.at(...)` (integers, slices, new axes, ellipsis, one index array). */
import { Array, type ArrayLike, type IndexEntry } from "../../core/array.js";
import { isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { normalizeAxis } from "../../core/shape.js";
import type { GatherScatterMode } from "../lax/indexing.js";
import * as lax from "../lax/api.js";
import { asArray, broadcastTo } from "./promote.js";

function checkIndexArray(indices: Array, argument: string): void {
  if (!isInteger(indices.dtype)) throw new DTypeError(`${argument}: indices must be integers, got ${indices.dtype}`);
}

/** Negative indices count from the end, once (as numpy). */
const wrapNegative = (indices: Array, size: number): Array => lax.select(lax.lt(indices, 0), lax.add(indices, size), indices);

/**
 * `take(x, indices, {axis, mode})`. `mode` "fill" (the default, as JAX) gives NaN (or the dtype's fill) for
 * out-of-bounds indices, "clip" clamps them.
 */
export function take(x: ArrayLike, indices: Array | number, options: { axis?: number | null; mode?: "fill" | "clip" } = {}): Array {
  let a = asArray(x, "take: x");
  const idx = indices instanceof Array ? indices : lax.scalarLike(indices, "int32", "take: indices");
  checkIndexArray(idx, "take");
  if (options.axis === undefined || options.axis === null) a = lax.reshape(a, [a.size]);
  const axis = normalizeAxis(options.axis ?? 0, a.ndim, "take: axis");
  const mode: GatherScatterMode = options.mode ?? "fill";
  const wrapped = wrapNegative(lax.convertElementType(idx, "int32"), a.shape[axis]!);
  const k = idx.ndim;
  const offsetDims = [...range(0, axis), ...range(axis + k, a.ndim + k - 1)];
  return lax.gather(
    a,
    lax.expandDims(wrapped, [k]),
    { offset_dims: offsetDims, collapsed_slice_dims: [axis], start_index_map: [axis], operand_batching_dims: [], start_indices_batching_dims: [] },
    a.shape.map((d, i) => (i === axis ? 1 : d)),
    { mode },
  );
}

const range = (start: number, stop: number): number[] => globalThis.Array.from({ length: Math.max(0, stop - start) }, (_, i) => start + i);

/** `takeAlongAxis(x, indices, axis)`: indices broadcast against x on every axis but `axis`. */
export function takeAlongAxis(x: ArrayLike, indices: Array, axis: number, options: { mode?: "fill" | "clip" } = {}): Array {
  const a = asArray(x, "takeAlongAxis: x");
  checkIndexArray(indices, "takeAlongAxis");
  if (indices.ndim !== a.ndim) {
    throw new ShapeError(`takeAlongAxis: indices ${fmtShape(indices.shape)} and x ${fmtShape(a.shape)} must have the same rank`);
  }
  const ax = normalizeAxis(axis, a.ndim, "takeAlongAxis: axis");
  const others = range(0, a.ndim).filter((i) => i !== ax);
  const shape = a.shape.map((d, i) => (i === ax ? indices.shape[ax]! : Math.max(d, indices.shape[i]!)));
  const idx = broadcastTo(wrapNegative(lax.convertElementType(indices, "int32"), a.shape[ax]!), shape);
  const operandShape = a.shape.map((d, i) => (i === ax ? d : shape[i]!));
  const operand = broadcastTo(a, operandShape);
  return lax.gather(
    operand,
    lax.expandDims(idx, [a.ndim]),
    { offset_dims: [], collapsed_slice_dims: [ax], start_index_map: [ax], operand_batching_dims: others, start_indices_batching_dims: others },
    a.shape.map(() => 1),
    { mode: options.mode ?? "fill" },
  );
}

interface SliceSpec {
  start: number;
  stop: number;
  step: number;
}

/** Parses "start:stop:step" against an axis of size n, with numpy's defaults and clamping. */
function parseSlice(text: string, n: number): SliceSpec {
  const parts = text.split(":");
  if (parts.length < 2 || parts.length > 3) throw new ArgumentError(`index: invalid slice "${text}"`);
  const num = (s: string | undefined): number | undefined => {
    if (s === undefined || s.trim() === "") return undefined;
    const v = Number(s);
    if (!Number.isInteger(v)) throw new ArgumentError(`index: invalid slice "${text}"`);
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step === 0) throw new ArgumentError(`index: slice step cannot be zero in "${text}"`);
  const clamp = (v: number | undefined, dflt: number, lo: number, hi: number): number => {
    if (v === undefined) return dflt;
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, lo), hi);
  };
  return step > 0
    ? { start: clamp(num(parts[0]), 0, 0, n), stop: clamp(num(parts[1]), n, 0, n), step }
    : { start: clamp(num(parts[0]), n - 1, -1, n - 1), stop: clamp(num(parts[1]), -1, -1, n - 1), step };
}

/** numpy basic indexing plus one integer index array (advanced indexing on one axis). */
export function index(x: Array, entries: readonly IndexEntry[]): Array {
  const consumed = entries.filter((e) => e !== null && e !== "...").length;
  const ellipses = entries.filter((e) => e === "...").length;
  if (ellipses > 1) throw new ArgumentError("index: an index can only have a single ellipsis ('...')");
  if (consumed > x.ndim) throw new ArgumentError(`index: too many indices for an array of rank ${x.ndim}: ${consumed} were given`);
  const full: IndexEntry[] = [];
  for (const e of entries) {
    if (e === "...") for (let i = 0; i < x.ndim - consumed; i++) full.push(":");
    else full.push(e);
  }
  while (full.filter((e) => e !== null).length < x.ndim) full.push(":");
  if (full.filter((e) => e instanceof Array).length > 1) {
    throw new ArgumentError("index: only one index array is supported; combine index arrays with takeAlongAxis or gather");
  }

  // Basic indexing first: slices (rev for negative steps), then integer indices, then new axes.
  let result = x;
  const starts: number[] = [];
  const limits: number[] = [];
  const strides: number[] = [];
  const reversed: number[] = [];
  const squeezed: number[] = [];
  let arrayAxis = -1;
  let arrayIndex: Array | undefined;
  let axis = 0;
  for (const e of full) {
    if (e === null) continue;
    const n = x.shape[axis]!;
    if (typeof e === "number") {
      if (!Number.isInteger(e) || e < -n || e >= n) throw new ArgumentError(`index: index ${e} is out of bounds for axis ${axis} with size ${n}`);
      const i = e < 0 ? e + n : e;
      starts.push(i);
      limits.push(i + 1);
      strides.push(1);
      squeezed.push(axis);
    } else if (typeof e === "string") {
      const { start, stop, step } = parseSlice(e, n);
      if (step > 0) {
        starts.push(start);
        limits.push(Math.max(start, stop));
        strides.push(step);
      } else {
        // A negative step is a positive-step slice of the reversed axis.
        const first = n - 1 - start;
        starts.push(first);
        limits.push(Math.max(first, n - 1 - stop));
        strides.push(-step);
        reversed.push(axis);
      }
    } else if (e instanceof Array) {
      starts.push(0);
      limits.push(n);
      strides.push(1);
      arrayAxis = axis;
      arrayIndex = e;
    } else {
      throw new ArgumentError(`index: unsupported index entry ${JSON.stringify(e)}`);
    }
    axis++;
  }
  if (reversed.length > 0) result = lax.rev(result, reversed);
  if (starts.some((s, i) => s !== 0 || limits[i] !== x.shape[i] || strides[i] !== 1)) {
    result = lax.slice(result, starts, limits, strides.every((s) => s === 1) ? null : strides);
  }
  if (arrayIndex) {
    const indexRank = arrayIndex.ndim;
    result = take(result, arrayIndex, { axis: arrayAxis, mode: "clip" });
    const shifted = squeezed.map((s) => (s > arrayAxis ? s + indexRank - 1 : s));
    if (shifted.length > 0) result = lax.squeeze(result, shifted);
  } else if (squeezed.length > 0) {
    result = lax.squeeze(result, squeezed);
  }
  const newAxes: number[] = [];
  let position = 0;
  for (const e of full) {
    if (e === null) newAxes.push(position);
    if (typeof e !== "number") position += e instanceof Array ? e.ndim : 1;
  }
  return newAxes.length > 0 ? lax.expandDims(result, newAxes) : result;
}
