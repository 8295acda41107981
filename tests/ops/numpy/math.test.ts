import { describe, expect, it } from "vitest";
import { DTypeError, ShapeError, numpy as np, type DType } from "../../../src/index.js";
import { expectArray, tolerance } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

describe("arithmetic with promotion and broadcasting", () => {
  it("broadcasts numpy-style, prepending axes", () => {
    const x = np.array([[1, 2, 3], [4, 5, 6]]);
    expectArray(np.add(x, np.array([10, 20, 30])), [2, 3], "float32", [11, 22, 33, 14, 25, 36]);
    expectArray(np.multiply(np.array([[1], [2]]), np.array([1, 2, 3])), [2, 3], "float32", [1, 2, 3, 2, 4, 6]);
    expectArray(np.subtract(5, x), [2, 3], "float32", [4, 3, 2, 1, 0, -1]);
    expect(() => np.add(x, np.array([1, 2]))).toThrow(/shapes cannot be broadcast together: argument 0 \(2, 3\), argument 1 \(2,\)/);
    expect(() => np.add(x, np.array([1, 2]))).toThrow(ShapeError);
  });

  it("keeps the array's dtype with JS numbers (weak typing) and promotes arrays by the lattice", () => {
    const i8 = np.array([1, 2], { dtype: "int8" });
    expect(np.multiply(i8, 3).dtype).toBe("int8");
    expect(np.multiply(i8, 2.5).dtype).toBe("float32");
    expect(np.add(np.array([1], { dtype: "bfloat16" }), 1.5).dtype).toBe("bfloat16");
    expect(np.add(i8, np.array([1], { dtype: "uint8" })).dtype).toBe("int16");
    expect(np.add(np.array([1], { dtype: "float16" }), np.array([1], { dtype: "bfloat16" })).dtype).toBe("float32");
    expect(np.add(np.array([true]), np.array([true])).dtype).toBe("bool");
    expect(() => np.add(np.array([1], { dtype: "float8_e4m3fn" }), np.array([1], { dtype: "float8_e5m2" }))).toThrow(DTypeError);
    expect(() => np.add(i8, 300)).toThrow(/too large to convert to int8/);
    expect(np.add(2, np.array(1, { dtype: "int32" })).weakType).toBe(false);
  });

  it("divide is true division; floorDivide and remainder follow numpy's signs", () => {
    const a = np.array([7, -7, 7, -7], { dtype: "int32" });
    const b = np.array([2, 2, -2, -2], { dtype: "int32" });
    expectArray(np.divide(a, b), [4], "float32", [3.5, -3.5, -3.5, 3.5]);
    expectArray(np.floorDivide(a, b), [4], "int32", [3, -4, -4, 3]);
    expectArray(np.remainder(a, b), [4], "int32", [1, 1, -1, -1]);
    expectArray(np.floorDivide(np.array([7.5, -7.5]), 2), [2], "float32", [3, -4]);
    expectArray(np.mod(np.array([5.5, -5.5]), 2), [2], "float32", [1.5, 0.5]);
  });

  it("power uses integer_pow for integer exponents and keeps integer dtypes", () => {
    expectArray(np.power(np.array([2, 3], { dtype: "int32" }), 3), [2], "int32", [8, 27]);
    expectArray(np.power(np.array([4, 9]), 0.5), [2], "float32", [2, 3]);
    expectArray(np.power(np.array([2, 4]), np.array([3, -1])), [2], "float32", [8, 0.25]);
  });

  const UNARY: [string, (x: ReturnType<typeof np.array>) => ReturnType<typeof np.array>, (v: number) => number][] = [
    ["exp", np.exp, Math.exp],
    ["exp2", np.exp2, (v) => 2 ** v],
    ["log2", (x) => np.log2(np.abs(x)), (v) => Math.log2(Math.abs(v))],
    ["log10", (x) => np.log10(np.abs(x)), (v) => Math.log10(Math.abs(v))],
    ["reciprocal", np.reciprocal, (v) => 1 / v],
    ["square", np.square, (v) => v * v],
    ["tanh", np.tanh, Math.tanh],
    ["arctan", np.arctan, Math.atan],
    ["sign", np.sign, Math.sign],
    ["negative", np.negative, (v) => -v],
  ];
  for (const dtype of ["float32", "float16", "bfloat16"] as DType[]) {
    it.each(UNARY)(`%s on ${dtype} matches float64`, (_name, op, f64) => {
      const x = randomArray(rng(11), [7], dtype, 2);
      expectArray(op(x), [7], dtype, Array.from(x.dataSync(), f64), tolerance(dtype) * 2, tolerance(dtype));
    });
  }

  it("promotes integers to float32 for transcendental functions", () => {
    expectArray(np.sqrt(np.array([4, 9], { dtype: "int32" })), [2], "float32", [2, 3]);
    expectArray(np.sin(np.array([0], { dtype: "uint8" })), [1], "float32", [0]);
  });

  it("rounding, abs and predicates on ints and floats", () => {
    expectArray(np.round(np.array([0.5, 1.5, 2.5, -0.5])), [4], "float32", [0, 2, 2, -0]);
    expectArray(np.floor(np.array([1, -1], { dtype: "int32" })), [2], "int32", [1, -1]);
    expectArray(np.abs(np.array([-3, 3], { dtype: "int32" })), [2], "int32", [3, 3]);
    expectArray(np.abs(np.array([5], { dtype: "uint8" })), [1], "uint8", [5]);
    const special = np.array([1, NaN, Infinity, -Infinity]);
    expectArray(np.isnan(special), [4], "bool", [0, 1, 0, 0]);
    expectArray(np.isinf(special), [4], "bool", [0, 0, 1, 1]);
    expectArray(np.isfinite(special), [4], "bool", [1, 0, 0, 0]);
  });

  it("comparisons and logical functions broadcast and return bool", () => {
    const x = np.array([[1, 2], [3, 4]]);
    expectArray(np.greater(x, np.array([2, 2])), [2, 2], "bool", [0, 0, 1, 1]);
    expectArray(np.lessEqual(x, 2), [2, 2], "bool", [1, 1, 0, 0]);
    expectArray(np.equal(x, np.array([[1], [4]])), [2, 2], "bool", [1, 0, 0, 1]);
    expectArray(np.notEqual(x, 1), [2, 2], "bool", [0, 1, 1, 1]);
    expectArray(np.logicalAnd(np.array([1, 0, 2]), np.array([true, true, false])), [3], "bool", [1, 0, 0]);
    expectArray(np.logicalOr(np.array([0, 0]), np.array([0, 3])), [2], "bool", [0, 1]);
    expectArray(np.logicalXor(np.array([true, true]), np.array([true, false])), [2], "bool", [0, 1]);
    expectArray(np.logicalNot(np.array([0, 2])), [2], "bool", [1, 0]);
    expectArray(np.maximum(np.array([1, 5]), np.array([[3], [0]])), [2, 2], "float32", [3, 5, 1, 5]);
    expectArray(np.minimum(np.array([1, 5]), 2), [2], "float32", [1, 2]);
    expectArray(np.arctan2(np.array([1, -1]), np.array([-1, -1])), [2], "float32", [Math.atan2(1, -1), Math.atan2(-1, -1)]);
  });

  it("where and clip broadcast all operands", () => {
    const cond = np.array([[true], [false]]);
    expectArray(np.where(cond, np.array([1, 2, 3]), 0), [2, 3], "float32", [1, 2, 3, 0, 0, 0]);
    expectArray(np.where(np.array([1, 0]), 5, np.array([7, 8], { dtype: "int32" })), [2], "int32", [5, 8]);
    expectArray(np.clip(np.array([-2, 0.5, 3]), 0, 1), [3], "float32", [0, 0.5, 1]);
    expectArray(np.clip(np.array([-2, 5], { dtype: "int32" }), null, 3), [2], "int32", [-2, 3]);
  });
});

