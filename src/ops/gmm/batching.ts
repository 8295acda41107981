/**
 * Batching rules (vmap) of gmm, tgmm and ragged_dot_general. No per-example loop: a batched grouped product is
 * one grouped product over all examples' rows (ragged batch mode).
 * - gmm with only lhs/existingOut batched interleaves the examples' rows, so each group keeps contiguous rows
 *   (its size times the batch).
 * - Otherwise the rows of every example are reordered by group with a counting sort (prefix sums of each row's
 *   group, then one scatter of the permutation): by (group, example) when the experts' weights are shared, by (example, group) when they are batched (the weights then
 *   hold batch × groups groups) and for tgmm (whose result is per example and group). Rows outside every group
 *   go last; the result is gathered back into each example's row order.
 * - ragged_dot_general's batch axis becomes one of its dot batch dims (groupSizes [batch, ..., g]), or a free
 *   dim when only one operand is batched and the group sizes are shared.
 */
import type { Array } from "../../core/array.js";
import { bind1 } from "../../trace/trace.js";
import { type BatchDim, defBatch, moveBatchAxis } from "../../vmap/batching.js";
import { takeRows } from "../lax/adUtil.js";
import { range } from "../lax/batchUtil.js";
import * as lax from "../lax/api.js";
import { checkP } from "../lax/check.js";
import { localRowGroups } from "./groups.js";
import { GROUP_SIZES_CHECK, type GmmParams, type TgmmParams, gmmP, tgmmP } from "./primitives.js";
import { type RaggedDotDimensionNumbers, modeOf, prefixDims, raggedDotGeneralP } from "./raggedDotGeneral.js";

const int32 = (x: Array | number): Array => lax.convertElementType(x, "int32");
const exampleShape = (x: Array, dim: BatchDim): number[] => x.shape.filter((_, a) => a !== dim);

interface RowOrder {
  /** The rows of the flattened batch [batch·m] in the order the grouped call reads them. */
  order: Array;
  /** Where each row of the flattened batch goes in that order (the inverse permutation). */
  position: Array;
  /** The grouped call's group sizes: [g] (groups shared) or [batch·g] (groups per example). */
  sizes: Array;
}

/** Exclusive prefix sums along axis 0. */
const before = (counts: Array): Array => lax.sub(lax.cumsum(counts, 0), counts);

/**
 * Orders all examples' rows by group, a counting sort: each row's position is the count of rows ordered before
 * it. `groupSizes [batch, G]` and `groupOffset [batch]` are each example's own; the call computes the local
 * groups 0…g-1 (global groups offset…offset+g-1). Per example, groups own increasing runs of rows, so ordering by
 * (example, group, row) keeps the flattened row order of the active rows.
 */
function orderRows(groupSizes: Array, groupOffset: Array, m: number, g: number, perExample: boolean): RowOrder {
  const batch = groupSizes.shape[0]!;
  const total = batch * m;
  const local = lax.reshape(lax.sub(localRowGroups(groupSizes, int32(0), m), lax.broadcastInDim(int32(groupOffset), [batch, m], [0])), [total]);
  const owned = int32(lax.eq(lax.broadcastInDim(local, [total, g], [0]), lax.broadcastedIota("int32", [total, g], 1)));
  const active = lax.reduceSum(owned, [1]);
  const inactive = lax.sub(1, active);
  const perGroup = lax.reduceSum(owned, [0]);
  const activePosition = perExample
    ? before(active)
    : lax.reduceSum(lax.mul(owned, lax.add(before(owned), lax.broadcastInDim(before(perGroup), [total, g], [1]))), [1]);
  const position = lax.select(lax.gt(active, 0), activePosition, lax.add(before(inactive), lax.reduceSum(active, [0])));
  const order = lax.scatterAdd(lax.broadcastInDim(int32(0), [total], []), lax.reshape(position, [total, 1]), lax.iota("int32", total), {
    update_window_dims: [],
    inserted_window_dims: [0],
    scatter_dims_to_operand_dims: [0],
    operand_batching_dims: [],
    scatter_indices_batching_dims: [],
  });
  const sizes = perExample ? lax.reshape(lax.reduceSum(lax.reshape(owned, [batch, m, g]), [1]), [batch * g]) : perGroup;
  return { order, position, sizes: lax.convertElementType(sizes, groupSizes.dtype) };
}

