/**
 * dot_general lowered to register-blocked kernels: every shape class (ragged edges, empty and unit dims, batch
 * dims, contracting dims anywhere, integers) with fused prologues and epilogues, for both targets' tilings, run
 * on the CPU device's WebAssembly and JavaScript renderers against the reference interpreter.
 */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, jit, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";
import { chooseDotTiling, packsRhs } from "../../src/lowering/dot.js";
import { lowerJaxpr } from "../../src/lowering/lower.js";
import { renderWasm } from "../../src/lowering/wasm.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { cpuExecutable } from "../../src/runtime/cpuPlan.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(17);
type Dims = [[number[], number[]], [number[], number[]]];
const mm: Dims = [[[1], [0]], [[], []]];

/** Float tolerance of a length-k f32 dot of O(1) values: each partial sum rounds once, in any order. */
const atolFor = (k: number): number => 4e-7 * Math.max(1, k);

interface Program {
  name: string;
  f: (...args: A[]) => A;
  args: A[];
  /** Contraction length, for the tolerance. */
  k: number;
  kernels?: number;
}

const dot = (dims: Dims) => (a: A, b: A) => lax.dotGeneral(a, b, dims);
const matmulCase = (m: number, k: number, n: number): Program => ({ name: `${m}×${k}×${n}`, f: dot(mm), args: [randomArray(next, [m, k]), randomArray(next, [k, n])], k, kernels: 1 });

const PROGRAMS: Program[] = [
  ...[[1, 1, 1], [7, 13, 5], [33, 65, 17], [16, 16, 16], [5, 1, 9], [1, 40, 1], [9, 8, 3], [0, 3, 4], [3, 4, 0], [3, 0, 4], [260, 7, 258]].map(([m, k, n]) => matmulCase(m!, k!, n!)),
  { name: "batch dims", f: dot([[[2], [1]], [[0], [0]]]), args: [randomArray(next, [3, 6, 11]), randomArray(next, [3, 11, 10])], k: 11 },
  { name: "batch dims not leading", f: dot([[[0], [2]], [[2], [0]]]), args: [randomArray(next, [9, 5, 2]), randomArray(next, [2, 7, 9])], k: 9 },
  { name: "contracting dims [[0],[1]]", f: dot([[[0], [1]], [[], []]]), args: [randomArray(next, [13, 6]), randomArray(next, [10, 13])], k: 13 },
  { name: "two contracting and two free dims", f: dot([[[2, 0], [0, 3]], [[], []]]), args: [randomArray(next, [3, 5, 4, 2]), randomArray(next, [4, 6, 9, 3])], k: 12 },
  { name: "vector · vector", f: dot([[[0], [0]], [[], []]]), args: [randomArray(next, [37]), randomArray(next, [37])], k: 37 },
  { name: "matrix · vector", f: dot([[[1], [0]], [[], []]]), args: [randomArray(next, [21, 19]), randomArray(next, [19])], k: 19 },
  { name: "int32", f: dot(mm), args: [randomArray(next, [6, 9], "int32"), randomArray(next, [9, 11], "int32")], k: 0 },
  { name: "int32 with a transposed operand", f: dot([[[1], [1]], [[], []]]), args: [randomArray(next, [12, 33], "int32"), randomArray(next, [8, 33], "int32")], k: 0 },
  {
    name: "prologue: a convert and a transpose fused into the loads",
    f: (a: A, b: A) => np.matmul(a.astype("float32"), b.T),
    args: [randomArray(next, [10, 14], "int32"), randomArray(next, [9, 14])],
    k: 14 * 1000,
    kernels: 1,
  },
  {
    name: "epilogue: bias, relu and scale fused into the stores",
    f: (a: A, w: A, b: A) => nn.relu(np.matmul(a, w).add(b)).mul(0.5),
    args: [randomArray(next, [33, 65]), randomArray(next, [65, 17]), randomArray(next, [17])],
    k: 65,
    kernels: 1,
  },
  { name: "epilogue: a cast to int32", f: (a: A, w: A) => np.matmul(a, w).mul(10).astype("int32"), args: [randomArray(next, [7, 5]), randomArray(next, [5, 9])], k: 50, kernels: 1 },
  {
    name: "two dots summed (the second materialises)",
    f: (a: A, w: A, v: A) => np.matmul(a, w).add(np.matmul(a.mul(2), v)),
    args: [randomArray(next, [6, 10]), randomArray(next, [10, 7]), randomArray(next, [10, 7])],
    k: 30,
    kernels: 2,
  },
  { name: "a dot feeding a reduction", f: (a: A, w: A) => np.sum(np.matmul(a, w), { axis: 1 }), args: [randomArray(next, [9, 6]), randomArray(next, [6, 10])], k: 60 },
  // Right operands of more than 2^16 elements read by 256 rows or more are packed on the CPU: ragged edges, batch dims, a transposed operand, ints.
  { name: "packed: 259×300×259", f: dot(mm), args: [randomArray(next, [259, 300]), randomArray(next, [300, 259])], k: 300 },
  { name: "packed: batch dims and a bias", f: (a: A, b: A, c: A) => lax.dotGeneral(a, b, [[[2], [1]], [[0], [0]]]).add(c), args: [randomArray(next, [2, 257, 270]), randomArray(next, [2, 270, 250]), randomArray(next, [250])], k: 270 },
  { name: "packed: a transposed operand converted from int32", f: (a: A, b: A) => np.matmul(a, b.astype("float32").T), args: [randomArray(next, [258, 260]), randomArray(next, [263, 260], "int32")], k: 260 * 1000 },
  { name: "packed: int32", f: dot(mm), args: [randomArray(next, [261, 257], "int32"), randomArray(next, [257, 300], "int32")], k: 0 },
  // Invocations walk row panels of about 256 KB of the left operand: here 31 whole panels of 8 row blocks and a last of 2.
  { name: "packed in row panels: 1000×2048×40", f: dot(mm), args: [randomArray(next, [1000, 2048]), randomArray(next, [2048, 40])], k: 2048 },
];

