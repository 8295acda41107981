import { describe, expect, it } from "vitest";
import { lax, numpy as np, type DType } from "../../../src/index.js";
import { expectArray, tolerance } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

/** Reduces a [2,3,4] row-major array over `axes` in float64. */
function reduce3(data: ArrayLike<number>, axes: number[], init: number, f: (a: number, b: number) => number): number[] {
  const shape = [2, 3, 4];
  const kept = [0, 1, 2].filter((a) => !axes.includes(a));
  const outShape = kept.map((a) => shape[a]!);
  const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(init);
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 4; k++) {
        const idx = [i, j, k];
        const o = kept.reduce((flat, a) => flat * shape[a]! + idx[a]!, 0);
        out[o] = f(out[o]!, data[(i * 3 + j) * 4 + k]!);
      }
  return out;
}

describe("reductions", () => {
  const cases: [number[], number[]][] = [
    [[0], [3, 4]],
    [[1, 2], [2]],
    [[0, 1, 2], []],
    [[], [2, 3, 4]],
  ];
  for (const dtype of ["float32", "float16", "bfloat16"] as DType[]) {
    it.each(cases)(`reduce_sum/max/min/prod over axes %j on ${dtype}`, (axes, shape) => {
      const x = randomArray(rng(axes.length + 3), [2, 3, 4], dtype);
      const d = x.dataSync();
      const tol = tolerance(dtype) * 4;
      expectArray(lax.reduceSum(x, axes), shape, dtype, reduce3(d, axes, 0, (a, b) => a + b), tol, tol);
      expectArray(lax.reduceMax(x, axes), shape, dtype, reduce3(d, axes, -Infinity, Math.max));
      expectArray(lax.reduceMin(x, axes), shape, dtype, reduce3(d, axes, Infinity, Math.min));
      expectArray(lax.reduceProd(x, axes), shape, dtype, reduce3(d, axes, 1, (a, b) => a * b), tol, 1e-30);
    });
  }

  it("reduces empty axes to the identity and accepts negative axes", () => {
    const e = np.zeros([2, 0]);
    expectArray(lax.reduceSum(e, [1]), [2], "float32", [0, 0]);
    expectArray(lax.reduceMax(e, [-1]), [2], "float32", [-Infinity, -Infinity]);
    expectArray(lax.reduceMin(np.zeros([0], { dtype: "int8" }), [0]), [], "int8", [127]);
    expectArray(lax.reduceProd(e, [1]), [2], "float32", [1, 1]);
  });

  it("wraps integer sums and products, and propagates NaN in max", () => {
    expectArray(lax.reduceSum(np.array([100, 100, 100], { dtype: "int8" }), [0]), [], "int8", [44]);
    expectArray(lax.reduceProd(np.array([65536, 65536, 3], { dtype: "int32" }), [0]), [], "int32", [0]);
    expectArray(lax.reduceMax(np.array([1, NaN, 3]), [0]), [], "float32", [NaN]);
  });

  it("reduce_and / reduce_or on bools", () => {
    const b = np.array([[true, false], [true, true]]);
    expectArray(lax.reduceAnd(b, [1]), [2], "bool", [0, 1]);
    expectArray(lax.reduceOr(b, [0]), [2], "bool", [1, 1]);
    expect(() => lax.reduceAnd(np.array([1]), [0])).toThrow(/must be a bool array/);
  });

  it("argmax/argmin pick the first extreme and the first NaN", () => {
    const x = np.array([[1, 5, 5, -2], [NaN, 3, NaN, 0]]);
    expectArray(lax.argmax(x, 1), [2], "int32", [1, 0]);
    expectArray(lax.argmin(x, 1), [2], "int32", [3, 0]);
    expectArray(lax.argmax(np.array([[1, 2], [3, 0]]), 0), [2], "int32", [1, 0]);
    expect(() => lax.argmax(np.zeros([2, 0]), 1)).toThrow(/cannot reduce an empty axis 1/);
  });

  it("cumsum accumulates forward and in reverse along any axis", () => {
    const x = np.array([[1, 2, 3], [4, 5, 6]]);
    expectArray(lax.cumsum(x, 1), [2, 3], "float32", [1, 3, 6, 4, 9, 15]);
    expectArray(lax.cumsum(x, 0, true), [2, 3], "float32", [5, 7, 9, 4, 5, 6]);
    expectArray(lax.cumsum(np.array([120, 10], { dtype: "int8" }), -1), [2], "int8", [120, -126]);
  });
});