describe("remaining elementwise functions", () => {
  const x = np.array([0.1, 0.5, -0.7]);
  const d = Array.from(x.dataSync());
  const CASES: [string, (a: ReturnType<typeof np.array>) => ReturnType<typeof np.array>, (v: number) => number][] = [
    ["log1p", np.log1p, Math.log1p],
    ["expm1", np.expm1, Math.expm1],
    ["sinh", np.sinh, Math.sinh],
    ["cosh", np.cosh, Math.cosh],
    ["arcsin", np.arcsin, Math.asin],
    ["arccos", np.arccos, Math.acos],
    ["sin", np.sin, Math.sin],
    ["cos", np.cos, Math.cos],
    ["tan", np.tan, Math.tan],
    ["rsqrt", (a) => np.rsqrt(np.absolute(a)), (v) => 1 / Math.sqrt(Math.abs(v))],
    ["trueDivide", (a) => np.trueDivide(a, 3), (v) => v / 3],
    ["amax", (a) => np.amax(a, { axis: 0 }), () => 0.5],
    ["amin", (a) => np.amin(a), () => Math.fround(-0.7)],
  ];
  it.each(CASES)("%s matches float64", (name, op, f64) => {
    const out = op(x);
    const expected = out.size === 1 ? [f64(0)] : d.map(f64);
    expectArray(out, out.shape, "float32", expected, 1e-6, 1e-7);
  });

  it("bitwise functions and invert on integers", () => {
    const a = np.array([12, -1], { dtype: "int32" });
    const b = np.array([10, 5], { dtype: "int32" });
    expectArray(np.bitwiseAnd(a, b), [2], "int32", [8, 5]);
    expectArray(np.bitwiseOr(a, b), [2], "int32", [14, -1]);
    expectArray(np.bitwiseXor(a, b), [2], "int32", [6, -6]);
    expectArray(np.invert(a), [2], "int32", [-13, 0]);
    expect(np.asarray([1, 2], { dtype: "uint8" }).dtype).toBe("uint8");
  });
});
