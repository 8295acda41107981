/**
 * The `gmm` and `tgmm` primitives: shape/dtype rules with the errors, and evaluation. The `reference`
 * backend (and any backend that binds its own primitive, whose kernels only exist on kernel devices) is the
 * reference implementation here (float64 accumulation, one rounding per element, masking by selection so values
 * of rows and experts that do not take part never reach an output); any other backend's forward function runs
 * with every operation on the interpreter.
 * Operands: `lhs, rhs, groupSizes, groupOffset` (an integer scalar), then `existingOut` when `existing_out`.
 */
import { ShapedArray } from "../../core/aval.js";
import { Array, arrayFromHost } from "../../core/array.js";
import { type DType, isFloat, isInteger } from "../../core/dtype.js";
import { registerChecker } from "../../core/checks.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { type HostData, allocHost, roundResult, wrapInt } from "../../core/hostData.js";
import { type HostTensor, definePrimitive } from "../../core/primitive.js";
import { withReferenceEvaluation } from "../../trace/trace.js";
import { type Tiles, bindsOwnPrimitive, getGmmBackend } from "./backend.js";
import { hostRowGroups } from "./groups.js";

export const REFERENCE_BACKEND = "reference";

interface CommonParams {
  readonly preferred_element_type: DType;
  readonly tiling: Tiles;
  /** Whether `existingOut` is the fifth operand. */
  readonly existing_out: boolean;
  readonly backend: string;
  /** Negative sizes and `sum(groupSizes) > m` are an error when the call runs (see src/core/checks.ts). */
  readonly check_group_sizes: boolean;
}

export interface GmmParams extends CommonParams {
  readonly transpose_rhs: boolean;
  /** The tiles of the two products of the VJP: dlhs (a gmm) and drhs (a tgmm). */
  readonly dlhs_tiling: Tiles;
  readonly drhs_tiling: Tiles;
}

export interface TgmmParams extends CommonParams {
  readonly num_actual_groups: number;
}

export class GroupSizesError extends ArgumentError {}

const tuple = (xs: readonly number[]): string => `(${xs.join(", ")})`;

function checkTiles(name: string, what: string, tiles: Tiles): void {
  if (tiles.length !== 3 || !tiles.every((t) => Number.isInteger(t) && t > 0)) {
    throw new ArgumentError(`${name}: ${what} must be three positive integers (tm, tk, tn), got ${JSON.stringify(tiles)}`);
  }
}

function checkCommon(name: string, [lhs, rhs, groupSizes, groupOffset]: readonly ShapedArray[], params: CommonParams): void {
  if (lhs!.ndim !== 2) throw new ShapeError(`${name}: lhs must have rank 2 (${name === "gmm" ? "[m, k]" : "[k, m]"}), got shape ${fmtShape(lhs!.shape)}`);
  if (rhs!.ndim !== (name === "gmm" ? 3 : 2)) {
    throw new ShapeError(`${name}: rhs must have rank ${name === "gmm" ? "3 ([g, k, n], or [g, n, k] with transposeRhs)" : "2 ([m, n])"}, got shape ${fmtShape(rhs!.shape)}`);
  }
  if (groupSizes!.ndim !== 1 || !isInteger(groupSizes!.dtype)) {
    throw new DTypeError(`${name}: groupSizes must be a 1-D integer array [numGroups], got ${groupSizes!.toString()}`);
  }
  if (groupOffset!.ndim !== 0 || !isInteger(groupOffset!.dtype)) throw new DTypeError(`${name}: groupOffset must be an integer scalar, got ${groupOffset!.toString()}`);
  if (lhs!.dtype !== rhs!.dtype) throw new DTypeError(`${name}: lhs and rhs must have equal dtypes, got lhs ${lhs!.dtype} and rhs ${rhs!.dtype}`);
  if (!isFloat(lhs!.dtype) && !isInteger(lhs!.dtype)) throw new DTypeError(`${name}: lhs and rhs must be float or integer arrays, got ${lhs!.dtype}`);
  checkTiles(name, "tiling", params.tiling);
}

function checkExistingOut(name: string, avals: readonly ShapedArray[], params: CommonParams, shape: readonly number[]): void {
  if (avals.length !== (params.existing_out ? 5 : 4)) throw new ArgumentError(`${name}: expected ${params.existing_out ? 5 : 4} operands, got ${avals.length}`);
  const existingOut = avals[4];
  if (!existingOut) return;
  if (existingOut.shape.length !== shape.length || existingOut.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${name}: existingOut must have the result's shape ${fmtShape(shape)}, got ${fmtShape(existingOut.shape)}`);
  }
  if (existingOut.dtype !== params.preferred_element_type) {
    throw new DTypeError(`${name}: existingOut must have dtype preferredElementType (${params.preferred_element_type}), got ${existingOut.dtype}`);
  }
}

