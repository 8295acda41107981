/**
 * The WebAssembly renderer against the JavaScript renderer on every primitive's sample program: the same lowered
 * kernels run on a CPU device of each kind must agree (ints and bools exactly, floats to float32 accuracy), and
 * the kernels of the common primitives must render to wasm rather than fall back.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, bind, makeJaxpr, reference } from "../../src/index.js";
import { LoweringError, type Program, lowerJaxpr } from "../../src/lowering/lower.js";
import { type Expr, type Kernel, binary, c, gid, load } from "../../src/lowering/kernelIr.js";
import { WasmUnsupported, renderWasm } from "../../src/lowering/wasm.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { cpuExecutable } from "../../src/runtime/cpuPlan.js";
import { expectClose } from "../util/assert.js";
import { SAMPLES } from "../util/samples.js";

const [wasm, js] = [new CpuDevice(), new CpuDevice({ wasm: false })];
const SKIPPED = ["cond", "while", "scan", "custom_lin"];
/** Primitives whose kernels the wasm renderer must handle itself. */
const NATIVE = ["add", "mul", "exp", "log", "tanh", "max", "select_n", "reduce_sum", "reduce_max", "dot_general", "transpose", "broadcast_in_dim", "iota", "rem", "div", "shift_left"];

const renders = (program: Program): boolean =>
  program.steps.every((s) => {
    try {
      return renderWasm(s.kernel).bytes.length > 0;
    } catch (e) {
      if (e instanceof WasmUnsupported) return false;
      throw e;
    }
  });

describe("wasm and JavaScript renderers agree on every primitive's sample", () => {
  const names = reference
    .listPrimitives()
    .map((p) => p.name)
    .filter((n) => !SKIPPED.includes(n));
  it.each(names)("%s", (name) => {
    const { inputs, params } = SAMPLES[name]!();
    const f = (...args: A[]) => bind(reference.getPrimitive(name)!, args, params);
    let program: Program;
    const closed = makeJaxpr(f)(...inputs);
    try {
      program = lowerJaxpr(closed);
    } catch (e) {
      // What the lowering refuses (bfloat16 samples, say) coverage.test.ts checks by name.
      expect(e).toBeInstanceOf(LoweringError);
      return;
    }
    if (NATIVE.includes(name)) expect(renders(program)).toBe(true);
    const actual = cpuExecutable(program, closed.consts, closed.outAvals, wasm)(inputs);
    const expected = cpuExecutable(program, closed.consts, closed.outAvals, js)(inputs);
    actual.forEach((a, i) => {
      const e = expected[i]!;
      if (a.dtype === "float32") expectClose(a.dataSync(), e.dataSync(), 1e-6, 1e-30);
      else expect(Array.from(a.dataSync())).toEqual(Array.from(e.dataSync()));
    });
  });
});

describe("contiguous copies", () => {
  const i32c = (value: number): Expr => c(value, "i32");
  const at = (base: Expr, j: number): Expr => binary("add", base, i32c(j));
  /** dst[gid*10 + j] = src[gid*9 + 1 + j] for the given j, as separate stores. */
  const copyKernel = (lanes: readonly number[]): Kernel => ({
    name: "copy",
    grid: 5,
    buffers: [{ type: "f32", access: "read" }, { type: "f32", access: "read_write" }],
    body: lanes.map((j) => ({ k: "store", buffer: 1, index: at(binary("mul", gid, i32c(10)), j), value: load(0, at(binary("add", binary("mul", gid, i32c(9)), i32c(1)), j), "f32") })),
  });
  const source = Float32Array.from({ length: 60 }, (_, i) => (i % 7 === 3 ? Number.NaN : i * 1.5 - 20));

  /** v128.store instructions in a module (the SIMD prefix 0xfd, opcode 0x0b, alignment 2, offset 0). */
  const vectorStores = (bytes: Uint8Array): number => bytes.filter((_, i) => bytes[i] === 0xfd && bytes[i + 1] === 0x0b && bytes[i + 2] === 2).length;

  it.each([
    ["a run of eight (two vector copies)", [0, 1, 2, 3, 4, 5, 6, 7], 2],
    ["a run of six (one vector copy, two scalar ones)", [0, 1, 2, 3, 4, 5], 1],
    ["a broken run (scalar copies)", [0, 1, 3, 2, 4], 0],
  ] as const)("%s copies what the JavaScript renderer copies, bit for bit", (_, lanes, vectors) => {
    const kernel = copyKernel(lanes);
    expect(vectorStores(renderWasm(kernel).bytes)).toBe(vectors);
    const outs = [wasm, js].map((device) => {
      const out = new Float32Array(50).fill(-1);
      device.run(kernel, [source, out]);
      return new Uint32Array(out.buffer);
    });
    expect(Array.from(outs[0]!)).toEqual(Array.from(outs[1]!));
    expect(outs[0]!.filter((bits) => bits !== new Uint32Array(Float32Array.of(-1).buffer)[0]).length).toBe(5 * lanes.length);
  });
});
