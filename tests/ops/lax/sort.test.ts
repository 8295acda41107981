import { describe, expect, it } from "vitest";
import { lax, numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

describe("sort", () => {
  it("sorts floats in total order: -inf < -0 < +0 < inf < NaN", () => {
    const x = np.array([NaN, 1, -Infinity, 0, -0, Infinity, -3]);
    const sorted = lax.sort(x).dataSync();
    expect(Array.from(sorted).map((v) => (Object.is(v, -0) ? "-0" : String(v)))).toEqual(["-Infinity", "-3", "-0", "0", "1", "Infinity", "NaN"]);
  });

  it("sorts several operands by the first keys, stably, along any dimension", () => {
    const keys = np.array([[3, 1, 2, 1], [0, 0, 1, 0]], { dtype: "int32" });
    const values = np.array([[0, 1, 2, 3], [4, 5, 6, 7]]);
    const [k, v] = lax.sortMany([keys, values], { dimension: 1 });
    expectArray(k!, [2, 4], "int32", [1, 1, 2, 3, 0, 0, 0, 1]);
    expectArray(v!, [2, 4], "float32", [1, 3, 2, 0, 4, 5, 7, 6]);
    const [k0] = lax.sortMany([keys], { dimension: 0 });
    expectArray(k0!, [2, 4], "int32", [0, 0, 1, 0, 3, 1, 2, 1]);
  });

  it("uses a second key to break ties", () => {
    const a = np.array([1, 0, 1, 0], { dtype: "int32" });
    const b = np.array([2, 9, 1, 3], { dtype: "int32" });
    const [sa, sb] = lax.sortMany([a, b], { numKeys: 2 });
    expectArray(sa!, [4], "int32", [0, 0, 1, 1]);
    expectArray(sb!, [4], "int32", [3, 9, 1, 2]);
  });

  it("matches a float64 sort on random data", () => {
    const x = randomArray(rng(5), [50]);
    expectArray(lax.sort(x), [50], "float32", Array.from(x.dataSync()).sort((p, q) => p - q));
  });
});

describe("top_k", () => {
  it("returns the k largest along the last axis, ties by lower index", () => {
    const [values, indices] = lax.topK(np.array([[1, 5, 3, 5], [NaN, 0, 2, -1]]), 2);
    expectArray(values, [2, 2], "float32", [5, 5, NaN, 2]);
    expectArray(indices, [2, 2], "int32", [1, 3, 0, 2]);
  });

  it("works along another axis and checks k", () => {
    const [values, indices] = lax.topK(np.array([[1, 9], [4, 2], [3, 3]]), 1, 0);
    expectArray(values, [1, 2], "float32", [4, 9]);
    expectArray(indices, [1, 2], "int32", [1, 0]);
    expect(() => lax.topK(np.array([1, 2]), 3)).toThrow(/k must be in 0\.\.2/);
  });
});
