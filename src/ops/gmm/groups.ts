/**
 * Which group each row belongs to. Groups own consecutive rows in order of `groupSizes`; rows past the last
 * group belong to none. A negative size counts as 0 and rows past `m` are dropped (the documented behaviour
 * for unchecked data-dependent sizes). One definition on the host (reference implementation) and one in lax
 * operations (decompositions, the masks of the VJP), so both agree.
 */
import type { Array } from "../../core/array.js";
import type { HostData } from "../../core/hostData.js";
import * as lax from "../lax/api.js";

/** The owning group of each of `m` rows (`groupSizes.length` for rows past every group). */
export function hostRowGroups(groupSizes: HostData, m: number): Int32Array {
  const owners = new Int32Array(m);
  let row = 0;
  for (let j = 0; j < groupSizes.length && row < m; j++) {
    const end = Math.min(m, row + Math.max(0, groupSizes[j]!));
    owners.fill(j, row, end);
    row = end;
  }
  owners.fill(groupSizes.length, row);
  return owners;
}

/**
 * int32 [..., m]: the owning group of each row minus `groupOffset`, the index into this call's `G` local groups.
 * The leading dims of `groupSizes [..., g]` are batch dims, each index with its own groups.
 */
export function localRowGroups(groupSizes: Array, groupOffset: Array, m: number): Array {
  const batch = groupSizes.shape.slice(0, -1);
  const b = batch.length;
  const shape = [...batch, m, groupSizes.shape[b]!];
  const ends = lax.cumsum(lax.max(lax.convertElementType(groupSizes, "int32"), 0), b);
  const passed = lax.le(lax.broadcastInDim(ends, shape, [...batch.keys(), b + 1]), lax.broadcastedIota("int32", shape, b));
  return lax.sub(lax.reduceSum(lax.convertElementType(passed, "int32"), [b + 1]), lax.convertElementType(groupOffset, "int32"));
}

/** bool [m]: rows owned by one of the groups `groupOffset … groupOffset + numGroups - 1`. */
export function activeRows(groupSizes: Array, groupOffset: Array, numGroups: number, m: number): Array {
  const local = localRowGroups(groupSizes, groupOffset, m);
  return lax.bitwiseAnd(lax.ge(local, 0), lax.lt(local, numGroups));
}

/** A zero of `dtype` broadcast to `shape`. */
export const zeros = (shape: readonly number[], dtype: Array["dtype"]): Array => lax.broadcastInDim(lax.convertElementType(0, dtype), shape, []);
