/**
 * dot_general staged through workgroup memory (src/lowering/workgroupDot.ts), which hardware adapters get: forced
 * on here for the software adapter and run against the reference interpreter on every shape class (ragged tiles
 * and chunks, both block sizes, batch and contracting dims anywhere, integers, narrow floats), with fused
 * prologues and epilogues, and through an MLP's backward pass.
 */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, grad, jit, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";
import { planJaxpr } from "../../src/lowering/plan.js";
import { webgpuPlanExecutable } from "../../src/runtime/webgpuExecutable.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

type A = JaxArray;
type Dims = [[number[], number[]], [number[], number[]]];
const next = rng(29);
const gpu = await webgpuDevice();

const dot = (dims: Dims) => (a: A, b: A) => lax.dotGeneral(a, b, dims);
const mm: Dims = [[[1], [0]], [[], []]];

interface Case {
  name: string;
  f: (...args: A[]) => A | A[];
  args: () => A[];
  /** The contraction length, for the tolerance (0: exact). */
  k: number;
  /** Expected workgroup sizes of the plan's kernels, in order (0 for a kernel without workgroups). */
  kernels?: number[];
}

const matmul = (m: number, k: number, n: number, kernels?: number[]): Case => ({ name: `${m}×${k}×${n}`, f: dot(mm), args: () => [randomArray(next, [m, k]), randomArray(next, [k, n])], k, kernels });

const CASES: Case[] = [
  // One 32×32 tile and one chunk; whole tiles with k a multiple of the chunk; ragged rows, columns and chunks.
  matmul(32, 16, 32, [64]),
  matmul(64, 64, 96, [64]),
  matmul(100, 37, 70, [64]),
  // Enough workgroups for 8×8 blocks (64×64 tiles), with ragged edges.
  matmul(515, 50, 390, [64]),
  // Too small to stage: the register-blocked kernel.
  matmul(8, 40, 8, [0]),
  { name: "batch dims not leading", f: dot([[[0], [2]], [[2], [0]]]), args: () => [randomArray(next, [45, 40, 3]), randomArray(next, [3, 50, 45])], k: 45, kernels: [64] },
  { name: "contracting dims [[0],[1]] (both operands transposed)", f: dot([[[0], [1]], [[], []]]), args: () => [randomArray(next, [33, 70]), randomArray(next, [40, 33])], k: 33 },
  { name: "two contracting and two free dims", f: dot([[[2, 0], [0, 3]], [[], []]]), args: () => [randomArray(next, [3, 40, 6, 2]), randomArray(next, [6, 9, 5, 3])], k: 18 },
  { name: "int32 (exact)", f: dot(mm), args: () => [randomArray(next, [40, 35], "int32"), randomArray(next, [35, 48], "int32")], k: 0 },
  { name: "bfloat16 operands, rounded once", f: dot(mm), args: () => [randomArray(next, [48, 64]).astype("bfloat16"), randomArray(next, [64, 40]).astype("bfloat16")], k: 64 * 40 },
  {
    name: "prologue and epilogue fused: relu(convert(a) @ bᵀ + bias)",
    f: (a: A, b: A, bias: A) => nn.relu(np.matmul(a.astype("float32"), b.T).add(bias)),
    args: () => [randomArray(next, [70, 33], "int32"), randomArray(next, [50, 33]), randomArray(next, [50])],
    k: 33 * 1000,
    kernels: [64],
  },
  {
    name: "an MLP's loss and gradients",
    f: (w1: A, w2: A, x: A, y: A) => {
      const loss = (a: A, b: A) => np.mean(np.sum(nn.logSoftmax(np.matmul(nn.relu(np.matmul(x, a)), b)).mul(y), { axis: 1 }).neg());
      return [loss(w1, w2), ...(grad(loss, { argnums: [0, 1] })(w1, w2) as A[])];
    },
    args: () => [randomArray(next, [48, 64], "float32", 0.3), randomArray(next, [64, 40], "float32", 0.3), randomArray(next, [36, 48]), nn.oneHot(np.array(Array.from({ length: 36 }, (_, i) => (i * 7) % 40), { dtype: "int32" }), 40)],
    k: 64,
  },
];

describe.runIf(gpu)("dot_general staged through workgroup memory (webgpu)", () => {
  it.each(CASES)("$name matches the interpreter", async ({ f, args, k, kernels }) => {
    const xs = args();
    const closed = makeJaxpr(f)(...xs);
    const plan = planJaxpr(closed, { target: "webgpu", workgroupDots: true });
    const steps = plan.nodes.flatMap((node) => (node.kind === "kernels" ? node.program.steps : []));
    if (kernels) expect(steps.map((s) => s.kernel.workgroupSize ?? 0)).toEqual(kernels);
    else expect(steps.some((s) => s.kernel.workgroupSize === 64)).toBe(true);
    const expected = [jit(f, { device: "interpreter" })(...xs)].flat() as A[];
    const actual = webgpuPlanExecutable(gpu!, plan)(xs);
    expect(actual).toHaveLength(expected.length);
    for (const [i, a] of actual.entries()) {
      expect(a.dtype).toBe(expected[i]!.dtype);
      const atol = k === 0 ? 0 : expected[i]!.dtype === "bfloat16" ? 2 ** -7 * 8 : 4e-7 * k;
      expectClose(await a.data(), expected[i]!.dataSync(), atol, k === 0 ? 0 : 1e-5);
    }
  });

  it("is left off by default and for the CPU target", () => {
    const closed = makeJaxpr(dot(mm))(randomArray(next, [64, 32]), randomArray(next, [32, 64]));
    for (const options of [{ target: "webgpu" as const }, { target: "cpu" as const, workgroupDots: true }]) {
      const steps = planJaxpr(closed, options).nodes.flatMap((node) => (node.kind === "kernels" ? node.program.steps : []));
      expect(steps.map((s) => s.kernel.workgroupSize)).toEqual([undefined]);
    }
  });
});
