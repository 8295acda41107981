/**
 * dot_general staged through workgroup memory, for GPUs. A workgroup of 64 invocations (8×8) computes an
 * (8t)×(8t) tile of one product, each invocation a t×t register block. The contraction runs in chunks of 16:
 * the invocations first copy the chunk's (8t)×16 slice of the left operand and 16×(8t) slice of the right one into
 * workgroup memory (neighbouring invocations reading neighbouring elements of a row-major operand), meet at a
 * barrier, accumulate from workgroup memory, and meet again before the next chunk overwrites it. Each operand
 * element is then read from storage once per workgroup instead of once by each of the 8 invocations sharing its
 * row or column. Operands are read through their index functions, so transposes, converts and broadcasts fold
 * into the staging loads. Rows and columns past the edges are clamped (their results are never stored), and
 * contraction steps past k stage zeros in both operands.
 *
 * Software adapters do not gain from it: on llvmpipe here a hand-written 64×64 staged kernel ran at half the
 * speed of the 8×8 register-blocked one (their workgroup memory is ordinary memory, and a barrier suspends every
 * invocation of the workgroup), so the lowering option that selects it is set for hardware adapters only.
 */
import { type Expr, type ScalarType, type Stmt, accumulatorName, binary, c, lid, load, select, v, wid } from "./kernelIr.js";
import type { Block, KernelContext } from "./lower.js";

/** Invocations per side of a workgroup, and contraction steps per staged chunk. */
const SIDE = 8;
const WORKGROUP = SIDE * SIDE;
const CHUNK = 16;

/** A dot_general seen as `batch` products of (m×k)·(k×n), with its operands read at flat (batch, row or column, k) indices. */
export interface FlatDot {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly lhs: (b: Expr, row: Expr, kk: Expr, ctx: KernelContext) => Expr;
  readonly rhs: (b: Expr, col: Expr, kk: Expr, ctx: KernelContext) => Expr;
  /** The output coordinates of flat (batch, row, column). */
  readonly coords: (b: Expr, row: Expr, col: Expr) => Expr[];
}

/** Whether the product is large enough for workgroup tiles: a whole tile of 32×32 outputs and a chunk of k at least. */
export const stagesWell = (m: number, n: number, k: number): boolean => m >= 32 && n >= 32 && k >= CHUNK;

const i32 = (x: number): Expr => c(x, "i32");
const plus = (a: Expr, x: number): Expr => (x === 0 ? a : binary("add", a, i32(x)));
const times = (a: Expr, x: number): Expr => (x === 1 ? a : binary("mul", a, i32(x)));
const min = (a: Expr, x: number): Expr => binary("min", a, i32(x));

