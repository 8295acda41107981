/**
 * Narrow dtypes (float16, bfloat16, float8_e4m3fn, float8_e5m2, int16, uint16, int8, uint8, int4) on the kernel
 * devices — the CPU always, WebGPU (packed in u32 words) when an adapter exists (always in CI) — against the
 * reference interpreter: conversions and integer results bit for bit, float arithmetic rounded per op as the
 * interpreter rounds it.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, jit, lax, makeJaxpr, numpy as np } from "../../src/index.js";
import { decodeFloat } from "../../src/core/floatFormats.js";
import { floatFormatOf } from "../../src/core/hostData.js";
import { LoweringError, lowerJaxpr } from "../../src/lowering/lower.js";
import { expectClose, tolerance } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

const NARROW_FLOATS = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"] as const;
const NARROW_INTS = ["int16", "uint16", "int8", "uint8", "int4"] as const;
const NARROW: readonly DType[] = [...NARROW_FLOATS, ...NARROW_INTS];

const next = rng(77);
// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const kernelDevices = ["cpu", ...(gpu ? ["webgpu"] : [])];

type Fn = (...args: A[]) => A[];

/** Every output of `f` on `device` against the interpreter: bit for bit (NaN matches NaN, -0 only -0), or within `rtol` and `atol`. */
async function expectSame(device: string, f: Fn, args: A[], rtol?: number, atol = 0): Promise<void> {
  const expected = jit(f, { device: "interpreter" })(...args);
  const actual = jit(f, { device })(...args);
  expect(actual.length).toBe(expected.length);
  for (const [i, a] of actual.entries()) {
    const e = expected[i]!;
    expect([a.shape, a.dtype]).toEqual([e.shape, e.dtype]);
    const got = Array.from(await a.data());
    const want = Array.from(e.dataSync());
    if (rtol !== undefined) {
      expectClose(got, want, rtol, atol);
      continue;
    }
    const differs = want.findIndex((w, k) => !Object.is(w, got[k]));
    if (differs >= 0) expect.fail(`output ${i} (${a.dtype}) element ${differs}: got ${got[differs]}, expected ${want[differs]}`);
  }
}

/** Every value of a float format, or `count` random ones and the specials (16-bit formats), as float32. */
function formatValues(dtype: (typeof NARROW_FLOATS)[number], count = 400): number[] {
  const format = floatFormatOf(dtype)!;
  const bits = format.exponentBits + format.mantissaBits + 1;
  const codes = bits === 8 ? Array.from({ length: 256 }, (_, k) => k) : [...Array.from({ length: count }, () => Math.floor(next() * 2 ** bits)), 0, 1, 2 ** (bits - 1), 2 ** (bits - 1) - 1, 0x3ff, 0x400];
  return codes.map((k) => decodeFloat(k, format));
}

/**
 * float32 inputs that exercise rounding to a float format: midpoints between neighbouring values (ties) and just
 * beside them, subnormals, overflow, NaN, ±Inf, ±0, float32 subnormals, random normals.
 */
function roundingInputs(dtype: (typeof NARROW_FLOATS)[number]): number[] {
  const values = formatValues(dtype, 200).filter(Number.isFinite);
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const mids = sorted.slice(1).map((v, k) => (v + sorted[k]!) / 2);
  const beside = mids.flatMap((m) => [Math.fround(m * (1 + 2 ** -22)), Math.fround(m * (1 - 2 ** -22))]);
  const max = Math.max(...sorted);
  return [...mids, ...beside, max, max * 1.03, max * 1.07, max * 2, -max * 1.1, 1e30, NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-42, 2 ** -149, 1e-8, -3e-6, ...Array.from({ length: 64 }, () => (next() - 0.5) * 200)];
}

const INT_EDGES = [0, 1, -1, 7, 8, -8, -9, 15, 16, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536, 2 ** 24 + 1, 2 ** 24 + 2 ** 16 + 1, -(2 ** 24 + 2 ** 16 + 1), 2 ** 24 + 3 * 2 ** 16, 2147483647, -2147483648, 123456789];
const intInputs = (): number[] => [...INT_EDGES, ...Array.from({ length: 64 }, () => Math.floor((next() - 0.5) * 2 ** 32))];
const floatToIntInputs = [-1e10, -32769.5, -129.7, -128.9, -9.5, -8.5, -0.9, -0, 0.9, 7.9, 8, 127.5, 255.9, 256, 32767.9, 65535.9, 1e10, NaN, Infinity, -Infinity, 3.5, -2.5];

