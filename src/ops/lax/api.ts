/**
 * The `lax` namespace: the primitives, called directly (camelCase names; jaxprs keep JAX's names).
 * Operands must already agree in dtype; a JS number operand takes the dtype of the Array beside it.
 */
import { Array, type ArrayLike, scalarArray } from "../../core/array.js";
import { type DType, checkDType, intRange, isInteger } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import type { Primitive } from "../../core/primitive.js";
import { type Shape, normalizeAxis } from "../../core/shape.js";
import { bind, bind1 } from "../../trace/trace.js";
import { setZerosFactory } from "../../vjp/ad.js";
import { setBasisOp } from "../../vjp/jacobian.js";
import { setBatchOps } from "../../vmap/batching.js";
import { setCotangentAdder } from "../../vjp/transpose.js";
import * as dot from "./dot.js";
import * as ew from "./elementwise.js";
import * as ix from "./indexing.js";
import * as misc from "./misc.js";
import * as mv from "./movement.js";
import * as red from "./reduce.js";
import * as srt from "./sort.js";

type NoParams = Record<string, never>;
const none: NoParams = {};

/** Turns a JS scalar into a scalar of `dtype` (weakly typed by default); checks integers fit. */
export function scalarLike(value: number | boolean, dtype: DType, argument = "operand", weakType = true): Array {
  if (typeof value === "number" && isInteger(dtype)) {
    const [lo, hi] = intRange(dtype);
    if (!Number.isInteger(value)) {
      throw new ArgumentError(`${argument}: the non-integer ${value} cannot be used with a ${dtype} operand`);
    }
    if (value < lo || value > hi) throw new ArgumentError(`${argument}: the JS number ${value} is too large to convert to ${dtype}`);
  }
  return scalarArray(value, dtype, weakType);
}

/** Both operands as Arrays; a JS scalar takes the other operand's dtype. */
function operands(name: string, x: ArrayLike, y: ArrayLike): [Array, Array] {
  if (x instanceof Array && y instanceof Array) return [x, y];
  if (x instanceof Array) return [x, scalarLike(y as number | boolean, x.dtype, `${name}: y`)];
  if (y instanceof Array) return [scalarLike(x, y.dtype, `${name}: x`), y];
  throw new ArgumentError(`lax.${name}: at least one operand must be an Array`);
}


export const exp = (x: Array): Array => bind1(ew.expP, [x], none);
export const log = (x: Array): Array => bind1(ew.logP, [x], none);
export const log1p = (x: Array): Array => bind1(ew.log1pP, [x], none);
export const expm1 = (x: Array): Array => bind1(ew.expm1P, [x], none);
export const tanh = (x: Array): Array => bind1(ew.tanhP, [x], none);
export const logistic = (x: Array): Array => bind1(ew.logisticP, [x], none);
export const sin = (x: Array): Array => bind1(ew.sinP, [x], none);
export const cos = (x: Array): Array => bind1(ew.cosP, [x], none);
export const tan = (x: Array): Array => bind1(ew.tanP, [x], none);
export const asin = (x: Array): Array => bind1(ew.asinP, [x], none);
export const acos = (x: Array): Array => bind1(ew.acosP, [x], none);
export const atan = (x: Array): Array => bind1(ew.atanP, [x], none);
export const sinh = (x: Array): Array => bind1(ew.sinhP, [x], none);
export const cosh = (x: Array): Array => bind1(ew.coshP, [x], none);
export const sqrt = (x: Array): Array => bind1(ew.sqrtP, [x], none);
export const rsqrt = (x: Array): Array => bind1(ew.rsqrtP, [x], none);
export const erf = (x: Array): Array => bind1(ew.erfP, [x], none);
export const erfInv = (x: Array): Array => bind1(ew.erfInvP, [x], none);
export const floor = (x: Array): Array => bind1(ew.floorP, [x], none);
export const ceil = (x: Array): Array => bind1(ew.ceilP, [x], none);
export const neg = (x: Array): Array => bind1(ew.negP, [x], none);
export const abs = (x: Array): Array => bind1(ew.absP, [x], none);
export const sign = (x: Array): Array => bind1(ew.signP, [x], none);
export const bitwiseNot = (x: Array): Array => bind1(ew.notP, [x], none);
export const isFinite = (x: Array): Array => bind1(ew.isFiniteP, [x], none);
export const round = (x: Array, roundingMethod: 0 | 1 = RoundingMethod.AWAY_FROM_ZERO): Array =>
  bind1(ew.roundP, [x], { rounding_method: roundingMethod });
