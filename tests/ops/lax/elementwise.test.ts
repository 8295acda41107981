import { describe, expect, it } from "vitest";
import { DTypeError, ShapeError, lax, numpy as np, type DType } from "../../../src/index.js";
import { expectArray, expectClose, tolerance } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

const FLOATS: DType[] = ["float32", "float16", "bfloat16"];

/** Unary float ops with their float64 definitions and an input transform into the op's domain. */
const UNARY: [string, (x: np_Array) => np_Array, (v: number) => number, (v: number) => number][] = [
  ["exp", lax.exp, Math.exp, (v) => v],
  ["log", lax.log, Math.log, (v) => Math.abs(v) + 0.1],
  ["log1p", lax.log1p, Math.log1p, (v) => Math.abs(v)],
  ["expm1", lax.expm1, Math.expm1, (v) => v],
  ["tanh", lax.tanh, Math.tanh, (v) => v],
  ["logistic", lax.logistic, (v) => 1 / (1 + Math.exp(-v)), (v) => v],
  ["sin", lax.sin, Math.sin, (v) => v],
  ["cos", lax.cos, Math.cos, (v) => v],
  ["tan", lax.tan, Math.tan, (v) => v / 2],
  ["asin", lax.asin, Math.asin, (v) => Math.tanh(v)],
  ["acos", lax.acos, Math.acos, (v) => Math.tanh(v)],
  ["atan", lax.atan, Math.atan, (v) => v],
  ["sinh", lax.sinh, Math.sinh, (v) => v],
  ["cosh", lax.cosh, Math.cosh, (v) => v],
  ["sqrt", lax.sqrt, Math.sqrt, (v) => Math.abs(v)],
  ["rsqrt", lax.rsqrt, (v) => 1 / Math.sqrt(v), (v) => Math.abs(v) + 0.1],
  ["floor", lax.floor, Math.floor, (v) => v * 3],
  ["ceil", lax.ceil, Math.ceil, (v) => v * 3],
  ["neg", lax.neg, (v) => -v, (v) => v],
  ["abs", lax.abs, Math.abs, (v) => v],
  ["sign", lax.sign, Math.sign, (v) => v],
];
type np_Array = ReturnType<typeof np.array>;

describe("unary float primitives", () => {
  for (const [name, op, f64, domain] of UNARY) {
    it.each(FLOATS)(`${name} on %s matches float64 within one rounding`, (dtype) => {
      const next = rng(name.length * 7919);
      const raw = randomArray(next, [4, 5], "float32", 2);
      const x = np.array(Array.from(raw.dataSync(), domain), { dtype }).reshape([4, 5]);
      const out = op(x);
      const expected = Array.from(x.dataSync(), f64);
      expectArray(out, [4, 5], dtype, expected, tolerance(dtype), tolerance(dtype));
    });
  }

  it("erf and erf_inv match known float64 values and invert each other", () => {
    const x = np.array([-2, -1, -0.5, 0, 0.5, 1, 2, 4]);
    expectClose(lax.erf(x).dataSync(), [-0.9953222650189527, -0.8427007929497149, -0.5204998778130465, 0, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, 0.9999999845827421], 1e-7, 1e-12);
    const p = np.array([-0.999, -0.5, -0.1, 0, 0.3, 0.9, 0.99999]);
    expectClose(lax.erf(lax.erfInv(p)).dataSync(), p.dataSync(), 2e-6, 1e-7);
    expectArray(lax.erfInv(np.array([1, -1, 1.5])), [3], "float32", [Infinity, -Infinity, NaN]);
  });

  it("round uses half away from zero by default and half to even on request", () => {
    const x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6]);
    expectArray(lax.round(x), [7], "float32", [-3, -2, -1, 1, 2, 3, 3]);
    expectArray(lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN), [7], "float32", [-2, -2, -0, 0, 2, 2, 3]);
  });

  it("is_finite flags NaN and infinities", () => {
    expectArray(lax.isFinite(np.array([1, NaN, Infinity, -Infinity, 0])), [5], "bool", [1, 0, 0, 0, 1]);
  });

  it("rejects integer operands for float ops and names the dtype", () => {
    expect(() => lax.exp(np.array([1], { dtype: "int32" }))).toThrow(/exp: operand must be a floating-point array, got int32/);
  });

  it("wraps integer neg and abs at the dtype's range", () => {
    const x = np.array([-128, -5, 0, 127], { dtype: "int8" });
    expectArray(lax.neg(x), [4], "int8", [-128, 5, 0, -127]);
    expectArray(lax.abs(x), [4], "int8", [-128, 5, 0, 127]);
    expectArray(lax.sign(x), [4], "int8", [-1, -1, 0, 1]);
  });
});

