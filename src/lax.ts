/** The public `lax` namespace: the lax primitives, and ragged_dot / ragged_dot_general (defined with gmm). */
export * from "./ops/lax/api.js";
export { type RaggedDotDimensionNumbers, type RaggedDotOptions, raggedDot, raggedDotGeneral } from "./ops/gmm/index.js";
