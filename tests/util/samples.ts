/** A sample call of every registered primitive, shared by the registry and jit tests. */
import { type Array, customJvp, customVjp, makeJaxpr, numpy as np } from "../../src/index.js";
import { scalarAddJaxpr } from "../../src/ops/lax/indexing.js";

const f = (shape: number[]) => np.reshape(np.arange(1, 1 + shape.reduce((a, b) => a * b, 1), 1, { dtype: "float32" }).mul(0.1), shape);
const i = (values: number[], shape = [values.length]) => np.reshape(np.array(values, { dtype: "int32" }), shape);
const u = (values: number[]) => np.array(values, { dtype: "uint32" });

/** The params a real call of customVjp/customJvp binds (captured by staging one). */
function customCallParams(name: string): unknown {
  const sin = customVjp((x: Array) => np.sin(x)).defvjp((x: Array) => [np.sin(x), x], (x: Array, g: Array) => [g.mul(np.cos(x))]);
  const cube = customJvp((x: Array) => x.mul(x).mul(x)).defjvp(([x]: Array[], [t]: Array[]) => [x.mul(x).mul(x), t.mul(x.mul(x)).mul(3)]);
  const closed = makeJaxpr((x: Array) => (name === "custom_vjp_call" ? sin(x) : cube(x)))(f([3]));
  return closed.jaxpr.eqns.find((e) => e.primitive.name === name)!.params;
}

export type Sample = { inputs: Array[]; params: unknown };
const unaryFloat = (): Sample => ({ inputs: [f([2, 3])], params: {} });
const binaryFloat = (): Sample => ({ inputs: [f([2, 3]), f([2, 3])], params: {} });
const binaryInt = (): Sample => ({ inputs: [i([1, 2, 3]), i([1, 1, 2])], params: {} });
const gmmParams = { preferred_element_type: "float32", tiling: [8, 8, 8], existing_out: false, backend: "reference", check_group_sizes: false };
const gatherDims = { offset_dims: [1], collapsed_slice_dims: [0], start_index_map: [0], operand_batching_dims: [], start_indices_batching_dims: [] };

