import { describe, expect, it } from "vitest";
import { numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";

describe("sorting and counting", () => {
  const x = np.array([[3, 1, 2], [0, 5, -1]]);

  it("sort along the last axis, another axis, or flattened", () => {
    expectArray(np.sort(x), [2, 3], "float32", [1, 2, 3, -1, 0, 5]);
    expectArray(np.sort(x, { axis: 0 }), [2, 3], "float32", [0, 1, -1, 3, 5, 2]);
    expectArray(np.sort(x, { axis: null }), [6], "float32", [-1, 0, 1, 2, 3, 5]);
  });

  it("argsort is stable, ascending or descending", () => {
    const v = np.array([2, 1, 2, 1, 3]);
    expectArray(np.argsort(v), [5], "int32", [1, 3, 0, 2, 4]);
    expectArray(np.argsort(v, { descending: true }), [5], "int32", [4, 0, 2, 1, 3]);
    expectArray(np.argsort(x, { axis: 0 }), [2, 3], "int32", [1, 0, 1, 0, 1, 0]);
  });

  it("bincount counts with a fixed length, drops values ≥ length and counts negatives as 0", () => {
    const values = np.array([0, 1, 1, 3, 7, -2], { dtype: "int32" });
    expectArray(np.bincount(values, { length: 4 }), [4], "int32", [2, 2, 0, 1]);
    expectArray(np.bincount(values), [8], "int32", [2, 2, 0, 1, 0, 0, 0, 1]);
    expectArray(np.bincount(values, { length: 3, weights: np.array([0.5, 1, 2, 3, 4, 5]) }), [3], "float32", [5.5, 3, 0]);
    expect(() => np.bincount(np.array([1.5]))).toThrow(/must be an integer array, got float32/);
    expect(() => np.bincount(values, { length: 2, weights: np.ones([2]) })).toThrow(/weights \(2,\) must have the shape of x \(6,\)/);
  });
});
