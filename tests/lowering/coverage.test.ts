/**
 * Every non-control-flow primitive through the kernel lowering: bound with its sample (and, where the
 * numerics are interesting, seeded random inputs) inside `jit(..., {device: "cpu"})`, against the reference
 * interpreter. Shapes and dtypes must agree exactly, ints and bools exactly, floats to float32 accuracy.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, ArrayImpl, type Primitive, bind, customJvp, customVjp, jit, lax, makeJaxpr, numpy as np, reference } from "../../src/index.js";
import { LoweringError, lowerJaxpr } from "../../src/lowering/lower.js";
import { scalarAddJaxpr } from "../../src/ops/lax/indexing.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { SAMPLES } from "../util/samples.js";
import { webgpuDevice } from "../util/webgpu.js";

const CONTROL_FLOW = ["cond", "while", "scan"];
/** Primitives whose float results the kernels accumulate or chain in float32 (the reference rounds once). */
const ACCUMULATING = ["reduce_sum", "reduce_prod", "cumsum", "scatter-add", "dot_general", "gmm", "tgmm", "ragged_dot_general", "logistic", "rsqrt", "integer_pow", "pow"];

type Fn = (...args: A[]) => A[];
const primitive = (name: string): Primitive => reference.getPrimitive(name)!;
const bound = (name: string, params: unknown): Fn => (...args) => bind(primitive(name), args, params);

/** Runs `f` jitted on the interpreter and on the cpu device and compares every output. */
function expectSameOnCpu(f: Fn, args: A[], rtol = 1e-6, atol = 1e-7): void {
  const expected = jit(f, { device: "interpreter" })(...args);
  const actual = jit(f, { device: "cpu" })(...args);
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.shape).toEqual(e.shape);
    expect(a.dtype).toBe(e.dtype);
    if (a.dtype === "float32") expectClose(a.dataSync(), e.dataSync(), rtol, atol);
    else expect(Array.from(a.dataSync())).toEqual(Array.from(e.dataSync()));
  });
}

const next = rng(2024);

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();

/** Every sample bound under jit on the webgpu device against the interpreter (WGSL's transcendentals are looser). */
describe.runIf(gpu)("every primitive's sample on the webgpu device matches the interpreter", () => {
  const names = reference
    .listPrimitives()
    .map((p) => p.name)
    .filter((n) => !CONTROL_FLOW.includes(n) && n !== "custom_lin");
  it.each(names)("%s", async (name) => {
    const { inputs, params } = SAMPLES[name]!();
    const expected = jit(bound(name, params), { device: "interpreter" })(...inputs);
    const actual = jit(bound(name, params), { device: "webgpu" })(...inputs);
    expect(actual.length).toBe(expected.length);
    for (const [i, a] of actual.entries()) {
      const e = expected[i]!;
      expect((a as ArrayImpl).device).toBe("webgpu");
      expect([a.shape, a.dtype]).toEqual([e.shape, e.dtype]);
      if (a.dtype === "float32") expectClose(await a.data(), e.dataSync(), 1e-5, 1e-6);
      else expect(Array.from(await a.data())).toEqual(Array.from(e.dataSync()));
    }
  });
});

