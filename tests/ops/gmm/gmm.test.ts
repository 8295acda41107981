/**
 * gmm and tgmm on every backend against a float64 per-row oracle: the spec's edge cases (§A, §B, §G), masking
 * of NaN/Inf in rows and experts that do not take part, existingOut, groupOffset, narrow dtypes.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, gmm, gmmBackends, numpy as np, tgmm } from "../../../src/index.js";
import { expectClose, tolerance } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { BACKENDS, runOn } from "./backends.js";
import { type GmmCase, gmmOracle, rowGroups, tgmmOracle } from "./oracle.js";

const next = rng(6);
const sizes = (values: number[]): A => np.array(values, { dtype: "int32" });

interface EdgeCase extends Partial<GmmCase> {
  name: string;
  m: number;
  k: number;
  n: number;
  groupSizes: number[];
  dtype?: DType;
  preferred?: DType;
  existing?: boolean;
  tiling?: number[];
  /** Absolute tolerance (default 1e-5): long float32 sums of the kernel devices cancel to small values. */
  atol?: number;
}

const EDGE_CASES: EdgeCase[] = [
  { name: "empty groups", m: 6, k: 3, n: 4, groupSizes: [2, 0, 3, 0, 1] },
  { name: "all rows in one middle group", m: 6, k: 3, n: 2, groupSizes: [0, 6, 0] },
  { name: "one group (a plain matmul)", m: 5, k: 4, n: 3, groupSizes: [5] },
  { name: "every group empty", m: 4, k: 2, n: 3, groupSizes: [0, 0, 0] },
  { name: "sum(groupSizes) < m", m: 10, k: 3, n: 2, groupSizes: [3, 0, 4, 2] },
  { name: "groupOffset > 0 with rows outside the window", m: 9, k: 3, n: 4, groupSizes: [2, 3, 1, 2], groupOffset: 1, groups: 2 },
  { name: "groupOffset whose local groups are empty", m: 5, k: 2, n: 2, groupSizes: [3, 0, 0, 2], groupOffset: 1, groups: 2 },
  { name: "k and m not multiples of the tile", m: 13, k: 7, n: 5, groupSizes: [5, 1, 7], tiling: [4, 4, 4] },
  { name: "a group boundary inside an m tile", m: 8, k: 3, n: 3, groupSizes: [3, 5], tiling: [4, 4, 4, 4, 4, 4, 4, 4, 4] },
  { name: "transposeRhs", m: 6, k: 4, n: 3, groupSizes: [2, 4], transposeRhs: true },
  { name: "transposeRhs with groupOffset", m: 8, k: 3, n: 5, groupSizes: [1, 2, 2, 2], groupOffset: 2, groups: 2, transposeRhs: true },
  { name: "existingOut", m: 7, k: 3, n: 4, groupSizes: [2, 0, 3], existing: true },
  { name: "existingOut with groupOffset", m: 9, k: 2, n: 3, groupSizes: [2, 3, 1, 2], groupOffset: 2, groups: 2, existing: true },
  { name: "more groups than rows", m: 4, k: 3, n: 2, groupSizes: [0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0] },
  { name: "k = 1", m: 5, k: 1, n: 3, groupSizes: [2, 3] },
  { name: "m = 0", m: 0, k: 3, n: 2, groupSizes: [0, 0] },
  { name: "bfloat16 operands, float32 accumulation", m: 9, k: 33, n: 4, groupSizes: [4, 5], dtype: "bfloat16" },
  { name: "float16 operands, float32 accumulation", m: 9, k: 33, n: 4, groupSizes: [6, 2], dtype: "float16" },
  { name: "preferredElementType bfloat16", m: 6, k: 5, n: 3, groupSizes: [3, 3], preferred: "bfloat16", existing: true },
  // Large enough for the cpu backend to pack rhs into column blocks; boundaries inside row tiles, n not a multiple of 8.
  { name: "a packed rhs (cpu backend), boundaries inside tiles", m: 301, k: 258, n: 262, groupSizes: [150, 0, 149, 1], existing: true, atol: 1e-4 },
  { name: "a packed transposed rhs (cpu backend) with groupOffset", m: 290, k: 258, n: 262, groupSizes: [3, 140, 141, 6], groupOffset: 1, groups: 2, transposeRhs: true, atol: 1e-4 },
];

function setup(c: EdgeCase) {
  const groups = c.groups ?? c.groupSizes.length;
  const full: GmmCase = { m: c.m, k: c.k, n: c.n, groups, groupSizes: c.groupSizes, groupOffset: c.groupOffset ?? 0, transposeRhs: c.transposeRhs ?? false };
  const dtype = c.dtype ?? "float32";
  const preferred = c.preferred ?? "float32";
  const lhs = randomArray(next, [c.m, c.k], dtype);
  const rhs = randomArray(next, full.transposeRhs ? [groups, c.n, c.k] : [groups, c.k, c.n], dtype);
  const existingOut = c.existing ? randomArray(next, [c.m, c.n], preferred) : undefined;
  return { full, preferred, lhs, rhs, existingOut };
}

