/**
 * Seeded property test: 200 random shapes, group splits (empty groups, sums below m), offsets, transposeRhs and
 * existingOut per backend and for tgmm, against the float64 oracle. Shapes come from a small pool so the kernel
 * device compiles few programs; the group splits are data and vary in every case.
 */
import { describe, it } from "vitest";
import { type Array as A, gmm, numpy as np, tgmm } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { gmmOracle, tgmmOracle } from "./oracle.js";

const CASES = 200;
const SHAPES = [
  { m: 1, k: 1, n: 1, g: 1, groups: 1 },
  { m: 7, k: 3, n: 5, g: 3, groups: 3 },
  { m: 16, k: 9, n: 4, g: 5, groups: 2 },
  { m: 13, k: 17, n: 6, g: 8, groups: 8 },
  { m: 5, k: 2, n: 3, g: 9, groups: 4 },
];

/** Random sizes for g groups summing to at most m (some empty, sometimes short of m). */
function split(next: () => number, m: number, g: number): number[] {
  const total = next() < 0.3 ? Math.floor(next() * (m + 1)) : m;
  const cuts = Array.from({ length: g - 1 }, () => Math.floor(next() * (total + 1))).sort((a, b) => a - b);
  return [...cuts, total].map((c, i) => c - (i === 0 ? 0 : cuts[i - 1]!));
}

describe.each(["reference", "ragged-dot"])("random gmm and tgmm calls on the %s backend", (backend) => {
  it(`${CASES} gmm calls`, () => {
    const next = rng(6000);
    for (let i = 0; i < CASES; i++) {
      const { m, k, n, g, groups } = SHAPES[i % SHAPES.length]!;
      const groupSizes = split(next, m, g);
      const groupOffset = Math.floor(next() * (g - groups + 1));
      const transposeRhs = next() < 0.5;
      const lhs = randomArray(next, [m, k]);
      const rhs = randomArray(next, transposeRhs ? [groups, n, k] : [groups, k, n]);
      const existingOut = next() < 0.3 ? randomArray(next, [m, n]) : undefined;
      const out = gmm(lhs, rhs, np.array(groupSizes, { dtype: "int32" }), { backend, groupOffset, transposeRhs, existingOut });
      const expected = gmmOracle({ m, k, n, groups, groupSizes, groupOffset, transposeRhs }, lhs.dataSync(), rhs.dataSync(), existingOut?.dataSync());
      expectClose(out.dataSync(), expected, 1e-5, 1e-5);
    }
  });

  it(`${CASES} tgmm calls`, () => {
    const next = rng(7000);
    for (let i = 0; i < CASES; i++) {
      const { m, k, n, g, groups } = SHAPES[i % SHAPES.length]!;
      const groupSizes = split(next, m, g);
      const groupOffset = Math.floor(next() * (g - groups + 1));
      const [lhs, rhs] = [randomArray(next, [k, m]), randomArray(next, [m, n])];
      const existingOut: A | undefined = next() < 0.3 ? randomArray(next, [groups, k, n]) : undefined;
      const out = tgmm(lhs, rhs, np.array(groupSizes, { dtype: "int32" }), { backend, groupOffset, numActualGroups: groups, existingOut });
      expectClose(out.dataSync(), tgmmOracle({ m, k, n, groups, groupSizes, groupOffset }, lhs.dataSync(), rhs.dataSync(), existingOut?.dataSync()), 1e-5, 1e-5);
    }
  });
});
