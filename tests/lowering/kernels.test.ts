/**
 * Kernel IR run through both renderers — JavaScript on the CPU device and WGSL on a real WebGPU adapter —
 * against the reference interpreter running the same computation with lax primitives.
 */
import { describe, expect, it } from "vitest";
import { lax, makeJaxpr, nn, numpy as np, type Array as JaxArray } from "../../src/index.js";
import type { LoweringTarget } from "../../src/lowering/dot.js";
import { type Expr, type Kernel, type ScalarType, type Stmt, binary, c, cast, gid, lid, load, loopIterations, printKernel, select, unary, v, wid } from "../../src/lowering/kernelIr.js";
import { lowerJaxpr } from "../../src/lowering/lower.js";
import { renderWgsl } from "../../src/lowering/wgsl.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

type Host = Float32Array | Int32Array | Uint32Array | Uint8Array;
const next = rng(99);

interface Case {
  kernel: Kernel;
  inputs: Host[];
  outputLength: number;
  expected: () => ArrayLike<number>;
  rtol: number;
}

const f32 = (x: JaxArray): Float32Array => x.dataSync() as Float32Array;

function elementwiseCase(): Case {
  const x = randomArray(next, [3, 4]);
  const y = randomArray(next, [4]);
  const xi = load(0, gid, "f32");
  const yi = load(1, binary("rem", gid, c(4, "i32")), "f32");
  const t = binary("add", binary("mul", xi, c(2)), yi);
  const e = binary("sub", binary("mul", unary("exp", unary("neg", binary("mul", t, t))), c(3)), c(0.5));
  const body = binary("max", e, c(0));
  const kernel: Kernel = { name: "chain", grid: 12, buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read" }, { type: "f32", access: "read_write" }], body: [{ k: "store", buffer: 2, index: gid, value: body }] };
  const expected = () => {
    const tt = lax.add(lax.mul(x, 2), lax.broadcastInDim(y, [3, 4], [1]));
    return f32(lax.max(lax.sub(lax.mul(lax.exp(lax.neg(lax.mul(tt, tt))), 3), 0.5), 0));
  };
  return { kernel, inputs: [f32(x), f32(y)], outputLength: 12, expected, rtol: 1e-6 };
}

function integerCase(): Case {
  const a = np.array([7, -7, 100000, 3, -2147483648, 12], { dtype: "int32" });
  const b = np.array([2, 3, 100000, 0, 1, -5], { dtype: "int32" });
  const [ai, bi] = [load(0, gid, "i32"), load(1, gid, "i32")];
  const value = select(binary("lt", ai, bi), binary("mul", ai, bi), binary("add", ai, binary("rem", ai, binary("max", bi, c(1, "i32")))));
  const kernel: Kernel = { name: "ints", grid: 6, buffers: [{ type: "i32", access: "read" }, { type: "i32", access: "read" }, { type: "i32", access: "read_write" }], body: [{ k: "store", buffer: 2, index: gid, value }] };
  const expected = () => lax.select(lax.lt(a, b), lax.mul(a, b), lax.add(a, lax.rem(a, lax.max(b, 1)))).dataSync();
  return { kernel, inputs: [a.dataSync() as Int32Array, b.dataSync() as Int32Array], outputLength: 6, expected, rtol: 0 };
}

function boolCase(): Case {
  const x = randomArray(next, [9]);
  const value: Expr = binary("and", binary("gt", load(0, gid, "f32"), c(0)), unary("not", load(1, gid, "bool")));
  const mask = np.array([true, false, true, false, true, false, true, false, true]);
  const kernel: Kernel = { name: "bools", grid: 9, buffers: [{ type: "f32", access: "read" }, { type: "bool", access: "read" }, { type: "bool", access: "read_write" }], body: [{ k: "store", buffer: 2, index: gid, value }] };
  const expected = () => lax.bitwiseAnd(lax.gt(x, 0), lax.bitwiseNot(mask)).dataSync();
  return { kernel, inputs: [f32(x), mask.dataSync() as Uint8Array], outputLength: 9, expected, rtol: 0 };
}

const sumRows = (cols: number): Stmt[] => [
  { k: "declare", name: "acc", init: c(0) },
  { k: "for", name: "j", start: c(0, "i32"), end: c(cols, "i32"), body: [{ k: "assign", name: "acc", value: binary("add", v("acc", "f32"), load(0, binary("add", binary("mul", gid, c(cols, "i32")), v("j", "i32")), "f32")) }] },
  { k: "store", buffer: 1, index: gid, value: v("acc", "f32") },
];

function reductionCase(): Case {
  const x = randomArray(next, [5, 33]);
  const kernel: Kernel = {
    name: "row_sums",
    grid: 5,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: sumRows(33),
  };
  return { kernel, inputs: [f32(x)], outputLength: 5, expected: () => f32(lax.reduceSum(x, [1])), rtol: 1e-5 };
}

/**
 * Row sums by workgroups of 64 (one per row): each invocation sums a strided share of the row, the shares meet in
 * a workgroup buffer (declared between the bound input and output), and a tree of halving steps, each followed by
 * a barrier, adds them up.
 */
function workgroupCase(): Case {
  const [rows, cols, size] = [5, 1000, 64];
  const x = randomArray(next, [rows, cols]);
  const r = binary("add", binary("mul", v("j", "i32"), c(size, "i32")), lid);
  const shared = (index: Expr): Expr => load(1, index, "f32");
  const tree = [32, 16, 8, 4, 2, 1].flatMap((half): Stmt[] => [
    { k: "if", cond: binary("lt", lid, c(half, "i32")), then: [{ k: "store", buffer: 1, index: lid, value: binary("add", shared(lid), shared(binary("add", lid, c(half, "i32")))) }] },
    { k: "barrier" },
  ]);
  const kernel: Kernel = {
    name: "workgroup_row_sums",
    grid: rows * size,
    workgroupSize: size,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read_write", workgroup: size }, { type: "f32", access: "read_write" }],
    body: [
      { k: "declare", name: "part", init: c(0) },
      { k: "for", name: "j", start: c(0, "i32"), end: c(Math.ceil(cols / size), "i32"), body: [{ k: "if", cond: binary("lt", r, c(cols, "i32")), then: [{ k: "assign", name: "part", value: binary("add", v("part", "f32"), load(0, binary("add", binary("mul", wid, c(cols, "i32")), r), "f32")) }] }] },
      { k: "store", buffer: 1, index: lid, value: v("part", "f32") },
      { k: "barrier" },
      ...tree,
      { k: "if", cond: binary("eq", lid, c(0, "i32")), then: [{ k: "store", buffer: 2, index: wid, value: shared(c(0, "i32")) }] },
    ],
  };
  return { kernel, inputs: [f32(x)], outputLength: rows, expected: () => f32(lax.reduceSum(x, [1])), rtol: 1e-5 };
}

function matmulCase(): Case {
  const [m, k, n] = [5, 7, 3];
  const a = randomArray(next, [m, k]);
  const b = randomArray(next, [k, n]);
  const row = binary("div", gid, c(n, "i32"));
  const col = binary("rem", gid, c(n, "i32"));
  const kernel: Kernel = {
    name: "matmul",
    grid: m * n,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: [
      { k: "declare", name: "acc", init: c(0) },
      {
        k: "for",
        name: "p",
        start: c(0, "i32"),
        end: c(k, "i32"),
        body: [
          {
            k: "assign",
            name: "acc",
            value: binary("add", v("acc", "f32"), binary("mul", load(0, binary("add", binary("mul", row, c(k, "i32")), v("p", "i32")), "f32"), load(1, binary("add", binary("mul", v("p", "i32"), c(n, "i32")), col), "f32"))),
          },
        ],
      },
      { k: "store", buffer: 2, index: gid, value: v("acc", "f32") },
    ],
  };
  return { kernel, inputs: [f32(a), f32(b)], outputLength: m * n, expected: () => f32(np.matmul(a, b)), rtol: 1e-5 };
}

function castCase(): Case {
  const x = np.array([-1e10, -2.7, -0.5, 0.5, 2.7, 1e10, NaN]);
  const kernel: Kernel = { name: "casts", grid: 7, buffers: [{ type: "f32", access: "read" }, { type: "i32", access: "read_write" }], body: [{ k: "store", buffer: 1, index: gid, value: cast(load(0, gid, "f32"), "i32") }] };
  return { kernel, inputs: [f32(x)], outputLength: 7, expected: () => lax.convertElementType(x, "int32").dataSync(), rtol: 0 };
}

/** The single kernel `f` lowers to (for `target`), its inputs being `args` in order. */
function loweredCase(f: (...args: JaxArray[]) => JaxArray, args: JaxArray[], target: LoweringTarget, rtol: number): () => Case {
  return () => {
    const program = lowerJaxpr(makeJaxpr(f)(...args), { target });
    expect(program.steps.length).toBe(1);
    const { kernel, buffers } = program.steps[0]!;
    const inputs = buffers.slice(0, -1).map((ref) => {
      expect(ref.kind).toBe("input");
      return args[ref.index]!.dataSync() as Host;
    });
    return { kernel, inputs, outputLength: program.temps[buffers[buffers.length - 1]!.index]!.length, expected: () => f(...args).dataSync(), rtol };
  };
}

const biasRelu = (a: JaxArray, w: JaxArray, b: JaxArray) => nn.relu(np.matmul(a, w).add(b));
const convertBatched = (a: JaxArray, w: JaxArray) => lax.dotGeneral(a.astype("float32").mul(0.001), w, [[[2], [1]], [[0], [0]]]).mul(0.25);

const CASES: Record<string, () => Case> = {
  elementwise: elementwiseCase,
  integer: integerCase,
  bool: boolCase,
  reduction: reductionCase,
  "workgroup tree reduction (a workgroup buffer, barriers)": workgroupCase,
  matmul: matmulCase,
  "lowered dot, 8×8 blocks with ragged edges and a bias-relu epilogue": loweredCase(biasRelu, [randomArray(next, [258, 20]), randomArray(next, [20, 259]), randomArray(next, [259])], "webgpu", 1e-5),
  "lowered batched dot, 8×8 blocks with a convert prologue": loweredCase(convertBatched, [randomArray(next, [2, 130, 9], "int32"), randomArray(next, [2, 9, 257])], "webgpu", 1e-5),
  "lowered dot, cpu 4×8 blocks with ragged edges": loweredCase(biasRelu, [randomArray(next, [33, 65]), randomArray(next, [65, 17]), randomArray(next, [17])], "cpu", 2e-5),
  "lowered dot, one element per invocation": loweredCase(biasRelu, [randomArray(next, [7, 13]), randomArray(next, [13, 5]), randomArray(next, [5])], "webgpu", 1e-5),
};
const outputType = (k: Kernel): ScalarType => k.buffers[k.buffers.length - 1]!.type;
const allocate = (t: ScalarType, n: number): Host => (t === "f32" ? new Float32Array(n) : t === "i32" ? new Int32Array(n) : t === "u32" ? new Uint32Array(n) : new Uint8Array(n));

describe("kernel IR", () => {
  it("casts float to int like XLA on the CPU renderer (WGSL leaves out-of-range casts undefined; the lowering will clamp)", () => {
    const { kernel, inputs, outputLength, expected } = castCase();
    const out = new Int32Array(outputLength);
    new CpuDevice().run(kernel, [...inputs, out]);
    expect(Array.from(out)).toEqual(Array.from(expected()));
  });

  it("prints and renders to WGSL", () => {
    const { kernel } = reductionCase();
    expect(printKernel(kernel)).toContain("for j in [0:i32, 33:i32):");
    const wgsl = renderWgsl(kernel).code;
    expect(wgsl).toContain("@compute @workgroup_size(64)");
    expect(wgsl).toContain("for (var v1 = 0i; v1 < wg_p0; v1 = v1 + 1i) {");
  });

  it("prints and renders a workgroup kernel: the workgroup buffer unbound, barriers, the workgroup's indices", () => {
    const { kernel } = workgroupCase();
    expect(printKernel(kernel)).toMatch(/workgroup=64 buffers=\(b0:f32:read, b1:f32\[64\]:workgroup, b2:f32:read_write\)[^]*\n  barrier\n/);
    const { code } = renderWgsl(kernel);
    expect(code).toContain("var<workgroup> b1: array<f32, 64>;");
    expect(code).toContain("@group(0) @binding(1) var<storage, read_write> b2: array<f32>;");
    expect(code).toContain("@compute @workgroup_size(64)");
    expect(code.match(/workgroupBarrier\(\);/g)).toHaveLength(7);
  });

  it("bounds the loop iterations of an invocation (nested loops multiply, consecutive ones add)", () => {
    const loop = (end: number, body: Stmt[] = []): Stmt => ({ k: "for", name: "i", start: c(2, "i32"), end: c(end, "i32"), body });
    expect(loopIterations(sumRows(33))).toBe(33);
    expect(loopIterations([loop(12, [loop(7), loop(4)]), loop(5)])).toBe(10 * (1 + 5 + 2) + 3);
    expect(loopIterations([{ k: "if", cond: c(1, "bool"), then: [loop(10)], else: [loop(4)] }])).toBe(8);
    const dynamic: Stmt = { k: "for", name: "r", start: c(0, "i32"), end: v("n", "i32"), body: [] };
    expect(loopIterations([dynamic])).toBe(Infinity);
    expect(loopIterations([{ ...dynamic, trips: 40 }])).toBe(40);
  });

  it("renders kernels that differ only in sizes to one WGSL text, with the sizes in the uniform", () => {
    const rowSums = (rows: number, cols: number): Kernel => ({ ...reductionCase().kernel, grid: rows, body: sumRows(cols) });
    const a = renderWgsl(rowSums(5, 33));
    const b = renderWgsl(rowSums(70, 9));
    expect(b.code).toBe(a.code);
    expect(Array.from(a.uniform)).toEqual([5, 0, 0, 0, 33, 0, 0, 0]);
    expect(Array.from(b.uniform)).toEqual([70, 0, 0, 0, 9, 0, 0, 0]);
    // Divisors stay literals (a division by a uniform is a real division), and so do -1, 0 and 1.
    const divide = (d: number, e: number): Kernel => ({ ...matmulCase().kernel, body: [{ k: "store", buffer: 2, index: binary("mul", gid, c(e, "i32")), value: cast(binary("div", gid, c(d, "i32")), "f32") }] });
    expect(renderWgsl(divide(3, 5)).code).toContain("wg_div_i32(gid, 3i)");
    expect(renderWgsl(divide(3, 5)).code).toBe(renderWgsl(divide(3, 7)).code);
    expect(renderWgsl(divide(3, 5)).code).not.toBe(renderWgsl(divide(4, 5)).code);
    expect(renderWgsl(divide(3, 1)).code).toContain("u32((gid * 1i))");
  });
});

/** Runs a kernel on a device: inputs uploaded, every buffer after them allocated, the last read back. */
type Runner = (kernel: Kernel, inputs: Host[], outputLength: number) => Promise<ArrayLike<number>>;

const cpuRunner =
  (wasm: boolean): Runner =>
  async (kernel, inputs, outputLength) => {
    const out = allocate(outputType(kernel), outputLength);
    new CpuDevice({ wasm }).run(kernel, [...inputs, out]);
    return out;
  };

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const gpuRunner: Runner = async (kernel, inputs, outputLength) => {
  const buffers = [...inputs.map((x, i) => gpu!.upload(x, kernel.buffers[i]!.type)), gpu!.allocate(outputLength, outputType(kernel))];
  gpu!.run([{ kernel, buffers }]);
  return gpu!.read(buffers[buffers.length - 1]!);
};

const runners: [string, Runner, number][] = [["wasm", cpuRunner(true), 1], ["javascript", cpuRunner(false), 1], ...(gpu ? ([["webgpu", gpuRunner, 10]] as [string, Runner, number][]) : [])];

if (!gpu) {
  describe("webgpu", () => {
    it("is only absent where CI does not require it", () => {
      expect(process.env.WGJAX_REQUIRE_WEBGPU ?? "").toBe("");
    });
  });
}

describe.each(runners)("kernels on %s", (_device, run, slack) => {
  for (const [name, make] of Object.entries(CASES)) {
    it(name, async () => {
      const { kernel, inputs, outputLength, expected, rtol } = make();
      expectClose(await run(kernel, inputs, outputLength), expected(), rtol * slack, rtol * slack);
    });
  }

  it("a grid larger than one dispatch dimension", async () => {
    const n = 65535 * 64 + 1000;
    const kernel: Kernel = { name: "big", grid: n, buffers: [{ type: "i32", access: "read_write" }], body: [{ k: "store", buffer: 0, index: gid, value: binary("mul", gid, c(3, "i32")) }] };
    const out = await run(kernel, [], n);
    expect([out[0], out[1000], out[n - 1]]).toEqual([0, 3000, (n - 1) * 3]);
  });
});