describe.each(BACKENDS)("gmm on the %s backend", (backend) => {
  it.each(EDGE_CASES)("$name", async (c) => {
    const { full, preferred, lhs, rhs, existingOut } = setup(c);
    const options = { backend, groupOffset: full.groupOffset, transposeRhs: full.transposeRhs, existingOut, preferredElementType: preferred, tiling: c.tiling };
    const out = await runOn(backend, (l, r, s) => gmm(l!, r!, s!, options), lhs, rhs, sizes(c.groupSizes));
    expect([out.shape, out.dtype]).toEqual([[c.m, c.n], preferred]);
    const expected = gmmOracle(full, lhs.dataSync(), rhs.dataSync(), existingOut?.dataSync());
    expectClose(out.dataSync(), expected, Math.max(tolerance(preferred), 1e-5), c.atol ?? 1e-5);
    // Inactive rows are exactly 0 or existingOut's values.
    const owners = rowGroups(c.groupSizes, c.m);
    owners.forEach((owner, r) => {
      const j = owner - full.groupOffset;
      if (j >= 0 && j < full.groups) return;
      const row = Array.from(out.dataSync().slice(r * c.n, (r + 1) * c.n));
      expect(row).toEqual(existingOut ? Array.from(existingOut.dataSync().slice(r * c.n, (r + 1) * c.n)) : new Array(c.n).fill(0));
    });
  });

  it("computes the spec's example exactly (§G.1)", async () => {
    const lhs = np.array([[1, 2], [3, 4], [5, 6], [7, 8]]);
    const eye = np.eye(2);
    const out = await runOn(backend, (l, r, s) => gmm(l!, r!, s!, { backend }), lhs, np.stack([eye, eye.mul(2)]), sizes([1, 2]));
    expect(out.dataSync()).toEqual(Float32Array.from([1, 2, 6, 8, 10, 12, 0, 0]));
    const t = await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend }), lhs.T, np.ones([4, 2]), sizes([1, 2]));
    expect(t.dataSync()).toEqual(Float32Array.from([1, 1, 2, 2, 8, 8, 10, 10]));
  });

  it("keeps NaN and Inf of rows and experts that take no part out of every output", async () => {
    const groupSizes = [3, 0, 3];
    const lhsData = randomArray(next, [8, 3]).dataSync().slice();
    lhsData.fill(NaN, 6 * 3, 7 * 3); // row 6: past sum(groupSizes)
    lhsData.fill(Infinity, 7 * 3); // row 7 too
    const rhsData = randomArray(next, [3, 3, 2]).dataSync().slice();
    rhsData.fill(NaN, 6, 12); // expert 1: an empty group
    const lhs = np.reshape(np.array(Array.from(lhsData)), [8, 3]);
    const rhs = np.reshape(np.array(Array.from(rhsData)), [3, 3, 2]);
    const out = await runOn(backend, (l, r, s) => gmm(l!, r!, s!, { backend }), lhs, rhs, sizes(groupSizes));
    const full = { m: 8, k: 3, n: 2, groups: 3, groupSizes, groupOffset: 0, transposeRhs: false };
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
    expectClose(out.dataSync(), gmmOracle(full, lhsData, rhsData), 1e-5, 1e-6);
    // Rows of groups outside the window: NaN in rows 0-2 (group 0) with groupOffset 1.
    const windowed = await runOn(backend, (l, r, s) => gmm(l!, r!, s!, { backend, groupOffset: 1 }), np.where(np.arange(8).reshape([8, 1]).lt(3), NaN, lhs), rhs.at("1:"), sizes(groupSizes));
    expect(Array.from(windowed.dataSync()).every(Number.isFinite)).toBe(true);
    // tgmm: the NaN/Inf rows past sum(groupSizes) never reach a group's weight gradient.
    const t = await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend }), lhs.T, np.where(np.arange(8).reshape([8, 1]).ge(6), NaN, np.ones([8, 2])), sizes(groupSizes));
    expect(Array.from(t.dataSync()).every(Number.isFinite)).toBe(true);
    expectClose(t.dataSync(), tgmmOracle({ m: 8, k: 3, n: 2, groups: 3, groupSizes, groupOffset: 0 }, lhs.T.dataSync(), np.ones([8, 2]).dataSync()), 1e-5, 1e-6);
  });

  it("a NaN in an active row or an Inf in an active expert reaches only its own outputs", async () => {
    const lhs = np.where(np.arange(6).reshape([6, 1]).eq(1), NaN, randomArray(next, [6, 2]));
    const rhs = np.where(np.arange(2).reshape([2, 1, 1]).eq(1).mul(np.arange(3).reshape([1, 1, 3]).eq(2)), Infinity, np.abs(randomArray(next, [2, 2, 3])));
    const out = (await runOn(backend, (l, r, s) => gmm(l!, r!, s!, { backend }), np.abs(lhs), rhs, sizes([3, 3]))).dataSync();
    const finite = Array.from(out).map((v, i) => Number.isFinite(v) || [Math.floor(i / 3), i % 3]);
    const bad = finite.filter((v) => v !== true);
    // Row 1 (NaN) and column 2 of rows 3-5 (group 1's Inf weight column).
    expect(bad).toEqual([[1, 0], [1, 1], [1, 2], [3, 2], [4, 2], [5, 2]]);
  });
});