/** [m, k, n, G] of a gmm call. */
export function gmmDims(lhs: ShapedArray | HostTensor, rhs: ShapedArray | HostTensor, transposeRhs: boolean): [number, number, number, number] {
  const [g, a, b] = rhs.shape as [number, number, number];
  return [lhs.shape[0]!, lhs.shape[1]!, transposeRhs ? a : b, g];
}

/** Data-dependent checks of group sizes: none negative, summing to at most the m rows. */
export function checkGroupSizeValues(name: string, groupSizes: HostData, m: number): void {
  let total = 0;
  for (const [j, s] of groupSizes.entries()) {
    if (s < 0) throw new GroupSizesError(`${name}: groupSizes[${j}] is ${s}; group sizes must not be negative`);
    total += s;
  }
  if (total > m) throw new GroupSizesError(`${name}: sum(groupSizes) is ${total}, more than the ${m} rows`);
}

/** The checker of `checkGroupSizes` inside jit on the kernel devices (args: the function's name and m). */
export const GROUP_SIZES_CHECK = "gmm_group_sizes";
registerChecker(GROUP_SIZES_CHECK, (data, [name, m]) => checkGroupSizeValues(String(name), data, Number(m)));

const hostArrays = (inputs: readonly HostTensor[]): Array[] => inputs.map((t) => arrayFromHost(t.data, new ShapedArray(t.shape, t.dtype)));
const toHost = (x: Array): HostTensor => ({ shape: x.shape, dtype: x.dtype, data: x.dataSync() });

/** A dot-product accumulator for `dtype`: float64 for floats, exact integers wrapped once at the end. */
const finish = (acc: number, dtype: DType): number => (isInteger(dtype) ? wrapInt(acc, dtype) : roundResult(acc, dtype));

export const gmmP = definePrimitive<GmmParams>({
  name: "gmm",
  abstractEval(avals, params) {
    checkCommon("gmm", avals, params);
    const [lhs, rhs, groupSizes] = avals as [ShapedArray, ShapedArray, ShapedArray];
    const [m, k, n, g] = gmmDims(lhs, rhs, params.transpose_rhs);
    const rhsK = params.transpose_rhs ? rhs.shape[2]! : rhs.shape[1]!;
    if (rhsK !== k) {
      const layout = params.transpose_rhs ? "[g, n, k]" : "[g, k, n]";
      throw new ShapeError(`gmm: lhs [m, k] = ${fmtShape(lhs.shape)} and rhs ${layout} = ${fmtShape(rhs.shape)} disagree on k (${k} vs ${rhsK})`);
    }
    if (g > groupSizes.shape[0]!) throw new ShapeError(`gmm: rhs has ${g} groups but groupSizes only ${groupSizes.shape[0]} (rhs holds at most every group)`);
    checkTiles("gmm", "dlhs_tiling", params.dlhs_tiling);
    checkTiles("gmm", "drhs_tiling", params.drhs_tiling);
    checkExistingOut("gmm", avals, params, [m, n]);
    return [new ShapedArray([m, n], params.preferred_element_type)];
  },
  impl(inputs, params) {
    const [lhs, rhs, groupSizes, groupOffset, existingOut] = inputs as [HostTensor, HostTensor, HostTensor, HostTensor, HostTensor?];
    const [m, k, n, g] = gmmDims(lhs, rhs, params.transpose_rhs);
    if (params.check_group_sizes) checkGroupSizeValues("gmm", groupSizes.data, m);
    if (params.backend !== REFERENCE_BACKEND && !bindsOwnPrimitive(params.backend)) {
      const [l, r, s, o, e] = hostArrays(inputs);
      const call = { groupOffset: o!, existingOut: e, transposeRhs: params.transpose_rhs, preferredElementType: params.preferred_element_type, tiling: params.tiling };
      return [toHost(withReferenceEvaluation(() => getGmmBackend(params.backend).gmm(l!, r!, s!, call)))];
    }
    const dtype = params.preferred_element_type;
    const groups = hostRowGroups(groupSizes.data, m);
    const offset = groupOffset.data[0]!;
    const out = allocHost(dtype, m * n);
    // rhs[j, t, c] (or rhs[j, c, t]) is at j*k*n + t*tStride + c*cStride.
    const [tStride, cStride] = params.transpose_rhs ? [1, k] : [n, 1];
    const ld = lhs.data;
    const rd = rhs.data;
    for (let r = 0; r < m; r++) {
      const j = groups[r]! - offset;
      if (j < 0 || j >= g) {
        if (existingOut) out.set(existingOut.data.subarray(r * n, (r + 1) * n), r * n);
        continue;
      }
      for (let c = 0; c < n; c++) {
        let acc = 0;
        const base = j * k * n + c * cStride;
        for (let t = 0; t < k; t++) acc += ld[r * k + t]! * rd[base + t * tStride]!;
        out[r * n + c] = finish(acc, dtype);
      }
    }
    return [{ shape: [m, n], dtype, data: out }];
  },
  formatParams: (p) => ({
    backend: p.backend,
    tiling: tuple(p.tiling),
    dlhs_tiling: tuple(p.dlhs_tiling),
    drhs_tiling: tuple(p.drhs_tiling),
    transpose_rhs: p.transpose_rhs,
    preferred_element_type: p.preferred_element_type,
    existing_out: p.existing_out,
    ...(p.check_group_sizes ? { check_group_sizes: true } : {}),
  }),
});

