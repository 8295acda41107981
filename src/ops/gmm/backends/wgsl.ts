/**
 * The `wgsl` backend: gmm and tgmm as grouped tiled WGSL kernels on the webgpu device (src/lowering/groupedMatmul.ts:
 * the tile-to-group map computed on the GPU from groupSizes, masking by select at group boundaries inside a tile,
 * only active groups' tiles doing work, register blocks as dot_general's on WebGPU, the preferredElementType
 * epilogue fused into the store). Elsewhere it runs the portable path: the interpreter evaluates it as the
 * reference does, and the cpu device expands it into generic lax kernels (G dense products and a selection),
 * correct but without the grouped kernel — the `cpu` backend is the one with a grouped kernel there.
 */
import { groupedGmm, groupedTgmm } from "../../../lowering/groupedMatmul.js";
import { registerKernelRule } from "../../../lowering/kernelRules.js";
import type { GmmBackend } from "../backend.js";
import { type GmmParams, type TgmmParams, gmmP, tgmmP } from "../primitives.js";
import { bindGmm, bindTgmm } from "../rules.js";

const NAME = "wgsl";

export const wgslBackend: GmmBackend = {
  name: NAME,
  bindsOwnPrimitive: true,
  gmm: (lhs, rhs, groupSizes, call) => bindGmm(lhs, rhs, groupSizes, call, NAME),
  tgmm: (lhs, rhs, groupSizes, call) => bindTgmm(lhs, rhs, groupSizes, call, NAME),
};

// checkGroupSizes needs the host: those calls keep the decomposition, which says so.
const served = (p: GmmParams | TgmmParams, target: string): boolean => p.backend === NAME && target === "webgpu" && !p.check_group_sizes;

registerKernelRule(gmmP, served, (e, inputs, _outShape, outType, options, materialize) =>
  groupedGmm(inputs, outType, { transposeRhs: (e.params as GmmParams).transpose_rhs, target: options.target, materialize }),
);
registerKernelRule(tgmmP, served, (_e, inputs, outShape, outType, options) => groupedTgmm(inputs, outShape, outType, options.target));
