/**
 * `ragged_dot_general` (jax.lax.ragged_dot_general) and `lax.raggedDot`. The mode follows from the class of
 * the lhs ragged dimension: non-contracting (mode 1, rhs has a group dim: gmm), contracting (mode 2, a
 * leading group dim in the result: tgmm), batch (mode 3: a plain dot_general, group sizes ignored, as JAX).
 * Its value is one generic-lax formulation (reference implementation, lowering and transposes alike), which
 * selects by group after each product, never multiplying by a mask: unlike JAX's reference decomposition, a
 * NaN in an empty group's weights does not reach the output. `groupSizes` is `[g]`, or `[...p, g]` with `p` the
 * sizes of the lhs prefix dims (`prefixDims`, as JAX): each prefix index then has its own groups.
 */
import { ShapedArray } from "../../core/aval.js";
import { Array, arrayFromHost } from "../../core/array.js";
import { type DType, checkDType, isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { definePrimitive } from "../../core/primitive.js";
import { registerDecomposition } from "../../lowering/decompositions.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind1, withReferenceEvaluation } from "../../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defTranspose, instantiate, isZero, zerosLike } from "../../vjp/ad.js";
import { vjp } from "../../vjp/api.js";
import * as lax from "../lax/api.js";
import type { DotDimensionNumbers } from "../lax/dot.js";
import { addTangentTerms } from "../lax/elementwise.js";
import { localRowGroups, zeros } from "./groups.js";

export interface RaggedDotDimensionNumbers {
  readonly dotDimensionNumbers: DotDimensionNumbers;
  /** Exactly one lhs dimension is ragged. */
  readonly lhsRaggedDimensions: readonly number[];
  /** The rhs group dimension (mode 1), or none. */
  readonly rhsGroupDimensions: readonly number[];
}

export interface RaggedDotGeneralParams {
  readonly dimension_numbers: RaggedDotDimensionNumbers;
  readonly preferred_element_type: DType | null;
}

type Mode = "ragged_noncontracting" | "ragged_contracting" | "ragged_batch";

const range = (n: number): number[] => globalThis.Array.from({ length: n }, (_, i) => i);
const freeAxes = (rank: number, ...used: (readonly number[])[]): number[] => range(rank).filter((i) => !used.some((u) => u.includes(i)));
const list = (xs: readonly number[]): string => `[${xs.join(", ")}]`;

export function modeOf(raggedDim: number, [[lc], [lb]]: DotDimensionNumbers): Mode {
  if (lb.includes(raggedDim)) return "ragged_batch";
  return lc.includes(raggedDim) ? "ragged_contracting" : "ragged_noncontracting";
}

/**
 * The lhs dims that lead a batched `groupSizes [...p, g]`, as JAX: the batch dims, then those of the ragged dim's
 * own class listed before it (non-contracting dims in axis order, contracting dims in dimension-number order);
 * in mode 3, the batch dims listed before the ragged one.
 */
export function prefixDims(mode: Mode, rank: number, raggedDim: number, [[lc], [lb]]: DotDimensionNumbers): number[] {
  if (mode === "ragged_batch") return lb.slice(0, lb.indexOf(raggedDim));
  const sameClass = mode === "ragged_contracting" ? lc : freeAxes(rank, lc, lb);
  return [...lb, ...sameClass.slice(0, sameClass.indexOf(raggedDim))];
}

function axisList(name: string, axes: readonly number[], rank: number, what: string): void {
  if (axes.some((a) => !Number.isInteger(a) || a < 0 || a >= rank) || new Set(axes).size !== axes.length) {
    throw new ShapeError(`${name}: ${what} ${list(axes)} are not distinct dimensions of a rank-${rank} operand`);
  }
}