/** groupSizes batched at the front, checked per example when the call asks for it. */
function frontGroupSizes(name: string, groupSizes: Array, dim: BatchDim, size: number, m: number, check: boolean): Array {
  const sizes = moveBatchAxis(groupSizes, dim, 0, size);
  return check ? bind1(checkP, [sizes, sizes], { check: GROUP_SIZES_CHECK, args: [name, m], batch: size }) : sizes;
}

defBatch(gmmP, ([lhs, rhs, groupSizes, groupOffset, existingOut], [dl, dr, dg, doff, de], params: GmmParams, size) => {
  const withExisting = (xs: Array[], e: Array | undefined): Array[] => (e ? [...xs, e] : xs);
  const [m, k] = exampleShape(lhs!, dl!) as [number, number];
  const [g, ...matrix] = exampleShape(rhs!, dr!) as [number, number, number];
  const n = matrix[params.transpose_rhs ? 0 : 1]!;
  if (dr === null && dg === null && doff === null) {
    // Interleaved rows [m, batch]: row i of every example is in row i's group, whose size grows by the batch.
    const rows = lax.reshape(moveBatchAxis(lhs!, dl!, 1, size), [m * size, k]);
    const existing = existingOut && lax.reshape(moveBatchAxis(existingOut, de!, 1, size), [m * size, n]);
    const checked = params.check_group_sizes ? bind1(checkP, [groupSizes!, groupSizes!], { check: GROUP_SIZES_CHECK, args: ["gmm", m] }) : groupSizes!;
    const sizes = lax.mul(checked, lax.convertElementType(size, groupSizes!.dtype));
    const out = bind1(gmmP, withExisting([rows, rhs!, sizes, groupOffset!], existing), { ...params, check_group_sizes: false });
    return [[lax.reshape(out, [m, size, n])], [1]];
  }
  const sizes = frontGroupSizes("gmm", groupSizes!, dg!, size, m, params.check_group_sizes);
  const { order, position, sizes: grouped } = orderRows(sizes, moveBatchAxis(groupOffset!, doff!, 0, size), m, g, dr !== null);
  const rows = takeRows(lax.reshape(moveBatchAxis(lhs!, dl!, 0, size), [size * m, k]), order);
  const weights = dr === null ? rhs! : lax.reshape(moveBatchAxis(rhs!, dr, 0, size), [size * g, ...matrix]);
  const existing = existingOut && takeRows(lax.reshape(moveBatchAxis(existingOut, de!, 0, size), [size * m, n]), order);
  const out = bind1(gmmP, withExisting([rows, weights, grouped, lax.convertElementType(0, groupOffset!.dtype)], existing), { ...params, check_group_sizes: false });
  return [[lax.reshape(takeRows(out, position), [size, m, n])], [0]];
});

defBatch(tgmmP, ([lhs, rhs, groupSizes, groupOffset, existingOut], [dl, dr, dg, doff, de], params: TgmmParams, size) => {
  const [k, m] = exampleShape(lhs!, dl!) as [number, number];
  const n = exampleShape(rhs!, dr!)[1]!;
  const g = params.num_actual_groups;
  const sizes = frontGroupSizes("tgmm", groupSizes!, dg!, size, m, params.check_group_sizes);
  const { order, sizes: grouped } = orderRows(sizes, moveBatchAxis(groupOffset!, doff!, 0, size), m, g, true);
  const columns = lax.transpose(takeRows(lax.reshape(lax.transpose(moveBatchAxis(lhs!, dl!, 0, size), [0, 2, 1]), [size * m, k]), order), [1, 0]);
  const rows = takeRows(lax.reshape(moveBatchAxis(rhs!, dr!, 0, size), [size * m, n]), order);
  const existing = existingOut && lax.reshape(moveBatchAxis(existingOut, de!, 0, size), [size * g, k, n]);
  const operands = [columns, rows, grouped, lax.convertElementType(0, groupOffset!.dtype)];
  const out = bind1(tgmmP, existing ? [...operands, existing] : operands, { ...params, num_actual_groups: size * g, check_group_sizes: false });
  return [[lax.reshape(out, [size, g, k, n])], [0]];
});