describe("binary primitives", () => {
  const BINARY: [string, (x: np_Array, y: np_Array) => np_Array, (a: number, b: number) => number][] = [
    ["add", lax.add, (a, b) => a + b],
    ["sub", lax.sub, (a, b) => a - b],
    ["mul", lax.mul, (a, b) => a * b],
    ["div", lax.div, (a, b) => a / b],
    ["max", lax.max, Math.max],
    ["min", lax.min, Math.min],
    ["atan2", lax.atan2, Math.atan2],
    ["rem", lax.rem, (a, b) => a % b],
  ];
  for (const [name, op, f64] of BINARY) {
    it.each(FLOATS)(`${name} on %s matches float64 within one rounding`, (dtype) => {
      const next = rng(name.length * 104729);
      const x = randomArray(next, [3, 4], dtype, 3);
      const y = randomArray(next, [3, 4], dtype, 3);
      const expected = Array.from(x.dataSync(), (v, i) => f64(v, y.dataSync()[i]!));
      expectArray(op(x, y), [3, 4], dtype, expected, tolerance(dtype), tolerance(dtype));
    });
  }

  it("pow matches float64 for positive bases", () => {
    const x = np.array([0.5, 1, 2, 3, 10]);
    const y = np.array([2, -1, 0.5, 3, -2]);
    expectArray(lax.pow(x, y), [5], "float32", [0.25, 1, Math.SQRT2, 27, 0.01]);
  });

  it("broadcasts unit axes and scalars like JAX's lax", () => {
    const x = np.array([[1], [2], [3]]);
    const y = np.array([[10, 20, 30, 40]]);
    expectArray(lax.add(x, y), [3, 4], "float32", [11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43]);
    expectArray(lax.mul(np.array([1, 2, 3]), np.array(2)), [3], "float32", [2, 4, 6]);
    expect(() => lax.add(np.array([1, 2, 3]), np.array([[1, 2, 3]]))).toThrow(ShapeError);
    expect(() => lax.add(np.array([1, 2, 3]), np.array([1, 2]))).toThrow(/operand 0 \(3,\), operand 1 \(2,\)/);
  });

  it("requires equal dtypes and names both", () => {
    expect(() => lax.add(np.array([1]), np.array([1], { dtype: "int32" }))).toThrow(/add: operands must have equal dtypes, got operand 0 float32 and operand 1 int32/);
    expect(() => lax.add(np.array([1]), np.array([1], { dtype: "int32" }))).toThrow(DTypeError);
  });

  it("wraps integer arithmetic and follows XLA's integer division", () => {
    const i8 = (v: number[]) => np.array(v, { dtype: "int8" });
    expectArray(lax.add(i8([100, -100]), i8([100, -100])), [2], "int8", [-56, 56]);
    const i32 = (v: number[]) => np.array(v, { dtype: "int32" });
    expectArray(lax.mul(i32([65536, 123456789]), i32([65536, 1000])), [2], "int32", [0, -1097262584]);
    expectArray(lax.div(i32([7, -7, 7, -7, 5, -2147483648]), i32([2, 2, -2, -2, 0, -1])), [6], "int32", [3, -3, -3, 3, -1, -2147483648]);
    expectArray(lax.rem(i32([7, -7, 7, -7, 5]), i32([2, 2, -2, -2, 0])), [5], "int32", [1, -1, 1, -1, 5]);
    expectArray(lax.sub(np.array([0], { dtype: "uint32" }), np.array([1], { dtype: "uint32" })), [1], "uint32", [4294967295]);
  });

  it("max and min propagate NaN", () => {
    expectArray(lax.max(np.array([NaN, 1]), np.array([1, NaN])), [2], "float32", [NaN, NaN]);
    expectArray(lax.min(np.array([NaN, 1, -0]), np.array([1, 2, 0])), [3], "float32", [NaN, 1, -0]);
  });

  it("compares with NaN false except ne, and returns bool", () => {
    const x = np.array([1, NaN, 2]);
    const y = np.array([1, NaN, 3]);
    expectArray(lax.eq(x, y), [3], "bool", [1, 0, 0]);
    expectArray(lax.ne(x, y), [3], "bool", [0, 1, 1]);
    expectArray(lax.lt(x, y), [3], "bool", [0, 0, 1]);
    expectArray(lax.le(x, y), [3], "bool", [1, 0, 1]);
    expectArray(lax.gt(x, y), [3], "bool", [0, 0, 0]);
    expectArray(lax.ge(x, y), [3], "bool", [1, 0, 0]);
  });

  it("does bitwise logic on ints and bools, and shifts with XLA's out-of-range rules", () => {
    const u = (v: number[]) => np.array(v, { dtype: "uint32" });
    expectArray(lax.bitwiseAnd(u([0xf0f0f0f0, 12]), u([0xff00ff00, 10])), [2], "uint32", [0xf000f000, 8]);
    expectArray(lax.bitwiseOr(u([0xf0000000]), u([0x0f])), [1], "uint32", [0xf000000f]);
    expectArray(lax.bitwiseXor(u([0xffffffff]), u([1])), [1], "uint32", [0xfffffffe]);
    expectArray(lax.bitwiseNot(np.array([true, false])), [2], "bool", [0, 1]);
    expectArray(lax.bitwiseNot(np.array([0, -1, 5], { dtype: "int8" })), [3], "int8", [-1, 0, -6]);
    expectArray(lax.shiftLeft(u([1, 1, 3]), u([31, 32, 1])), [3], "uint32", [2147483648, 0, 6]);
    expectArray(lax.shiftRightLogical(u([0x80000000, 5]), u([31, 40])), [2], "uint32", [1, 0]);
    const i8 = (v: number[]) => np.array(v, { dtype: "int8" });
    expectArray(lax.shiftRightLogical(i8([-128]), i8([4])), [1], "int8", [8]);
    expectArray(lax.shiftRightArithmetic(i8([-128, -1, 64]), i8([4, 9, 2])), [3], "int8", [-8, -1, 16]);
    expectArray(lax.shiftLeft(i8([64]), i8([1])), [1], "int8", [-128]);
  });
});

