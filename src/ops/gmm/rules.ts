/**
 * Differentiation of gmm and tgmm (megablox's VJP, on the call's own backend) and their expansion for the
 * kernel lowering. gmm is linear in lhs and rhs separately and in existingOut; tgmm likewise.
 *   dlhs = gmm(dout, rhs, transposeRhs flipped)                 (tiles: dlhs_tiling)
 *   drhs = tgmm(lhsᵀ, dout), swapped back with transposeRhs     (tiles: drhs_tiling)
 *   dexistingOut = dout on the rows outside the call's groups, 0 on the others (spec §D.1)
 * A product's cotangent is cast to the other operand's dtype, and each gradient has its operand's dtype.
 */
import type { Array } from "../../core/array.js";
import type { ShapedArray } from "../../core/aval.js";
import { ArgumentError } from "../../core/errors.js";
import { registerDecomposition } from "../../lowering/decompositions.js";
import type { Primitive } from "../../core/primitive.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind1 } from "../../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defTranspose, instantiate, isZero } from "../../vjp/ad.js";
import * as lax from "../lax/api.js";
import { check } from "../lax/check.js";
import { addTangentTerms } from "../lax/elementwise.js";
import { type GmmCall, type TgmmCall, bindsOwnPrimitive, getGmmBackend } from "./backend.js";
import { gmmByGroups, tgmmByGroups } from "./decomposition.js";
import { activeRows, zeros } from "./groups.js";
import { GROUP_SIZES_CHECK, type GmmParams, REFERENCE_BACKEND, type TgmmParams, gmmP, tgmmP } from "./primitives.js";

const withExisting = (operands: Array[], existingOut: Array | undefined): Array[] => (existingOut ? [...operands, existingOut] : operands);

export function bindGmm(lhs: Array, rhs: Array, groupSizes: Array, o: GmmCall, backend: string): Array {
  const params: GmmParams = {
    transpose_rhs: o.transposeRhs,
    preferred_element_type: o.preferredElementType,
    tiling: o.tiling,
    dlhs_tiling: o.dlhsTiling ?? o.tiling,
    drhs_tiling: o.drhsTiling ?? o.tiling,
    existing_out: o.existingOut !== undefined,
    backend,
    check_group_sizes: o.checkGroupSizes ?? false,
  };
  return bind1(gmmP, withExisting([lhs, rhs, groupSizes, o.groupOffset], o.existingOut), params);
}

export function bindTgmm(lhs: Array, rhs: Array, groupSizes: Array, o: TgmmCall, backend: string): Array {
  const params: TgmmParams = {
    num_actual_groups: o.numActualGroups,
    preferred_element_type: o.preferredElementType,
    tiling: o.tiling,
    existing_out: o.existingOut !== undefined,
    backend,
    check_group_sizes: o.checkGroupSizes ?? false,
  };
  return bind1(tgmmP, withExisting([lhs, rhs, groupSizes, o.groupOffset], o.existingOut), params);
}

const gmmCallOf = (p: GmmParams, [, , , groupOffset, existingOut]: readonly Array[]): GmmCall => ({
  groupOffset: groupOffset!,
  existingOut,
  transposeRhs: p.transpose_rhs,
  preferredElementType: p.preferred_element_type,
  tiling: p.tiling,
});

const tgmmCallOf = (p: TgmmParams, [, , , groupOffset, existingOut]: readonly Array[]): TgmmCall => ({
  groupOffset: groupOffset!,
  existingOut,
  numActualGroups: p.num_actual_groups,
  preferredElementType: p.preferred_element_type,
  tiling: p.tiling,
});

/** `x [m, n]` on the rows outside groups `groupOffset … groupOffset + numGroups - 1`, zero on theirs. */
function keepInactive(x: Array, groupSizes: Array, groupOffset: Array, numGroups: number): Array {
  const [m, n] = x.shape as [number, number];
  const active = lax.broadcastInDim(activeRows(groupSizes, groupOffset, numGroups, m), [m, n], [0]);
  return lax.select(active, zeros([m, n], x.dtype), x);
}

const nonzero = (t: Tangent | undefined): t is Array => t !== undefined && !isZero(t);
const swapLast = (x: Array): Array => lax.transpose(x, [0, 2, 1]);

defJvp(gmmP, (primals, tangents, params) => {
  const [lhs, rhs, groupSizes, groupOffset] = primals as [Array, Array, Array, Array];
  const [dlhs, drhs, , , dexisting] = tangents;
  const out = bind1(gmmP, primals, params);
  let tangent: Tangent = new Zero(out.aval.strongly());
  if (nonzero(dlhs)) {
    const existing = nonzero(dexisting) ? [dexisting] : [];
    tangent = bind1(gmmP, [dlhs, rhs, groupSizes, groupOffset, ...existing], { ...params, existing_out: existing.length > 0 });
  } else if (nonzero(dexisting)) tangent = keepInactive(dexisting, groupSizes, groupOffset, rhs.shape[0]!);
  if (nonzero(drhs)) tangent = addTangentTerms(tangent, bind1(gmmP, [lhs, drhs, groupSizes, groupOffset], { ...params, existing_out: false }));
  return [[out], [tangent]];
});