describe("every primitive's sample on the cpu device matches the interpreter", () => {
  const names = reference
    .listPrimitives()
    .map((p) => p.name)
    .filter((n) => !CONTROL_FLOW.includes(n) && !["custom_lin", "convert_element_type"].includes(n));
  it.each(names)("%s", (name) => {
    const { inputs, params } = SAMPLES[name]!();
    const loose = ACCUMULATING.includes(name);
    expectSameOnCpu(bound(name, params), inputs, loose ? 1e-5 : 1e-6, loose ? 1e-6 : 1e-7);
  });

  it("convert_element_type to every 32-bit kernel dtype (the narrow ones: dtypes.test.ts)", () => {
    const x = np.array([-1e10, -2.7, -0.5, -0, 0.5, 2.7, 3e9, 1e10, NaN, Infinity, -Infinity]);
    for (const dtype of ["int32", "uint32", "bool", "float32"] as const) {
      expectSameOnCpu(bound("convert_element_type", { new_dtype: dtype, weak_type: false }), [x]);
    }
    expectSameOnCpu(bound("convert_element_type", { new_dtype: "float32", weak_type: false }), [np.array([-7, 0, 16777217], { dtype: "int32" })]);
    expectSameOnCpu(bound("convert_element_type", { new_dtype: "int32", weak_type: false }), [np.array([0, 4294967295], { dtype: "uint32" })]);
    const { inputs, params } = SAMPLES.convert_element_type!();
    expectSameOnCpu(bound("convert_element_type", params), inputs);
  });

  it("custom_lin cannot run forward, on the interpreter or through the cpu device", () => {
    const { inputs, params } = SAMPLES.custom_lin!();
    expect(() => jit(bound("custom_lin", params), { device: "interpreter" })(...inputs)).toThrow(/can't apply forward-mode autodiff \(jvp\) to a custom_vjp function/);
    expect(() => lowerJaxpr(makeJaxpr(bound("custom_lin", params))(...inputs))).toThrow(LoweringError);
    expect(() => jit(bound("custom_lin", params), { device: "cpu" })(...inputs)).toThrow(/can't apply forward-mode autodiff \(jvp\) to a custom_vjp function/);
  });

  it.each(CONTROL_FLOW)("%s is not lowered here and says so", (name) => {
    const { inputs, params } = SAMPLES[name]!();
    expect(() => lowerJaxpr(makeJaxpr(bound(name, params))(...inputs))).toThrow(new RegExp(`the primitive '${name}' is not supported by the kernel lowering yet`));
  });
});

describe("elementwise numerics on seeded random inputs", () => {
  const x = randomArray(next, [400], "float32", 2);
  const unit = lax.mul(lax.tanh(randomArray(next, [400])), 0.999);
  const unaries: [string, A][] = [
    ["erf", lax.mul(x, 2)],
    ["erf_inv", unit],
    ["log1p", lax.sub(lax.abs(x), 0.9)],
    ["expm1", x],
    ["tan", x],
    ["asin", unit],
    ["acos", unit],
    ["atan", lax.mul(x, 10)],
    ["sinh", x],
    ["cosh", x],
  ];
  it.each(unaries)("%s", (name, input) => expectSameOnCpu(bound(name, {}), [input]));

  it("erf and erf_inv at the edges of their domains", () => {
    const edges = np.array([0, -0, 1e-30, -1e-8, 0.5, -4, 4, 10, -Infinity, Infinity, NaN]);
    expectSameOnCpu(bound("erf", {}), [edges]);
    expectSameOnCpu(bound("erf_inv", {}), [np.array([0, -0, 1e-8, 0.9999999, -0.9999999, 1, -1, 1.5, NaN])]);
  });

  it("atan2 in every quadrant, on the axes and at zeros", () => {
    const y = np.concatenate([randomArray(next, [200]), np.array([0, -0, 0, -0, 1, -1, 0, Infinity])]);
    const z = np.concatenate([randomArray(next, [200]), np.array([0, 0, -0, -0, 0, 0, -1, Infinity])]);
    expectSameOnCpu(bound("atan2", {}), [y, z]);
  });

  it("pow with positive and negative bases, integer and fractional exponents", () => {
    const base = np.concatenate([lax.abs(randomArray(next, [100], "float32", 3)), np.array([-2, -2, -2, -0.5, 0, 0, 1, -1, NaN, 2])]);
    const exponent = np.concatenate([randomArray(next, [100], "float32", 3), np.array([3, 2, 0.5, -3, 0, -1, NaN, Infinity, 0, -Infinity])]);
    expectSameOnCpu(bound("pow", {}), [base, exponent], 1e-5, 0);
  });

  it("round half to even and half away from zero", () => {
    const halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.49999997, 8388609, -3.2, NaN, Infinity]);
    expectSameOnCpu(bound("round", { rounding_method: 0 }), [halves]);
    expectSameOnCpu(bound("round", { rounding_method: 1 }), [halves]);
  });

  it("shifts by amounts in and out of range, on int32 and uint32", () => {
    const values = np.array([1, -1, -2147483648, 2147483647, 12345, -12345, 7, 7], { dtype: "int32" });
    const amounts = np.array([0, 1, 31, 4, 32, 40, -1, 33], { dtype: "int32" });
    for (const name of ["shift_left", "shift_right_logical", "shift_right_arithmetic"]) {
      expectSameOnCpu(bound(name, {}), [values, amounts]);
      expectSameOnCpu(bound(name, {}), [values.astype("uint32"), amounts.astype("uint32")]);
    }
  });

  it("bitwise not, and/or/xor on integers and bools", () => {
    const a = randomArray(next, [50], "int32");
    const b = randomArray(next, [50], "int32");
    expectSameOnCpu(bound("not", {}), [a]);
    expectSameOnCpu(bound("not", {}), [a.astype("uint32")]);
    expectSameOnCpu(bound("not", {}), [a.gt(0)]);
    for (const name of ["and", "or", "xor"]) {
      expectSameOnCpu(bound(name, {}), [a, b]);
      expectSameOnCpu(bound(name, {}), [a.astype("uint32"), b.astype("uint32")]);
      expectSameOnCpu(bound(name, {}), [a.gt(0), b.gt(0)]);
    }
  });

  it("bitcast_convert_type between float32, int32 and uint32", () => {
    const f = np.array([1, -2.5, 0, -0, Infinity, -Infinity, 3.4e38, 1e-45]);
    expectSameOnCpu((v) => [lax.bitcastConvertType(v, "int32"), lax.bitcastConvertType(v, "uint32")], [f]);
    const bits = np.array([0x3f800000, -1082130432, 0x7f800000, 1], { dtype: "int32" });
    expectSameOnCpu((v) => [lax.bitcastConvertType(v, "float32"), lax.bitcastConvertType(v, "uint32")], [bits]);
    expectSameOnCpu((v) => [lax.bitcastConvertType(v, "float32"), lax.bitcastConvertType(v, "int32")], [bits.astype("uint32")]);
  });

  it("select_n with an int32 selector and four cases (out-of-range selectors clamp)", () => {
    const which = np.array([-3, 0, 1, 2, 3, 9, 2, 1], { dtype: "int32" });
    const cases = [0, 1, 2, 3].map(() => randomArray(next, [8]));
    expectSameOnCpu((w, ...cs) => [lax.selectN(w, ...cs)], [which, ...cases]);
    expectSameOnCpu((w, c0) => [lax.selectN(w, c0)], [which, cases[0]!]);
  });

  it("max, min and comparisons on bools; clamp and sign on integers", () => {
    const p = np.array([true, true, false, false]);
    const q = np.array([true, false, true, false]);
    expectSameOnCpu((a, b) => [lax.max(a, b), lax.min(a, b), lax.lt(a, b), lax.ge(a, b)], [p, q]);
    const i = randomArray(next, [20], "int32");
    expectSameOnCpu((v) => [lax.clamp(-100, v, 100), lax.sign(v), lax.abs(v), lax.neg(v)], [i]);
  });

  it("threefry2x32 is bit-exact on random keys and counters", () => {
    const words = [0, 1, 2, 3].map(() => np.array(Array.from({ length: 64 }, () => Math.floor(next() * 4294967296)), { dtype: "uint32" }));
    expectSameOnCpu(bound("threefry2x32", {}), words);
  });
});