export const SAMPLES: Record<string, () => Sample> = {
  ...Object.fromEntries(
    ["exp", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "sqrt", "rsqrt", "erf", "erf_inv", "floor", "ceil", "neg", "abs", "sign", "is_finite", "stop_gradient"].map((n) => [n, unaryFloat]),
  ),
  ...Object.fromEntries(["add", "sub", "mul", "div", "rem", "max", "min", "atan2", "pow", "eq", "ne", "lt", "le", "gt", "ge"].map((n) => [n, binaryFloat])),
  ...Object.fromEntries(["and", "or", "xor", "shift_left", "shift_right_logical", "shift_right_arithmetic"].map((n) => [n, binaryInt])),
  not: () => ({ inputs: [i([1, 2])], params: {} }),
  round: () => ({ inputs: [f([4])], params: { rounding_method: 1 } }),
  integer_pow: () => ({ inputs: [f([3])], params: { y: 3 } }),
  select_n: () => ({ inputs: [np.array([true, false]), f([2]), f([2])], params: {} }),
  convert_element_type: () => ({ inputs: [f([2, 2])], params: { new_dtype: "bfloat16", weak_type: false } }),
  bitcast_convert_type: () => ({ inputs: [f([2])], params: { new_dtype: "int32" } }),
  dot_general: () => ({ inputs: [f([2, 3]), f([3, 4])], params: { dimension_numbers: [[[1], [0]], [[], []]], preferred_element_type: null } }),
  gmm: () => ({ inputs: [f([4, 3]), f([2, 3, 2]), i([1, 2]), i([0], [])], params: { ...gmmParams, transpose_rhs: false, dlhs_tiling: [8, 8, 8], drhs_tiling: [8, 8, 8] } }),
  tgmm: () => ({ inputs: [f([3, 4]), f([4, 2]), i([1, 2]), i([0], [])], params: { ...gmmParams, num_actual_groups: 2 } }),
  ragged_dot_general: () => ({
    inputs: [f([4, 3]), f([2, 3, 2]), i([1, 2])],
    params: { dimension_numbers: { dotDimensionNumbers: [[[1], [1]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [0] }, preferred_element_type: null },
  }),
  gather: () => ({ inputs: [f([3, 2]), i([2, 0], [2, 1])], params: { dimension_numbers: gatherDims, slice_sizes: [1, 2], mode: "clip", fill_value: null, indices_are_sorted: false, unique_indices: false } }),
  "scatter-add": () => ({
    inputs: [f([3, 2]), i([2, 0], [2, 1]), f([2, 2])],
    params: {
      dimension_numbers: { update_window_dims: [1], inserted_window_dims: [0], scatter_dims_to_operand_dims: [0], operand_batching_dims: [], scatter_indices_batching_dims: [] },
      update_jaxpr: scalarAddJaxpr("float32"),
      mode: "fill",
      indices_are_sorted: false,
      unique_indices: false,
    },
  }),
  add_any: () => ({ inputs: [f([2, 3]), f([2, 3])], params: {} }),
  clamp: () => ({ inputs: [f([]), f([2, 3]), f([2, 3]).mul(3)], params: {} }),
  custom_vjp_call: () => ({ inputs: [f([3])], params: customCallParams("custom_vjp_call") }),
  custom_jvp_call: () => ({ inputs: [f([3])], params: customCallParams("custom_jvp_call") }),
  check: () => ({ inputs: [f([2, 3]), i([1, 2])], params: { check: "gmm_group_sizes", args: ["gmm", 3] } }),
  custom_lin: () => ({ inputs: [f([3]), f([3])], params: { num_res: 1, res_tree: null, out_avals: [f([3]).aval], call: null } }),
  jit: () => ({ inputs: [f([3])], params: { name: "double", jaxpr: makeJaxpr((x: Array) => x.mul(2))(f([3])), device: "interpreter" } }),
  cond: () => ({
    inputs: [i([1], []), f([3])],
    params: { branches: [makeJaxpr((x: Array) => x.neg())(f([3])), makeJaxpr((x: Array) => x.add(1))(f([3]))] },
  }),
  while: () => ({
    inputs: [i([0], [])],
    params: { cond_jaxpr: makeJaxpr((c: Array) => c.lt(5))(i([0], [])), body_jaxpr: makeJaxpr((c: Array) => c.add(2))(i([0], [])), cond_nconsts: 0, body_nconsts: 0 },
  }),
  scan: () => ({
    inputs: [f([]), f([4, 2])],
    params: { jaxpr: makeJaxpr((c: Array, x: Array) => [c.add(x.sum()), x.mul(c)])(f([]), f([2])), length: 4, reverse: false, num_consts: 0, num_carry: 1, unroll: 1 },
  }),
  threefry2x32: () => ({ inputs: [u([1, 2]), u([3, 4]), u([5, 6]), u([7, 8])], params: {} }),
  broadcast_in_dim: () => ({ inputs: [f([3])], params: { shape: [2, 3], broadcast_dimensions: [1] } }),
  reshape: () => ({ inputs: [f([2, 3])], params: { new_sizes: [3, 2] } }),
  transpose: () => ({ inputs: [f([2, 3])], params: { permutation: [1, 0] } }),
  squeeze: () => ({ inputs: [f([1, 3])], params: { dimensions: [0] } }),
  rev: () => ({ inputs: [f([2, 3])], params: { dimensions: [1] } }),
  concatenate: () => ({ inputs: [f([2, 3]), f([1, 3])], params: { dimension: 0 } }),
  pad: () => ({ inputs: [f([2]), f([])], params: { padding_config: [[1, 2, 1]] } }),
  slice: () => ({ inputs: [f([4, 3])], params: { start_indices: [1, 0], limit_indices: [4, 3], strides: [2, 1] } }),
  dynamic_slice: () => ({ inputs: [f([4, 3]), i([1], []), i([0], [])], params: { slice_sizes: [2, 2] } }),
  dynamic_update_slice: () => ({ inputs: [f([4, 3]), f([1, 2]), i([1], []), i([1], [])], params: {} }),
  iota: () => ({ inputs: [], params: { dtype: "int32", shape: [2, 3], dimension: 1 } }),
  ...Object.fromEntries(["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"].map((n) => [n, () => ({ inputs: [f([2, 3])], params: { axes: [1] } })])),
  ...Object.fromEntries(["reduce_and", "reduce_or"].map((n) => [n, () => ({ inputs: [np.array([[true, false]])], params: { axes: [0] } })])),
  ...Object.fromEntries(["argmax", "argmin"].map((n) => [n, () => ({ inputs: [f([2, 3])], params: { axes: [0], index_dtype: "int32" } })])),
  cumsum: () => ({ inputs: [f([2, 3])], params: { axis: 1, reverse: true } }),
  sort: () => ({ inputs: [f([2, 3]), i([1, 2, 3, 4, 5, 6], [2, 3])], params: { dimension: 1, is_stable: true, num_keys: 1 } }),
  top_k: () => ({ inputs: [f([2, 3])], params: { k: 2, axis: 1 } }),
};
