/**
 * The public `gmm` and `tgmm`: options resolved (tiling tuples or a tiling function, defaults), checks of
 * what is known before the call (concrete group sizes and offset), the backend asked whether it can serve the
 * call, then the primitive bound with the backend's name.
 */
import { Array, ArrayImpl, scalarArray } from "../../core/array.js";
import { type DType, checkDType, isInteger } from "../../core/dtype.js";
import { ShapedArray } from "../../core/aval.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { QArray } from "../../core/qarray.js";
import type { HostData } from "../../core/hostData.js";
import * as lax from "../lax/api.js";
import { type GmmBackend, type GmmRequest, type Tiles, checkSupported, resolveGmmBackend } from "./backend.js";
import { REFERENCE_BACKEND, checkGroupSizeValues, gmmDims } from "./primitives.js";
import { bindGmm, bindTgmm } from "./rules.js";

/** A tiling function (a lookup table): the tiles (tm, tk, tn) for a product of [m, k] by [k, n], or nothing. */
export type TilingFunction = (m: number, k: number, n: number) => readonly number[] | null | undefined;

/**
 * gmm: 9 entries (forward tm, tk, tn, then dlhs, then drhs), or 3 used for all three, or a function called
 * with the dims of each product (forward (m, k, n), dlhs (m, n, k), drhs (m, k, n)). tgmm: 3 entries or a function.
 */
export type Tiling = readonly number[] | TilingFunction;

interface CommonOptions {
  /** The first group this call computes (a scalar; an Array may be traced). Default 0. */
  groupOffset?: number | Array;
  preferredElementType?: DType;
  tiling?: Tiling;
  /**
   * A registered backend's name (`gmmBackends()`) or a backend object: a registered one, or a composite one such
   * as `quant.quantized(getGmmBackend("wgsl"), rule)`. Default "reference".
   */
  backend?: string | GmmBackend;
  /**
   * Inside jit, check that no group size is negative and that they sum to at most m when the call runs: on the
   * interpreter and the cpu device the call then throws, on webgpu the sizes are read back after the call and
   * the next read throws (the kernels stay the same; the sizes are one more output). Not inside loop bodies on
   * the kernel devices. Concrete sizes are always checked before the call. Without it, traced sizes are used as
   * they are: a negative size counts as 0 and rows past m are dropped.
   */
  checkGroupSizes?: boolean;
}

export interface GmmOptions extends CommonOptions {
  /** rhs is [g, n, k] instead of [g, k, n]. */
  transposeRhs?: boolean;
  /** [m, n] of dtype preferredElementType: the values of the rows outside this call's groups (else 0). */
  existingOut?: Array;
}

export interface TgmmOptions extends CommonOptions {
  /** The number of groups computed from groupOffset on (the result's leading dim); default all of them. */
  numActualGroups?: number;
  /** [numActualGroups, k, n] of dtype preferredElementType, added to the result. */
  existingOut?: Array;
}

const DEFAULT_TILES: Tiles = [128, 128, 128];

function tilesOf(name: string, tiles: readonly number[] | null | undefined, what: string): Tiles {
  if (!globalThis.Array.isArray(tiles)) throw new ArgumentError(`${name}: the tiling function found no tiles for ${what} (it returned ${String(tiles)})`);
  if (tiles.length !== 3 || !tiles.every((t) => Number.isInteger(t) && t > 0)) {
    throw new ArgumentError(`${name}: tiles for ${what} must be three positive integers (tm, tk, tn), got ${JSON.stringify(tiles)}`);
  }
  return [tiles[0]!, tiles[1]!, tiles[2]!];
}

/** The forward, dlhs and drhs tiles of a gmm of [m, k] by [k, n]. */
export function resolveGmmTiling(tiling: Tiling | undefined, m: number, k: number, n: number): [Tiles, Tiles, Tiles] {
  const dims = (a: number, b: number, c: number): string => `(m, k, n) = (${a}, ${b}, ${c})`;
  if (tiling === undefined) return [DEFAULT_TILES, DEFAULT_TILES, DEFAULT_TILES];
  if (typeof tiling === "function") return [tilesOf("gmm", tiling(m, k, n), dims(m, k, n)), tilesOf("gmm", tiling(m, n, k), dims(m, n, k)), tilesOf("gmm", tiling(m, k, n), dims(m, k, n))];
  if (tiling.length === 3) return [tilesOf("gmm", tiling, "tiling"), tilesOf("gmm", tiling, "tiling"), tilesOf("gmm", tiling, "tiling")];
  if (tiling.length !== 9) throw new ArgumentError(`gmm: tiling must have 9 entries (forward, dlhs and drhs tm, tk, tn) or 3, got ${JSON.stringify(tiling)}`);
  return [tilesOf("gmm", tiling.slice(0, 3), "the forward tiling"), tilesOf("gmm", tiling.slice(3, 6), "the dlhs tiling"), tilesOf("gmm", tiling.slice(6, 9), "the drhs tiling")];
}

