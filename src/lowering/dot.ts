/**
 * dot_general as a register-blocked kernel. The output is viewed as (batch, M, N): each invocation computes a
 * tm×tn block with tm·tn accumulators, looping over the contraction. Operands are read through
 * their index functions, so contracting and free dims in any position and an elementwise prologue (a convert, a
 * broadcast) fold into the loads; the driver stores each block element through the consumer's expression, which
 * fuses an elementwise epilogue. Ragged edges clamp the loads and guard the stores. On the CPU a large right
 * operand is first copied into column blocks (`packsRhs`), which the kernel reads as one stream.
 */
import { sizeOf } from "../core/shape.js";
import type { JaxprEqn } from "../trace/jaxpr.js";
import { unravelExpr } from "./index.js";
import { type Expr, type Stmt, accumulatorName, binary, c, cast, gid, v } from "./kernelIr.js";
import type { Block, KernelContext, LoweringOptions, Value } from "./lower.js";
import { stagesWell, workgroupDot } from "./workgroupDot.js";

export type LoweringTarget = "cpu" | "webgpu";

export interface DotTiling {
  /** Output rows and columns per invocation. */
  readonly tm: number;
  readonly tn: number;
}

/**
 * Tile sizes for a dot of `batch` products of (m×k)·(k×n): register blocks of 4×8 on the CPU (the 8 columns are
 * two 4-lane vectors for the wasm renderer) and up to 8×8 on WebGPU, shrunk to the matrix; a rule a benchmark may
 * tune. On the software adapter (llvmpipe) every storage-buffer load costs a per-lane loop, so the loads per
 * multiply-add (tm + tn per tm·tn) decide the speed: 8×8 measured twice as fast as 4×4 there; larger blocks spill.
 * A GPU needs invocations too: a block size is used only while it leaves 1024 of them (else one element each).
 * (Unrolling the contraction by 4 measured slower in wasm and no faster in WGSL, so the loop steps by one.)
 */
export function chooseDotTiling(batch: number, m: number, n: number, _k: number, target: LoweringTarget): DotTiling {
  const fit = (size: number, tile: number): number => (size >= tile ? tile : Math.max(1, size));
  if (target === "cpu") return { tm: fit(m, 4), tn: n >= 8 ? 8 : fit(n, 4) };
  // The largest block that still leaves 1024 invocations.
  const tile = [8, 4].find((t) => (batch * m * n) / (t * t) >= 1024) ?? 1;
  return { tm: fit(m, tile), tn: fit(n, tile) };
}

const i32 = (x: number): Expr => c(x, "i32");
const plus = (a: Expr, x: number): Expr => (x === 0 ? a : binary("add", a, i32(x)));
const times = (a: Expr, x: number): Expr => (x === 1 ? a : binary("mul", a, i32(x)));

/** Coordinates of `flat` in `shape`, with size-1 axes at 0 (so a single non-trivial axis gets `flat` itself). */
function coordsOf(flat: Expr, shape: readonly number[]): Expr[] {
  const kept = shape.filter((d) => d !== 1);
  const inner = unravelExpr(flat, kept);
  let next = 0;
  return shape.map((d) => (d === 1 ? i32(0) : inner[next++]!));
}

let nextDot = 0;

/** The CPU kernels keep a panel of the left operand's rows of about this many bytes in the cache (`panelBlocks`). */
const CPU_PANEL_BYTES = 256 * 1024;

/**
 * Row blocks per panel for a CPU kernel reading a packed right operand (`Infinity`: no panels). Invocations then
 * walk the panel's row blocks for one packed column block, then the next column block: the panel's rows of the
 * left operand stay in the cache (4096×512×1024 f32: 1.6× faster than walking every row block per column block).
 */
export const panelRows = (tm: number, k: number, packed: boolean, target: LoweringTarget): number =>
  packed && target === "cpu" ? Math.max(1, Math.floor(CPU_PANEL_BYTES / (tm * k * 4))) : Infinity;

/** The row and column block of invocation `local` (of `mBlocks × nBlocks`) walking row panels of `panel` blocks; the last panel may be narrower. */
export function panelBlocks(local: Expr, mBlocks: number, nBlocks: number, panel: number, widthName: string): { stmts: Stmt[]; mBlock: Expr; nBlock: Expr } {
  const span = panel * nBlocks;
  const first = times(binary("div", local, i32(span)), panel);
  const within = binary("rem", local, i32(span));
  const width = v(widthName, "i32");
  return {
    stmts: [{ k: "let", name: widthName, value: binary("min", i32(panel), binary("sub", i32(mBlocks), first)) }],
    mBlock: binary("add", first, binary("rem", within, width)),
    nBlock: binary("div", within, width),
  };
}