defTranspose(gmmP, ([ct], inputs, params) => {
  const [lhs, rhs, groupSizes, groupOffset, existingOut] = inputs as [Array | UndefPrimal, Array | UndefPrimal, Array, Array, (Array | UndefPrimal)?];
  if (lhs instanceof UndefPrimal && rhs instanceof UndefPrimal) throw new ArgumentError("gmm: transpose of a product of two linear values");
  const g = instantiate(ct!);
  const numGroups = rhs.aval.shape[0]!;
  const common = { groupOffset, existingOut: undefined, checkGroupSizes: params.check_group_sizes };
  let dlhs: Array | null = null;
  let drhs: Array | null = null;
  if (lhs instanceof UndefPrimal) {
    const r = rhs as Array;
    const options = { ...common, transposeRhs: !params.transpose_rhs, preferredElementType: lhs.aval.dtype, tiling: params.dlhs_tiling, dlhsTiling: params.tiling, drhsTiling: params.drhs_tiling };
    dlhs = bindGmm(lax.convertElementType(g, r.dtype), r, groupSizes, options, params.backend);
  }
  if (rhs instanceof UndefPrimal) {
    const l = lhs as Array;
    const options = { ...common, numActualGroups: numGroups, preferredElementType: rhs.aval.dtype, tiling: params.drhs_tiling };
    const grad = bindTgmm(lax.transpose(l, [1, 0]), lax.convertElementType(g, l.dtype), groupSizes, options, params.backend);
    drhs = params.transpose_rhs ? swapLast(grad) : grad;
  }
  const dexisting = existingOut instanceof UndefPrimal ? keepInactive(g, groupSizes, groupOffset, numGroups) : null;
  return [dlhs, drhs, null, null, ...(params.existing_out ? [dexisting] : [])];
});

defJvp(tgmmP, (primals, tangents, params) => {
  const [lhs, rhs, groupSizes, groupOffset] = primals as [Array, Array, Array, Array];
  const [dlhs, drhs, , , dexisting] = tangents;
  const out = bind1(tgmmP, primals, params);
  let tangent: Tangent = new Zero(out.aval.strongly());
  if (nonzero(dlhs)) {
    const existing = nonzero(dexisting) ? [dexisting] : [];
    tangent = bind1(tgmmP, [dlhs, rhs, groupSizes, groupOffset, ...existing], { ...params, existing_out: existing.length > 0 });
  } else if (nonzero(dexisting)) tangent = dexisting;
  if (nonzero(drhs)) tangent = addTangentTerms(tangent, bind1(tgmmP, [lhs, drhs, groupSizes, groupOffset], { ...params, existing_out: false }));
  return [[out], [tangent]];
});

defTranspose(tgmmP, ([ct], inputs, params) => {
  const [lhs, rhs, groupSizes, groupOffset, existingOut] = inputs as [Array | UndefPrimal, Array | UndefPrimal, Array, Array, (Array | UndefPrimal)?];
  if (lhs instanceof UndefPrimal && rhs instanceof UndefPrimal) throw new ArgumentError("tgmm: transpose of a product of two linear values");
  const g = instantiate(ct!);
  const common = { groupOffset, existingOut: undefined, tiling: params.tiling, checkGroupSizes: params.check_group_sizes };
  let dlhs: Array | null = null;
  let drhs: Array | null = null;
  if (lhs instanceof UndefPrimal) {
    // lhs[a, r] meets dout[group(r), a, :] · rhs[r, :]: a gmm of rhs [m, n] by dout read as [G, k, n] transposed.
    const r = rhs as Array;
    const product = bindGmm(r, lax.convertElementType(g, r.dtype), groupSizes, { ...common, transposeRhs: true, preferredElementType: lhs.aval.dtype }, params.backend);
    dlhs = lax.transpose(product, [1, 0]);
  }
  if (rhs instanceof UndefPrimal) {
    const l = lhs as Array;
    drhs = bindGmm(lax.transpose(l, [1, 0]), lax.convertElementType(g, l.dtype), groupSizes, { ...common, transposeRhs: false, preferredElementType: rhs.aval.dtype }, params.backend);
  }
  return [dlhs, drhs, null, null, ...(params.existing_out ? [existingOut instanceof UndefPrimal ? g : null] : [])];
});

/**
 * The forward function the lowering stages for a call: the backend's, or the generic-lax one for `reference` and
 * for backends binding their own primitive on a device their kernel rule does not serve. With
 * `check_group_sizes`, the same call without it, followed by a `check` of the sizes against the m rows.
 */
function staged<P extends { backend: string; check_group_sizes: boolean }>(
  primitive: Primitive<P>,
  params: P,
  inAvals: readonly ShapedArray[],
  rows: number,
  forward: (xs: Array[]) => Array,
) {
  const name = primitive.name;
  if (params.check_group_sizes) {
    const unchecked = { ...params, check_group_sizes: false };
    return traceToJaxpr((...xs) => [check(bind1(primitive, xs, unchecked), lax.convertElementType(xs[2]!, "int32"), GROUP_SIZES_CHECK, [name, rows])], inAvals, name);
  }
  return traceToJaxpr((...xs) => [forward(xs)], inAvals, name);
}

registerDecomposition(gmmP, (params, inAvals) =>
  staged(gmmP, params, inAvals, inAvals[0]!.shape[0]!, (xs) => {
    const forward = params.backend === REFERENCE_BACKEND || bindsOwnPrimitive(params.backend) ? gmmByGroups : getGmmBackend(params.backend).gmm;
    return forward(xs[0]!, xs[1]!, xs[2]!, gmmCallOf(params, xs));
  }),
);

registerDecomposition(tgmmP, (params, inAvals) =>
  staged(tgmmP, params, inAvals, inAvals[0]!.shape[1]!, (xs) => {
    const forward = params.backend === REFERENCE_BACKEND || bindsOwnPrimitive(params.backend) ? tgmmByGroups : getGmmBackend(params.backend).tgmm;
    return forward(xs[0]!, xs[1]!, xs[2]!, tgmmCallOf(params, xs));
  }),
);