export const RoundingMethod = { AWAY_FROM_ZERO: 0, TO_NEAREST_EVEN: 1 } as const;

export const add = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.addP, operands(ew.addP.name, x, y), none);
export const sub = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.subP, operands(ew.subP.name, x, y), none);
export const mul = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.mulP, operands(ew.mulP.name, x, y), none);
export const div = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.divP, operands(ew.divP.name, x, y), none);
export const rem = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.remP, operands(ew.remP.name, x, y), none);
export const max = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.maxP, operands(ew.maxP.name, x, y), none);
export const min = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.minP, operands(ew.minP.name, x, y), none);
export const atan2 = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.atan2P, operands(ew.atan2P.name, x, y), none);
export const pow = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.powP, operands(ew.powP.name, x, y), none);
export const bitwiseAnd = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.andP, operands(ew.andP.name, x, y), none);
export const bitwiseOr = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.orP, operands(ew.orP.name, x, y), none);
export const bitwiseXor = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.xorP, operands(ew.xorP.name, x, y), none);
export const shiftLeft = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.shiftLeftP, operands(ew.shiftLeftP.name, x, y), none);
export const shiftRightLogical = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.shiftRightLogicalP, operands(ew.shiftRightLogicalP.name, x, y), none);
export const shiftRightArithmetic = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.shiftRightArithmeticP, operands(ew.shiftRightArithmeticP.name, x, y), none);
export const eq = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.eqP, operands(ew.eqP.name, x, y), none);
export const ne = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.neP, operands(ew.neP.name, x, y), none);
export const lt = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.ltP, operands(ew.ltP.name, x, y), none);
export const le = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.leP, operands(ew.leP.name, x, y), none);
export const gt = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.gtP, operands(ew.gtP.name, x, y), none);
export const ge = (x: ArrayLike, y: ArrayLike): Array => bind1(ew.geP, operands(ew.geP.name, x, y), none);

/** `clamp(min, x, max)`; JS number bounds take x's dtype. */
export const clamp = (min: ArrayLike, x: Array, max: ArrayLike): Array =>
  bind1(ew.clampP, [min instanceof Array ? min : scalarLike(min, x.dtype, "clamp: min"), x, max instanceof Array ? max : scalarLike(max, x.dtype, "clamp: max")], none);

export const integerPow = (x: Array, y: number): Array => bind1(ew.integerPowP, [x], { y });
export const square = (x: Array): Array => integerPow(x, 2);

/** `select_n(which, ...cases)`: `cases[which]` elementwise. */
export const selectN = (which: Array, ...cases: Array[]): Array => bind1(ew.selectNP, [which, ...cases], none);
/** `select(pred, onTrue, onFalse)`. */
export const select = (pred: Array, onTrue: Array, onFalse: Array): Array => selectN(pred, onFalse, onTrue);

export function convertElementType(x: ArrayLike, newDtype: DType, weakType = false): Array {
  const dtype = checkDType(newDtype, "convertElementType: newDtype");
  if (!(x instanceof Array)) return scalarArray(x, dtype, weakType);
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(ew.convertElementTypeP, [x], { new_dtype: dtype, weak_type: weakType });
}

export const bitcastConvertType = (x: Array, newDtype: DType): Array =>
  bind1(ew.bitcastConvertTypeP, [x], { new_dtype: checkDType(newDtype, "bitcastConvertType: newDtype") });

