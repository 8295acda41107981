import { describe, expect, it } from "vitest";
import { ArgumentError, numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";

describe("array creation", () => {
  it("array infers shapes, defaults numbers to float32 and booleans to bool", () => {
    expectArray(np.array([[1, 2], [3, 4]]), [2, 2], "float32", [1, 2, 3, 4]);
    expectArray(np.array(3.5), [], "float32", [3.5]);
    expectArray(np.array([true, false]), [2], "bool", [1, 0]);
    expectArray(np.array([1.7, -2.2, 300], { dtype: "int8" }), [3], "int8", [1, -2, 44]);
    expectArray(np.array([1.5, 2.5, 1e5], { dtype: "float16" }), [3], "float16", [1.5, 2.5, Infinity], 0);
    expectArray(np.array([]), [0], "float32", []);
    expect(() => np.array([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => np.array([1], { dtype: "complex64" as never })).toThrow(/array: dtype: unknown dtype "complex64"/);
  });

  it("zeros, ones, full and the *Like forms", () => {
    expectArray(np.zeros([2, 3]), [2, 3], "float32", [0, 0, 0, 0, 0, 0]);
    expectArray(np.ones(2, { dtype: "int8" }), [2], "int8", [1, 1]);
    expectArray(np.full([2], 7.5), [2], "float32", [7.5, 7.5]);
    expectArray(np.full([2], true), [2], "bool", [1, 1]);
    const x = np.array([[1, 2]], { dtype: "int32" });
    expectArray(np.zerosLike(x), [1, 2], "int32", [0, 0]);
    expectArray(np.onesLike(x, { dtype: "bfloat16" }), [1, 2], "bfloat16", [1, 1]);
    expectArray(np.fullLike(x, 9), [1, 2], "int32", [9, 9]);
    expectArray(np.zeros([0, 3]), [0, 3], "float32", []);
    expect(() => np.zeros([-1])).toThrow(/full: shape: expected a list of non-negative integers/);
  });

  it("arange is int32 for integers and float32 otherwise", () => {
    expectArray(np.arange(5), [5], "int32", [0, 1, 2, 3, 4]);
    expectArray(np.arange(2, 11, 3), [3], "int32", [2, 5, 8]);
    expectArray(np.arange(5, 0, -2), [3], "int32", [5, 3, 1]);
    expectArray(np.arange(0, 1, 0.25), [4], "float32", [0, 0.25, 0.5, 0.75]);
    expectArray(np.arange(3, 1), [0], "int32", []);
    expect(() => np.arange(0, 5, 0)).toThrow(ArgumentError);
  });

  it("linspace includes the endpoint by default", () => {
    expectArray(np.linspace(0, 1, 5), [5], "float32", [0, 0.25, 0.5, 0.75, 1]);
    expectArray(np.linspace(0, 1, 4, { endpoint: false }), [4], "float32", [0, 0.25, 0.5, 0.75]);
    expectArray(np.linspace(2, 3, 1), [1], "float32", [2]);
  });

  it("eye puts ones on the k-th diagonal", () => {
    expectArray(np.eye(3), [3, 3], "float32", [1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expectArray(np.eye(2, 3, { k: 1, dtype: "int32" }), [2, 3], "int32", [0, 1, 0, 0, 0, 1]);
  });
});
