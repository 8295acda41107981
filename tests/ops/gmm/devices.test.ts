/**
 * gmm, tgmm and ragged_dot_general under jit on both kernel devices (expanded into generic lax kernels there,
 * except the kernel backends on their own device) against the same programs on the reference interpreter;
 * forward, with existingOut and groupOffset, narrow dtypes, and a training-style gradient. Which kernels the
 * kernel backends get on each device.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, ArrayImpl, GroupSizesError, gmm, grad, jit, lax, numpy as np, tgmm } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { webgpuDevice } from "../../util/webgpu.js";
import { planJaxpr } from "../../../src/lowering/plan.js";

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

describe("checkGroupSizes under jit on the kernel devices", () => {
  const program = (backend: string) => (x: A, w: A, s: A) => [gmm(x, w, s, { backend, checkGroupSizes: true }), tgmm(x.T, x, s, { backend, checkGroupSizes: true })];
  const [x, w] = [randomArray(next, [6, 4]), randomArray(next, [2, 4, 3])];

  it("keeps the grouped kernels (the sizes are checked beside them) and reads the sizes back once per call", () => {
    for (const [backend, target] of [["cpu", "cpu"], ["wgsl", "webgpu"]] as const) {
      const plan = planJaxpr(jit(program(backend)).lower(x, w, sizes([2, 3])), { target });
      expect(plan.checks.map((c) => c.args)).toEqual([["gmm", 6], ["tgmm", 6]]);
      // Each: the group starts and the grouped kernel.
      expect(plan.nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : [])).length).toBe(4);
    }
  });

  it.runIf(gpu)("on webgpu, bad sizes fail the next read with the check's message; good ones give the reference's values", async () => {
    const f = jit(program("wgsl"), { device: "webgpu" });
    const [good, goodT] = f(x, w, sizes([2, 3])) as A[];
    const [expected, expectedT] = jit(program("reference"), { device: "interpreter" })(x, w, sizes([2, 3])) as A[];
    expectClose(await good!.data(), expected!.dataSync(), 1e-5, 1e-5);
    expectClose(await goodT!.data(), expectedT!.dataSync(), 1e-5, 1e-5);
    const [bad] = f(x, w, sizes([4, 5])) as A[];
    await expect(bad!.data()).rejects.toThrow("gmm: sum(groupSizes) is 9, more than the 6 rows");
    f(x, w, sizes([-1, 3]));
    await expect(good!.data()).rejects.toThrow(GroupSizesError);
    expectClose(await good!.data(), expected!.dataSync(), 1e-5, 1e-5);
  });

  it.runIf(gpu)("on webgpu, a checked value that is also a result or read by two checks stays intact", async () => {
    const f = jit((a: A, b: A, s: A) => [...program("wgsl")(a, b, s), s], { device: "webgpu" });
    const runs = [sizes([2, 3]), sizes([1, 4])].map((s) => f(x, w, s) as A[]);
    for (const [k, run] of runs.entries()) expect(globalThis.Array.from(await run[2]!.data())).toEqual([[2, 3], [1, 4]][k]);
    const later = jit((a: A) => a.mul(2), { device: "webgpu" })(x);
    expectClose(await later.data(), x.mul(2).dataSync(), 0, 0);
  });
});

describe("the kernel backends on each kernel device", () => {
  const f = (backend: string) => (x: A, w: A, s: A) => gmm(x, w, s, { backend, groupOffset: 1, transposeRhs: true });
  const args = (): [A, A, A] => [randomArray(next, [10, 4]), randomArray(next, [2, 3, 4]), sizes([2, 3, 4, 1])];
  const steps = (backend: string, target: "cpu" | "webgpu"): number => {
    const plan = planJaxpr(jit(f(backend)).lower(...args()), { target });
    return plan.nodes.reduce((total, node) => total + (node.kind === "kernels" ? node.program.steps.length : 0), 0);
  };

  it("lower gmm[backend=cpu] on the cpu device and gmm[backend=wgsl] on webgpu to one grouped kernel (after one for the group starts)", () => {
    expect([steps("cpu", "cpu"), steps("wgsl", "webgpu")]).toEqual([2, 2]);
  });

  it.each([
    ["wgsl", "cpu"],
    ["cpu", "webgpu"],
  ])("run the %s backend on the %s device by the portable path (generic kernels), with the reference's values", async (backend, device) => {
    expect(steps(backend, device as "cpu" | "webgpu")).toBeGreaterThan(2);
    if (device === "webgpu" && !gpu) return;
    const xs = args();
    const expected = jit(f("reference"), { device: "interpreter" })(...xs);
    expectClose(await jit(f(backend), { device })(...xs).data(), expected.dataSync(), 1e-5, 1e-5);
  });
});
