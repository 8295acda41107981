/**
 * Batching rules (vmap) of gather, scatter-add and the dynamic slices. Batched indices become gather/scatter
 * batching dims (JAX's operand_batching_dims), so an indexed operation stays one primitive; dynamic slices at
 * batched starts become a gather, and dynamic updates at batched starts a scatter.
 */
import { ShapedArray } from "../../core/aval.js";
import { type Array, arrayFromHost } from "../../core/array.js";
import { bind1 } from "../../trace/trace.js";
import { defBatch, moveBatchAxis } from "../../vmap/batching.js";
import * as lax from "./api.js";
import { type GatherDimensionNumbers, type ScatterDimensionNumbers, gatherP, scatterAddP } from "./indexing.js";
import { dynamicSliceP, dynamicUpdateSliceP } from "./movement.js";

const range = (n: number, from = 0): number[] => globalThis.Array.from({ length: n }, (_, i) => i + from);
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

/** The scatter dimension numbers with a leading batch axis on operand, indices and updates. */
const batchedScatter = (dn: ScatterDimensionNumbers): ScatterDimensionNumbers => ({
  update_window_dims: plus1(dn.update_window_dims),
  inserted_window_dims: plus1(dn.inserted_window_dims),
  scatter_dims_to_operand_dims: plus1(dn.scatter_dims_to_operand_dims),
  operand_batching_dims: [0, ...plus1(dn.operand_batching_dims)],
  scatter_indices_batching_dims: [0, ...plus1(dn.scatter_indices_batching_dims)],
});

defBatch(scatterAddP, (args, dims, params, size) => {
  const [operand, indices, updates] = args.map((x, i) => moveBatchAxis(x, dims[i]!, 0, size));
  return [[bind1(scatterAddP, [operand!, indices!, updates!], { ...params, dimension_numbers: batchedScatter(params.dimension_numbers) })], [0]];
});

/** Start indices batched at the front as one int32 index array [batch, numIndices]. */
function startIndices(starts: readonly Array[], dims: readonly (number | null)[], size: number): Array {
  const columns = starts.map((s, i) => lax.reshape(moveBatchAxis(lax.convertElementType(s, "int32"), dims[i]!, 0, size), [size, 1]));
  return lax.concatenate(columns, 1);
}

defBatch(dynamicSliceP, ([x, ...starts], [dx, ...dStarts], { slice_sizes }, size) => {
  if (dStarts.every((d) => d === null)) {
    const zero = lax.convertElementType(0, starts[0]?.dtype ?? "int32");
    return [[bind1(dynamicSliceP, [moveBatchAxis(x!, dx!, 0, size), zero, ...starts], { slice_sizes: [size, ...slice_sizes] })], [0]];
  }
  const rank = slice_sizes.length;
  const idx = startIndices(starts, dStarts, size);
  const batched = dx !== null;
  const numbers: GatherDimensionNumbers = {
    offset_dims: range(rank, 1),
    collapsed_slice_dims: [],
    start_index_map: range(rank, batched ? 1 : 0),
    operand_batching_dims: batched ? [0] : [],
    start_indices_batching_dims: batched ? [0] : [],
  };
  const operand = batched ? moveBatchAxis(x!, dx, 0, size) : x!;
  // dynamic_slice clamps its starts so the window fits: the gather's clip mode.
  const out = lax.gather(operand, idx, numbers, batched ? [1, ...slice_sizes] : slice_sizes, { mode: "clip" });
  return [[out], [0]];
});

defBatch(dynamicUpdateSliceP, ([x, update, ...starts], [dx, du, ...dStarts], _params, size) => {
  const operand = moveBatchAxis(x!, dx!, 0, size);
  const upd = moveBatchAxis(update!, du!, 0, size);
  if (dStarts.every((d) => d === null)) {
    const zero = lax.convertElementType(0, starts[0]?.dtype ?? "int32");
    return [[bind1(dynamicUpdateSliceP, [operand, upd, zero, ...starts], {})], [0]];
  }
  // Starts clamped as dynamic_update_slice does, then the window scattered; its positions select the update.
  const rank = x!.ndim - (dx === null ? 0 : 1);
  const limits = upd.shape.slice(1).map((u, a) => operand.shape[a + 1]! - u);
  const highest = lax.broadcastInDim(arrayFromHost(Int32Array.from(limits), new ShapedArray([rank], "int32")), [size, rank], [1]);
  const idx = lax.clamp(lax.convertElementType(0, "int32"), startIndices(starts, dStarts, size), highest);
  const numbers: ScatterDimensionNumbers = {
    update_window_dims: range(rank, 1),
    inserted_window_dims: [],
    scatter_dims_to_operand_dims: range(rank, 1),
    operand_batching_dims: [0],
    scatter_indices_batching_dims: [0],
  };
  const zerosOf = (dtype: Array["dtype"]): Array => lax.broadcastInDim(lax.convertElementType(0, dtype), operand.shape, []);
  const scatterDtype = upd.dtype === "bool" ? "int32" : upd.dtype;
  const placed = lax.scatterAdd(zerosOf(scatterDtype), idx, lax.convertElementType(upd, scatterDtype), numbers, { mode: "clip" });
  const ones = lax.broadcastInDim(lax.convertElementType(1, "int32"), upd.shape, []);
  const inside = lax.gt(lax.scatterAdd(zerosOf("int32"), idx, ones, numbers, { mode: "clip" }), 0);
  return [[lax.select(inside, lax.convertElementType(placed, upd.dtype), operand)], [0]];
});