describe("chooseDotTiling", () => {
  it("blocks large products and shrinks the block to small ones", () => {
    expect(chooseDotTiling(1, 512, 512, 512, "cpu")).toEqual({ tm: 4, tn: 8 });
    expect(chooseDotTiling(1, 512, 512, 512, "webgpu")).toEqual({ tm: 8, tn: 8 });
    expect(chooseDotTiling(1, 128, 256, 512, "webgpu")).toEqual({ tm: 4, tn: 4 });
    expect(chooseDotTiling(1, 1, 3, 9, "cpu")).toEqual({ tm: 1, tn: 3 });
    expect(chooseDotTiling(1, 8, 8, 8, "webgpu")).toEqual({ tm: 1, tn: 1 });
  });
});

const devices: [string, CpuDevice][] = [
  ["wasm", new CpuDevice()],
  ["javascript", new CpuDevice({ wasm: false })],
];

describe.each(["cpu", "webgpu"] as const)("dot_general lowered with the %s tiling", (target) => {
  for (const { name, f, args, k, kernels } of PROGRAMS) {
    describe(name, () => {
      const closed = makeJaxpr(f)(...args);
      const program = lowerJaxpr(closed, { target });
      const expected = jit(f, { device: "interpreter" })(...args);

      if (kernels !== undefined) it(`is ${kernels} kernel(s)`, () => expect(program.steps.length).toBe(kernels));

      it("renders every kernel to WebAssembly", () => {
        for (const step of program.steps) expect(renderWasm(step.kernel).bytes.length).toBeGreaterThan(8);
      });

      for (const [device, cpu] of devices) {
        it(`matches the interpreter on ${device}`, () => {
          const [actual] = cpuExecutable(program, closed.consts, closed.outAvals, cpu)(args);
          expect(actual!.shape).toEqual(expected.shape);
          expect(actual!.dtype).toBe(expected.dtype);
          expectClose(actual!.dataSync(), expected.dataSync(), 1e-5, expected.dtype === "float32" ? atolFor(k) : 0);
        });
      }
    });
  }
});

describe("the cpu lowering packs large right operands", () => {
  it("into a kernel of its own before the dot, whose rows the wasm kernel loads into every lane", () => {
    const closed = makeJaxpr(dot(mm))(randomArray(next, [256, 300]), randomArray(next, [300, 300]));
    expect(packsRhs(256, 300, 300, "cpu")).toBe(true);
    expect(packsRhs(256, 256, 256, "cpu")).toBe(false);
    expect(packsRhs(128, 300, 300, "cpu")).toBe(false);
    expect(packsRhs(256, 300, 300, "webgpu")).toBe(false);
    expect(lowerJaxpr(closed, { target: "cpu" }).steps.length).toBe(2);
    expect(lowerJaxpr(closed, { target: "webgpu" }).steps.length).toBe(1);
    const bytes = renderWasm(lowerJaxpr(closed, { target: "cpu" }).steps[1]!.kernel).bytes;
    // 0xfd 0x09 is v128.load32_splat.
    expect(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ")).toContain("fd 09 02");
  });
});

describe("the cpu device runs dot kernels in WebAssembly with SIMD", () => {
  it("uses vector loads for contiguous columns", () => {
    const program = lowerJaxpr(makeJaxpr(dot(mm))(randomArray(next, [8, 8]), randomArray(next, [8, 16])), { target: "cpu" });
    const bytes = renderWasm(program.steps[0]!.kernel).bytes;
    // 0xfd 0x00 is v128.load, 0xfd 0xe6 0x01 f32x4.mul.
    const text = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    expect(text).toContain("fd 00 02 00");
    expect(text).toContain("fd e6 01");
  });
});

describe("fusion around contractions", () => {
  const x = randomArray(next, [16, 24]);
  const w = randomArray(next, [24, 8]);
  const product = (a: A, b: A): A => lax.dotGeneral(a, b, [[[1], [0]], [[], []]]);
  it("a cheap prologue (a dequantization: convert, scale) fuses into the dot's loads", () => {
    const codes = lax.convertElementType(lax.round(lax.mul(x, 10)), "int8");
    const f = (q: A, s: A, b: A): A => product(lax.mul(lax.convertElementType(q, "float32"), lax.broadcastInDim(s, [16, 24], [0])), b);
    expect(lowerJaxpr(makeJaxpr(f)(codes, randomArray(next, [16]), w)).steps.length).toBe(1);
  });

  it("an expensive one (more than 8 operations) is stored first, not recomputed at every read", () => {
    const chain = (a: A): A => Array.from({ length: 10 }, (_, i) => i).reduce((v, i) => (i % 2 ? lax.tanh(v) : lax.mul(v, 1.5)), a);
    const closed = makeJaxpr((a: A, b: A) => product(chain(a), b))(x, w);
    for (const target of ["cpu", "webgpu"] as const) expect(lowerJaxpr(closed, { target }).steps.length).toBe(2);
    const [actual] = cpuExecutable(lowerJaxpr(closed), closed.consts, closed.outAvals, new CpuDevice())([x, w]);
    expectClose(actual!.dataSync(), jit((a: A, b: A) => product(chain(a), b), { device: "interpreter" })(x, w).dataSync(), 1e-5, 1e-6);
  });
});
