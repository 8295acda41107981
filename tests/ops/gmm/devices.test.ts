/**
 * gmm, tgmm and ragged_dot_general under jit on both kernel devices (expanded into generic lax kernels there)
 * against the same programs on the reference interpreter; forward, with existingOut and groupOffset, narrow
 * dtypes, and a training-style gradient.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, ArrayImpl, gmm, grad, jit, lax, numpy as np, tgmm } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { webgpuDevice } from "../../util/webgpu.js";

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const kernelDevices = ["cpu", ...(gpu ? ["webgpu"] : [])];
const next = rng(64);
const sizes = (values: number[]): A => np.array(values, { dtype: "int32" });

type Program = [string, (...args: A[]) => A | A[], () => A[], number];
const PROGRAMS: Program[] = [
  ...["reference", "ragged-dot"].map((backend): Program => [
    `gmm (${backend}) with existingOut, groupOffset and traced group sizes`,
    (x, w, e, s) => gmm(x, w, s!, { backend, groupOffset: 1, existingOut: e }),
    () => [randomArray(next, [11, 5]), randomArray(next, [2, 5, 3]), randomArray(next, [11, 3]), sizes([2, 4, 0, 3])],
    1e-5,
  ]),
  ["gmm with transposeRhs, k and m not multiples of the tile", (x, w, s) => gmm(x, w, s!, { transposeRhs: true, tiling: [4, 4, 4] }), () => [randomArray(next, [13, 7]), randomArray(next, [3, 6, 7]), sizes([5, 0, 6])], 1e-5],
  ["gmm of bfloat16 operands into bfloat16", (x, w, s) => gmm(x, w, s!, { preferredElementType: "bfloat16" }), () => [randomArray(next, [9, 4], "bfloat16"), randomArray(next, [2, 4, 3], "bfloat16"), sizes([4, 5])], 1e-2],
  ["tgmm with existingOut", (x, y, e, s) => tgmm(x, y, s!, { existingOut: e, numActualGroups: 3, groupOffset: 1 }), () => [randomArray(next, [3, 10]), randomArray(next, [10, 2]), randomArray(next, [3, 3, 2]), sizes([1, 3, 0, 4])], 1e-5],
  ["ragged_dot, mode 1", (x, w, s) => lax.raggedDot(x, w, s!), () => [randomArray(next, [7, 3]), randomArray(next, [3, 3, 4]), sizes([2, 0, 3])], 1e-5],
  ["ragged_dot_general, mode 2", (x, y, s) => lax.raggedDotGeneral(x, y, s!, { dotDimensionNumbers: [[[0], [0]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [] }), () => [randomArray(next, [6, 3]), randomArray(next, [6, 4]), sizes([2, 1, 3])], 1e-5],
  ["gradients of an MoE-like loss", (x, w, s) => grad((a: A, b: A) => np.sum(np.tanh(gmm(a, b, s!, { backend: "ragged-dot" }))), { argnums: [0, 1] })(x, w) as A[], () => [randomArray(next, [8, 4]), randomArray(next, [3, 4, 2]), sizes([3, 3, 1])], 1e-5],
];

describe.each(kernelDevices)("on the %s device", (device) => {
  it.each(PROGRAMS)("%s", async (_name, f, makeArgs, rtol) => {
    const args = makeArgs();
    const expected = [jit(f, { device: "interpreter" })(...args)].flat();
    const actual = [jit(f, { device })(...args)].flat();
    expect(actual.length).toBe(expected.length);
    for (const [i, a] of actual.entries()) {
      expect((a as ArrayImpl).device).toBe(device);
      expect([a.shape, a.dtype]).toEqual([expected[i]!.shape, expected[i]!.dtype]);
      expectClose(await a.data(), expected[i]!.dataSync(), rtol, 1e-5);
    }
  });
});

it.runIf(gpu)("checkGroupSizes needs the host: on the webgpu device it says so", () => {
  const f = jit((x: A, w: A, s: A) => gmm(x, w, s, { checkGroupSizes: true }), { device: "webgpu" });
  expect(() => f(np.ones([4, 2]), np.ones([2, 2, 3]), sizes([2, 2]))).toThrow(/gmm: checkGroupSizes checks the sizes on the host: run it on the interpreter \(the cpu device falls back to it\) or drop the option/);
});