// ---- movement ------------------------------------------------------------------------------

/** Operations that would not change their operand return it unchanged, as JAX's lax does (no equation is staged). */
const isIdentity = (xs: readonly number[]): boolean => xs.every((v, i) => v === i);

export const broadcastInDim = (x: Array, shape: Shape, broadcastDimensions: readonly number[]): Array =>
  shape.length === x.ndim && shape.every((d, i) => d === x.shape[i]) && isIdentity(broadcastDimensions)
    ? x
    : bind1(mv.broadcastInDimP, [x], { shape: [...shape], broadcast_dimensions: [...broadcastDimensions] });

/** Prepends `sizes` as new leading axes. */
export const broadcast = (x: Array, sizes: Shape): Array =>
  broadcastInDim(x, [...sizes, ...x.shape], x.shape.map((_, i) => i + sizes.length));

export const reshape = (x: Array, newSizes: Shape): Array =>
  newSizes.length === x.ndim && newSizes.every((d, i) => d === x.shape[i]) ? x : bind1(mv.reshapeP, [x], { new_sizes: [...newSizes] });
export const transpose = (x: Array, permutation: readonly number[]): Array =>
  permutation.length === x.ndim && isIdentity(permutation) ? x : bind1(mv.transposeP, [x], { permutation: [...permutation] });
export const squeeze = (x: Array, dimensions: readonly number[]): Array =>
  bind1(mv.squeezeP, [x], { dimensions: dimensions.map((d) => normalizeAxis(d, x.ndim, "squeeze: dimensions")).sort((a, b) => a - b) });

/** Inserts unit axes at `dimensions` (positions in the result), as a broadcast_in_dim like JAX. */
export function expandDims(x: Array, dimensions: readonly number[]): Array {
  const rank = x.ndim + dimensions.length;
  const inserted = dimensions.map((d) => normalizeAxis(d, rank, "expandDims: dimensions"));
  const shape: number[] = [];
  const kept: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) {
    if (inserted.includes(i)) shape.push(1);
    else {
      kept.push(i);
      shape.push(x.shape[k++]!);
    }
  }
  return broadcastInDim(x, shape, kept);
}

export const rev = (x: Array, dimensions: readonly number[]): Array => bind1(mv.revP, [x], { dimensions: [...dimensions] });
export const concatenate = (operands: readonly Array[], dimension: number): Array =>
  bind1(mv.concatenateP, operands, { dimension: normalizeAxis(dimension, operands[0]?.ndim ?? 0, "concatenate: dimension") });
export const pad = (x: Array, paddingValue: ArrayLike, paddingConfig: readonly (readonly [number, number, number])[]): Array =>
  bind1(mv.padP, [x, paddingValue instanceof Array ? paddingValue : scalarLike(paddingValue, x.dtype, "pad: paddingValue")], {
    padding_config: paddingConfig.map((c) => [...c] as const),
  });
export const slice = (x: Array, startIndices: readonly number[], limitIndices: readonly number[], strides: readonly number[] | null = null): Array =>
  bind1(mv.sliceP, [x], { start_indices: [...startIndices], limit_indices: [...limitIndices], strides: strides ? [...strides] : null });

/** `slice` along one axis. */
export function sliceInDim(x: Array, start: number, limit: number, stride = 1, axis = 0): Array {
  const ax = normalizeAxis(axis, x.ndim, "sliceInDim: axis");
  const starts = x.shape.map((_, i) => (i === ax ? start : 0));
  const limits = x.shape.map((d, i) => (i === ax ? limit : d));
  const strides = x.shape.map((_, i) => (i === ax ? stride : 1));
  return slice(x, starts, limits, stride === 1 ? null : strides);
}

const indexScalars = (name: string, indices: readonly ArrayLike[]): Array[] =>
  indices.map((i) => (i instanceof Array ? i : scalarLike(i, "int32", `${name}: startIndices`)));

