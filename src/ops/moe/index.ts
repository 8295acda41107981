/** The mixture-of-experts layer: routing, permutation by expert, the sparse layer on any gmm backend, its dense reference. */
export { type MoeConfig, type MoeOutput, type MoeParams, denseMoeLayer, moeLayer, sparseMatmul } from "./layer.js";
export { type Routing, permute, route, unpermute } from "./routing.js";
