/**
 * The kernel IR ops beyond the basics (transcendentals WGSL lacks, rounding, bitwise ops, shifts, bit casts),
 * one kernel per op on seeded inputs: rendered to JavaScript and checked against the reference interpreter,
 * and rendered to WGSL on a real WebGPU adapter and checked against the JavaScript result.
 */
import { describe, expect, it } from "vitest";
import { type DType, lax, numpy as np, type Array as JaxArray } from "../../src/index.js";
import { type BinaryOp, type Expr, type Kernel, type ScalarType, type UnaryOp, binary, bitcast, gid, load, unary } from "../../src/lowering/kernelIr.js";
import { renderWgsl } from "../../src/lowering/wgsl.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { expectClose } from "../util/assert.js";
import { rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

type Host = Float32Array | Int32Array | Uint32Array | Uint8Array;
const next = rng(7);

interface OpCase {
  readonly inputs: JaxArray[];
  readonly op: (args: Expr[]) => Expr;
  readonly reference: (...args: JaxArray[]) => JaxArray;
  /** rtol and atol of WGSL against JavaScript. */
  readonly gpu: readonly [number, number];
}

const SCALAR_TYPES: Partial<Record<DType, ScalarType>> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };
const scalarType = (x: JaxArray): ScalarType => SCALAR_TYPES[x.dtype]!;
const uniform = (n: number, lo: number, hi: number): JaxArray => np.array(Array.from({ length: n }, () => lo + (hi - lo) * next()));
const integers = (values: number[], dtype: DType = "int32"): JaxArray => np.array(values, { dtype });
const joined = (...parts: JaxArray[]): JaxArray => np.concatenate(parts);

function unaryCase(op: UnaryOp, input: JaxArray, reference: (x: JaxArray) => JaxArray, gpu: readonly [number, number] = [1e-5, 1e-6]): OpCase {
  return { inputs: [input], op: ([a]) => unary(op, a!), reference, gpu };
}
function binaryCase(op: BinaryOp, inputs: [JaxArray, JaxArray], reference: (x: JaxArray, y: JaxArray) => JaxArray, gpu: readonly [number, number] = [0, 0]): OpCase {
  return { inputs, op: ([a, b]) => binary(op, a!, b!), reference: (x, y) => reference(x, y!), gpu };
}
function bitcastCase(input: () => JaxArray, to: DType): () => OpCase {
  return () => ({ inputs: [input()], op: ([a]) => bitcast(a!, SCALAR_TYPES[to]!), reference: (x) => lax.bitcastConvertType(x, to), gpu: [0, 0] });
}

const halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -0.49999997, -3.7, 8388609, 0]);
const shifted = integers([1, -1, -2147483648, 2147483647, 12345, -12345, 7, 7, 255, -8]);
const amounts = integers([0, 1, 31, 4, 32, 40, -1, 33, 8, 2]);
const words = (): JaxArray => integers(Array.from({ length: 32 }, () => Math.floor(next() * 4294967296)), "uint32");

