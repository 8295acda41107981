/**
 * Register blocks four lanes at a time in the wasm renderer (src/lowering/wasmLanes.ts): the statements that set,
 * merge and store a block's vector accumulators become vector statements where they can, and kernels compute what
 * the JavaScript renderer computes, bit for bit, both where they do and where they must stay scalar.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, gmm, makeJaxpr, numpy as np } from "../../src/index.js";
import { type Expr, type Kernel, type Stmt, accumulatorName, binary, c, gid, load } from "../../src/lowering/kernelIr.js";
import { lowerJaxpr } from "../../src/lowering/lower.js";
import { renderWasm } from "../../src/lowering/wasm.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { cpuExecutable } from "../../src/runtime/cpuPlan.js";
import { randomArray, rng } from "../util/random.js";

const [wasm, js] = [new CpuDevice(), new CpuDevice({ wasm: false })];
const next = rng(29);

/** Occurrences of a SIMD instruction (the prefix 0xfd, then its opcode) in a module. */
const simdOps = (bytes: Uint8Array, opcode: number): number => bytes.filter((_, i) => bytes[i] === 0xfd && bytes[i + 1] === opcode).length;
const V128_STORE = 0x0b;
const F32X4_EXTRACT_LANE = 0x1f;
const F32X4_REPLACE_LANE = 0x20;

const bits = (x: A): number[] => Array.from(new Uint32Array((x.dataSync() as Float32Array).slice().buffer));

/** The program of `f` on `inputs`, run on the wasm and the JavaScript CPU device: results as bits, and its last kernel's module. */
function bothDevices(f: (...xs: A[]) => A, inputs: A[]): { wasmBits: number[]; jsBits: number[]; bytes: Uint8Array } {
  const closed = makeJaxpr(f)(...inputs);
  const program = lowerJaxpr(closed, { target: "cpu" });
  const [ours, theirs] = [wasm, js].map((device) => cpuExecutable(program, closed.consts, closed.outAvals, device)(inputs)[0]!);
  return { wasmBits: bits(ours!), jsBits: bits(theirs!), bytes: renderWasm(program.steps.at(-1)!.kernel).bytes };
}

describe("a dot's register block in vectors", () => {
  it("zeroes, stores and runs a fused bias and relu four lanes at a time", () => {
    const [x, w, b] = [randomArray(next, [8, 12]), randomArray(next, [12, 16]), randomArray(next, [16])];
    const { wasmBits, jsBits, bytes } = bothDevices((x, w, b) => np.maximum(np.add(np.matmul(x, w), b), 0), [x, w, b]);
    // A 4×8 block: eight vector stores, no lane taken out or put in one at a time.
    expect(simdOps(bytes, V128_STORE)).toBe(8);
    expect(simdOps(bytes, F32X4_EXTRACT_LANE)).toBe(0);
    expect(simdOps(bytes, F32X4_REPLACE_LANE)).toBe(0);
    expect(wasmBits).toEqual(jsBits);
  });
});

describe("gmm's register block in vectors", () => {
  it("merges groups across a tile and keeps existingOut's rows, NaN included, as the scalar kernel does", () => {
    const [m, k, n, g] = [36, 9, 24, 5];
    const lhs = randomArray(next, [m, k]);
    const rhs = randomArray(next, [g, k, n]);
    // Rows 0–2 (group 0) and 19–35 (groups 6, 7) take part in no group of the window: existingOut's NaN must come through.
    const out = np.where(np.less(np.arange(m).reshape([m, 1]), 3), np.array(Number.NaN), randomArray(next, [m, n]));
    const sizes = np.array([3, 1, 2, 7, 5, 1, 12, 5], { dtype: "int32" });
    const f = (x: A, w: A, o: A, s: A) => gmm(x, w, s, { groupOffset: 1, existingOut: o, backend: "cpu" });
    const { wasmBits, jsBits, bytes } = bothDevices(f, [lhs, rhs, out, sizes]);
    expect(simdOps(bytes, V128_STORE)).toBeGreaterThanOrEqual(8);
    expect(simdOps(bytes, F32X4_REPLACE_LANE)).toBe(0);
    expect(wasmBits).toEqual(jsBits);
    expect(wasmBits.slice(0, 3 * n).every((b) => (b & 0x7fc00000) === 0x7fc00000)).toBe(true);
  });
});

describe("runs that must stay scalar", () => {
  const i32 = (value: number): Expr => c(value, "i32");
  const acc = (j: number): Expr => ({ k: "var", name: accumulatorName("a", 0, j), type: "f32" });
  const set = (j: number, value: Expr): Stmt => ({ k: "assign", name: accumulatorName("a", 0, j), value });
  const store = (j: number, value: Expr): Stmt => ({ k: "store", buffer: 2, index: binary("add", binary("mul", gid, i32(4)), i32(j)), value });
  /** A 1×4 block (a·b over 3 steps) of one row per invocation, then `finish`. */
  const blockKernel = (finish: Stmt[]): Kernel => ({
    name: "block",
    grid: 6,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: [
      ...[0, 1, 2, 3].map((j): Stmt => ({ k: "declare", name: accumulatorName("a", 0, j), init: c(0, "f32") })),
      {
        k: "for",
        name: "t",
        start: i32(0),
        end: i32(3),
        body: [
          {
            k: "rank1",
            acc: "a",
            rows: [load(0, binary("add", binary("mul", gid, i32(3)), { k: "var", name: "t", type: "i32" }), "f32")],
            cols: [0, 1, 2, 3].map((j) => load(1, binary("add", binary("mul", { k: "var", name: "t", type: "i32" }, i32(4)), i32(j)), "f32")),
          },
        ],
      },
      ...finish,
    ],
  });
  const a = Float32Array.from({ length: 18 }, () => next() * 4 - 2);
  const b = Float32Array.from({ length: 12 }, () => next() * 4 - 2);
  const run = (device: CpuDevice, kernel: Kernel): number[] => {
    const out = new Float32Array(24).fill(-1);
    device.run(kernel, [a, b, out]);
    return Array.from(new Uint32Array(out.buffer));
  };

  it.each([
    ["lanes stored in another order", [0, 1, 2, 3].map((j) => store(j, acc(3 - j)))],
    ["elements stored out of order", [0, 1, 2, 3].map((j) => store(3 - j, acc(3 - j)))],
    ["lanes set from the lane before, already set", [...[0, 1, 2, 3].map((j) => set(j, binary("add", acc((j + 3) % 4), acc(j)))), ...[0, 1, 2, 3].map((j) => store(j, acc(j)))]],
    ["lanes set from the lane after", [...[0, 1, 2, 3].map((j) => set(j, binary("mul", acc((j + 1) % 4), c(2, "f32")))), ...[0, 1, 2, 3].map((j) => store(j, acc(j)))]],
  ] as const)("%s", (_, finish) => {
    const kernel = blockKernel([...finish]);
    expect(run(wasm, kernel)).toEqual(run(js, kernel));
  });

  it("a whole run of lanes in order becomes one vector store, and computes the same", () => {
    const kernel = blockKernel([0, 1, 2, 3].map((j) => store(j, binary("add", acc(j), c(1, "f32")))));
    expect(simdOps(renderWasm(kernel).bytes, V128_STORE)).toBe(1);
    expect(run(wasm, kernel)).toEqual(run(js, kernel));
  });
});
