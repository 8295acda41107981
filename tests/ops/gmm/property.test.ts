/**
 * Seeded property test: 200 random shapes, group splits (empty groups, sums below m), offsets, transposeRhs and
 * existingOut per backend and for tgmm, against the float64 oracle. Shapes come from a small pool and the cases
 * of one shape run as one function (one jit program on a kernel backend's device, so the software GPU compiles
 * few programs); the group splits are data and vary in every case.
 */
import { describe, it } from "vitest";
import { type Array as A, gmm, numpy as np, tgmm } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { BACKENDS, runOn } from "./backends.js";
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

/** The cases of one shape run as one function of all their operands: under jit, one program per shape. */
async function runBatched<C>(backend: string, cases: C[], operands: (c: C) => A[], call: (c: C, xs: A[]) => A, expected: (c: C, xs: A[]) => Float64Array): Promise<void> {
  for (let shape = 0; shape < SHAPES.length; shape++) {
    const mine = cases.filter((_, i) => i % SHAPES.length === shape);
    const counts = mine.map((c) => operands(c).length);
    const args = mine.flatMap(operands);
    const slices = (xs: A[]): A[][] => counts.map((n, i) => xs.slice(counts.slice(0, i).reduce((a, b) => a + b, 0), counts.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    const outs = await runOn(backend, (...xs: A[]) => slices(xs).map((x, i) => call(mine[i]!, x)), ...args);
    slices(args).forEach((x, i) => expectClose(outs[i]!.dataSync(), expected(mine[i]!, x), 1e-5, 1e-5));
  }
}

describe.each(BACKENDS)("random gmm and tgmm calls on the %s backend", (backend) => {
  it(`${CASES} gmm calls`, async () => {
    const next = rng(6000);
    const cases = Array.from({ length: CASES }, (_, i) => {
      const { m, k, n, g, groups } = SHAPES[i % SHAPES.length]!;
      const groupSizes = split(next, m, g);
      const groupOffset = Math.floor(next() * (g - groups + 1));
      const transposeRhs = next() < 0.5;
      const lhs = randomArray(next, [m, k]);
      const rhs = randomArray(next, transposeRhs ? [groups, n, k] : [groups, k, n]);
      const existingOut = next() < 0.3 ? randomArray(next, [m, n]) : undefined;
      return { m, k, n, groups, groupSizes, groupOffset, transposeRhs, operands: [lhs, rhs, np.array(groupSizes, { dtype: "int32" }), ...(existingOut ? [existingOut] : [])] };
    });
    await runBatched(
      backend,
      cases,
      (c) => c.operands,
      (c, [lhs, rhs, sizes, existingOut]) => gmm(lhs!, rhs!, sizes!, { backend, groupOffset: c.groupOffset, transposeRhs: c.transposeRhs, existingOut }),
      (c, [lhs, rhs, , existingOut]) => gmmOracle(c, lhs!.dataSync(), rhs!.dataSync(), existingOut?.dataSync()),
    );
  });

  it(`${CASES} tgmm calls`, async () => {
    const next = rng(7000);
    const cases = Array.from({ length: CASES }, (_, i) => {
      const { m, k, n, g, groups } = SHAPES[i % SHAPES.length]!;
      const groupSizes = split(next, m, g);
      const groupOffset = Math.floor(next() * (g - groups + 1));
      const [lhs, rhs] = [randomArray(next, [k, m]), randomArray(next, [m, n])];
      const existingOut: A | undefined = next() < 0.3 ? randomArray(next, [groups, k, n]) : undefined;
      return { m, k, n, groups, groupSizes, groupOffset, operands: [lhs, rhs, np.array(groupSizes, { dtype: "int32" }), ...(existingOut ? [existingOut] : [])] };
    });
    await runBatched(
      backend,
      cases,
      (c) => c.operands,
      (c, [lhs, rhs, sizes, existingOut]) => tgmm(lhs!, rhs!, sizes!, { backend, groupOffset: c.groupOffset, numActualGroups: c.groups, existingOut }),
      (c, [lhs, rhs, , existingOut]) => tgmmOracle(c, lhs!.dataSync(), rhs!.dataSync(), existingOut?.dataSync()),
    );
  });
});