// ---- ragged_dot_general ------------------------------------------------------------------------------

const shiftAxes = (axes: readonly number[], dim: number): number[] => axes.map((a) => (a < dim ? a : a + 1));

defBatch(raggedDotGeneralP, ([lhs, rhs, groupSizes], [dl, dr, dg], params, size) => {
  const dn = params.dimension_numbers;
  const [[lc, rc], [lb, rb]] = dn.dotDimensionNumbers;
  const ragged = dn.lhsRaggedDimensions[0]!;
  const contracting = lc.includes(ragged);
  const lead = (contracting ? 1 : 0) + lb.length;
  if (dg === null && groupSizes!.ndim === 1 && (dl === null || dr === null)) {
    // Shared group sizes and one batched operand: its batch axis is one more free dim of the product.
    if (dl !== null) {
      const numbers: RaggedDotDimensionNumbers = {
        dotDimensionNumbers: [[shiftAxes(lc, dl), rc], [shiftAxes(lb, dl), rb]],
        lhsRaggedDimensions: shiftAxes([ragged], dl),
        rhsGroupDimensions: dn.rhsGroupDimensions,
      };
      const [c, b] = numbers.dotDimensionNumbers.map((pair) => pair[0]);
      const free = range(lhs!.ndim).filter((a) => !c!.includes(a) && !b!.includes(a));
      return [[bind1(raggedDotGeneralP, [lhs!, rhs!, groupSizes!], { ...params, dimension_numbers: numbers })], [lead + free.indexOf(dl)]];
    }
    const numbers: RaggedDotDimensionNumbers = {
      dotDimensionNumbers: [[lc, shiftAxes(rc, dr!)], [lb, shiftAxes(rb, dr!)]],
      lhsRaggedDimensions: dn.lhsRaggedDimensions,
      rhsGroupDimensions: shiftAxes(dn.rhsGroupDimensions, dr!),
    };
    const [[, c], [, b]] = numbers.dotDimensionNumbers;
    const free = range(rhs!.ndim).filter((a) => !c.includes(a) && !b.includes(a) && !numbers.rhsGroupDimensions.includes(a));
    const lhsFree = lhs!.ndim - lc.length - lb.length;
    return [[bind1(raggedDotGeneralP, [lhs!, rhs!, groupSizes!], { ...params, dimension_numbers: numbers })], [lead + lhsFree + free.indexOf(dr!)]];
  }
  // Otherwise the batch axis is the first dot batch dim of both operands, and the first prefix dim of groupSizes.
  const up = (axes: readonly number[]): number[] => axes.map((a) => a + 1);
  const numbers: RaggedDotDimensionNumbers = {
    dotDimensionNumbers: [
      [up(lc), up(rc)],
      [
        [0, ...up(lb)],
        [0, ...up(rb)],
      ],
    ],
    lhsRaggedDimensions: up(dn.lhsRaggedDimensions),
    rhsGroupDimensions: up(dn.rhsGroupDimensions),
  };
  const x = moveBatchAxis(lhs!, dl!, 0, size);
  const y = moveBatchAxis(rhs!, dr!, 0, size);
  // groupSizes [batch, ...prefix, g]: the batch axis leads the lhs prefix dims.
  const exampleRank = lhs!.ndim - (dl === null ? 0 : 1);
  const prefixSizes = prefixDims(modeOf(ragged, dn.dotDimensionNumbers), exampleRank, ragged, dn.dotDimensionNumbers).map((a) => x.shape[a + 1]!);
  const g = exampleShape(groupSizes!, dg!).at(-1)!;
  const frontSizes = moveBatchAxis(groupSizes!, dg!, 0, size);
  const shape = [size, ...prefixSizes, g];
  const sizes = lax.broadcastInDim(frontSizes, shape, frontSizes.ndim === 2 ? [0, shape.length - 1] : range(shape.length));
  return [[bind1(raggedDotGeneralP, [x, y, sizes], { ...params, dimension_numbers: numbers })], [contracting ? 1 : 0]];
});