type DimensionNumbers = readonly [readonly [readonly number[], readonly number[]], readonly [readonly number[], readonly number[]]];

/**
 * Whether the CPU kernel reads the right operand from a packed copy: for each block of tn columns, its k rows of
 * tn values one after another, so the contraction reads one contiguous stream instead of tn values a row apart
 * (rows a power of two bytes apart fall in a few cache sets). Worth its copy once the operand outgrows the caches and enough rows read it.
 */
export const packsRhs = (m: number, k: number, n: number, target: LoweringTarget): boolean => target === "cpu" && m >= PACK_MIN_ROWS && n >= 8 && k * n > PACK_MIN_ELEMENTS;
const PACK_MIN_ELEMENTS = 1 << 16;
/** Fewer rows read each packed block too few times to repay the copy (128 rows measured slower packed). */
const PACK_MIN_ROWS = 256;

/**
 * The right operand of a dot packed as [batch, column block, k, tn], the ragged last block padded with its last
 * column: one invocation per (batch, k, column block) copies that block's tn values of row k, column blocks
 * fastest (the operand is read row by row). `read` gives the operand's value at a batch, column and k index.
 * The grouped matmul packs its per-group weights with it too (a group as the batch).
 */
export function packRhs(
  key: string,
  { batch, k, n, nBlocks, tn }: { batch: number; k: number; n: number; nBlocks: number; tn: number },
  type: Value["type"],
  materialize: (value: Value) => Value,
  read: (b: Expr, column: Expr, kk: Expr, ctx: KernelContext) => Expr,
): Value {
  const [pb, pn, pk] = ["pb", "pn", "pk"].map((s) => v(`${key}${s}`, "i32")) as [Expr, Expr, Expr];
  const rest = nBlocks === 1 ? gid : binary("div", gid, i32(nBlocks));
  const lets: Stmt[] = [
    { k: "let", name: `${key}pn`, value: nBlocks === 1 ? i32(0) : binary("rem", gid, i32(nBlocks)) },
    { k: "let", name: `${key}pk`, value: k === 1 ? i32(0) : binary("rem", rest, i32(k)) },
    { k: "let", name: `${key}pb`, value: batch === 1 ? i32(0) : binary("div", rest, i32(k)) },
  ];
  const row = binary("add", times(binary("add", times(pb, nBlocks), pn), k), pk);
  return materialize({
    shape: [batch, nBlocks, k, tn],
    type,
    pending: false,
    relayout: true,
    block: { grid: batch * nBlocks * k, rows: 1, cols: tn, element: (_i, j) => ({ coords: [pb, pn, pk, i32(j)], index: plus(times(row, tn), j) }) },
    at: ([, , , j], ctx) => {
      ctx.emitOnce(`${key}p`, () => lets);
      const column = binary("add", times(pn, tn), j!);
      return cast(read(pb, n % tn === 0 ? column : binary("min", column, i32(n - 1)), pk, ctx), type);
    },
  });
}