describe.each(BACKENDS)("tgmm on the %s backend", (backend) => {
  const TGMM_CASES: { name: string; m: number; k: number; n: number; groupSizes: number[]; groupOffset: number; groups: number; atol?: number }[] = [
    { name: "empty groups give exact zero slabs", m: 7, k: 3, n: 2, groupSizes: [0, 4, 0, 3], groupOffset: 0, groups: 4 },
    { name: "numActualGroups with groupOffset", m: 8, k: 2, n: 3, groupSizes: [2, 2, 3, 1], groupOffset: 1, groups: 2 },
    { name: "sum(groupSizes) < m", m: 9, k: 4, n: 2, groupSizes: [3, 2], groupOffset: 0, groups: 2 },
    { name: "m not a multiple of the tile", m: 11, k: 5, n: 3, groupSizes: [6, 5], groupOffset: 0, groups: 2 },
    { name: "m = 0", m: 0, k: 2, n: 2, groupSizes: [0, 0], groupOffset: 0, groups: 2 },
    // Large enough for the cpu backend to pack rhs into column blocks; k and n not multiples of the tile.
    { name: "a packed rhs (cpu backend) with groupOffset", m: 300, k: 261, n: 262, groupSizes: [7, 150, 0, 140], groupOffset: 1, groups: 3, atol: 1e-4 },
  ];
  it.each(TGMM_CASES)("$name", async (c) => {
    const lhs = randomArray(next, [c.k, c.m]);
    const rhs = randomArray(next, [c.m, c.n]);
    const out = await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend, groupOffset: c.groupOffset, numActualGroups: c.groups, tiling: [4, 4, 4] }), lhs, rhs, sizes(c.groupSizes));
    expect(out.shape).toEqual([c.groups, c.k, c.n]);
    expectClose(out.dataSync(), tgmmOracle(c, lhs.dataSync(), rhs.dataSync()), 1e-5, c.atol ?? 1e-5);
    const owners = rowGroups(c.groupSizes, c.m);
    for (let j = 0; j < c.groups; j++) {
      if (owners.includes(j + c.groupOffset)) continue;
      expect(Array.from(out.dataSync().slice(j * c.k * c.n, (j + 1) * c.k * c.n))).toEqual(new Array(c.k * c.n).fill(0));
    }
  });

  it("adds existingOut (gmm overwrites; tgmm adds)", async () => {
    const c = { m: 6, k: 2, n: 3, groupSizes: [2, 0, 4], groupOffset: 0, groups: 3 };
    const [lhs, rhs, existingOut] = [randomArray(next, [2, 6]), randomArray(next, [6, 3]), randomArray(next, [3, 2, 3])];
    const out = await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend, existingOut }), lhs, rhs, sizes(c.groupSizes));
    expectClose(out.dataSync(), tgmmOracle(c, lhs.dataSync(), rhs.dataSync(), existingOut.dataSync()), 1e-5, 1e-6);
    expect(Array.from(out.dataSync().slice(6, 12))).toEqual(Array.from(existingOut.dataSync().slice(6, 12)));
  });

  it("bfloat16 operands accumulate in float32; preferredElementType bfloat16 rounds once", async () => {
    const c = { m: 40, k: 3, n: 2, groupSizes: [17, 23], groupOffset: 0, groups: 2 };
    const [lhs, rhs] = [randomArray(next, [3, 40], "bfloat16"), randomArray(next, [40, 2], "bfloat16")];
    const expected = tgmmOracle(c, lhs.dataSync(), rhs.dataSync());
    expectClose((await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend }), lhs, rhs, sizes(c.groupSizes))).dataSync(), expected, 1e-5, 1e-5);
    const narrow = await runOn(backend, (l, r, s) => tgmm(l!, r!, s!, { backend, preferredElementType: "bfloat16" }), lhs, rhs, sizes(c.groupSizes));
    expect(narrow.dtype).toBe("bfloat16");
    expectClose(narrow.dataSync(), expected, tolerance("bfloat16"), 1e-2);
  });
});

it("lists the built-in backends", () => {
  expect(gmmBackends()).toEqual(expect.arrayContaining(BACKENDS));
});

it("chained group shards with existingOut equal the unsharded gmm (§G.12)", () => {
  const groupSizes = sizes([2, 3, 1, 3]);
  const [lhs, rhs] = [randomArray(next, [10, 3]), randomArray(next, [4, 3, 2])];
  const first = gmm(lhs, rhs.at("0:2"), groupSizes, { groupOffset: 0 });
  const both = gmm(lhs, rhs.at("2:4"), groupSizes, { groupOffset: 2, existingOut: first });
  expectClose(both.dataSync(), gmm(lhs, rhs, groupSizes).dataSync(), 1e-6, 1e-7);
});
