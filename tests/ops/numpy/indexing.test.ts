import { describe, expect, it } from "vitest";
import { numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";

describe("indexing", () => {
  const m = np.arange(12).reshape([3, 4]);
  const idx = (v: number[]) => np.array(v, { dtype: "int32" });

  it("take along an axis or the flattened array, with negative indices and fill/clip modes", () => {
    expectArray(np.take(m, idx([2, 0, -1]), { axis: 1 }), [3, 3], "int32", [2, 0, 3, 6, 4, 7, 10, 8, 11]);
    expectArray(np.take(m, idx([5, 11])), [2], "int32", [5, 11]);
    expectArray(np.take(m.astype("float32"), idx([1, 7]), { axis: 0 }), [2, 4], "float32", [4, 5, 6, 7, NaN, NaN, NaN, NaN]);
    expectArray(np.take(m, idx([1, 7]), { axis: 0, mode: "clip" }), [2, 4], "int32", [4, 5, 6, 7, 8, 9, 10, 11]);
    expect(np.take(m, np.array([[0, 1], [2, 0]], { dtype: "int32" }), { axis: 0 }).shape).toEqual([2, 2, 4]);
    expect(() => np.take(m, np.array([0.5]))).toThrow(/indices must be integers, got float32/);
  });

  it("takeAlongAxis picks per-row entries", () => {
    const order = np.array([[3, 0], [1, 1], [-1, 2]], { dtype: "int32" });
    expectArray(np.takeAlongAxis(m, order, 1), [3, 2], "int32", [3, 0, 5, 5, 11, 10]);
    expectArray(np.takeAlongAxis(m, np.array([[2, 0, 1, 0]], { dtype: "int32" }), 0), [1, 4], "int32", [8, 1, 6, 3]);
    expect(() => np.takeAlongAxis(m, idx([0]), 1)).toThrow(/must have the same rank/);
  });

  it("at() does basic indexing: integers, slices, steps, new axes, ellipsis", () => {
    expectArray(m.at(1), [4], "int32", [4, 5, 6, 7]);
    expectArray(m.at(-1, -2), [], "int32", [10]);
    expectArray(m.at(":", "1:3"), [3, 2], "int32", [1, 2, 5, 6, 9, 10]);
    expectArray(m.at("::2", "::-1"), [2, 4], "int32", [3, 2, 1, 0, 11, 10, 9, 8]);
    expectArray(m.at("...", 0), [3], "int32", [0, 4, 8]);
    expect(m.at(null, 1).shape).toEqual([1, 4]);
    expect(m.at(":", null, 2).shape).toEqual([3, 1]);
    expect(m.at(null, null).shape).toEqual([1, 1, 3, 4]);
    expectArray(m.at("-2:", "3:0:-2"), [2, 2], "int32", [7, 5, 11, 9]);
    expect(m.at("5:").shape).toEqual([0, 4]);
    expect(() => m.at(3)).toThrow(/index 3 is out of bounds for axis 0 with size 3/);
    expect(() => m.at(0, 0, 0)).toThrow(/too many indices/);
    expect(() => m.at("1:2:0")).toThrow(/step cannot be zero/);
  });

  it("at() with one index array gathers on that axis", () => {
    expectArray(m.at(idx([2, 0])), [2, 4], "int32", [8, 9, 10, 11, 0, 1, 2, 3]);
    expectArray(m.at(1, idx([3, -4])), [2], "int32", [7, 4]);
    expect(m.at(np.array([[0, 1]], { dtype: "int32" }), ":").shape).toEqual([1, 2, 4]);
  });

  it("iterates over the first axis", () => {
    const rows = [...m].map((row) => Array.from(row.dataSync()));
    expect(rows).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  });
});
