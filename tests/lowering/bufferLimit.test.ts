/**
 * WebGPU binds at most maxStorageBuffersPerShaderStage buffers per kernel (16 on the software adapter, 8 by
 * default). Fused values that would read more are stored in parts, wide concatenates become trees, and an
 * operation that reads more arrays by itself is refused by name.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, jit, lax, makeJaxpr, numpy as np } from "../../src/index.js";
import { boundBuffers } from "../../src/lowering/kernelIr.js";
import { renderWgsl } from "../../src/lowering/wgsl.js";
import { planJaxpr } from "../../src/lowering/plan.js";
import { cpuPlanExecutable } from "../../src/runtime/cpuPlan.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const next = rng(16);
const xs = Array.from({ length: 30 }, () => randomArray(next, [7, 5]));
const PROGRAMS: [string, (...a: A[]) => A][] = [
  ["a fused sum of 30 arrays", (...a) => a.reduce((s, x) => s.add(np.tanh(x)), np.zeros([7, 5]))],
  ["a concatenate of 30 arrays", (...a) => np.concatenate(a.map((x) => x.mul(2)), 1)],
];

describe("kernels bind at most the device's storage buffers", () => {
  it.each(PROGRAMS)("%s: every kernel binds at most 8, with the interpreter's values", (_, f) => {
    const plan = planJaxpr(makeJaxpr(f)(...xs), { target: "webgpu", maxStorageBuffers: 8 });
    const kernels = plan.nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : []));
    expect(kernels.length).toBeGreaterThan(1);
    expect(Math.max(...kernels.map((s) => boundBuffers(s.kernel).length))).toBeLessThanOrEqual(8);
    const expected = jit(f, { device: "interpreter" })(...xs) as A;
    expectClose(cpuPlanExecutable(plan)(xs)[0]!.dataSync(), expected.dataSync(), 1e-6, 1e-6);
  });

  it.runIf(gpu)("on webgpu, both run with the interpreter's values", async () => {
    for (const [, f] of PROGRAMS) {
      const expected = jit(f, { device: "interpreter" })(...xs) as A;
      expectClose(await (jit(f, { device: "webgpu" })(...xs) as A).data(), expected.dataSync(), 1e-6, 1e-6);
    }
  });

  it("an operation that reads more arrays than a kernel may bind is refused by name", () => {
    const which = lax.rem(np.abs(randomArray(next, [7, 5], "int32")), 3);
    const closed = makeJaxpr((p: A, a: A, b: A, c: A) => lax.selectN(p, a, b, c))(which, xs[0]!, xs[1]!, xs[2]!);
    expect(() => planJaxpr(closed, { target: "webgpu", maxStorageBuffers: 6 })).toThrow(/lowering: 'select_n' reads 4 arrays in one kernel; this device binds at most 6 buffers per kernel/);
  });
});

describe("a blocked product stored to fit the budget", () => {
  it("leaves its consumer unblocked: every kernel defines the coordinates it reads", () => {
    const [a, b, c, d] = [randomArray(next, [16, 24]), randomArray(next, [24, 8]), randomArray(next, [16, 8]), randomArray(next, [16, 8])];
    const scales = [randomArray(next, [16, 24]), randomArray(next, [16, 24])];
    // The product reads four arrays (a budget of 8 bindings leaves 4), its consumer two more.
    const f = (...[x, y, z, w, s0, s1]: A[]): A => np.matmul(x!.mul(s0!).add(s1!), y!).add(z!.mul(w!));
    const args = [a, b, c, d, ...scales];
    const plan = planJaxpr(makeJaxpr(f)(...args), { target: "webgpu", maxStorageBuffers: 8 });
    const kernels = plan.nodes.flatMap((n) => (n.kind === "kernels" ? n.program.steps : []));
    for (const { kernel } of kernels) {
      const code = renderWgsl(kernel).code;
      const used = new Set([...code.matchAll(/\bv(\d+)\b/g)].map((m) => m[1]));
      const defined = new Set([...code.matchAll(/(?:let|var) v(\d+)\b/g)].map((m) => m[1]));
      expect([...used].filter((v) => !defined.has(v))).toEqual([]);
    }
    const expected = jit(f, { device: "interpreter" })(...args) as A;
    expectClose(cpuPlanExecutable(plan)(args)[0]!.dataSync(), expected.dataSync(), 1e-5, 1e-5);
  });
});
