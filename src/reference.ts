/**
 * The reference interpreter, public: it evaluates any registered primitive on concrete arrays exactly and
 * deterministically. Floats are computed in float64 and rounded once to the result dtype; sums, products,
 * dot_general and scatter_add accumulate in float64 (wider than XLA's float32), so results are at least as
 * accurate as JAX's and differ from them only by float32 rounding of the accumulation.
 */
export { evalPrimitive } from "./trace/trace.js";
export { getPrimitive, listPrimitives } from "./core/primitive.js";
export type { Primitive, HostTensor } from "./core/primitive.js";