/** Checks operands and dimension numbers; returns the mode, the ragged dim, the lhs prefix dims and the group count. */
function analyse(lhs: ShapedArray, rhs: ShapedArray, groupSizes: ShapedArray, { dotDimensionNumbers, lhsRaggedDimensions, rhsGroupDimensions }: RaggedDotDimensionNumbers) {
  const name = "ragged_dot_general";
  const [[lc, rc], [lb, rb]] = dotDimensionNumbers;
  axisList(name, [...lc, ...lb], lhs.ndim, "lhs contracting and batch dimensions");
  axisList(name, [...rc, ...rb, ...rhsGroupDimensions], rhs.ndim, "rhs contracting, batch and group dimensions");
  if (lc.length !== rc.length || lc.some((d, i) => lhs.shape[d] !== rhs.shape[rc[i]!])) {
    throw new ShapeError(`${name}: contracting dimensions must have equal sizes, got lhs ${fmtShape(lhs.shape)} dims ${list(lc)} and rhs ${fmtShape(rhs.shape)} dims ${list(rc)}`);
  }
  if (lb.length !== rb.length || lb.some((d, i) => lhs.shape[d] !== rhs.shape[rb[i]!])) {
    throw new ShapeError(`${name}: batch dimensions must have equal sizes, got lhs ${fmtShape(lhs.shape)} dims ${list(lb)} and rhs ${fmtShape(rhs.shape)} dims ${list(rb)}`);
  }
  if (lhsRaggedDimensions.length !== 1) throw new ShapeError(`${name}: exactly one lhs ragged dimension is required, got ${list(lhsRaggedDimensions)}`);
  const raggedDim = lhsRaggedDimensions[0]!;
  axisList(name, [raggedDim], lhs.ndim, "lhs ragged dimensions");
  const mode = modeOf(raggedDim, dotDimensionNumbers);
  const prefix = prefixDims(mode, lhs.ndim, raggedDim, dotDimensionNumbers);
  const prefixSizes = prefix.map((d) => lhs.shape[d]!);
  if (groupSizes.ndim !== 1 && (groupSizes.ndim !== prefix.length + 1 || prefixSizes.some((d, i) => d !== groupSizes.shape[i]))) {
    const batched = prefix.length > 0 ? ` or [${[...prefixSizes, "g"].join(", ")}] (g groups for each index of lhs dims ${list(prefix)})` : "";
    throw new ShapeError(`${name}: groupSizes must have shape [g]${batched}, got ${fmtShape(groupSizes.shape)}`);
  }
  if (!isInteger(groupSizes.dtype)) throw new DTypeError(`${name}: groupSizes must be an integer array, got ${groupSizes.dtype}`);
  if (lhs.dtype !== rhs.dtype) throw new DTypeError(`${name}: lhs and rhs must have equal dtypes, got lhs ${lhs.dtype} and rhs ${rhs.dtype}`);
  const g = groupSizes.shape.at(-1)!;
  if (mode === "ragged_noncontracting") {
    if (rhsGroupDimensions.length !== 1) throw new ShapeError(`${name}: a ragged non-contracting lhs dimension needs exactly one rhs group dimension, got ${list(rhsGroupDimensions)}`);
    const size = rhs.shape[rhsGroupDimensions[0]!]!;
    if (size !== g) throw new ShapeError(`${name}: expected rhs group dimension size to be ${g} (the last dimension of groupSizes), got ${size}`);
  } else if (rhsGroupDimensions.length !== 0) {
    throw new ShapeError(`${name}: a ${mode === "ragged_batch" ? "batch" : "contracting"} ragged lhs dimension takes no rhs group dimension, got ${list(rhsGroupDimensions)}`);
  }
  return { mode, raggedDim, prefix, g };
}

function resultShape(lhs: ShapedArray, rhs: ShapedArray, groupSizes: ShapedArray, dims: RaggedDotDimensionNumbers): number[] {
  const { mode, g } = analyse(lhs, rhs, groupSizes, dims);
  const [[lc, rc], [lb, rb]] = dims.dotDimensionNumbers;
  const shape = [...lb.map((d) => lhs.shape[d]!), ...freeAxes(lhs.ndim, lc, lb).map((d) => lhs.shape[d]!), ...freeAxes(rhs.ndim, rc, rb, dims.rhsGroupDimensions).map((d) => rhs.shape[d]!)];
  return mode === "ragged_contracting" ? [g, ...shape] : shape;
}

/**
 * `groupOf [..., m]` (the row groups of `[...p, g]` or `[g]` group sizes) broadcast to `shape` with its dims at
 * `axes` (the prefix dims' axes, then the ragged dim's): a `[g]` takes only the trailing ones, serving every
 * prefix index as JAX broadcasts it. The axes need not be increasing.
 */