export const dynamicSlice = (x: Array, startIndices: readonly ArrayLike[], sliceSizes: Shape): Array =>
  bind1(mv.dynamicSliceP, [x, ...indexScalars("dynamicSlice", startIndices)], { slice_sizes: [...sliceSizes] });
export const dynamicUpdateSlice = (x: Array, update: Array, startIndices: readonly ArrayLike[]): Array =>
  bind1(mv.dynamicUpdateSliceP, [x, update, ...indexScalars("dynamicUpdateSlice", startIndices)], {});

export const iota = (dtype: DType, size: number): Array => broadcastedIota(dtype, [size], 0);
export const broadcastedIota = (dtype: DType, shape: Shape, dimension: number): Array =>
  bind1(mv.iotaP, [], { dtype: checkDType(dtype, "iota: dtype"), shape: [...shape], dimension: normalizeAxis(dimension, shape.length, "iota: dimension") });

// ---- indexing ------------------------------------------------------------------------------

export interface GatherOptions {
  mode?: ix.GatherScatterMode;
  fillValue?: number | null;
  indicesAreSorted?: boolean;
  uniqueIndices?: boolean;
}

export const gather = (operand: Array, indices: Array, dimensionNumbers: ix.GatherDimensionNumbers, sliceSizes: Shape, options: GatherOptions = {}): Array =>
  bind1(ix.gatherP, [operand, indices], {
    dimension_numbers: dimensionNumbers,
    slice_sizes: [...sliceSizes],
    mode: options.mode ?? "promise_in_bounds",
    fill_value: options.fillValue ?? (options.mode === "fill" ? ix.defaultFill(operand.dtype) : null),
    indices_are_sorted: options.indicesAreSorted ?? false,
    unique_indices: options.uniqueIndices ?? false,
  });

export const scatterAdd = (operand: Array, indices: Array, updates: Array, dimensionNumbers: ix.ScatterDimensionNumbers, options: GatherOptions = {}): Array =>
  bind1(ix.scatterAddP, [operand, indices, updates], {
    dimension_numbers: dimensionNumbers,
    update_jaxpr: ix.scalarAddJaxpr(operand.dtype),
    mode: options.mode ?? "fill",
    indices_are_sorted: options.indicesAreSorted ?? false,
    unique_indices: options.uniqueIndices ?? false,
  });

// ---- reductions ----------------------------------------------------------------------------

const reduceWith = (p: Primitive<red.ReduceParams>, x: Array, axes: readonly number[]): Array =>
  bind1(p, [x], { axes: axes.map((a) => normalizeAxis(a, x.ndim, `${p.name}: axes`)).sort((a, b) => a - b) });
export const reduceSum = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceSumP, x, axes);
export const reduceMax = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceMaxP, x, axes);
export const reduceMin = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceMinP, x, axes);
export const reduceProd = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceProdP, x, axes);
export const reduceAnd = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceAndP, x, axes);
export const reduceOr = (x: Array, axes: readonly number[]): Array => reduceWith(red.reduceOrP, x, axes);

export const argmax = (x: Array, axis: number, indexDtype: DType = "int32"): Array =>
  bind1(red.argmaxP, [x], { axes: [normalizeAxis(axis, x.ndim, "argmax: axis")], index_dtype: indexDtype });
export const argmin = (x: Array, axis: number, indexDtype: DType = "int32"): Array =>
  bind1(red.argminP, [x], { axes: [normalizeAxis(axis, x.ndim, "argmin: axis")], index_dtype: indexDtype });
export const cumsum = (x: Array, axis = 0, reverse = false): Array =>
  bind1(red.cumsumP, [x], { axis: normalizeAxis(axis, x.ndim, "cumsum: axis"), reverse });

// ---- dot, sort, misc -----------------------------------------------------------------------

export type { DotDimensionNumbers } from "./dot.js";

