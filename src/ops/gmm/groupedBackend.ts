/**
 * A backend whose gmm and tgmm run as the grouped tiled kernels of src/lowering/groupedMatmul.ts on one kernel
 * device (the tile-to-group map computed on the device from groupSizes, masking by select at group boundaries
 * inside a tile, only active groups' tiles doing work, register blocks as dot_general's on that device, the
 * preferredElementType epilogue fused into the store). Elsewhere it runs the portable path: the interpreter
 * evaluates it as the reference does, and the other kernel device expands it into generic lax kernels
 * (G dense products and a selection), correct but without the grouped kernel.
 */
import { groupedGmm, groupedTgmm } from "../../lowering/groupedMatmul.js";
import type { LoweringTarget } from "../../lowering/dot.js";
import { registerKernelRule } from "../../lowering/kernelRules.js";
import type { QType } from "../../core/qarray.js";
import type { GmmBackend } from "./backend.js";
import { type GmmParams, type TgmmParams, gmmP, tgmmP } from "./primitives.js";
import { bindGmm, bindTgmm } from "./rules.js";

/** The backend `name`, with its grouped kernels registered for `target` (and the quantized types they compute on natively). */
export function groupedKernelBackend(name: string, target: LoweringTarget, quantizedOperands?: readonly QType[]): GmmBackend {
  // With checkGroupSizes the decomposition runs: this call without it, then a check of the sizes.
  const served = (p: GmmParams | TgmmParams, t: string): boolean => p.backend === name && t === target && !p.check_group_sizes;
  registerKernelRule(gmmP, served, (e, inputs, _outShape, outType, options, materialize) =>
    groupedGmm(inputs, outType, { transposeRhs: (e.params as GmmParams).transpose_rhs, target: options.target, materialize }),
  );
  registerKernelRule(tgmmP, served, (_e, inputs, outShape, outType, options, materialize) => groupedTgmm(inputs, outShape, outType, options.target, materialize));
  return {
    name,
    bindsOwnPrimitive: true,
    ...(quantizedOperands ? { quantizedOperands } : {}),
    gmm: (lhs, rhs, groupSizes, call) => bindGmm(lhs, rhs, groupSizes, call, name),
    tgmm: (lhs, rhs, groupSizes, call) => bindTgmm(lhs, rhs, groupSizes, call, name),
  };
}
