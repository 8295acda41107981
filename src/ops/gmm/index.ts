/** Grouped matmul: the gmm/tgmm/ragged_dot_general primitives, the backend registry and its built-in backends. */
import { registerGmmBackend } from "./backend.js";
import { cpuBackend } from "./backends/cpu.js";
import { raggedDotBackend } from "./backends/raggedDot.js";
import { referenceBackend } from "./backends/reference.js";
import { wgslBackend } from "./backends/wgsl.js";
import "./batching.js";

registerGmmBackend(referenceBackend);
registerGmmBackend(raggedDotBackend);
registerGmmBackend(wgslBackend);
registerGmmBackend(cpuBackend);

export { type GmmBackend, type GmmCall, type GmmRequest, type TgmmCall, type Tiles, getGmmBackend, gmmBackends, registerGmmBackend } from "./backend.js";
export { type GmmOptions, type TgmmOptions, type Tiling, type TilingFunction, gmm, tgmm } from "./api.js";
export { GroupSizesError } from "./primitives.js";
export { type RaggedDotDimensionNumbers, type RaggedDotOptions, raggedDot, raggedDotGeneral } from "./raggedDotGeneral.js";