export function dotGeneral(eqn: JaxprEqn, [lhs, rhs]: Value[], outShape: readonly number[], outType: Value["type"], options: LoweringOptions, materialize: (value: Value) => Value): Value {
  const [[lc, rc], [lb, rb]] = (eqn.params as { dimension_numbers: DimensionNumbers }).dimension_numbers;
  const free = (rank: number, ...used: (readonly number[])[]): number[] => Array.from({ length: rank }, (_, i) => i).filter((i) => !used.some((u) => u.includes(i)));
  const lf = free(lhs!.shape.length, lc, lb);
  const rf = free(rhs!.shape.length, rc, rb);
  const batchShape = lb.map((d) => lhs!.shape[d]!);
  const mShape = lf.map((d) => lhs!.shape[d]!);
  const nShape = rf.map((d) => rhs!.shape[d]!);
  const kShape = lc.map((d) => lhs!.shape[d]!);
  const [batch, m, n, k] = [batchShape, mShape, nShape, kShape].map(sizeOf) as [number, number, number, number];
  const { tm, tn } = chooseDotTiling(batch, m, n, k, options.target);
  const [mBlocks, nBlocks] = [Math.max(1, Math.ceil(m / tm)), Math.max(1, Math.ceil(n / tn))];
  const key = `dot${nextDot++}`;
  const names = { batch: `${key}b`, row: `${key}m`, col: `${key}n`, k: `${key}k` };
  const [bv, m0, n0, kv] = [names.batch, names.row, names.col, names.k].map((name) => v(name, "i32")) as [Expr, Expr, Expr, Expr];
  const nbName = `${key}nb`;
  const nb = v(nbName, "i32");
  const placeOf = (rank: number, dims: readonly (readonly number[])[], coords: readonly Expr[][]): Expr[] => {
    const out: Expr[] = new Array(rank);
    dims.forEach((ds, g) => ds.forEach((d, i) => (out[d] = coords[g]![i]!)));
    return out;
  };
  if (options.workgroupDots && options.target === "webgpu" && stagesWell(m, n, k)) {
    const operand = (x: Value, dims: readonly (readonly number[])[], freeShape: readonly number[]) => (b: Expr, f: Expr, kk: Expr, ctx: KernelContext) =>
      cast(x.at(placeOf(x.shape.length, dims, [coordsOf(b, batchShape), coordsOf(f, freeShape), coordsOf(kk, kShape)]), ctx), outType);
    const flat = {
      batch,
      m,
      n,
      k,
      lhs: operand(lhs!, [lb, lf, lc], mShape),
      rhs: operand(rhs!, [rb, rf, rc], nShape),
      coords: (b: Expr, row: Expr, col: Expr) => [...coordsOf(b, batchShape), ...coordsOf(row, mShape), ...coordsOf(col, nShape)],
    };
    const staged = workgroupDot(key, flat, outType);
    return blockedAccumulators(key, outShape, outType, staged.block, staged.compute);
  }
  const packed =
    batch * m * n * k > 0 && packsRhs(m, k, n, options.target)
      ? packRhs(key, { batch, k, n, nBlocks, tn }, outType, materialize, (b, column, kk, ctx) =>
          rhs!.at(placeOf(rhs!.shape.length, [rb, rf, rc], [coordsOf(b, batchShape), coordsOf(column, nShape), coordsOf(kk, kShape)]), ctx),
        )
      : undefined;

  const block: Block = {
    grid: batch * m * n === 0 ? 0 : batch * mBlocks * nBlocks,
    rows: tm,
    cols: tn,
    element: (i, j) => {
      const [row, col] = [plus(m0, i), plus(n0, j)];
      const bounds = [m % tm !== 0 ? binary("lt", row, i32(m)) : undefined, n % tn !== 0 ? binary("lt", col, i32(n)) : undefined].filter((e) => e !== undefined);
      const flatRow = batch === 1 ? row : binary("add", times(bv, m), row);
      return {
        coords: [...coordsOf(bv, batchShape), ...coordsOf(row, mShape), ...coordsOf(col, nShape)],
        index: binary("add", times(flatRow, n), col),
        valid: bounds.length === 0 ? undefined : bounds.reduce((a, b) => binary("and", a, b)),
      };
    },
  };

  const compute = (ctx: KernelContext): Stmt[] => {
    const body: Stmt[] = [];
    let counter = 0;
    /** Binds computed coordinates once, outside the contraction loop. */
    const hoist = (into: Stmt[], exprs: Expr[]): Expr[] =>
      exprs.map((e) => {
        if (e.k === "var" || e.k === "const") return e;
        const name = `${key}x${counter++}`;
        into.push({ k: "let", name, value: e });
        return v(name, "i32");
      });
    const panel = panelRows(tm, k, packed !== undefined, options.target);
    if (panel < mBlocks) {
      const perBatch = mBlocks * nBlocks;
      const blocks = panelBlocks(batch === 1 ? gid : binary("rem", gid, i32(perBatch)), mBlocks, nBlocks, panel, `${key}pw`);
      body.push(
        ...blocks.stmts,
        { k: "let", name: nbName, value: blocks.nBlock },
        { k: "let", name: names.col, value: times(nb, tn) },
        { k: "let", name: names.row, value: times(blocks.mBlock, tm) },
        { k: "let", name: names.batch, value: batch === 1 ? i32(0) : binary("div", gid, i32(perBatch)) },
      );
    } else {
      // Invocations step through column blocks first, or with a packed operand through row blocks first (one block
      // of the packed operand is read by consecutive invocations while it is in the cache).
      const [inner, outer] = packed ? [mBlocks, nBlocks] : [nBlocks, mBlocks];
      const innerBlock = inner === 1 ? i32(0) : binary("rem", gid, i32(inner));
      const rest = inner === 1 ? gid : binary("div", gid, i32(inner));
      // With one batch, rest < outer already (and the row count stays out of the shader text: see wgslParams.ts).
      const outerBlock = outer === 1 ? i32(0) : batch === 1 ? rest : binary("rem", rest, i32(outer));
      const [mBlock, nBlock] = packed ? [innerBlock, outerBlock] : [outerBlock, innerBlock];
      body.push(
        { k: "let", name: nbName, value: nBlock },
        { k: "let", name: names.col, value: times(nb, tn) },
        { k: "let", name: names.row, value: times(mBlock, tm) },
        { k: "let", name: names.batch, value: batch === 1 ? i32(0) : outer === 1 ? rest : binary("div", rest, i32(outer)) },
      );
    }
    const batchCoords = hoist(body, coordsOf(bv, batchShape));
    const clampRow = (row: Expr): Expr => (m % tm !== 0 ? binary("min", row, i32(m - 1)) : row);
    const rowCoords = Array.from({ length: tm }, (_, i) => hoist(body, coordsOf(clampRow(plus(m0, i)), mShape)));
    for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) body.push({ k: "declare", name: accumulatorName(key, i, j), init: c(0, outType) });

    const place = (rank: number, batchDims: readonly number[], freeDims: readonly number[], contractDims: readonly number[], free: Expr[], kCoords: Expr[]): Expr[] => {
      const coords: Expr[] = new Array(rank);
      batchDims.forEach((d, i) => (coords[d] = batchCoords[i]!));
      freeDims.forEach((d, i) => (coords[d] = free[i]!));
      contractDims.forEach((d, i) => (coords[d] = kCoords[i]!));
      return coords;
    };
    const kCoords = coordsOf(kv, kShape);
    const rows = rowCoords.map((r) => cast(lhs!.at(place(lhs!.shape.length, lb, lf, lc, r, kCoords), ctx), outType));
    const loop = (cols: Expr[]): Stmt[] => [{ k: "for", name: names.k, start: i32(0), end: i32(k), body: [{ k: "rank1", acc: key, rows, cols }] }];
    const contraction = (colCoords: Expr[][]): Stmt[] => loop(colCoords.map((cc) => cast(rhs!.at(place(rhs!.shape.length, rb, rf, rc, cc, kCoords), ctx), outType)));
    const fullCols = Array.from({ length: tn }, (_, j) => coordsOf(plus(n0, j), nShape));
    if (packed) {
      body.push(...loop(Array.from({ length: tn }, (_, j) => packed.at([bv, nb, kv, i32(j)], ctx))));
    } else if (n % tn === 0) {
      body.push(...contraction(fullCols));
    } else {
      // Ragged columns: whole blocks keep plain (contiguous) column indices, the last one clamps them.
      const edge: Stmt[] = [];
      const edgeCols = Array.from({ length: tn }, (_, j) => hoist(edge, coordsOf(binary("min", plus(n0, j), i32(n - 1)), nShape)));
      edge.push(...contraction(edgeCols));
      body.push({ k: "if", cond: binary("le", plus(n0, tn), i32(n)), then: contraction(fullCols), else: edge });
    }
    return body;
  };

  return blockedAccumulators(key, outShape, outType, block, compute);
}

/**
 * A value computed in blocks of accumulators by a loop the consuming kernel runs once (`compute`, keyed by `key`):
 * element (i, j) of a block is `finish` of accumulator (i, j) — the accumulator itself by default.
 */
export function blockedAccumulators(
  key: string,
  shape: readonly number[],
  type: Value["type"],
  block: Block,
  compute: (ctx: KernelContext) => Stmt[],
  finish: (acc: Expr, i: number, j: number, ctx: KernelContext) => Expr = (acc) => acc,
): Value {
  return {
    shape,
    type,
    pending: true,
    block,
    at: (_coords, ctx) => {
      ctx.emitOnce(key, () => compute(ctx));
      const [i, j] = ctx.element;
      return finish(v(accumulatorName(key, i, j), type), i, j, ctx);
    },
  };
}