/** The staged kernel's blocks, and the statements computing an invocation's accumulators (`key`'s). */
export function workgroupDot(key: string, dot: FlatDot, outType: ScalarType): { block: Block; compute: (ctx: KernelContext) => Stmt[] } {
  const { batch, m, n, k } = dot;
  // 8×8 blocks (64×64 tiles) while they leave 32 workgroups; 4×4 blocks (32×32 tiles) below that.
  const t = batch * Math.ceil(m / 64) * Math.ceil(n / 64) >= 32 ? 8 : 4;
  const tile = SIDE * t;
  const [mTiles, nTiles] = [Math.ceil(m / tile), Math.ceil(n / tile)];
  const name = (s: string): string => `${key}${s}`;
  const [b, tr, tc, lr, lc] = ["b", "tr", "tc", "lr", "lc"].map((s) => v(name(s), "i32")) as [Expr, Expr, Expr, Expr, Expr];

  const block: Block = {
    grid: batch * mTiles * nTiles * WORKGROUP,
    workgroup: WORKGROUP,
    rows: t,
    cols: t,
    element: (i, j) => {
      const [row, col] = [plus(binary("add", tr, lr), i), plus(binary("add", tc, lc), j)];
      const bounds = [m % tile !== 0 ? binary("lt", row, i32(m)) : undefined, n % tile !== 0 ? binary("lt", col, i32(n)) : undefined].filter((e) => e !== undefined);
      const flatRow = batch === 1 ? row : binary("add", times(b, m), row);
      return { coords: dot.coords(b, row, col), index: binary("add", times(flatRow, n), col), valid: bounds.length === 0 ? undefined : bounds.reduce((x, y) => binary("and", x, y)) };
    },
  };

  const compute = (ctx: KernelContext): Stmt[] => {
    const [lhsTile, rhsTile] = [ctx.workgroupBuffer(outType, tile * CHUNK), ctx.workgroupBuffer(outType, tile * CHUNK)];
    const chunk = v(name("k0"), "i32");
    const zero = c(0, outType);
    /** Step `kk` of the chunk, clamped into k, and whether it is inside k. */
    const step = (kk: Expr): { index: Expr; inside?: Expr } => {
      const index = binary("add", times(chunk, CHUNK), kk);
      return k % CHUNK === 0 ? { index } : { index: min(index, k - 1), inside: binary("lt", index, i32(k)) };
    };
    const masked = (value: Expr, inside: Expr | undefined): Expr => (inside ? select(inside, value, zero) : value);
    // Element f = e·64 + lid of each staged slice: the left one k-fastest, the right one column-fastest.
    const staging = Array.from({ length: (tile * CHUNK) / WORKGROUP }, (_, e): Stmt[] => {
      const f = plus(lid, e * WORKGROUP);
      const [row, ka] = [binary("div", f, i32(CHUNK)), binary("rem", f, i32(CHUNK))];
      const [kb, col] = [binary("div", f, i32(tile)), binary("rem", f, i32(tile))];
      const [a, bk] = [step(ka), step(kb)];
      const lhsValue = dot.lhs(b, min(binary("add", tr, row), m - 1), a.index, ctx);
      const rhsValue = dot.rhs(b, min(binary("add", tc, col), n - 1), bk.index, ctx);
      return [
        { k: "store", buffer: lhsTile, index: binary("add", times(ka, tile), row), value: masked(lhsValue, a.inside) },
        { k: "store", buffer: rhsTile, index: binary("add", times(kb, tile), col), value: masked(rhsValue, bk.inside) },
      ];
    }).flat();
    const kk = v(name("kk"), "i32");
    const rows = Array.from({ length: t }, (_, i) => load(lhsTile, plus(binary("add", times(kk, tile), lr), i), outType));
    const cols = Array.from({ length: t }, (_, j) => load(rhsTile, plus(binary("add", times(kk, tile), lc), j), outType));
    const within = nTiles === 1 ? wid : binary("div", wid, i32(nTiles));
    return [
      { k: "let", name: name("tc"), value: times(nTiles === 1 ? i32(0) : binary("rem", wid, i32(nTiles)), tile) },
      { k: "let", name: name("tr"), value: times(mTiles === 1 ? i32(0) : batch === 1 ? within : binary("rem", within, i32(mTiles)), tile) },
      { k: "let", name: name("b"), value: batch === 1 ? i32(0) : mTiles === 1 ? within : binary("div", within, i32(mTiles)) },
      { k: "let", name: name("lr"), value: times(binary("div", lid, i32(SIDE)), t) },
      { k: "let", name: name("lc"), value: times(binary("rem", lid, i32(SIDE)), t) },
      ...Array.from({ length: t * t }, (_, ij): Stmt => ({ k: "declare", name: accumulatorName(key, Math.floor(ij / t), ij % t), init: zero })),
      {
        k: "for",
        name: name("k0"),
        start: i32(0),
        end: i32(Math.ceil(k / CHUNK)),
        body: [...staging, { k: "barrier" }, { k: "for", name: name("kk"), start: i32(0), end: i32(CHUNK), body: [{ k: "rank1", acc: key, rows, cols }] }, { k: "barrier" }],
      },
    ];
  };

  return { block, compute };
}