describe("reductions on seeded random inputs", () => {
  const x = randomArray(next, [3, 4, 5]);
  it("reduce_prod, reduce_max/min over several axes, on floats and ints", () => {
    const i = randomArray(next, [3, 4, 5], "int32");
    for (const v of [x, i, i.astype("uint32")]) {
      expectSameOnCpu((a) => [lax.reduceProd(a, [1]), lax.reduceMax(a, [0, 2]), lax.reduceMin(a, [2]), lax.reduceMax(a, [0, 1, 2])], [v], 1e-5);
    }
  });

  it("reduce_and and reduce_or", () => {
    const b = randomArray(next, [3, 4, 5], "bool");
    expectSameOnCpu((a) => [lax.reduceAnd(a, [1]), lax.reduceOr(a, [0, 2]), lax.reduceAnd(a, [0, 1, 2])], [b]);
  });

  it("argmax and argmin with ties and NaNs take the first", () => {
    const v = np.array([[1, 3, 3, 0], [NaN, 2, NaN, 5], [2, 2, 2, 2], [-1, -Infinity, NaN, -1]]);
    for (const axis of [0, 1]) expectSameOnCpu((a) => [lax.argmax(a, axis, "int32"), lax.argmin(a, axis, "int32"), lax.argmax(a, axis, "uint32")], [v]);
    expectSameOnCpu((a) => [lax.argmax(a, 2, "int32"), lax.argmin(a, 0, "int32")], [randomArray(next, [3, 4, 5], "int32")]);
  });

  it("cumsum forward and reversed, on floats and ints", () => {
    for (const reverse of [false, true]) {
      expectSameOnCpu((a) => [lax.cumsum(a, 1, reverse)], [x], 1e-5, 1e-6);
      expectSameOnCpu((a) => [lax.cumsum(a, 2, reverse)], [randomArray(next, [3, 4, 5], "int32")]);
    }
  });
});

