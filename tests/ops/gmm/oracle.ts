/** Float64 per-row oracles of gmm and tgmm (spec §A/§B), independent of the library's implementations. */

/** The owning group of each of m rows (groupSizes.length for rows past every group); negative sizes count as 0. */
export function rowGroups(groupSizes: readonly number[], m: number): number[] {
  const owners: number[] = [];
  groupSizes.forEach((s, j) => {
    for (let i = 0; i < Math.max(0, s); i++) owners.push(j);
  });
  while (owners.length < m) owners.push(groupSizes.length);
  return owners.slice(0, m);
}

export interface GmmCase {
  m: number;
  k: number;
  n: number;
  /** The local groups this call computes (rhs.shape[0]). */
  groups: number;
  groupSizes: number[];
  groupOffset: number;
  transposeRhs: boolean;
}

/** out [m, n] of gmm; inactive rows are 0 or `existing`'s. */
export function gmmOracle(c: GmmCase, lhs: ArrayLike<number>, rhs: ArrayLike<number>, existing?: ArrayLike<number>): Float64Array {
  const { m, k, n, groups } = c;
  const owners = rowGroups(c.groupSizes, m);
  const out = new Float64Array(m * n);
  for (let r = 0; r < m; r++) {
    const j = owners[r]! - c.groupOffset;
    for (let col = 0; col < n; col++) {
      if (j < 0 || j >= groups) {
        out[r * n + col] = existing ? existing[r * n + col]! : 0;
        continue;
      }
      let acc = 0;
      for (let t = 0; t < k; t++) acc += lhs[r * k + t]! * rhs[c.transposeRhs ? (j * n + col) * k + t : (j * k + t) * n + col]!;
      out[r * n + col] = acc;
    }
  }
  return out;
}

/** out [groups, k, n] of tgmm for lhs [k, m], rhs [m, n], plus `existing`. */
export function tgmmOracle(c: Omit<GmmCase, "transposeRhs">, lhs: ArrayLike<number>, rhs: ArrayLike<number>, existing?: ArrayLike<number>): Float64Array {
  const { m, k, n, groups } = c;
  const owners = rowGroups(c.groupSizes, m);
  const out = new Float64Array(groups * k * n);
  if (existing) out.set(Array.from(existing));
  for (let r = 0; r < m; r++) {
    const j = owners[r]! - c.groupOffset;
    if (j < 0 || j >= groups) continue;
    for (let a = 0; a < k; a++) for (let b = 0; b < n; b++) out[(j * k + a) * n + b] += lhs[a * m + r]! * rhs[r * n + b]!;
  }
  return out;
}