describe("integer_pow, select_n and conversions", () => {
  it("integer_pow handles negative exponents for floats and wraps ints", () => {
    expectArray(lax.integerPow(np.array([2, -3, 0.5]), -2), [3], "float32", [0.25, 1 / 9, 4]);
    expectArray(lax.integerPow(np.array([3, -2, 200], { dtype: "int8" }), 3), [3], "int8", [27, -8, 0]);
    expect(() => lax.integerPow(np.array([2], { dtype: "int32" }), -1)).toThrow(/negative exponent/);
  });

  it("select_n picks by bool or int32 which, including a scalar which", () => {
    const a = np.array([1, 2, 3]);
    const b = np.array([10, 20, 30]);
    const c = np.array([100, 200, 300]);
    expectArray(lax.selectN(np.array([true, false, true]), a, b), [3], "float32", [10, 2, 30]);
    expectArray(lax.selectN(np.array([2, 0, 1], { dtype: "int32" }), a, b, c), [3], "float32", [100, 2, 30]);
    expectArray(lax.select(np.array(true), a, b), [3], "float32", [1, 2, 3]);
    expect(() => lax.selectN(np.array([true, false]), a, b)).toThrow(/which must be a scalar or have the cases' shape \(3,\), got \(2,\)/);
    expect(() => lax.selectN(np.array([true, false, true]), a, b, c)).toThrow(/at most 2 cases/);
  });

  it("convert_element_type truncates and saturates float→int, maps NaN to 0, wraps int→int", () => {
    const x = np.array([-1e10, -129, -1.5, -0.5, 0.5, 1.5, 127.9, 1e10, NaN, Infinity]);
    expectArray(lax.convertElementType(x, "int8"), [10], "int8", [-128, -128, -1, 0, 0, 1, 127, 127, 0, 127]);
    expectArray(lax.convertElementType(x, "int32"), [10], "int32", [-2147483648, -129, -1, 0, 0, 1, 127, 2147483647, 0, 2147483647]);
    expectArray(lax.convertElementType(np.array([-1e10, -3.7, 4e9, 3.9]), "uint32"), [4], "uint32", [0, 0, 4e9, 3]);
    expectArray(lax.convertElementType(np.array([300, -1, 255], { dtype: "int32" }), "uint8"), [3], "uint8", [44, 255, 255]);
    expectArray(lax.convertElementType(np.array([0, -0.5, NaN]), "bool"), [3], "bool", [0, 1, 0]);
    expectArray(lax.convertElementType(np.array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000]), "float16"), [3], "float16", [1, 1 + 2 ** -9, Infinity], 0);
    expect(lax.convertElementType(np.array([1]), "float16", true).weakType).toBe(true);
    expect(() => lax.convertElementType(np.array([1]), "complex64" as DType)).toThrow(/unknown dtype "complex64"/);
  });

  it("bitcast_convert_type reinterprets bits of equal-width dtypes", () => {
    expectArray(lax.bitcastConvertType(np.array([1, -2]), "uint32"), [2], "uint32", [0x3f800000, 0xc0000000]);
    expectArray(lax.bitcastConvertType(np.array([0x3f80, 0x7f80], { dtype: "uint16" }), "bfloat16"), [2], "bfloat16", [1, Infinity]);
    expectArray(lax.bitcastConvertType(np.array([-1, 5], { dtype: "int8" }), "uint8"), [2], "uint8", [255, 5]);
    expectArray(lax.bitcastConvertType(np.array([0x7e], { dtype: "uint8" }), "float8_e4m3fn"), [1], "float8_e4m3fn", [448]);
    expect(() => lax.bitcastConvertType(np.array([1]), "int8")).toThrow(/equal width/);
  });
});
