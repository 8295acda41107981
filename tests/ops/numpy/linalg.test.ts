import { describe, expect, it } from "vitest";
import { numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

/** C[b, i, j] = Σ_k A[b, i, k] B[b, k, j] in float64. */
function batchedMatmul(a: ArrayLike<number>, b: ArrayLike<number>, batch: number, m: number, k: number, n: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < batch; t++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[(t * m + i) * k + p]! * b[(t * k + p) * n + j]!;
        out.push(s);
      }
  return out;
}

describe("products", () => {
  const next = rng(21);
  const a = randomArray(next, [2, 3, 4]);
  const b = randomArray(next, [2, 4, 5]);

  it("matmul batches, broadcasts batch axes and handles vectors", () => {
    expectArray(np.matmul(a, b), [2, 3, 5], "float32", batchedMatmul(a.dataSync(), b.dataSync(), 2, 3, 4, 5), 1e-5, 1e-6);
    const b0 = b.at(0);
    const expected = batchedMatmul(a.dataSync(), [...Array.from(b0.dataSync()), ...Array.from(b0.dataSync())], 2, 3, 4, 5);
    expectArray(np.matmul(a, b0), [2, 3, 5], "float32", expected, 1e-5, 1e-6);
    expect(np.matmul(np.ones([4]), np.ones([4, 2])).shape).toEqual([2]);
    expect(np.matmul(np.ones([3, 4]), np.ones([4])).shape).toEqual([3]);
    expectArray(np.matmul(np.array([1, 2]), np.array([3, 4])), [], "float32", [11]);
    expect(a.matmul(b).shape).toEqual([2, 3, 5]);
    expect(() => np.matmul(np.ones([2, 3]), np.ones([4, 2]))).toThrow(/matmul: contracting dimensions differ/);
  });

  it("dot, vdot and outer", () => {
    expectArray(np.dot(np.array([[1, 2], [3, 4]]), np.array([5, 6])), [2], "float32", [17, 39]);
    expectArray(np.dot(np.array([1, 2]), 3), [2], "float32", [3, 6]);
    expect(np.dot(np.ones([2, 3, 4]), np.ones([5, 4, 6])).shape).toEqual([2, 3, 5, 6]);
    expectArray(np.vdot(np.array([[1, 2], [3, 4]]), np.array([[1, 1], [1, 1]])), [], "float32", [10]);
    expectArray(np.outer(np.array([1, 2]), np.array([3, 4, 5])), [2, 3], "float32", [3, 4, 5, 6, 8, 10]);
    expect(() => np.dot(np.ones([2, 3]), np.ones([2]))).toThrow(/shapes x \(2, 3\) and y \(2,\) are not aligned/);
  });

  it("einsum covers matmul, batch, transpose, trace-free sums and outer products", () => {
    expectArray(np.einsum("bik,bkj->bij", a, b), [2, 3, 5], "float32", batchedMatmul(a.dataSync(), b.dataSync(), 2, 3, 4, 5), 1e-5, 1e-6);
    const m = np.array([[1, 2, 3], [4, 5, 6]]);
    expectArray(np.einsum("ij->ji", m), [3, 2], "float32", [1, 4, 2, 5, 3, 6]);
    expectArray(np.einsum("ij->", m), [], "float32", [21]);
    expectArray(np.einsum("ij", m), [2, 3], "float32", [1, 2, 3, 4, 5, 6]);
    expectArray(np.einsum("ij,j->i", m, np.array([1, 0, -1])), [2], "float32", [-2, -2]);
    expectArray(np.einsum("i,j->ij", np.array([1, 2]), np.array([3, 4])), [2, 2], "float32", [3, 4, 6, 8]);
    expectArray(np.einsum("ij,kj->ik", m, m), [2, 2], "float32", [14, 32, 32, 77]);
    expectArray(np.einsum("ij,jk", m, np.ones([3, 1])), [2, 1], "float32", [6, 15]);
    expectArray(np.einsum("ij,kl->j", m, np.ones([2, 2])), [3], "float32", [20, 28, 36]);
    expect(() => np.einsum("ii->i", np.ones([2, 2]))).toThrow(/repeated subscript/);
    expect(() => np.einsum("ij,jk->ik", m, np.ones([2, 2]))).toThrow(/subscript 'j' has size 3 in operand 0 and 2 in operand 1/);
  });
});