export const dotGeneral = (lhs: Array, rhs: Array, dimensionNumbers: dot.DotDimensionNumbers, options: { preferredElementType?: DType | null } = {}): Array =>
  bind1(dot.dotGeneralP, [lhs, rhs], {
    dimension_numbers: dimensionNumbers,
    preferred_element_type: options.preferredElementType ?? null,
  });

/** Vector/matrix products of rank-1 and rank-2 operands (`lax.dot`). */
export function dotProduct(lhs: Array, rhs: Array, options: { preferredElementType?: DType | null } = {}): Array {
  if (lhs.ndim < 1 || lhs.ndim > 2 || rhs.ndim < 1 || rhs.ndim > 2) {
    throw new ArgumentError(`lax.dot: operands must have rank 1 or 2, got lhs rank ${lhs.ndim} and rhs rank ${rhs.ndim}`);
  }
  return dotGeneral(lhs, rhs, [[[lhs.ndim - 1], [0]], [[], []]], options);
}

export interface SortOptions {
  dimension?: number;
  isStable?: boolean;
  numKeys?: number;
}

/** Sorts several operands together by the first `numKeys`; returns them all. */
export function sortMany(operands: readonly Array[], options: SortOptions = {}): Array[] {
  const rank = operands[0]?.ndim ?? 0;
  return bind(srt.sortP, operands, {
    dimension: normalizeAxis(options.dimension ?? -1, rank, "sort: dimension"),
    is_stable: options.isStable ?? true,
    num_keys: options.numKeys ?? 1,
  });
}
export const sort = (x: Array, options: SortOptions = {}): Array => sortMany([x], options)[0]!;
/** Sorts `values` by `keys`; returns [sortedKeys, sortedValues]. */
export const sortKeyVal = (keys: Array, values: Array, dimension = -1): [Array, Array] => {
  const [k, v] = sortMany([keys, values], { dimension });
  return [k!, v!];
};

/** The `k` largest entries along `axis` (the last by default) and their indices, largest first. */
export const topK = (x: Array, k: number, axis = -1): [Array, Array] => {
  const [values, indices] = bind(srt.topKP, [x], { k, axis: normalizeAxis(axis, x.ndim, "topK: axis") });
  return [values!, indices!];
};

export const stopGradient = (x: Array): Array => bind1(misc.stopGradientP, [x], none);

/** The threefry2x32 hash of counters (x0, x1) under key words (key0, key1), elementwise on uint32 arrays. */
export const threefry2x32 = (key0: Array, key1: Array, x0: Array, x1: Array): [Array, Array] => {
  const [a, b] = bind(misc.threefry2x32P, [key0, key1, x0, x1], none);
  return [a!, b!];
};

export { cond, foriLoop, scan, switchCase as switch, whileLoop } from "./control.js";
// After control.js: the rules modules register against its primitives.
import "./controlRules.js";
import "./controlBatch.js";

// The autodiff layer builds zeros, sums cotangents and Jacobian bases, and vmap moves batch axes, with these lax operations.
setZerosFactory((aval) => broadcastInDim(convertElementType(0, aval.dtype), aval.shape, []));
setCotangentAdder((x, y) => bind1(ew.addAnyP, [x, y], none));
setBatchOps({
  moveAxis: (x, from, to) => {
    const order = x.shape.map((_, i) => i).filter((i) => i !== from);
    order.splice(to, 0, from);
    return transpose(x, order);
  },
  broadcastAxis: (x, size, axis) => broadcastInDim(x, [...x.shape.slice(0, axis), size, ...x.shape.slice(axis)], x.shape.map((_, i) => (i < axis ? i : i + 1))),
  sumAxis: (x, axis) => reduceSum(x, [axis]),
});
setBasisOp((x) => {
  const n = x.size;
  const eye = convertElementType(eq(broadcastedIota("int32", [n, n], 0), broadcastedIota("int32", [n, n], 1)), x.dtype);
  return reshape(eye, [n, ...x.shape]);
});