describe("movement and indexing on seeded random inputs", () => {
  const x = randomArray(next, [4, 5]);
  it("pad with negative low/high and interior padding", () => {
    for (const config of [[[1, 2, 1], [0, 0, 0]], [[-1, 2, 0], [2, -3, 2]], [[-2, -1, 3], [-1, 1, 1]]] as [number, number, number][][]) {
      expectSameOnCpu((a) => [lax.pad(a, -7, config)], [x]);
    }
  });

  it("concatenate of three operands along each axis", () => {
    for (const axis of [0, 1]) {
      const shape = (n: number) => (axis === 0 ? [n, 5] : [4, n]);
      expectSameOnCpu((a, b, c) => [lax.concatenate([a, b, c], axis)], [randomArray(next, shape(2)), randomArray(next, shape(1)), randomArray(next, shape(3))]);
    }
  });

  it("dynamic_slice and dynamic_update_slice clamp their starts", () => {
    const update = randomArray(next, [2, 3]);
    for (const [r, c] of [[1, 1], [-4, 2], [3, 9], [0, -1]]) {
      const starts = [np.array(r, { dtype: "int32" }), np.array(c, { dtype: "int32" })];
      expectSameOnCpu((a, s0, s1) => [lax.dynamicSlice(a, [s0!, s1!], [2, 3])], [x, ...starts]);
      expectSameOnCpu((a, u, s0, s1) => [lax.dynamicUpdateSlice(a, u!, [s0!, s1!])], [x, update, ...starts]);
    }
  });

  const rows = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], operand_batching_dims: [], start_indices_batching_dims: [] };
  it("gather clips or fills out-of-bounds windows", () => {
    const indices = np.array([[0], [3], [-2], [7], [2]], { dtype: "int32" });
    for (const mode of ["clip", "fill"] as const) {
      expectSameOnCpu((a, i) => [lax.gather(a, i!, rows, [1, 5], { mode })], [x, indices]);
      expectSameOnCpu((a, i) => [lax.gather(a, i!, rows, [1, 3], { mode, fillValue: mode === "fill" ? -1 : undefined })], [x, indices]);
    }
    expectSameOnCpu((a, i) => [lax.gather(a, i!, rows, [1, 5], { mode: "fill" })], [x.astype("int32"), indices.astype("uint32")]);
  });

  it("gather with two indexed axes, a window and batching dims", () => {
    const points = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0, 1], operand_batching_dims: [], start_indices_batching_dims: [] };
    const indices = np.array([[0, 0], [3, 3], [1, -1], [2, 4]], { dtype: "int32" });
    expectSameOnCpu((a, i) => [lax.gather(a, i!, points, [1, 2], { mode: "clip" })], [x, indices]);
    const batched = { offset_dims: [], collapsed_slice_dims: [1], start_index_map: [1], operand_batching_dims: [0], start_indices_batching_dims: [0] };
    expectSameOnCpu((a, i) => [lax.gather(a, i!, batched, [1, 1], { mode: "clip" })], [x, np.array([[4], [0], [2], [9]], { dtype: "int32" })]);
  });

  it("scatter-add with duplicate and out-of-bounds indices", () => {
    const dims = { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] };
    const indices = np.array([[1], [1], [3], [-1], [4], [1]], { dtype: "int32" });
    const updates = randomArray(next, [6, 5]);
    for (const mode of ["clip", "fill"] as const) {
      expectSameOnCpu((a, i, u) => [lax.scatterAdd(a, i!, u!, dims, { mode })], [x, indices, updates], 1e-5, 1e-6);
      expectSameOnCpu((a, i, u) => [lax.scatterAdd(a, i!, u!, dims, { mode })], [x.astype("int32"), indices, updates.mul(100).astype("int32")]);
    }
    const window = { update_window_dims: [1], inserted_window_dims: [], scatter_dims_to_operand_dims: [0, 1], operand_batching_dims: [], scatter_indices_batching_dims: [] };
    const windowUpdates = randomArray(next, [3, 2, 2]);
    const params = { dimension_numbers: { ...window, update_window_dims: [1, 2] }, update_jaxpr: scalarAddJaxpr("float32"), mode: "fill", indices_are_sorted: false, unique_indices: false };
    expectSameOnCpu(bound("scatter-add", params), [x, np.array([[0, 0], [0, 1], [3, 3]], { dtype: "int32" }), windowUpdates], 1e-5, 1e-6);
  });
});

