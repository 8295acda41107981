import { describe, expect, it } from "vitest";
import { lax, numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";

const i32 = (v: number[] | number[][] | number[][][]) => np.array(v, { dtype: "int32" });
const noBatch = { operand_batching_dims: [], start_indices_batching_dims: [] };

describe("gather", () => {
  const m = np.arange(12).reshape([3, 4]);

  it("takes rows (offset dims after the batch dims)", () => {
    const rows = lax.gather(m, i32([[2], [0]]), { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], ...noBatch }, [1, 4]);
    expectArray(rows, [2, 4], "int32", [8, 9, 10, 11, 0, 1, 2, 3]);
  });

  it("takes windows with two start coordinates", () => {
    const windows = lax.gather(m, i32([[0, 1], [1, 2]]), { offset_dims: [1, 2], collapsed_slice_dims: [], start_index_map: [0, 1], ...noBatch }, [2, 2]);
    expectArray(windows, [2, 2, 2], "int32", [1, 2, 5, 6, 6, 7, 10, 11]);
  });

  it("clamps out-of-bounds windows, or fills them in fill mode", () => {
    const dims = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], ...noBatch };
    expectArray(lax.gather(m, i32([[5], [-1]]), dims, [1, 4]), [2, 4], "int32", [8, 9, 10, 11, 0, 1, 2, 3]);
    const f = m.astype("float32");
    expectArray(lax.gather(f, i32([[5], [1]]), dims, [1, 4], { mode: "fill" }), [2, 4], "float32", [NaN, NaN, NaN, NaN, 4, 5, 6, 7]);
    expectArray(lax.gather(m, i32([[3]]), dims, [1, 4], { mode: "fill", fillValue: -7 }), [1, 4], "int32", [-7, -7, -7, -7]);
  });

  it("supports batching dims (take along an axis)", () => {
    // out[i, j] = m[i, idx[i, j]]
    const idx = i32([[[3], [0]], [[1], [1]], [[2], [0]]]);
    const out = lax.gather(m, idx, { offset_dims: [], collapsed_slice_dims: [1], start_index_map: [1], operand_batching_dims: [0], start_indices_batching_dims: [0] }, [1, 1]);
    expectArray(out, [3, 2], "int32", [3, 0, 5, 5, 10, 8]);
  });

  it("checks the index vector size and dtype", () => {
    expect(() => lax.gather(m, i32([[0, 1]]), { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], ...noBatch }, [1, 4])).toThrow(/must have size 1/);
    expect(() => lax.gather(m, np.array([[0]]), { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], ...noBatch }, [1, 4])).toThrow(/indices must be integers, got float32/);
  });
});

describe("scatter_add", () => {
  const dims = { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] };

  it("adds rows, accumulating duplicates, and drops out-of-bounds updates", () => {
    const operand = np.ones([3, 2]);
    const updates = np.array([[1, 2], [10, 20], [100, 200], [7, 7]]);
    const out = lax.scatterAdd(operand, i32([[1], [1], [0], [3]]), updates, dims);
    expectArray(out, [3, 2], "float32", [101, 201, 12, 23, 1, 1]);
  });

  it("clamps in clip mode", () => {
    const out = lax.scatterAdd(np.zeros([3, 2]), i32([[7], [-2]]), np.array([[1, 2], [3, 4]]), dims, { mode: "clip" });
    expectArray(out, [3, 2], "float32", [3, 4, 0, 0, 1, 2]);
  });

  it("scatters scalars (bincount-style) and wraps integer sums", () => {
    const scalarDims = { update_window_dims: [], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] };
    const out = lax.scatterAdd(np.zeros([3], { dtype: "int8" }), i32([[0], [0], [2]]), np.array([100, 100, 5], { dtype: "int8" }), scalarDims);
    expectArray(out, [3], "int8", [-56, 0, 5]);
  });

  it("names the mismatch when updates do not fit", () => {
    expect(() => lax.scatterAdd(np.zeros([3, 2]), i32([[0]]), np.zeros([1, 2, 2]), dims)).toThrow(/updates shape \(1, 2, 2\) must have the 1 batch axes/);
  });
});