function resolveTgmmTiling(tiling: Tiling | undefined, m: number, k: number, n: number): Tiles {
  if (tiling === undefined) return DEFAULT_TILES;
  if (typeof tiling === "function") return tilesOf("tgmm", tiling(m, k, n), `(m, k, n) = (${m}, ${k}, ${n})`);
  return tilesOf("tgmm", tiling, "tiling");
}

/** The data of an array whose values are known now (not traced, on the host), else undefined. */
const knownData = (x: Array): HostData | undefined => (x instanceof ArrayImpl && !x.disposed && x.buffer.readSync ? x.dataSync() : undefined);

function checkGroupSizesArg(name: string, groupSizes: unknown): Array {
  if (!(groupSizes instanceof Array)) throw new ArgumentError(`${name}: groupSizes must be an integer Array, got ${typeof groupSizes}`);
  if (groupSizes.ndim !== 1 || !isInteger(groupSizes.dtype)) throw new DTypeError(`${name}: groupSizes must be a 1-D integer array [numGroups], got ${groupSizes.aval.toString()}`);
  return groupSizes;
}

/** Checks concrete sizes (non-negative, summing to at most m) and a concrete offset (window inside the groups). */
function checkKnownValues(name: string, groupSizes: Array, groupOffset: Array, m: number, numGroups: number): void {
  const sizes = knownData(groupSizes);
  if (sizes) checkGroupSizeValues(name, sizes, m);
  const offset = knownData(groupOffset)?.[0];
  const g = groupSizes.shape[0]!;
  // More groups than groupSizes has is the shape rule's error, raised when the primitive is bound.
  if (offset !== undefined && numGroups <= g && (offset < 0 || offset + numGroups > g)) {
    throw new ArgumentError(`${name}: groupOffset + the number of groups computed must lie in [0, ${g}] (groupSizes has ${g} groups), got groupOffset ${offset} with ${numGroups} groups`);
  }
}

function groupOffsetArg(name: string, groupOffset: number | Array | undefined): Array {
  if (groupOffset === undefined) return scalarArray(0, "int32");
  if (typeof groupOffset === "number") {
    if (!Number.isInteger(groupOffset)) throw new ArgumentError(`${name}: groupOffset must be an integer, got ${groupOffset}`);
    return scalarArray(groupOffset, "int32");
  }
  if (!(groupOffset instanceof Array) || !isInteger(groupOffset.dtype) || groupOffset.size !== 1 || groupOffset.ndim > 1) {
    throw new ArgumentError(`${name}: groupOffset must be an integer scalar (shape () or (1,)), got ${groupOffset instanceof Array ? groupOffset.aval.toString() : typeof groupOffset}`);
  }
  return lax.convertElementType(lax.reshape(groupOffset, []), "int32");
}

const defaultOutput = (lhs: Operand): DType => (lhs.dtype === "float64" ? "float64" : "float32");

/** An operand: an Array, or, for a composite backend that takes them (quant.quantized's), a QArray. */
type Operand = Array | QArray;

/** The operand's type as the checks see it: a QArray's logical shape and the dtype it dequantizes to. */
const avalOf = (x: Operand): ShapedArray => (x instanceof QArray ? new ShapedArray(x.shape, x.dtype) : x.aval);

function operandsOf(name: string, lhs: unknown, rhs: unknown): [Operand, Operand] {
  for (const [argument, x] of [["lhs", lhs], ["rhs", rhs]] as const) {
    if (!(x instanceof Array) && !(x instanceof QArray)) throw new ArgumentError(`${name}: ${argument} must be an Array (or a QArray, with a quantized backend), got ${typeof x}`);
  }
  return [lhs as Operand, rhs as Operand];
}

/** Operands go to the backend as they are when it is composite; QArrays are refused by the others. */
function plainOperands(name: string, backend: GmmBackend, lhs: Operand, rhs: Operand): [Array, Array] {
  if (!backend.composite && (lhs instanceof QArray || rhs instanceof QArray)) {
    throw new ArgumentError(`${name}: backend '${backend.name}' takes Arrays; a QArray operand needs a quantized backend (quant.quantized(backend, rule))`);
  }
  return [lhs as Array, rhs as Array];
}