describe("sort and top_k", () => {
  const withNaNs = np.array([[3, NaN, -0, 0, 1, NaN, -Infinity, 3], [2, 2, 2, -1, Infinity, 0, -0, NaN]]);
  it("sorts floats in XLA's total order, stably, along either axis", () => {
    const payload = randomArray(next, [2, 8], "int32");
    for (const dimension of [0, 1]) {
      expectSameOnCpu(bound("sort", { dimension, is_stable: true, num_keys: 1 }), [withNaNs, payload]);
      expectSameOnCpu(bound("sort", { dimension, is_stable: false, num_keys: 1 }), [withNaNs]);
    }
  });

  it("sorts by two keys lexicographically, with ties broken by position", () => {
    const ints = (values: number[]) => np.array(values, { dtype: "int32" });
    const major = ints([1, 0, 1, 0, 1, 0, 2, 2, 1, 0]);
    const minor = ints([5, 5, 3, 3, 5, 9, -1, -1, 3, 5]);
    const payload = randomArray(next, [10]);
    expectSameOnCpu(bound("sort", { dimension: 0, is_stable: true, num_keys: 2 }), [major, minor, payload]);
    expectSameOnCpu(bound("sort", { dimension: 0, is_stable: true, num_keys: 1 }), [major.astype("uint32"), minor.gt(3), payload]);
  });

  it("sorts random floats with many ties", () => {
    const v = lax.round(randomArray(next, [6, 30], "float32", 3));
    expectSameOnCpu(bound("sort", { dimension: 1, is_stable: true, num_keys: 1 }), [v, lax.broadcastedIota("int32", [6, 30], 1)]);
  });

  it("top_k takes NaNs first and ties in order of position", () => {
    for (const k of [1, 3, 8]) expectSameOnCpu(bound("top_k", { k, axis: 1 }), [withNaNs]);
    expectSameOnCpu(bound("top_k", { k: 2, axis: 0 }), [randomArray(next, [5, 3], "int32")]);
  });
});

describe("calls and fusion", () => {
  it("custom_jvp and custom_vjp functions run their primal jaxpr", () => {
    const softplus = customJvp((v: A) => np.log1p(np.exp(v))).defjvp(([v]: A[], [t]: A[]) => [np.log1p(np.exp(v!)), t!.mul(lax.logistic(v!))]);
    const clipped = customVjp((v: A) => np.sin(v).mul(2)).defvjp((v: A) => [np.sin(v).mul(2), v], (_v: A, g: A) => [g]);
    const x = randomArray(next, [10]);
    expectSameOnCpu((v) => [softplus(clipped(v)).add(1)], [x]);
    expectSameOnCpu((v) => [jit((w: A) => softplus(w))(v)], [x]);
  });

  it("gather, pad, concatenate and dynamic_slice fuse into their consumer", () => {
    const x = randomArray(next, [6, 4]);
    const kernels = (f: (...args: A[]) => A, ...args: A[]): number => lowerJaxpr(makeJaxpr(f)(...args)).steps.length;
    const rows = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], operand_batching_dims: [], start_indices_batching_dims: [] };
    const index = np.array([[2], [0], [5]], { dtype: "int32" });
    expect(kernels((a) => lax.exp(lax.pad(a, 0, [[1, 1, 1], [0, 2, 0]])).mul(2), x)).toBe(1);
    expect(kernels((a, b) => lax.concatenate([lax.neg(a), b], 0).add(1), x, x)).toBe(1);
    expect(kernels((a, i) => lax.gather(lax.exp(a), i, rows, [1, 4], { mode: "clip" }).sub(1), x, index)).toBe(1);
    expect(kernels((a) => lax.dynamicSlice(a.mul(3), [np.array(2, { dtype: "int32" }), np.array(1, { dtype: "int32" })], [2, 2]).neg(), x)).toBe(1);
  });

  it("a sort is three kernels (ranks, positions, outputs) and a scatter-add one", () => {
    const x = randomArray(next, [4, 6]);
    expect(lowerJaxpr(makeJaxpr((a: A) => lax.sort(a))(x)).steps.length).toBe(3);
    const dims = { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] };
    expect(lowerJaxpr(makeJaxpr((a: A, u: A) => lax.scatterAdd(a, np.array([[1], [1]], { dtype: "int32" }), u, dims).mul(2))(x, randomArray(next, [2, 6]))).steps.length).toBe(1);
  });
});
