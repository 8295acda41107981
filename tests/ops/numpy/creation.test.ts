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

  it("array takes the dtype of a typed array, a Float64Array becoming float32", () => {
    expectArray(np.array(new Float32Array([1.5, -2, 3])), [3], "float32", [1.5, -2, 3], 0);
    expectArray(np.array(new Float64Array([0.1, 1e40])), [2], "float32", [Math.fround(0.1), Infinity], 0);
    expectArray(np.array(new Int32Array([-7, 2 ** 31 - 1])), [2], "int32", [-7, 2 ** 31 - 1]);
    expectArray(np.array(new Uint32Array([2 ** 32 - 1])), [1], "uint32", [2 ** 32 - 1]);
    expectArray(np.array(new Int16Array([-32768, 5])), [2], "int16", [-32768, 5]);
    expectArray(np.array(new Uint16Array([65535])), [1], "uint16", [65535]);
    expectArray(np.array(new Int8Array([-128, 127])), [2], "int8", [-128, 127]);
    expectArray(np.array(new Uint8Array([0, 255])), [2], "uint8", [0, 255]);
    expectArray(np.array(new Uint8ClampedArray([300, -4])), [2], "uint8", [255, 0]);
    expectArray(np.asarray(new Float32Array(new Float32Array([9, 1, 2, 3]).buffer, 4, 2)), [2], "float32", [1, 2], 0);
    expectArray(np.array(new Int32Array(0)), [0], "int32", []);
  });

  it("array converts a typed array to an explicit dtype as convert_element_type does", () => {
    expectArray(np.array(new Float32Array([1.7, -2.2, 300, NaN]), { dtype: "int8" }), [4], "int8", [1, -2, 127, 0]);
    expectArray(np.array(new Int32Array([300, -1]), { dtype: "int8" }), [2], "int8", [44, -1]);
    expectArray(np.array(new Int32Array([2 ** 24 + 1]), { dtype: "float32" }), [1], "float32", [2 ** 24], 0);
    expectArray(np.array(new Float64Array([0.1]), { dtype: "float64" }), [1], "float64", [0.1], 0);
    expectArray(np.array(new Float32Array([1.5, 1e5]), { dtype: "float16" }), [2], "float16", [1.5, Infinity], 0);
    expectArray(np.array(new Int16Array([0, -3]), { dtype: "bool" }), [2], "bool", [0, 1]);
    expectArray(np.array(new Uint8Array([7, 9]), { dtype: "int4" }), [2], "int4", [7, -7]);
  });

  it("array stacks typed arrays given as the rows of a list, promoting their dtypes", () => {
    expectArray(np.array([new Int32Array([1, 2]), new Int32Array([3, 4])]), [2, 2], "int32", [1, 2, 3, 4]);
    expectArray(np.array([new Uint8Array([1, 2]), new Int8Array([-3, 4])]), [2, 2], "int16", [1, 2, -3, 4]);
    expectArray(np.array([new Int32Array([1]), new Float64Array([0.5])]), [2, 1], "float32", [1, 0.5]);
    expectArray(np.array([[new Int16Array([1, 2])], [[3, 4]]]), [2, 1, 2], "float32", [1, 2, 3, 4]);
    expect(() => np.array([new Float32Array(2), new Float32Array(3)])).toThrow(/array: values: the nested lists are ragged/);
    expect(() => np.array([[[1], [2]], new Float32Array(2)])).toThrow(/ragged \(expected a list of length 2 at depth 1\)/);
    expect(() => np.array(new BigInt64Array(2) as never)).toThrow(/array: values: expected numbers, booleans or typed arrays, got BigInt64Array/);
  });

  it("array copies a typed array: mutating it later leaves the array unchanged", () => {
    const values = new Float32Array([1, 2, 3]);
    const rows = [new Int32Array([1, 2])];
    const x = np.array(values);
    const y = np.array(rows);
    values[0] = 99;
    rows[0]![1] = 99;
    expectArray(x, [3], "float32", [1, 2, 3], 0);
    expectArray(y, [1, 2], "int32", [1, 2]);
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