function placeGroups(groupOf: Array, shape: readonly number[], axes: readonly number[]): Array {
  const used = axes.slice(axes.length - groupOf.ndim);
  const order = range(used.length).sort((a, b) => used[a]! - used[b]!);
  return lax.broadcastInDim(lax.transpose(groupOf, order), shape, order.map((i) => used[i]!));
}

/** The value of ragged_dot_general in lax operations (any trace). */
function raggedDotValue(lhs: Array, rhs: Array, groupSizes: Array, params: RaggedDotGeneralParams): Array {
  const dims = params.dimension_numbers;
  const { mode, raggedDim, prefix, g } = analyse(lhs.aval, rhs.aval, groupSizes.aval, dims);
  const [[lc, rc], [lb, rb]] = dims.dotDimensionNumbers;
  const options = { preferredElementType: params.preferred_element_type };
  if (mode === "ragged_batch") return lax.dotGeneral(lhs, rhs, dims.dotDimensionNumbers, options);
  const size = lhs.shape[raggedDim]!;
  const groupOf = localRowGroups(groupSizes, lax.convertElementType(0, "int32"), size);
  if (mode === "ragged_noncontracting") {
    // The group dim stays a free dim of the product; each element keeps the term of its row's group. The prefix
    // dims (batch dims, then free dims before the ragged one) are the product's leading dims, the ragged dim next.
    const products = lax.dotGeneral(lhs, rhs, dims.dotDimensionNumbers, options);
    const shape = products.shape;
    const lhsFree = freeAxes(lhs.ndim, lc, lb);
    const rowAxis = lb.length + lhsFree.indexOf(raggedDim);
    const groupAxis = lb.length + lhsFree.length + freeAxes(rhs.ndim, rc, rb).indexOf(dims.rhsGroupDimensions[0]!);
    const owned = lax.eq(placeGroups(groupOf, shape, range(rowAxis + 1)), lax.broadcastedIota("int32", shape, groupAxis));
    return lax.reduceSum(lax.select(owned, products, zeros(shape, products.dtype)), [groupAxis]);
  }
  // Ragged contracting: both operands gain a leading group dim, zero outside the group's slice of the ragged dim.
  const shift = (xs: readonly number[]): number[] => xs.map((d) => d + 1);
  const masked = (x: Array, axes: readonly number[]): Array => {
    const shape = [g, ...x.shape];
    const owned = lax.eq(placeGroups(groupOf, shape, shift(axes)), lax.broadcastedIota("int32", shape, 0));
    return lax.select(owned, lax.broadcastInDim(x, shape, shift(range(x.ndim))), zeros(shape, x.dtype));
  };
  // The rhs dims paired with the lhs prefix and ragged dims.
  const rhsAxes = [...prefix, raggedDim].map((d) => (lb.includes(d) ? rb[lb.indexOf(d)]! : rc[lc.indexOf(d)]!));
  return lax.dotGeneral(masked(lhs, [...prefix, raggedDim]), masked(rhs, rhsAxes), [[shift(lc), shift(rc)], [[0, ...shift(lb)], [0, ...shift(rb)]]], options);
}

export const raggedDotGeneralP = definePrimitive<RaggedDotGeneralParams>({
  name: "ragged_dot_general",
  abstractEval([lhs, rhs, groupSizes], params) {
    const shape = resultShape(lhs!, rhs!, groupSizes!, params.dimension_numbers);
    return [new ShapedArray(shape, params.preferred_element_type ?? lhs!.dtype, lhs!.weakType && rhs!.weakType)];
  },
  impl(inputs, params) {
    const [lhs, rhs, groupSizes] = inputs.map((t) => arrayFromHost(t.data, new ShapedArray(t.shape, t.dtype)));
    const out = withReferenceEvaluation(() => raggedDotValue(lhs!, rhs!, groupSizes!, params));
    return [{ shape: out.shape, dtype: out.dtype, data: out.dataSync() }];
  },
  formatParams: ({ dimension_numbers: { dotDimensionNumbers: [[lc, rc], [lb, rb]], lhsRaggedDimensions, rhsGroupDimensions }, preferred_element_type }) => ({
    dimension_numbers: `RaggedDotDimensionNumbers(dot_dimension_numbers=((${list(lc)}, ${list(rc)}), (${list(lb)}, ${list(rb)})), lhs_ragged_dimensions=${list(lhsRaggedDimensions)}, rhs_group_dimensions=${list(rhsGroupDimensions)})`,
    ...(preferred_element_type ? { preferred_element_type } : {}),
  }),
});

