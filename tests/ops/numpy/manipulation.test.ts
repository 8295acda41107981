import { describe, expect, it } from "vitest";
import { numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";

describe("shape manipulation", () => {
  const x = np.arange(24).reshape([2, 3, 4]);
  const v = (i: number, j: number, k: number) => i * 12 + j * 4 + k;

  it("reshape infers -1 and checks sizes", () => {
    expect(np.reshape(x, [4, -1]).shape).toEqual([4, 6]);
    expect(np.ravel(x).shape).toEqual([24]);
    expect(x.reshape(6, 4).shape).toEqual([6, 4]);
    expect(() => np.reshape(x, [5, -1])).toThrow(/cannot reshape an array of shape \(2, 3, 4\) into shape \(5, -1\)/);
    expect(() => np.reshape(x, [-1, -1])).toThrow(/at most one -1/);
  });

  it("transpose, swapaxes and moveaxis permute axes", () => {
    expectArray(np.transpose(x), [4, 3, 2], "int32", [0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23]);
    expect(np.transpose(x, [1, 0, 2]).at(2, 1, 3).dataSync()[0]).toBe(v(1, 2, 3));
    expect(np.swapaxes(x, 0, -1).shape).toEqual([4, 3, 2]);
    expect(np.swapaxes(x, 0, -1).at(3, 1, 0).dataSync()[0]).toBe(v(0, 1, 3));
    const moved = np.moveaxis(x, 0, -1);
    expect(moved.shape).toEqual([3, 4, 2]);
    expect(moved.at(2, 1, 1).dataSync()[0]).toBe(v(1, 2, 1));
    expect(np.moveaxis(x, [0, 1], [2, 0]).shape).toEqual([3, 4, 2]);
    expect(x.T.shape).toEqual([4, 3, 2]);
  });

  it("squeeze, expandDims and flip", () => {
    const y = np.expandDims(x, [0, -1]);
    expect(y.shape).toEqual([1, 2, 3, 4, 1]);
    expect(np.squeeze(y).shape).toEqual([2, 3, 4]);
    expect(np.squeeze(y, 0).shape).toEqual([2, 3, 4, 1]);
    expect(() => np.squeeze(y, 1)).toThrow(/cannot squeeze axis 1 of size 2/);
    expectArray(np.flip(np.arange(4)), [4], "int32", [3, 2, 1, 0]);
    expectArray(np.flip(np.arange(4).reshape([2, 2]), 1), [2, 2], "int32", [1, 0, 3, 2]);
  });

  it("concatenate and stack promote dtypes and check shapes", () => {
    const a = np.array([[1, 2]], { dtype: "int32" });
    const b = np.array([[3.5, 4]]);
    expectArray(np.concatenate([a, b]), [2, 2], "float32", [1, 2, 3.5, 4]);
    expectArray(np.concatenate([a, b], -1), [1, 4], "float32", [1, 2, 3.5, 4]);
    expectArray(np.concatenate([a, a], null), [4], "int32", [1, 2, 1, 2]);
    expectArray(np.stack([a, a], 1), [1, 2, 2], "int32", [1, 2, 1, 2]);
    expect(np.stack([np.arange(3), np.arange(3)], -1).shape).toEqual([3, 2]);
    expect(() => np.stack([a, np.zeros([2])])).toThrow(/all input arrays must have the same shape, got argument 0 \(1, 2\) and argument 1 \(2,\)/);
    expect(() => np.concatenate([np.array(1), np.array(2)])).toThrow(/zero-dimensional/);
  });

  it("split by sections and by indices", () => {
    const parts = np.split(np.arange(6), 3);
    expect(parts.map((p) => Array.from(p.dataSync()))).toEqual([[0, 1], [2, 3], [4, 5]]);
    const uneven = np.split(np.arange(6), [1, 4, 10]);
    expect(uneven.map((p) => Array.from(p.dataSync()))).toEqual([[0], [1, 2, 3], [4, 5], []]);
    expect(np.split(x, 2, -1).map((p) => p.shape)).toEqual([[2, 3, 2], [2, 3, 2]]);
    expect(() => np.split(np.arange(5), 2)).toThrow(/does not result in an equal division/);
  });

  it("repeat with a scalar or per-element counts (totalRepeatLength)", () => {
    expectArray(np.repeat(np.array([1, 2]), 2), [4], "float32", [1, 1, 2, 2]);
    expectArray(np.repeat(np.array([[1, 2], [3, 4]]), 2, { axis: 1 }), [2, 4], "float32", [1, 1, 2, 2, 3, 3, 4, 4]);
    const counts = np.array([2, 0, 3], { dtype: "int32" });
    expectArray(np.repeat(np.array([10, 20, 30]), counts, { totalRepeatLength: 5 }), [5], "float32", [10, 10, 30, 30, 30]);
    expectArray(np.repeat(np.array([10, 20, 30]), np.array([0, 0, 2], { dtype: "int32" }), { totalRepeatLength: 2 }), [2], "float32", [30, 30]);
    expectArray(np.repeat(np.array([[1, 2], [3, 4]]), np.array([1, 2], { dtype: "int32" }), { axis: 0, totalRepeatLength: 3 }), [3, 2], "float32", [1, 2, 3, 4, 3, 4]);
    expect(() => np.repeat(np.array([1, 2]), np.array([1, 1], { dtype: "int32" }))).toThrow(/needs totalRepeatLength/);
  });

  it("tile repeats whole arrays", () => {
    expectArray(np.tile(np.array([1, 2]), [2, 2]), [2, 4], "float32", [1, 2, 1, 2, 1, 2, 1, 2]);
  });

  it("broadcastTo follows numpy rules", () => {
    expectArray(np.broadcastTo(np.array([[1], [2]]), [2, 3]), [2, 3], "float32", [1, 1, 1, 2, 2, 2]);
    expectArray(np.broadcastTo(3, [2]), [2], "int32", [3, 3]);
    expect(() => np.broadcastTo(np.array([1, 2]), [3])).toThrow(/cannot be broadcast/);
  });
});
