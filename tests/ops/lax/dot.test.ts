import { describe, expect, it } from "vitest";
import { lax, numpy as np, type DType } from "../../../src/index.js";
import { expectArray, tolerance } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

/** dot_general by definition, in float64: loops over every output and contracting index. */
function naiveDot(
  a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[],
  [[lc, rc], [lb, rb]]: [[number[], number[]], [number[], number[]]],
): { shape: number[]; values: number[] } {
  const lf = aShape.map((_, i) => i).filter((i) => !lc.includes(i) && !lb.includes(i));
  const rf = bShape.map((_, i) => i).filter((i) => !rc.includes(i) && !rb.includes(i));
  const shape = [...lb.map((d) => aShape[d]!), ...lf.map((d) => aShape[d]!), ...rf.map((d) => bShape[d]!)];
  const flat = (idx: number[], s: number[]) => idx.reduce((f, v, d) => f * s[d]! + v, 0);
  const all = (s: number[]): number[][] => s.reduce<number[][]>((acc, n) => acc.flatMap((p) => Array.from({ length: n }, (_, i) => [...p, i])), [[]]);
  const values = all(shape).map((o) => {
    let acc = 0;
    for (const c of all(lc.map((d) => aShape[d]!))) {
      const ai = new Array<number>(aShape.length);
      const bi = new Array<number>(bShape.length);
      lb.forEach((d, j) => (ai[d] = o[j]!));
      rb.forEach((d, j) => (bi[d] = o[j]!));
      lf.forEach((d, j) => (ai[d] = o[lb.length + j]!));
      rf.forEach((d, j) => (bi[d] = o[lb.length + lf.length + j]!));
      lc.forEach((d, j) => (ai[d] = c[j]!));
      rc.forEach((d, j) => (bi[d] = c[j]!));
      acc += a[flat(ai, aShape)]! * b[flat(bi, bShape)]!;
    }
    return acc;
  });
  return { shape, values };
}

describe("dot_general", () => {
  const cases: [string, number[], number[], [[number[], number[]], [number[], number[]]]][] = [
    ["matmul", [3, 4], [4, 5], [[[1], [0]], [[], []]]],
    ["transposed operands", [4, 3], [5, 4], [[[0], [1]], [[], []]]],
    ["batched", [2, 3, 4], [2, 4, 5], [[[2], [1]], [[0], [0]]]],
    ["batch in the middle, two contracting dims", [3, 2, 4, 5], [4, 2, 5, 6], [[[2, 3], [0, 2]], [[1], [1]]]],
    ["outer product", [3], [4], [[[], []], [[], []]]],
    ["empty contraction", [3, 0], [0, 2], [[[1], [0]], [[], []]]],
  ];
  for (const dtype of ["float32", "bfloat16", "float16"] as DType[]) {
    it.each(cases)(`%s on ${dtype}`, (_name, aShape, bShape, dims) => {
      const next = rng(aShape.length * 31 + bShape.length);
      const a = randomArray(next, aShape, dtype);
      const b = randomArray(next, bShape, dtype);
      const { shape, values } = naiveDot(a.dataSync(), aShape, b.dataSync(), bShape, dims);
      const tol = tolerance(dtype);
      expectArray(lax.dotGeneral(a, b, dims), shape, dtype, values, tol, tol * 4);
    });
  }

  it("accumulates int8 exactly into a preferred int32 result", () => {
    const a = np.array([[127, -128], [5, 6]], { dtype: "int8" });
    const b = np.array([[127, 1], [-128, 2]], { dtype: "int8" });
    expectArray(lax.dotGeneral(a, b, [[[1], [0]], [[], []]], { preferredElementType: "int32" }), [2, 2], "int32", [127 * 127 + 128 * 128, 127 - 256, 635 - 768, 17]);
  });

  it("names both shapes when contracting sizes differ, and rejects mixed dtypes", () => {
    expect(() => lax.dotGeneral(np.zeros([2, 3]), np.zeros([4, 5]), [[[1], [0]], [[], []]])).toThrow(
      /contracting dimensions must have equal sizes, got lhs \(2, 3\) dims \(1,\) and rhs \(4, 5\) dims \(0,\)/,
    );
    expect(() => lax.dotGeneral(np.zeros([2, 3]), np.zeros([3], { dtype: "int32" }), [[[1], [0]], [[], []]])).toThrow(/lhs float32 and rhs int32/);
  });
});