defJvp(raggedDotGeneralP, ([lhs, rhs, groupSizes], [dlhs, drhs], params) => {
  const out = bind1(raggedDotGeneralP, [lhs!, rhs!, groupSizes!], params);
  let tangent: Tangent = new Zero(out.aval.strongly());
  if (!isZero(dlhs!)) tangent = bind1(raggedDotGeneralP, [dlhs as Array, rhs!, groupSizes!], params);
  if (!isZero(drhs!)) tangent = addTangentTerms(tangent, bind1(raggedDotGeneralP, [lhs!, drhs as Array, groupSizes!], params));
  return [[out], [tangent]];
});

// The transpose of the lax formulation (linear in each operand), in every mode.
defTranspose(raggedDotGeneralP, ([ct], [lhs, rhs, groupSizes], params) => {
  if (lhs instanceof UndefPrimal && rhs instanceof UndefPrimal) throw new ArgumentError("ragged_dot_general: transpose of a product of two linear values");
  const g = instantiate(ct!);
  if (lhs instanceof UndefPrimal) {
    const [, pullback] = vjp((x: Array) => raggedDotValue(x, rhs as Array, groupSizes as Array, params), zerosLike(lhs.aval));
    return [lax.convertElementType(pullback(g)[0] as Array, lhs.aval.dtype), null, null];
  }
  const [, pullback] = vjp((y: Array) => raggedDotValue(lhs as Array, y, groupSizes as Array, params), zerosLike((rhs as UndefPrimal).aval));
  return [null, lax.convertElementType(pullback(g)[0] as Array, (rhs as UndefPrimal).aval.dtype), null];
});

registerDecomposition(raggedDotGeneralP, (params, inAvals) => traceToJaxpr((lhs, rhs, groupSizes) => [raggedDotValue(lhs!, rhs!, groupSizes!, params)], inAvals, "ragged_dot_general"));

export interface RaggedDotOptions {
  preferredElementType?: DType | null;
}

function operands(name: string, lhs: unknown, rhs: unknown, groupSizes: unknown): void {
  for (const [what, x] of [["lhs", lhs], ["rhs", rhs], ["groupSizes", groupSizes]] as const) {
    if (!(x instanceof Array)) throw new ArgumentError(`${name}: ${what} must be an Array, got ${typeof x}`);
  }
}

/** `jax.lax.ragged_dot_general`. */
export function raggedDotGeneral(lhs: Array, rhs: Array, groupSizes: Array, dimensionNumbers: RaggedDotDimensionNumbers, options: RaggedDotOptions = {}): Array {
  operands("raggedDotGeneral", lhs, rhs, groupSizes);
  const preferred = options.preferredElementType ? checkDType(options.preferredElementType, "raggedDotGeneral: preferredElementType") : null;
  return bind1(raggedDotGeneralP, [lhs, rhs, groupSizes], { dimension_numbers: dimensionNumbers, preferred_element_type: preferred });
}

/** `jax.lax.ragged_dot`: `lhs [m, k]` by `rhs [g, k, n]` with rows grouped by `groupSizes [g]` → `[m, n]`. */
export function raggedDot(lhs: Array, rhs: Array, groupSizes: Array, options: RaggedDotOptions = {}): Array {
  operands("raggedDot", lhs, rhs, groupSizes);
  if (lhs.ndim !== 2 || rhs.ndim !== 3) throw new ShapeError(`raggedDot: expected lhs [m, k] and rhs [g, k, n], got lhs ${fmtShape(lhs.shape)} and rhs ${fmtShape(rhs.shape)}`);
  return raggedDotGeneral(lhs, rhs, groupSizes, { dotDimensionNumbers: [[[1], [1]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [0] }, options);
}
