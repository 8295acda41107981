import { describe, expect, it } from "vitest";
import { ShapeError, lax, numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

/** Element of a row-major flat array at a multi-index. */
const at = (data: ArrayLike<number>, shape: readonly number[], index: readonly number[]): number =>
  data[index.reduce((flat, v, d) => flat * shape[d]! + v, 0)]!;

const indices = (shape: readonly number[]): number[][] => {
  const out: number[][] = [[]];
  return shape.reduce((acc, n) => acc.flatMap((prefix) => Array.from({ length: n }, (_, i) => [...prefix, i])), out);
};

describe("movement primitives", () => {
  const next = rng(17);
  const x = randomArray(next, [2, 3, 4]);
  const data = x.dataSync();

  it("broadcast_in_dim maps operand axes and expands unit axes", () => {
    const y = lax.broadcastInDim(np.array([[1], [2]]), [3, 2, 4], [1, 2]);
    expectArray(y, [3, 2, 4], "float32", indices([3, 2, 4]).map(([, j]) => j! + 1));
    expect(() => lax.broadcastInDim(np.array([1, 2]), [3], [0])).toThrow(/cannot broadcast operand \(2,\) to \(3,\)/);
  });

  it("transpose permutes axes", () => {
    const y = lax.transpose(x, [2, 0, 1]);
    expectArray(y, [4, 2, 3], "float32", indices([4, 2, 3]).map(([k, i, j]) => at(data, [2, 3, 4], [i!, j!, k!])));
    expect(() => lax.transpose(x, [0, 0, 1])).toThrow(/not a permutation/);
  });

  it("reshape keeps row-major order and checks the size", () => {
    expectArray(lax.reshape(x, [6, 4]), [6, 4], "float32", data);
    expect(() => lax.reshape(x, [5, 5])).toThrow(/cannot reshape an array of shape \(2, 3, 4\) \(size 24\) into shape \(5, 5\)/);
  });

  it("squeeze and expandDims remove and add unit axes", () => {
    const y = lax.expandDims(x, [0, 3]);
    expect(y.shape).toEqual([1, 2, 3, 1, 4]);
    expectArray(lax.squeeze(y, [0, -2]), [2, 3, 4], "float32", data);
    expect(() => lax.squeeze(x, [1])).toThrow(/cannot squeeze axis 1 of size 3/);
  });

  it("rev reverses the named axes", () => {
    expectArray(lax.rev(x, [0, 2]), [2, 3, 4], "float32", indices([2, 3, 4]).map(([i, j, k]) => at(data, [2, 3, 4], [1 - i!, j!, 3 - k!])));
  });

  it("concatenate joins along an axis and checks the others", () => {
    const a = np.array([[1, 2], [3, 4]]);
    const b = np.array([[5], [6]]);
    expectArray(lax.concatenate([a, b], 1), [2, 3], "float32", [1, 2, 5, 3, 4, 6]);
    expectArray(lax.concatenate([a, np.zeros([0, 2])], 0), [2, 2], "float32", [1, 2, 3, 4]);
    expect(() => lax.concatenate([a, b], 0)).toThrow(/operand 1 has shape \(2, 1\), incompatible with operand 0 \(2, 2\)/);
  });

  it("pad adds low, high and interior padding and crops with negatives", () => {
    const v = np.array([1, 2, 3]);
    expectArray(lax.pad(v, 0, [[1, 2, 1]]), [8], "float32", [0, 1, 0, 2, 0, 3, 0, 0]);
    expectArray(lax.pad(v, -1, [[-1, 1, 0]]), [3], "float32", [2, 3, -1]);
    expectArray(lax.pad(np.array([[1, 2], [3, 4]]), 9, [[0, 1, 0], [1, 0, 0]]), [3, 3], "float32", [9, 1, 2, 9, 3, 4, 9, 9, 9]);
    expect(() => lax.pad(v, np.array([0], { dtype: "int32" }), [[0, 0, 0]])).toThrow(/padding_value must be a scalar/);
  });

  it("slice takes strided windows, and empty ones", () => {
    const y = lax.slice(x, [0, 1, 0], [2, 3, 4], [1, 1, 2]);
    expectArray(y, [2, 2, 2], "float32", indices([2, 2, 2]).map(([i, j, k]) => at(data, [2, 3, 4], [i!, j! + 1, 2 * k!])));
    expect(lax.slice(x, [0, 0, 2], [2, 3, 2]).shape).toEqual([2, 3, 0]);
    expect(() => lax.slice(x, [0, 0, 0], [2, 4, 4])).toThrow(ShapeError);
  });

  it("dynamic_slice clamps start indices so the window fits, as XLA does", () => {
    const m = np.arange(12).reshape([3, 4]);
    expectArray(lax.dynamicSlice(m, [1, 3], [2, 2]), [2, 2], "int32", [6, 7, 10, 11]);
    expectArray(lax.dynamicSlice(m, [-5, np.array(1, { dtype: "int32" })], [1, 3]), [1, 3], "int32", [1, 2, 3]);
    expect(() => lax.dynamicSlice(m, [0], [1, 1])).toThrow(/expected 2 start indices/);
  });

  it("dynamic_update_slice writes a window, clamped", () => {
    const m = np.zeros([3, 3], { dtype: "int32" });
    const u = np.array([[1, 2], [3, 4]], { dtype: "int32" });
    expectArray(lax.dynamicUpdateSlice(m, u, [2, 0]), [3, 3], "int32", [0, 0, 0, 1, 2, 0, 3, 4, 0]);
    expect(() => lax.dynamicUpdateSlice(m, np.zeros([2, 2]), [0, 0])).toThrow(/update dtype float32 must equal the operand's int32/);
  });

  it("iota counts along a dimension", () => {
    expectArray(lax.broadcastedIota("int32", [2, 3], 1), [2, 3], "int32", [0, 1, 2, 0, 1, 2]);
    expectArray(lax.iota("float16", 4), [4], "float16", [0, 1, 2, 3]);
    expectArray(lax.iota("int32", 0), [0], "int32", []);
  });
});