export const tgmmP = definePrimitive<TgmmParams>({
  name: "tgmm",
  abstractEval(avals, params) {
    checkCommon("tgmm", avals, params);
    const [lhs, rhs, groupSizes] = avals as [ShapedArray, ShapedArray, ShapedArray];
    const [k, m] = lhs.shape as [number, number];
    if (rhs.shape[0] !== m) throw new ShapeError(`tgmm: lhs [k, m] = ${fmtShape(lhs.shape)} and rhs [m, n] = ${fmtShape(rhs.shape)} disagree on m (${m} vs ${rhs.shape[0]})`);
    const groups = params.num_actual_groups;
    if (!Number.isInteger(groups) || groups < 0 || groups > groupSizes.shape[0]!) {
      throw new ArgumentError(`tgmm: numActualGroups must be an integer in [0, ${groupSizes.shape[0]}] (the number of groups), got ${groups}`);
    }
    const shape = [groups, k, rhs.shape[1]!];
    checkExistingOut("tgmm", avals, params, shape);
    return [new ShapedArray(shape, params.preferred_element_type)];
  },
  impl(inputs, params) {
    const [lhs, rhs, groupSizes, groupOffset, existingOut] = inputs as [HostTensor, HostTensor, HostTensor, HostTensor, HostTensor?];
    const [k, m] = lhs.shape as [number, number];
    const n = rhs.shape[1]!;
    if (params.check_group_sizes) checkGroupSizeValues("tgmm", groupSizes.data, m);
    const numGroups = params.num_actual_groups;
    if (params.backend !== REFERENCE_BACKEND && !bindsOwnPrimitive(params.backend)) {
      const [l, r, s, o, e] = hostArrays(inputs);
      const call = { groupOffset: o!, existingOut: e, numActualGroups: numGroups, preferredElementType: params.preferred_element_type, tiling: params.tiling };
      return [toHost(withReferenceEvaluation(() => getGmmBackend(params.backend).tgmm(l!, r!, s!, call)))];
    }
    const dtype = params.preferred_element_type;
    const groups = hostRowGroups(groupSizes.data, m);
    const offset = groupOffset.data[0]!;
    const acc = new Float64Array(numGroups * k * n);
    const ld = lhs.data;
    const rd = rhs.data;
    // Only rows of the computed groups are read: others (and rows past every group) never reach a sum.
    for (let r = 0; r < m; r++) {
      const j = groups[r]! - offset;
      if (j < 0 || j >= numGroups) continue;
      for (let a = 0; a < k; a++) {
        const x = ld[a * m + r]!;
        const base = (j * k + a) * n;
        for (let b = 0; b < n; b++) acc[base + b] += x * rd[r * n + b]!;
      }
    }
    const out = allocHost(dtype, acc.length);
    for (let i = 0; i < acc.length; i++) out[i] = finish(acc[i]! + (existingOut ? existingOut.data[i]! : 0), dtype);
    return [{ shape: [numGroups, k, n], dtype, data: out }];
  },
  formatParams: (p) => ({
    backend: p.backend,
    tiling: tuple(p.tiling),
    num_actual_groups: p.num_actual_groups,
    preferred_element_type: p.preferred_element_type,
    existing_out: p.existing_out,
    ...(p.check_group_sizes ? { check_group_sizes: true } : {}),
  }),
});
