/**
 * The WebAssembly renderer against the JavaScript renderer on every primitive's sample program: the same lowered
 * kernels run on a CPU device of each kind must agree (ints and bools exactly, floats to float32 accuracy), and
 * the kernels of the common primitives must render to wasm rather than fall back.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, bind, lax, makeJaxpr, numpy as np, reference } from "../../src/index.js";
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

const arrayOf = (values: number[], dtype: DType): A => np.array(values, { dtype });
const convert = (a: A, dtype: DType): A => lax.convertElementType(a, dtype);
const mul = (a: A, b: A): A => lax.mul(a, b);

describe("narrow element types render to wasm and agree with JavaScript bit for bit", () => {
  // Ties and their neighbours for every format: float32 values around the midpoints of consecutive bfloat16,
  // float16 and float8 values, overflow, subnormals, NaN, ±Inf and ±0, and products that round once from f64.
  const values: number[] = [0, -0, NaN, Infinity, -Infinity, 448, 449, 464, 465, 480, 57344, 61440, 65504, 65520, 2 ** -9, 2 ** -10, 3 * 2 ** -10, 2 ** -149, 3.4e38, 1 / 3, -2.5];
  for (let e = -24; e < 20; e++) for (const m of [1.0625, 1.125, 1.1875, 1.5, 1.0078125, 1.00390625]) values.push(m * 2 ** e, -m * 2 ** e, Math.fround(m * 2 ** e * (1 + 2 ** -20)));
  const x = arrayOf(values, "float32");
  const y = arrayOf(values.map((_, i) => 1 + (i % 7) / 3), "float32");
  const NARROW = ["bfloat16", "float16", "float8_e4m3fn", "float8_e5m2", "int8", "uint8", "int16", "uint16", "int4"] as const;
  /** f's outputs with wasm and with JavaScript kernels, after checking that every kernel renders to wasm. */
  function both(f: (...xs: A[]) => A, args: A[]): [number[], number[]] {
    const closed = makeJaxpr(f)(...args);
    const program = lowerJaxpr(closed);
    expect(renders(program)).toBe(true);
    const [actual] = cpuExecutable(program, closed.consts, closed.outAvals, wasm)(args);
    const [expected] = cpuExecutable(program, closed.consts, closed.outAvals, js)(args);
    expect(actual!.dtype).toBe(expected!.dtype);
    return [Array.from(actual!.dataSync()), Array.from(expected!.dataSync())];
  }
  const expectIdentical = ([got, want]: [number[], number[]]): void => {
    const differs = want.findIndex((w, k) => !Object.is(w, got[k]));
    expect(differs, `element ${differs} (${values[differs]}): got ${got[differs]}, expected ${want[differs]}`).toBe(-1);
  };
  it.each(NARROW)("%s", (dtype) => {
    // Stored: a product rounded (once, from the exact product) or wrapped to the type, in the type's own buffer.
    const [narrow, reference] = both((a: A, b: A): A => convert(mul(a, b), dtype), [x, y]);
    expectIdentical([narrow, reference]);
    // Loaded: those values as an input of the type, widened and used.
    const input = arrayOf(reference, dtype);
    expectIdentical(both((n: A): A => mul(convert(n, "float32"), convert(n, "float32")), [input]));
  });
});
