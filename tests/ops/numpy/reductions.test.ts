import { describe, expect, it } from "vitest";
import { numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

describe("reductions", () => {
  const x = np.array([[1, 2, 3], [4, 5, 6]]);

  it("sum, prod, max, min over all axes, one axis, negative axes, with keepdims", () => {
    expectArray(np.sum(x), [], "float32", [21]);
    expectArray(np.sum(x, { axis: 0 }), [3], "float32", [5, 7, 9]);
    expectArray(np.sum(x, { axis: -1, keepdims: true }), [2, 1], "float32", [6, 15]);
    expectArray(np.prod(x, { axis: 1 }), [2], "float32", [6, 120]);
    expectArray(np.max(x, { axis: [0, 1], keepdims: true }), [1, 1], "float32", [6]);
    expectArray(np.min(x, { axis: 0 }), [3], "float32", [1, 2, 3]);
    expectArray(x.sum(1), [2], "float32", [6, 15]);
    expectArray(x.max(), [], "float32", [6]);
  });

  it("widens small integers and bools in sums like JAX", () => {
    expectArray(np.sum(np.array([100, 100, 100], { dtype: "int8" })), [], "int32", [300]);
    expectArray(np.sum(np.array([200, 200], { dtype: "uint8" })), [], "uint32", [400]);
    expectArray(np.sum(np.array([true, true, false])), [], "int32", [2]);
  });

  it("mean, var and std in float, over random data, match float64", () => {
    const r = randomArray(rng(3), [4, 6], "float32", 3);
    const d = Array.from(r.dataSync());
    const rows = [0, 1, 2, 3].map((i) => d.slice(i * 6, i * 6 + 6));
    const mean = rows.map((row) => row.reduce((a, b) => a + b, 0) / 6);
    const variance = rows.map((row, i) => row.reduce((a, b) => a + (b - mean[i]!) ** 2, 0) / 6);
    expectArray(np.mean(r, { axis: 1 }), [4], "float32", mean, 1e-5, 1e-6);
    expectArray(np.variance(r, { axis: 1 }), [4], "float32", variance, 1e-5, 1e-6);
    expectArray(np.std(r, { axis: -1, ddof: 1 }), [4], "float32", variance.map((v) => Math.sqrt((v * 6) / 5)), 1e-5, 1e-6);
    expectArray(np.mean(np.array([1, 2], { dtype: "int32" })), [], "float32", [1.5]);
  });

  it("all and any reduce truthiness", () => {
    const b = np.array([[1, 0], [2, 3]]);
    expectArray(np.all(b, { axis: 1 }), [2], "bool", [0, 1]);
    expectArray(np.any(b, { axis: 0 }), [2], "bool", [1, 1]);
    expectArray(np.all(np.zeros([0])), [], "bool", [1]);
  });

  it("argmax and argmin flatten by default and respect axis/keepdims", () => {
    expectArray(np.argmax(x), [], "int32", [5]);
    expectArray(np.argmin(x, { axis: 1 }), [2], "int32", [0, 0]);
    expectArray(np.argmax(x, { axis: 0, keepdims: true }), [1, 3], "int32", [1, 1, 1]);
    expect(() => np.argmax(np.zeros([0]))).toThrow(/argmax of an empty sequence/);
  });

  it("cumsum flattens without an axis and widens small ints", () => {
    expectArray(np.cumsum(x), [6], "float32", [1, 3, 6, 10, 15, 21]);
    expectArray(np.cumsum(x, { axis: 0 }), [2, 3], "float32", [1, 2, 3, 5, 7, 9]);
    expectArray(np.cumsum(np.array([100, 100], { dtype: "int8" })), [2], "int32", [100, 200]);
  });

  it("handles empty reductions and rejects max of an empty axis", () => {
    expectArray(np.sum(np.zeros([3, 0]), { axis: 1 }), [3], "float32", [0, 0, 0]);
    expectArray(np.prod(np.zeros([0])), [], "float32", [1]);
    expect(() => np.max(np.zeros([2, 0]), { axis: 1 })).toThrow(/zero-size array to reduction operation max/);
    expect(() => np.sum(x, { axis: 2 })).toThrow(/sum: axis 2 is out of bounds for an array of rank 2/);
  });
});