const OP_CASES: Record<string, () => OpCase> = {
  log1p: () => unaryCase("log1p", joined(uniform(60, -0.9, 3), np.array([1e-7, -1e-6, 0.49, -0.49])), lax.log1p),
  expm1: () => unaryCase("expm1", joined(uniform(60, -3, 3), np.array([1e-7, -1e-6, 0.49, -0.51])), lax.expm1),
  tan: () => unaryCase("tan", uniform(64, -1.4, 1.4), lax.tan),
  asin: () => unaryCase("asin", uniform(64, -0.99, 0.99), lax.asin),
  acos: () => unaryCase("acos", uniform(64, -0.99, 0.99), lax.acos),
  atan: () => unaryCase("atan", uniform(64, -20, 20), lax.atan),
  sinh: () => unaryCase("sinh", uniform(64, -5, 5), lax.sinh),
  cosh: () => unaryCase("cosh", uniform(64, -5, 5), lax.cosh),
  erf: () => unaryCase("erf", joined(uniform(60, -5, 5), np.array([1e-6, -0.3, 0.5, 3.9])), lax.erf, [2e-6, 1e-7]),
  erf_inv: () => unaryCase("erf_inv", joined(uniform(60, -0.999, 0.999), np.array([1e-6, 0.9999, -0.99999, 0])), lax.erfInv, [1e-5, 1e-7]),
  round_even: () => unaryCase("round_even", halves, (x) => lax.round(x, 1), [0, 0]),
  round_away: () => unaryCase("round_away", halves, (x) => lax.round(x, 0), [0, 0]),
  "not i32": () => unaryCase("not", shifted, lax.bitwiseNot, [0, 0]),
  "not u32": () => unaryCase("not", words(), lax.bitwiseNot, [0, 0]),
  "xor i32": () => binaryCase("xor", [shifted, amounts], lax.bitwiseXor),
  "xor u32": () => binaryCase("xor", [words(), words()], lax.bitwiseXor),
  "xor bool": () => binaryCase("xor", [np.array([true, true, false, false]), np.array([true, false, true, false])], lax.bitwiseXor),
  atan2: () => binaryCase("atan2", [joined(uniform(60, -3, 3), np.array([0, 1, -1, 0])), joined(uniform(60, -3, 3), np.array([1, 0, 0, -1]))], lax.atan2, [1e-5, 1e-6]),
  pow: () =>
    binaryCase("pow", [joined(uniform(56, 0.1, 4), np.array([-2, -2, -0.5, -3, 2, 5, -1.5, 1])), joined(uniform(56, -3, 3), np.array([3, 2, -3, 0, 0, 1, 0.5, 7]))], lax.pow, [2e-5, 1e-6]),
  "shl i32": () => binaryCase("shl", [shifted, amounts], lax.shiftLeft),
  "shr i32": () => binaryCase("shr", [shifted, amounts], lax.shiftRightLogical),
  "sar i32": () => binaryCase("sar", [shifted, amounts], lax.shiftRightArithmetic),
  "shl u32": () => binaryCase("shl", [shifted.astype("uint32"), amounts.astype("uint32")], lax.shiftLeft),
  "shr u32": () => binaryCase("shr", [shifted.astype("uint32"), amounts.astype("uint32")], lax.shiftRightLogical),
  "sar u32": () => binaryCase("sar", [shifted.astype("uint32"), amounts.astype("uint32")], lax.shiftRightArithmetic),
  "bitcast f32 to i32": bitcastCase(() => uniform(32, -1e6, 1e6), "int32"),
  "bitcast f32 to u32": bitcastCase(() => uniform(32, -1e6, 1e6), "uint32"),
  "bitcast i32 to f32": bitcastCase(() => lax.bitcastConvertType(uniform(32, -1e6, 1e6), "int32"), "float32"),
  "bitcast u32 to i32": bitcastCase(words, "int32"),
};

function opKernel({ inputs, op }: OpCase): Kernel {
  const types = inputs.map(scalarType);
  const value = op(types.map((t, i) => load(i, gid, t)));
  const buffers = [...types.map((type) => ({ type, access: "read" as const })), { type: value.type, access: "read_write" as const }];
  return { name: "op", grid: inputs[0]!.size, buffers, body: [{ k: "store", buffer: inputs.length, index: gid, value }] };
}

const allocate = (t: ScalarType, n: number): Host => (t === "f32" ? new Float32Array(n) : t === "i32" ? new Int32Array(n) : t === "u32" ? new Uint32Array(n) : new Uint8Array(n));
const outputType = (k: Kernel): ScalarType => k.buffers[k.buffers.length - 1]!.type;
const hostData = (x: JaxArray): Host => x.dataSync() as Host;

function runOnCpu(kernel: Kernel, inputs: Host[]): Host {
  const out = allocate(outputType(kernel), kernel.grid);
  new CpuDevice().run(kernel, [...inputs, out]);
  return out;
}

const gpu = await webgpuDevice();

describe("kernel IR ops", () => {
  it("WGSL defines the helpers a shader calls, and only those", () => {
    const text = renderWgsl(opKernel(OP_CASES.erf!())).code;
    expect(text).toContain("fn wg_erf(x: f32) -> f32");
    expect(text).not.toContain("fn wg_pow");
  });

  for (const [name, make] of Object.entries(OP_CASES)) {
    it(`${name}: JavaScript matches the interpreter`, () => {
      const testCase = make();
      const expected = testCase.reference(...testCase.inputs);
      const kernel = opKernel(testCase);
      expect(outputType(kernel)).toBe(scalarType(expected));
      expectClose(runOnCpu(kernel, testCase.inputs.map(hostData)), expected.dataSync(), 1e-7, 0);
    });
    if (gpu) {
      it(`${name}: WGSL matches JavaScript`, async () => {
        const testCase = make();
        const kernel = opKernel(testCase);
        const inputs = testCase.inputs.map(hostData);
        const buffers = [...inputs.map((x, i) => gpu.upload(x, kernel.buffers[i]!.type)), gpu.allocate(kernel.grid, outputType(kernel))];
        gpu.run([{ kernel, buffers }]);
        const [rtol, atol] = testCase.gpu;
        expectClose(await gpu.read(buffers[buffers.length - 1]!), runOnCpu(kernel, inputs), rtol, atol);
      });
    }
  }
});
