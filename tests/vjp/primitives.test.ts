/**
 * checkGrads (forward and reverse, orders 1 and 2, float64 finite differences) for every differentiable
 * primitive, on seeded random inputs inside each primitive's domain.
 */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, bind, checkGrads, gmm, lax, numpy as np, reference, tgmm } from "../../src/index.js";
import { check } from "../../src/ops/lax/check.js";
import { GROUP_SIZES_CHECK } from "../../src/ops/gmm/primitives.js";
import { isNonDifferentiable } from "../../src/vjp/ad.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(2024);
const r = (shape: number[], scale = 1) => randomArray(next, shape, "float32", scale).astype("float64");
const pos = (shape: number[]) => np.abs(r(shape)).add(0.5);
const unit = (shape: number[]) => np.tanh(r(shape)).mul(0.9);
const i32 = (values: number[], shape = [values.length]) => np.array(values, { dtype: "int32" }).reshape(shape);
const prim = (name: string) => reference.getPrimitive(name)!;
const call1 = (name: string, params: unknown = {}) => (...xs: A[]) => bind(prim(name), xs, params)[0]!;

const CASES: Record<string, [(...xs: A[]) => unknown, A[]]> = {
  exp: [call1("exp"), [r([2, 3])]],
  log: [call1("log"), [pos([2, 3])]],
  log1p: [call1("log1p"), [pos([3])]],
  expm1: [call1("expm1"), [r([3])]],
  tanh: [call1("tanh"), [r([3])]],
  logistic: [call1("logistic"), [r([3])]],
  sin: [call1("sin"), [r([3])]],
  cos: [call1("cos"), [r([3])]],
  tan: [call1("tan"), [unit([3])]],
  asin: [call1("asin"), [unit([3])]],
  acos: [call1("acos"), [unit([3])]],
  atan: [call1("atan"), [r([3])]],
  sinh: [call1("sinh"), [r([3])]],
  cosh: [call1("cosh"), [r([3])]],
  sqrt: [call1("sqrt"), [pos([3])]],
  rsqrt: [call1("rsqrt"), [pos([3])]],
  erf: [call1("erf"), [r([3])]],
  erf_inv: [call1("erf_inv"), [unit([3])]],
  neg: [call1("neg"), [r([3])]],
  check: [(x: A) => check(x, i32([1, 2]), GROUP_SIZES_CHECK, ["gmm", 3]).mul(x), [r([3])]],
  abs: [call1("abs"), [r([3]).add(0.01)]],
  add: [call1("add"), [r([2, 3]), r([1, 3])]],
  add_any: [call1("add_any"), [r([2, 3]), r([2, 3])]],
  sub: [call1("sub"), [r([2, 3]), r([])]],
  mul: [call1("mul"), [r([2, 3]), r([2, 1])]],
  div: [call1("div"), [r([3]), pos([3])]],
  rem: [call1("rem"), [pos([3]).mul(3), pos([3])]],
  max: [call1("max"), [r([4]), r([4])]],
  min: [call1("min"), [r([4]), r([4])]],
  atan2: [call1("atan2"), [r([3]), pos([3])]],
  pow: [call1("pow"), [pos([3]), r([3])]],
  integer_pow: [call1("integer_pow", { y: 3 }), [r([3])]],
  select_n: [(a: A, b: A) => bind(prim("select_n"), [np.array([true, false, true]), a, b], {})[0], [r([3]), r([3])]],
  clamp: [(x: A) => lax.clamp(-0.5, x, 0.5), [r([6])]],
  convert_element_type: [call1("convert_element_type", { new_dtype: "float64", weak_type: false }), [r([3]).astype("float32").astype("float64")]],
  broadcast_in_dim: [call1("broadcast_in_dim", { shape: [2, 3, 4], broadcast_dimensions: [1, 2] }), [r([3, 1])]],
  reshape: [call1("reshape", { new_sizes: [3, 2] }), [r([2, 3])]],
  transpose: [call1("transpose", { permutation: [2, 0, 1] }), [r([2, 3, 4])]],
  squeeze: [call1("squeeze", { dimensions: [1] }), [r([3, 1])]],
  rev: [call1("rev", { dimensions: [0] }), [r([4, 2])]],
  concatenate: [(a: A, b: A) => lax.concatenate([a, b], 1), [r([2, 3]), r([2, 1])]],
  pad: [(x: A, v: A) => lax.pad(x, v, [[1, -1, 1], [0, 2, 0]]), [r([3, 2]), r([])]],
  slice: [call1("slice", { start_indices: [1, 0], limit_indices: [4, 3], strides: [2, 1] }), [r([4, 3])]],
  dynamic_slice: [(x: A) => lax.dynamicSlice(x, [1, 2], [2, 2]), [r([3, 3])]],
  dynamic_update_slice: [(x: A, u: A) => lax.dynamicUpdateSlice(x, u, [1, 0]), [r([3, 3]), r([1, 2])]],
  gather: [(x: A) => np.take(x, i32([2, 0, 2]), { axis: 0 }), [r([3, 2])]],
  "scatter-add": [(x: A, u: A) => np.zeros([4]).astype("float64").add(x).add(lax.scatterAdd(np.zeros([4]).astype("float64"), i32([1, 3, 1], [3, 1]), u, { update_window_dims: [], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] })), [r([4]), r([3])]],
  reduce_sum: [call1("reduce_sum", { axes: [0, 2] }), [r([2, 3, 2])]],
  reduce_max: [call1("reduce_max", { axes: [1] }), [r([2, 3])]],
  reduce_min: [call1("reduce_min", { axes: [0] }), [r([2, 3])]],
  reduce_prod: [call1("reduce_prod", { axes: [1] }), [r([2, 5])]],
  cumsum: [call1("cumsum", { axis: 1, reverse: true }), [r([2, 3])]],
  dot_general: [
    (a: A, b: A, c: A, d: A) => [
      lax.dotGeneral(a, b, [[[2], [1]], [[0], [0]]]),
      lax.dotGeneral(c, d, [[[0, 2], [2, 0]], [[1], [1]]]),
      lax.dotGeneral(a, d, [[[], []], [[], []]]).sum(),
    ],
    [r([2, 3, 4]), r([2, 4, 2]), r([3, 2, 4]), r([4, 2, 3])],
  ],
  gmm: [(x: A, w: A, e: A) => gmm(x, w, i32([2, 0, 2]), { groupOffset: 1, existingOut: e }), [r([5, 3]), r([2, 3, 2]), r([5, 2])]],
  tgmm: [(x: A, y: A) => tgmm(x, y, i32([2, 1, 2])), [r([3, 5]), r([5, 2])]],
  ragged_dot_general: [(x: A, w: A) => lax.raggedDot(x, w, i32([1, 3])), [r([5, 2]), r([2, 2, 3])]],
  sort: [(x: A) => lax.sort(x, { dimension: 0 }), [r([4, 2])]],
  top_k: [(x: A) => lax.topK(x, 2)[0], [r([2, 5])]],
};

describe("checkGrads for every differentiable primitive", () => {
  const skipped = new Set(["jit", "cond", "while", "scan", "custom_vjp_call", "custom_jvp_call", "custom_lin"]);
  it("covers every differentiable primitive (control flow and custom calls are checked in their own files)", () => {
    const differentiable = reference.listPrimitives().filter((p) => !isNonDifferentiable(p)).map((p) => p.name).filter((n) => !skipped.has(n));
    expect(differentiable.sort()).toEqual(Object.keys(CASES).filter((n) => !skipped.has(n)).sort());
  });
  for (const [name, [f, args]] of Object.entries(CASES)) {
    if (skipped.has(name)) continue;
    it(name, () => {
      checkGrads(f as never, args, { order: 2 });
    });
  }
});