/**
 * Grouped matmul: `lhs [m, k]` by `rhs [G, k, n]` (`[G, n, k]` with `transposeRhs`) → `[m, n]`. Rows belong to
 * groups in order of `groupSizes [g]`; a row of group `groupOffset + j` (j < G) is multiplied by `rhs[j]`, every
 * other row is 0, or keeps `existingOut`'s values. Accumulates in float32 (float64 for float64 operands) and
 * rounds once to `preferredElementType` (default float32, float64 for float64 operands).
 */
export function gmm(lhsArg: Operand, rhsArg: Operand, groupSizes: Array, options: GmmOptions = {}): Array {
  const [lhs, rhs] = operandsOf("gmm", lhsArg, rhsArg);
  groupSizes = checkGroupSizesArg("gmm", groupSizes);
  if (lhs.ndim !== 2) throw new ShapeError(`gmm: lhs must have rank 2 ([m, k]), got shape ${fmtShape(lhs.shape)}`);
  if (rhs.ndim !== 3) throw new ShapeError(`gmm: rhs must have rank 3 ([g, k, n], or [g, n, k] with transposeRhs), got shape ${fmtShape(rhs.shape)}`);
  const transposeRhs = options.transposeRhs ?? false;
  const [m, k, n, numGroups] = gmmDims(avalOf(lhs), avalOf(rhs), transposeRhs);
  const groupOffset = groupOffsetArg("gmm", options.groupOffset);
  checkKnownValues("gmm", groupSizes, groupOffset, m, numGroups);
  const [tiling, dlhsTiling, drhsTiling] = resolveGmmTiling(options.tiling, m, k, n);
  const preferredElementType = checkDType(options.preferredElementType ?? defaultOutput(lhs), "gmm: preferredElementType");
  const backend = resolveGmmBackend(options.backend ?? REFERENCE_BACKEND, "gmm");
  const request: GmmRequest = { op: "gmm", lhs: avalOf(lhs), rhs: avalOf(rhs), groupSizes: groupSizes.aval, preferredElementType, tiling, transposeRhs, hasExistingOut: options.existingOut !== undefined };
  checkSupported(backend, request);
  const call = { groupOffset, existingOut: options.existingOut, transposeRhs, preferredElementType, tiling, dlhsTiling, drhsTiling, checkGroupSizes: options.checkGroupSizes };
  const [l, r] = plainOperands("gmm", backend, lhs, rhs);
  return backend.composite ? backend.gmm(l, r, groupSizes, call) : bindGmm(l, r, groupSizes, call, backend.name);
}

/**
 * Transposed grouped matmul (gmm's weight gradient): `lhs [k, m]` by `rhs [m, n]` → `[numActualGroups, k, n]`,
 * slice j being `lhs[:, rows] @ rhs[rows, :]` over the rows of group `groupOffset + j` (zeros for an empty
 * group), plus `existingOut` when given.
 */
export function tgmm(lhsArg: Operand, rhsArg: Operand, groupSizes: Array, options: TgmmOptions = {}): Array {
  const [lhs, rhs] = operandsOf("tgmm", lhsArg, rhsArg);
  groupSizes = checkGroupSizesArg("tgmm", groupSizes);
  if (lhs.ndim !== 2) throw new ShapeError(`tgmm: lhs must have rank 2 ([k, m]), got shape ${fmtShape(lhs.shape)}`);
  if (rhs.ndim !== 2) throw new ShapeError(`tgmm: rhs must have rank 2 ([m, n]), got shape ${fmtShape(rhs.shape)}`);
  const [k, m] = lhs.shape as [number, number];
  const numActualGroups = options.numActualGroups ?? groupSizes.shape[0]!;
  const groupOffset = groupOffsetArg("tgmm", options.groupOffset);
  checkKnownValues("tgmm", groupSizes, groupOffset, m, numActualGroups);
  const tiling = resolveTgmmTiling(options.tiling, m, k, rhs.shape[1]!);
  const preferredElementType = checkDType(options.preferredElementType ?? defaultOutput(lhs), "tgmm: preferredElementType");
  const backend = resolveGmmBackend(options.backend ?? REFERENCE_BACKEND, "tgmm");
  const request: GmmRequest = { op: "tgmm", lhs: avalOf(lhs), rhs: avalOf(rhs), groupSizes: groupSizes.aval, preferredElementType, tiling, transposeRhs: false, hasExistingOut: options.existingOut !== undefined };
  checkSupported(backend, request);
  const call = { groupOffset, existingOut: options.existingOut, numActualGroups, preferredElementType, tiling, checkGroupSizes: options.checkGroupSizes };
  const [l, r] = plainOperands("tgmm", backend, lhs, rhs);
  return backend.composite ? backend.tgmm(l, r, groupSizes, call) : bindTgmm(l, r, groupSizes, call, backend.name);
}