describe.each(kernelDevices)("narrow dtypes on %s", (device) => {
  describe("convert_element_type", () => {
    it.each(NARROW_FLOATS)("float32 to %s rounds to nearest even, saturates or overflows as the interpreter does", async (dtype) => {
      await expectSame(device, (x) => [lax.convertElementType(x!, dtype)], [np.array(roundingInputs(dtype))]);
    });

    it.each(NARROW)("%s to float32, int32, uint32, bool and every narrow dtype", async (dtype) => {
      const x = NARROW_FLOATS.includes(dtype as never) ? np.array(formatValues(dtype as (typeof NARROW_FLOATS)[number]), { dtype }) : randomArray(next, [300], dtype);
      const targets: DType[] = ["float32", "int32", "uint32", "bool", ...NARROW.filter((d) => d !== dtype)];
      await expectSame(device, (v) => targets.map((t) => lax.convertElementType(v!, t)), [x]);
    });

    it.each(NARROW)("int32, uint32 and float32 to %s (wrapping, saturating, rounding large integers once)", async (dtype) => {
      const ints = np.array(intInputs(), { dtype: "int32" });
      await expectSame(device, (i, u, f) => [lax.convertElementType(i!, dtype), lax.convertElementType(u!, dtype), lax.convertElementType(f!, dtype)], [ints, ints.astype("uint32"), np.array(floatToIntInputs)]);
    });

    it("bitcast_convert_type between the 16-bit and the 8-bit types", async () => {
      const bf = np.array(formatValues("bfloat16"), { dtype: "bfloat16" });
      const half = np.array(formatValues("float16"), { dtype: "float16" });
      const e4 = np.array(formatValues("float8_e4m3fn"), { dtype: "float8_e4m3fn" });
      const e5 = np.array(formatValues("float8_e5m2"), { dtype: "float8_e5m2" });
      await expectSame(device, (b, h, f4, f5) => [
        lax.bitcastConvertType(b!, "int16"), lax.bitcastConvertType(b!, "uint16"), lax.bitcastConvertType(b!, "float16"),
        lax.bitcastConvertType(h!, "bfloat16"), lax.bitcastConvertType(lax.bitcastConvertType(h!, "int16"), "float16"),
        lax.bitcastConvertType(f4!, "uint8"), lax.bitcastConvertType(f4!, "float8_e5m2"), lax.bitcastConvertType(f5!, "int8"),
        lax.bitcastConvertType(lax.bitcastConvertType(f5!, "uint8"), "float8_e4m3fn"),
      ], [bf, half, e4, e5]);
    });
  });

  describe("arithmetic rounds to the dtype after every operation", () => {
    it.each(NARROW_FLOATS)("exact operations on %s: add, sub, mul, div, max, min, neg, abs, floor, comparisons, select", async (dtype) => {
      const [x, y] = [0, 1].map(() => randomArray(next, [257], "float32", 3).astype(dtype));
      await expectSame(device, (a, b) => {
        const sum = lax.add(a!, b!);
        return [sum, lax.sub(a!, b!), lax.mul(lax.mul(a!, b!), sum), lax.div(a!, lax.add(lax.abs(b!), lax.convertElementType(0.5, dtype))), lax.max(a!, b!), lax.min(lax.neg(a!), b!), lax.floor(lax.mul(a!, b!)), lax.lt(sum, a!), lax.select(lax.gt(a!, b!), sum, lax.neg(b!))];
      }, [x!, y!]);
    });

    it.each(NARROW_FLOATS)("transcendental chains on %s, within one rounding of the dtype", async (dtype) => {
      const x = randomArray(next, [129], "float32", 1).astype(dtype);
      await expectSame(device, (a) => [lax.exp(a!), lax.tanh(lax.mul(a!, a!)), lax.log(lax.add(lax.exp(a!), lax.convertElementType(1, dtype))), lax.sqrt(lax.abs(a!))], [x], 2 * tolerance(dtype));
    });

    it.each(NARROW_INTS)("integer operations on %s wrap as the interpreter does", async (dtype) => {
      const [x, y] = [0, 1].map(() => randomArray(next, [255], dtype));
      const amounts = np.array(Array.from({ length: 255 }, (_, k) => (k % 20) - 2), { dtype: "int32" }).astype(dtype);
      await expectSame(device, (a, b, s) => [
        lax.add(a!, b!), lax.sub(a!, b!), lax.mul(lax.mul(a!, b!), b!), lax.div(a!, b!), lax.rem(a!, b!), lax.max(a!, b!), lax.neg(a!), lax.abs(a!),
        lax.bitwiseNot(a!), lax.bitwiseXor(a!, b!), lax.shiftLeft(a!, s!), lax.shiftRightLogical(a!, s!), lax.shiftRightArithmetic(a!, s!), lax.integerPow(a!, 3),
      ], [x!, y!, amounts]);
    });
  });

  describe("reductions and dot_general", () => {
    it("reduce_sum, reduce_max and argmax of bfloat16; reduce_sum and reduce_max of int8", async () => {
      const x = randomArray(next, [6, 37], "float32", 2).astype("bfloat16");
      await expectSame(device, (a) => [lax.reduceSum(a!, [1]), lax.reduceSum(a!, [0, 1])], [x], tolerance("bfloat16"));
      await expectSame(device, (a) => [lax.reduceMax(a!, [1]), lax.argmax(a!, 1, "int32"), lax.reduceMin(a!, [0])], [x]);
      const i = randomArray(next, [5, 33], "int8");
      await expectSame(device, (a) => [lax.reduceSum(a!, [1]), lax.reduceMax(a!, [0]), lax.reduceMin(lax.sliceInDim(a!, 0, 0, 1, 0), [0])], [i]);
    });

    it("dot_general of bfloat16 and int8 operands, with preferred_element_type float32/int32 and without", async () => {
      const [a, b] = [randomArray(next, [7, 33]).astype("bfloat16"), randomArray(next, [33, 5]).astype("bfloat16")];
      await expectSame(device, (l, r) => [lax.dotProduct(l!, r!, { preferredElementType: "float32" })], [a, b], 1e-5, 1e-6);
      await expectSame(device, (l, r) => [lax.dotProduct(l!, r!), lax.exp(lax.dotProduct(l!, r!))], [a, b], 2 * tolerance("bfloat16"));
      const [i, j] = [randomArray(next, [9, 31], "int8"), randomArray(next, [31, 6], "int8")];
      await expectSame(device, (l, r) => [lax.dotProduct(l!, r!, { preferredElementType: "int32" }), lax.dotProduct(l!, r!)], [i, j]);
      const [u, w] = [randomArray(next, [3, 4, 17], "uint8"), randomArray(next, [3, 17, 2], "uint8")];
      await expectSame(device, (l, r) => [lax.dotGeneral(l!, r!, [[[2], [1]], [[0], [0]]], { preferredElementType: "int32" })], [u, w]);
    });
  });

  describe("odd lengths and data movement of packed arrays", () => {
    it.each([1, 3, 5, 7, 9])("%i elements of every narrow dtype, through add, reverse and cast", async (n) => {
      for (const dtype of NARROW) {
        const [x, y] = [0, 1].map(() => randomArray(next, [n], "float32", 4).astype(dtype));
        await expectSame(device, (a, b) => [lax.add(a!, b!), lax.rev(a!, [0]), lax.convertElementType(a!, "float32"), lax.neg(b!)], [x!, y!]);
      }
    });

    it.each(NARROW)("slice, concatenate, transpose, pad and gather of %s", async (dtype) => {
      const x = randomArray(next, [5, 7], "float32", 5).astype(dtype);
      const y = randomArray(next, [3, 7], "float32", 5).astype(dtype);
      const rows = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], operand_batching_dims: [], start_indices_batching_dims: [] };
      const indices = np.array([[4], [0], [9], [2], [-1]], { dtype: "int32" });
      await expectSame(device, (a, b, i) => [
        lax.slice(a!, [1, 1], [4, 6], [2, 1]), lax.concatenate([a!, b!, a!], 0), lax.transpose(a!, [1, 0]),
        lax.pad(a!, lax.convertElementType(1, dtype), [[1, 0, 1], [0, 2, 0]]), lax.gather(a!, i!, rows, [1, 7], { mode: "fill" }), lax.gather(b!, i!, rows, [1, 3], { mode: "clip" }),
      ], [x, y, indices]);
    });

    it("a scan over bfloat16 rows of whole words carries and stacks them", async () => {
      const xs = randomArray(next, [3, 4]).astype("bfloat16");
      await expectSame(device, (v) => lax.scan((c: A, x: A): [A, A] => [lax.add(c, x), lax.mul(c, x)], np.zeros([4], { dtype: "bfloat16" }), v!), [xs]);
    });

    it.each([
      ["bfloat16", 3],
      ["int8", 5],
      ["int4", 3],
      ["float8_e4m3fn", 6],
    ] as const)("scans over %s rows of %i elements (not whole words), forward and reverse, with ys of another row length", async (dtype, n) => {
      const xs = randomArray(next, [5, n], "float32", 3).astype(dtype);
      const ws = randomArray(next, [5, n + 2], "float32", 3).astype(dtype);
      for (const reverse of [false, true]) {
        const f = (a: A, b: A) =>
          lax.scan((c: A, [x, w]: A[]): [A, A[]] => [lax.max(c, x!), [lax.sub(x!, c), lax.concatenate([w!.at("1:"), x!.at(":1")], 0), c]], lax.slice(a, [0, 0], [1, n]).reshape([n]), [a, b], { reverse });
        await expectSame(device, (a, b) => [f(a!, b!)].flat(3) as A[], [xs, ws]);
      }
    });
  });
});

describe("float64 stays on the interpreter", () => {
  it("the kernel lowering refuses it by name", () => {
    const closed = makeJaxpr((v: A) => v.add(1))(np.array([1, 2], { dtype: "float64" }));
    expect(() => lowerJaxpr(closed)).toThrow(LoweringError);
    expect(() => lowerJaxpr(closed)).toThrow(/dtype float64 is not supported by the kernel lowering \(kernels compute in 32 bits at most\)/);
  });
});
