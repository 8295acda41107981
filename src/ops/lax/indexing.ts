/**
 * `gather` and `scatter_add` with XLA's general dimension numbers (JAX's GatherDimensionNumbers and
 * ScatterDimensionNumbers, batching dims included). The index vector is always the last axis of the indices.
 */
import { ShapedArray } from "../../core/aval.js";
import { type DType, intRange, isFloat, isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { roundResult, wrapInt } from "../../core/hostData.js";
import { type HostTensor, type Primitive, definePrimitive } from "../../core/primitive.js";
import type { Array as JaxArray } from "../../core/array.js";
import { Jaxpr, Var, eqn } from "../../trace/jaxpr.js";
import { bind1 } from "../../trace/trace.js";
import { UndefPrimal, Zero, defJvp, defTranspose, instantiate } from "../../vjp/ad.js";
import * as lax from "./api.js";
import { defBatch, moveBatchAxis } from "../../vmap/batching.js";
import { addP } from "./elementwise.js";
import type { Shape } from "../../core/shape.js";
import { ravel, stridesOf, tabulate, tuple, unravel } from "./util.js";

/** How out-of-bounds indices behave: clamp the window into bounds, or fill (gather) / drop (scatter). */
export type GatherScatterMode = "clip" | "fill" | "promise_in_bounds";

export interface GatherDimensionNumbers {
  readonly offset_dims: readonly number[];
  readonly collapsed_slice_dims: readonly number[];
  readonly start_index_map: readonly number[];
  readonly operand_batching_dims: readonly number[];
  readonly start_indices_batching_dims: readonly number[];
}

export interface GatherParams {
  readonly dimension_numbers: GatherDimensionNumbers;
  readonly slice_sizes: Shape;
  readonly mode: GatherScatterMode;
  readonly fill_value: number | null;
  readonly indices_are_sorted: boolean;
  readonly unique_indices: boolean;
}

function checkIndices(name: string, indices: ShapedArray, indexedDims: number): void {
  if (!isInteger(indices.dtype)) throw new DTypeError(`${name}: indices must be integers, got ${indices.dtype}`);
  if (indices.ndim === 0 || indices.shape[indices.ndim - 1] !== indexedDims) {
    throw new ShapeError(`${name}: the last axis of indices ${fmtShape(indices.shape)} must have size ${indexedDims} (one entry per indexed operand axis)`);
  }
}

function gatherShape(operand: Shape, indices: Shape, { dimension_numbers: dn, slice_sizes }: GatherParams): number[] {
  const batch = indices.slice(0, -1);
  const offsets = slice_sizes.filter((_, d) => !dn.collapsed_slice_dims.includes(d) && !dn.operand_batching_dims.includes(d));
  const rank = batch.length + offsets.length;
  const out: number[] = [];
  let b = 0;
  let o = 0;
  for (let i = 0; i < rank; i++) out.push(dn.offset_dims.includes(i) ? offsets[o++]! : batch[b++]!);
  return out;
}

/** Default fill for out-of-bounds gathers: NaN, the lowest signed, the highest unsigned value, or true. */
export function defaultFill(dtype: DType): number {
  if (isFloat(dtype)) return NaN;
  if (dtype === "bool") return 1;
  const [lo, hi] = intRange(dtype);
  return dtype.startsWith("u") ? hi : lo;
}

export const gatherP = definePrimitive<GatherParams>({
  name: "gather",
  abstractEval([operand, indices], params) {
    const { dimension_numbers: dn, slice_sizes } = params;
    checkIndices("gather", indices!, dn.start_index_map.length);
    if (slice_sizes.length !== operand!.ndim || slice_sizes.some((s, d) => s < 0 || s > operand!.shape[d]!)) {
      throw new ShapeError(`gather: slice_sizes ${tuple(slice_sizes)} do not fit operand shape ${fmtShape(operand!.shape)}`);
    }
    for (const d of [...dn.collapsed_slice_dims, ...dn.operand_batching_dims]) {
      if (slice_sizes[d] !== 1 && slice_sizes[d] !== 0) throw new ShapeError(`gather: collapsed or batching axis ${d} must have slice size 1, got ${slice_sizes[d]}`);
    }
    return [new ShapedArray(gatherShape(operand!.shape, indices!.shape, params), operand!.dtype, operand!.weakType)];
  },
  impl([operand, indices], params) {
    const { dimension_numbers: dn, slice_sizes, mode } = params;
    const outShape = gatherShape(operand!.shape, indices!.shape, params);
    const opStrides = stridesOf(operand!.shape);
    const idxStrides = stridesOf(indices!.shape);
    const nIdx = dn.start_index_map.length;
    const windowAxes = slice_sizes.map((_, d) => d).filter((d) => !dn.collapsed_slice_dims.includes(d) && !dn.operand_batching_dims.includes(d));
    const batchAxes = outShape.map((_, i) => i).filter((i) => !dn.offset_dims.includes(i));
    const fill = params.fill_value ?? defaultFill(operand!.dtype);
    const oi = new globalThis.Array<number>(outShape.length);
    return [
      tabulate(outShape, operand!.dtype, (flat) => {
        unravel(flat, outShape, oi);
        const batch = batchAxes.map((a) => oi[a]!);
        const base = ravel([...batch, 0], idxStrides);
        const start = new globalThis.Array<number>(operand!.shape.length).fill(0);
        for (let k = 0; k < nIdx; k++) start[dn.start_index_map[k]!] = indices!.data[base + k]!;
        dn.operand_batching_dims.forEach((d, k) => (start[d] = batch[dn.start_indices_batching_dims[k]!]!));
        let outOfBounds = false;
        for (let d = 0; d < start.length; d++) {
          const limit = operand!.shape[d]! - slice_sizes[d]!;
          if (start[d]! < 0 || start[d]! > limit) outOfBounds = true;
          start[d] = Math.min(Math.max(start[d]!, 0), limit);
        }
        if (outOfBounds && mode === "fill") return fill;
        windowAxes.forEach((d, k) => (start[d] = start[d]! + oi[dn.offset_dims[k]!]!));
        return operand!.data[ravel(start, opStrides)]!;
      }),
    ];
  },
  formatParams: ({ dimension_numbers: dn, slice_sizes, mode, fill_value, indices_are_sorted, unique_indices }) => ({
    dimension_numbers:
      `GatherDimensionNumbers(offset_dims=${tuple(dn.offset_dims)}, collapsed_slice_dims=${tuple(dn.collapsed_slice_dims)}, ` +
      `start_index_map=${tuple(dn.start_index_map)}, operand_batching_dims=${tuple(dn.operand_batching_dims)}, ` +
      `start_indices_batching_dims=${tuple(dn.start_indices_batching_dims)})`,
    fill_value: fill_value === null ? "None" : Number.isNaN(fill_value) ? "nan" : String(fill_value),
    indices_are_sorted: indices_are_sorted ? "True" : "False",
    mode: modeName(mode),
    slice_sizes: tuple(slice_sizes),
    unique_indices: unique_indices ? "True" : "False",
  }),
});

const modeName = (mode: GatherScatterMode): string =>
  `GatherScatterMode.${{ clip: "CLIP", fill: "FILL_OR_DROP", promise_in_bounds: "PROMISE_IN_BOUNDS" }[mode]}`;

export interface ScatterDimensionNumbers {
  readonly update_window_dims: readonly number[];
  readonly inserted_window_dims: readonly number[];
  readonly scatter_dims_to_operand_dims: readonly number[];
  readonly operand_batching_dims: readonly number[];
  readonly scatter_indices_batching_dims: readonly number[];
}

export interface ScatterParams {
  readonly dimension_numbers: ScatterDimensionNumbers;
  /** How an update combines with the operand: `add` on scalars (printed as JAX prints it). */
  readonly update_jaxpr: Jaxpr;
  readonly mode: GatherScatterMode;
  readonly indices_are_sorted: boolean;
  readonly unique_indices: boolean;
}

/** `scatter_add(operand, indices, updates)`: adds each update window into the operand; out-of-bounds windows are dropped (or clamped in clip mode). */
export const scatterAddP = definePrimitive<ScatterParams>({
  name: "scatter-add",
  abstractEval([operand, indices, updates], { dimension_numbers: dn }) {
    checkIndices("scatter-add", indices!, dn.scatter_dims_to_operand_dims.length);
    if (updates!.dtype !== operand!.dtype) throw new DTypeError(`scatter-add: updates dtype ${updates!.dtype} must equal the operand's ${operand!.dtype}`);
    const batch = indices!.shape.slice(0, -1);
    const windowRank = operand!.ndim - dn.inserted_window_dims.length - dn.operand_batching_dims.length;
    if (updates!.ndim !== batch.length + windowRank || dn.update_window_dims.length !== windowRank) {
      throw new ShapeError(
        `scatter-add: updates shape ${fmtShape(updates!.shape)} must have the ${batch.length} batch axes of indices ${fmtShape(indices!.shape)} plus ${windowRank} window axes`,
      );
    }
    return [operand!];
  },
  impl([operand, indices, updates], { dimension_numbers: dn, mode }) {
    return [scatterAdd(operand!, indices!, updates!, dn, mode)];
  },
  formatParams: ({ dimension_numbers: dn, mode, indices_are_sorted, unique_indices, update_jaxpr }) => ({
    dimension_numbers:
      `ScatterDimensionNumbers(update_window_dims=${tuple(dn.update_window_dims)}, inserted_window_dims=${tuple(dn.inserted_window_dims)}, ` +
      `scatter_dims_to_operand_dims=${tuple(dn.scatter_dims_to_operand_dims)}, operand_batching_dims=${tuple(dn.operand_batching_dims)}, ` +
      `scatter_indices_batching_dims=${tuple(dn.scatter_indices_batching_dims)})`,
    indices_are_sorted: indices_are_sorted ? "True" : "False",
    mode: modeName(mode),
    unique_indices: unique_indices ? "True" : "False",
    update_consts: "()",
    update_jaxpr,
  }),
});

/** `{ lambda ; a b. let c = add a b in (c,) }` on scalars of `dtype`: scatter-add's combiner. */
export function scalarAddJaxpr(dtype: DType): Jaxpr {
  const scalar = new ShapedArray([], dtype);
  const [a, b, c] = [new Var(scalar), new Var(scalar), new Var(scalar)];
  return new Jaxpr([], [a, b], [eqn(addP as Primitive<never>, [a, b], {}, [c])], [c]);
}

function scatterAdd(operand: HostTensor, indices: HostTensor, updates: HostTensor, dn: ScatterDimensionNumbers, mode: GatherScatterMode): HostTensor {
  const dtype = operand.dtype;
  const acc = Float64Array.from(operand.data);
  const opShape = operand.shape;
  const opStrides = stridesOf(opShape);
  const idxStrides = stridesOf(indices.shape);
  const windowAxes = opShape.map((_, d) => d).filter((d) => !dn.inserted_window_dims.includes(d) && !dn.operand_batching_dims.includes(d));
  const batchAxes = updates.shape.map((_, i) => i).filter((i) => !dn.update_window_dims.includes(i));
  const windowSize = opShape.map(() => 1);
  windowAxes.forEach((d, k) => (windowSize[d] = updates.shape[dn.update_window_dims[k]!]!));
  const ui = new globalThis.Array<number>(updates.shape.length);
  for (let flat = 0; flat < updates.data.length; flat++) {
    unravel(flat, updates.shape, ui);
    const batch = batchAxes.map((a) => ui[a]!);
    const base = ravel([...batch, 0], idxStrides);
    const start = new globalThis.Array<number>(opShape.length).fill(0);
    dn.scatter_dims_to_operand_dims.forEach((d, k) => (start[d] = indices.data[base + k]!));
    dn.operand_batching_dims.forEach((d, k) => (start[d] = batch[dn.scatter_indices_batching_dims[k]!]!));
    let inBounds = true;
    for (let d = 0; d < start.length; d++) {
      const limit = opShape[d]! - windowSize[d]!;
      if (mode === "clip") start[d] = Math.min(Math.max(start[d]!, 0), limit);
      else if (start[d]! < 0 || start[d]! > limit) inBounds = false;
    }
    if (!inBounds) continue;
    windowAxes.forEach((d, k) => (start[d] = start[d]! + ui[dn.update_window_dims[k]!]!));
    const at = ravel(start, opStrides);
    acc[at] = isInteger(dtype) ? wrapInt(acc[at]! + updates.data[flat]!, dtype) : acc[at]! + updates.data[flat]!;
  }
  return tabulate(opShape, dtype, (i) => roundResult(acc[i]!, dtype));
}

// ---- differentiation rules: gather and scatter-add are linear in their data operands -------------

const scatterDimsOf = (dn: GatherDimensionNumbers): ScatterDimensionNumbers => ({
  update_window_dims: dn.offset_dims,
  inserted_window_dims: dn.collapsed_slice_dims,
  scatter_dims_to_operand_dims: dn.start_index_map,
  operand_batching_dims: dn.operand_batching_dims,
  scatter_indices_batching_dims: dn.start_indices_batching_dims,
});

defJvp(gatherP, ([operand, indices], [t], params) => {
  const out = bind1(gatherP, [operand!, indices!], params);
  return [[out], [t instanceof Zero ? new Zero(out.aval.strongly()) : bind1(gatherP, [t!, indices!], params)]];
});
defTranspose(gatherP, ([ct], [operand, indices], params) => {
  if (indices instanceof UndefPrimal) throw new ArgumentError("gather: indices are not differentiable");
  const aval = (operand as UndefPrimal).aval.strongly();
  // Out-of-bounds windows were clamped (clip) or filled (dropped here, as a scatter drops them).
  const mode: GatherScatterMode = params.mode === "clip" ? "clip" : "fill";
  const zero = lax.broadcastInDim(lax.convertElementType(0, aval.dtype), aval.shape, []);
  return [lax.scatterAdd(zero, indices!, instantiate(ct!), scatterDimsOf(params.dimension_numbers), { mode }), null];
});

defJvp(scatterAddP, ([operand, indices, updates], [to, , tu], params) => {
  const out = bind1(scatterAddP, [operand!, indices!, updates!], params);
  if (to instanceof Zero && tu instanceof Zero) return [[out], [new Zero(out.aval.strongly())]];
  return [[out], [bind1(scatterAddP, [instantiate(to!), indices!, instantiate(tu!)], params)]];
});
defTranspose(scatterAddP, ([ct], [operand, indices, updates], params) => {
  if (indices instanceof UndefPrimal) throw new ArgumentError("scatter-add: indices are not differentiable");
  const g = instantiate(ct!);
  const dn = params.dimension_numbers;
  let updatesCt: JaxArray | null = null;
  if (updates instanceof UndefPrimal) {
    const windowSizes = updates.aval.shape.filter((_, i) => dn.update_window_dims.includes(i));
    let w = 0;
    const sliceSizes = g.shape.map((_, d) => (dn.inserted_window_dims.includes(d) || dn.operand_batching_dims.includes(d) ? 1 : windowSizes[w++]!));
    updatesCt = lax.gather(
      g,
      indices as JaxArray,
      {
        offset_dims: dn.update_window_dims,
        collapsed_slice_dims: dn.inserted_window_dims,
        start_index_map: dn.scatter_dims_to_operand_dims,
        operand_batching_dims: dn.operand_batching_dims,
        start_indices_batching_dims: dn.scatter_indices_batching_dims,
      },
      sliceSizes,
      { mode: params.mode === "clip" ? "clip" : "fill", fillValue: 0 },
    );
  }
  return [operand instanceof UndefPrimal ? g : null, null, updatesCt];
});

// ---- batching rules (vmap): batched indices become gather/scatter batching dims ------------------------

const plus1 = (axes: readonly number[]): number[] => axes.map((a) => a + 1);

defBatch(gatherP, ([operand, indices], [dOp, dIdx], params, size) => {
  const dn = params.dimension_numbers;
  if (dIdx === null) {
    // The batch axis is one more window axis of the operand, the first: it comes out first.
    const numbers: GatherDimensionNumbers = {
      offset_dims: [0, ...plus1(dn.offset_dims)],
      collapsed_slice_dims: plus1(dn.collapsed_slice_dims),
      start_index_map: plus1(dn.start_index_map),
      operand_batching_dims: plus1(dn.operand_batching_dims),
      start_indices_batching_dims: dn.start_indices_batching_dims,
    };
    const out = bind1(gatherP, [moveBatchAxis(operand!, dOp!, 0, size), indices!], { ...params, dimension_numbers: numbers, slice_sizes: [size, ...params.slice_sizes] });
    return [[out], [0]];
  }
  const idx = moveBatchAxis(indices!, dIdx, 0, size);
  if (dOp === null) {
    // The batch axis is one more batch axis of the indices, the first: it comes out first.
    const numbers = { ...dn, offset_dims: plus1(dn.offset_dims), start_indices_batching_dims: plus1(dn.start_indices_batching_dims) };
    return [[bind1(gatherP, [operand!, idx], { ...params, dimension_numbers: numbers })], [0]];
  }
  const numbers: GatherDimensionNumbers = {
    offset_dims: plus1(dn.offset_dims),
    collapsed_slice_dims: plus1(dn.collapsed_slice_dims),
    start_index_map: plus1(dn.start_index_map),
    operand_batching_dims: [0, ...plus1(dn.operand_batching_dims)],
    start_indices_batching_dims: [0, ...plus1(dn.start_indices_batching_dims)],
  };
  const out = bind1(gatherP, [moveBatchAxis(operand!, dOp, 0, size), idx], { ...params, dimension_numbers: numbers, slice_sizes: [1, ...params.slice_sizes] });
  return [[out], [0]];
});

/** Operand, indices and updates all batched at the front, matched by a leading batching dim. */
defBatch(scatterAddP, (args, dims, params, size) => {
  const [operand, indices, updates] = args.map((x, i) => moveBatchAxis(x, dims[i]!, 0, size));
  const dn = params.dimension_numbers;
  const numbers: ScatterDimensionNumbers = {
    update_window_dims: plus1(dn.update_window_dims),
    inserted_window_dims: plus1(dn.inserted_window_dims),
    scatter_dims_to_operand_dims: plus1(dn.scatter_dims_to_operand_dims),
    operand_batching_dims: [0, ...plus1(dn.operand_batching_dims)],
    scatter_indices_batching_dims: [0, ...plus1(dn.scatter_indices_batching_dims)],
  };
  return [[bind1(scatterAddP, [operand!, indices!, updates!], { ...params, dimension_numbers: numbers })], [0]];
});
