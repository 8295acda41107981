/**
 * The wgsl backend's packed-word paths: gmm of int8 operands on WebGPU contracts packed words with dot4I8Packed
 * (the shader says so), exactly as the reference computes it (integer products summed below 2^24 are exact in
 * f32); int4 (eight to a word) exactly too, float8 e4m3fn and e5m2 to f32 accumulation — with rhs [g, k, n]
 * (copied k-major first) or [g, n, k], ragged m and n, group boundaries inside tiles, groupOffset and
 * existingOut; a k that does not fill whole words takes the element-wise path.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, gmm, jit, lax, makeJaxpr, numpy as np } from "../../../src/index.js";
import { lowerJaxpr } from "../../../src/lowering/lower.js";
import { renderWgsl } from "../../../src/lowering/wgsl.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { gpu } from "./backends.js";
import { gmmOracle } from "./oracle.js";

const next = rng(404);
const int8 = (shape: number[]): A => randomArray(next, shape, "int8");
const WORD_TYPES = [
  { dtype: "int4", perWord: 8, exact: true },
  { dtype: "float8_e4m3fn", perWord: 4, exact: false },
  { dtype: "float8_e5m2", perWord: 4, exact: false },
] as const;

describe.runIf(gpu)("gmm of int8 operands on the wgsl backend", () => {
  it.each([
    { m: 37, k: 64, n: 19, sizes: [10, 0, 20], offset: 0, transposeRhs: false },
    { m: 37, k: 64, n: 19, sizes: [10, 0, 20], offset: 0, transposeRhs: true },
    { m: 50, k: 36, n: 33, sizes: [7, 13, 21, 5], offset: 1, transposeRhs: true },
    { m: 50, k: 30, n: 33, sizes: [7, 13, 21, 5], offset: 1, transposeRhs: false },
  ])("m=$m k=$k n=$n transposeRhs=$transposeRhs groupOffset=$offset", async ({ m, k, n, sizes, offset, transposeRhs }) => {
    const groups = sizes.length - offset;
    const lhs = int8([m, k]);
    const rhs = int8(transposeRhs ? [groups, n, k] : [groups, k, n]);
    const existing = randomArray(next, [m, n]);
    const groupSizes = np.array(sizes, { dtype: "int32" });
    const f = (l: A, r: A, e: A): A => gmm(l, r, groupSizes, { backend: "wgsl", transposeRhs, groupOffset: offset, existingOut: e, preferredElementType: "float32" });
    const out = await jit(f, { device: "webgpu" })(lhs, rhs, existing).data();
    const expected = gmmOracle({ m, k, n, groups, groupSizes: sizes, groupOffset: offset, transposeRhs }, lhs.dataSync(), rhs.dataSync(), existing.dataSync());
    expect(Array.from(out)).toEqual(Array.from(expected, Math.fround));
    const shaders = lowerJaxpr(makeJaxpr(f)(lhs, rhs, existing), { target: "webgpu" }).steps.map((s) => renderWgsl(s.kernel).code);
    expect(shaders.some((code) => code.includes("dot4I8Packed"))).toBe(k % 4 === 0);
  });

  it.each(WORD_TYPES)("$dtype words unpacked in registers", async ({ dtype, perWord, exact }) => {
    for (const [k, transposeRhs] of [[32, false], [40, true], [36, true]] as const) {
      const [m, n, sizes] = [29, 21, [11, 0, 15]];
      const lhs = randomArray(next, [m, k], dtype);
      const rhs = randomArray(next, transposeRhs ? [3, n, k] : [3, k, n], dtype);
      const groupSizes = np.array(sizes, { dtype: "int32" });
      const f = (l: A, r: A): A => gmm(l, r, groupSizes, { backend: "wgsl", transposeRhs, preferredElementType: "float32" });
      const out = Array.from(await jit(f, { device: "webgpu" })(lhs, rhs).data());
      const expected = gmmOracle({ m, k, n, groups: 3, groupSizes: sizes, groupOffset: 0, transposeRhs }, lhs.dataSync(), rhs.dataSync());
      if (exact) expect(out).toEqual(Array.from(expected));
      else expectClose(out, expected, 1e-5, 1e-5 * Math.max(...Array.from(expected, Math.abs)));
      // The word loop binds the operands as plain u32 words; the element-wise one as packed elements.
      const kernels = lowerJaxpr(makeJaxpr(f)(lhs, rhs), { target: "webgpu" }).steps.map((s) => s.kernel);
      expect(kernels.some((kernel) => kernel.buffers.some((b) => b.type === "u32" && b.element === undefined))).toBe(k % perWord === 0);
    }
  });

  it("accumulates in i32 for an int32 result", async () => {
    const [lhs, rhs] = [int8([9, 8]), int8([2, 8, 5])];
    const groupSizes = np.array([4, 5], { dtype: "int32" });
    const out = jit((l: A, r: A) => gmm(l, r, groupSizes, { backend: "wgsl", preferredElementType: "int32" }), { device: "webgpu" })(lhs, rhs);
    const expected = gmmOracle({ m: 9, k: 8, n: 5, groups: 2, groupSizes: [4, 5], groupOffset: 0, transposeRhs: false }, lhs.dataSync(), rhs.dataSync());
    expect(out.dtype).toBe("int32");
    expect(Array.from(await out.data())).toEqual(Array.from(expected));
    expect(lax.convertElementType(lhs, "float32").dtype).toBe("float32");
  });
});
