/**
 * Grouped matrix products (megablox's gmm and tgmm) as register-blocked kernels, for the ops layer's kernel
 * rules. Rows belong to groups in order of `groupSizes` (a negative size counts as 0, rows past m belong to
 * none); a call computes the groups `groupOffset … groupOffset+g-1`. The tile-to-group map (megablox's group
 * metadata) is made on the device, so group sizes never travel to the host: a small kernel computes where each
 * group starts (`groupStarts`), and each invocation looks its groups up there:
 * - gmm: an invocation owns a tm×tn block of the [m, n] output. It finds the groups whose rows meet its row
 *   tile by two binary searches, and visits the active ones: a tile inside one group runs the plain
 *   register-blocked contraction; a tile across a group
 *   boundary is visited once per group, the group's products summed into accumulators of their own and taken
 *   by a select for the rows of the group only (a group meeting 1, 2 or 4 of the tile's rows computes only that
 *   many). Rows outside the active groups take existingOut (or 0) by a
 *   select, so a NaN or Inf in a row or an expert that takes no part never reaches an output. transposeRhs
 *   only changes rhs's indexing. On the CPU a large rhs is packed into column blocks first, as dot_general's.
 * - tgmm: an invocation owns a tm×tn block of one group's [k, n] result and contracts over exactly that
 *   group's rows, adding existingOut.
 * On WebGPU the workgroups take their tiles in a spread order (workgroupOrder.ts), as tiles differ in work.
 * Both accumulate in the result's compute type (f32 for narrow floats) and store through the usual epilogue
 * (a narrow result rounds once). Ragged edges clamp loads and guard stores, so any m, k, n work.
 */
import { sizeOf } from "../core/shape.js";
import { type LoweringTarget, blockedAccumulators, chooseDotTiling, packRhs, packsRhs, panelBlocks, panelRows } from "./dot.js";
import { type Expr, type ScalarType, type Stmt, accumulatorName, binary, bitcast, c, cast, decode, dot4i8, gid, load, select, v } from "./kernelIr.js";
import type { Block, KernelContext, Value } from "./lower.js";
import { allOf, fresh, i32, lazy } from "./rules/common.js";
import { spreadWorkgroups } from "./workgroupOrder.js";

export interface GroupedGmmOptions {
  readonly transposeRhs: boolean;
  readonly target: LoweringTarget;
  readonly materialize: (value: Value) => Value;
}

const plus = (a: Expr, x: number): Expr => (x === 0 ? a : binary("add", a, i32(x)));
const times = (a: Expr, x: number): Expr => (x === 1 ? a : binary("mul", a, i32(x)));
const min = (a: Expr, x: number): Expr => binary("min", a, i32(x));
const and = (...xs: Expr[]): Expr => allOf(xs);
const asI32 = (e: Expr): Expr => cast(e, "i32");

/**
 * Statements binding `result` to the smallest t in [0, count) for which `holds(t)` (false up to some t, then true),
 * or `count` if there is none: a binary search of ceil(log2(count + 1)) steps.
 */
function searchFirst(result: string, count: number, holds: (t: Expr) => Expr): Stmt[] {
  const [hiName, mid] = [`${result}_hi`, `${result}_mid`];
  const [lo, hi] = [v(result, "i32"), v(hiName, "i32")];
  return [
    { k: "declare", name: result, init: i32(0) },
    { k: "declare", name: hiName, init: i32(count) },
    {
      k: "for",
      name: `${result}_step`,
      start: i32(0),
      end: i32(Math.ceil(Math.log2(count + 1))),
      body: [
        { k: "let", name: mid, value: binary("div", binary("add", lo, hi), i32(2)) },
        {
          k: "if",
          cond: binary("lt", lo, hi),
          then: [{ k: "if", cond: holds(v(mid, "i32")), then: [{ k: "assign", name: hiName, value: v(mid, "i32") }], else: [{ k: "assign", name: result, value: plus(v(mid, "i32"), 1) }] }],
        },
      ],
    },
  ];
}

/**
 * On the CPU rhs is packed when groups average this many rows: measured packed vs not, 128 rows a group 1.5× faster
 * (1024×512×1024, g = 8), 64 rows 1.3× faster (4096×512×1024, g = 64), 16 rows 2.5× slower (the copy of all G
 * blocks outweighs the few rows reading each).
 */
const PACK_MIN_GROUP_ROWS = 64;

/** Rows a group meets in a tile for which a visit computes that many rows only (see groupedGmm's visit). */
const PART_ROWS = [1, 2, 4];

/** gmm: `lhs [m,k]`, `rhs [g,k,n]` (`[g,n,k]` transposed), `groupSizes [G]`, `groupOffset []`, `existingOut [m,n]`?. */
export function groupedGmm([lhs, rhs, groupSizes, groupOffset, existingOut]: Value[], outType: ScalarType, { transposeRhs, target, materialize }: GroupedGmmOptions): Value {
  const [m, k] = lhs!.shape as [number, number];
  const g = rhs!.shape[0]!;
  const n = transposeRhs ? rhs!.shape[1]! : rhs!.shape[2]!;
  // Worth its copy (all G blocks) when groups average PACK_MIN_GROUP_ROWS rows or more.
  const packs = m * n * k > 0 && m >= PACK_MIN_GROUP_ROWS * g && packsRhs(m, k, n, target);
  const { tm, tn } = chooseDotTiling(1, m, n, k, target);
  const [mBlocks, nBlocks] = [Math.max(1, Math.ceil(m / tm)), Math.max(1, Math.ceil(n / tn))];
  const key = fresh("gmm");
  const name = (s: string): string => `${key}${s}`;
  const [r0, n0, nb, lo, hi, kk] = ["r0", "n0", "nb", "lo", "hi", "k"].map((s) => v(name(s), "i32")) as [Expr, Expr, Expr, Expr, Expr, Expr];
  const zero = c(0, outType);
  const rhsAt = (grp: Expr, column: Expr, kIndex: Expr, ctx: KernelContext): Expr => cast(rhs!.at(transposeRhs ? [grp, column, kIndex] : [grp, kIndex, column], ctx), outType);
  const packed = packs ? packRhs(key, { batch: g, k, n, nBlocks, tn }, outType, materialize, rhsAt) : undefined;
  const G = groupSizes!.shape[0]!;
  const starts = m * n > 0 && g > 0 ? groupStarts(groupSizes!, m, materialize) : undefined;
  const words = packedWords(lhs!, rhs!, transposeRhs, outType, target, materialize);
  // On WebGPU row tiles differ in work (one visit per group meeting the tile): workgroups take them spread out.
  const grid = m * n === 0 ? 0 : mBlocks * nBlocks;
  const order = target === "webgpu" && grid > 0 ? spreadWorkgroups(name("o"), grid) : undefined;
  const at = order?.index ?? gid;

  const block: Block = {
    grid: order?.grid ?? grid,
    rows: tm,
    cols: tn,
    element: (i, j) => {
      const [row, col] = [plus(r0, i), plus(n0, j)];
      const bounds = [order?.valid, m % tm !== 0 ? binary("lt", row, i32(m)) : undefined, n % tn !== 0 ? binary("lt", col, i32(n)) : undefined].filter((e) => e !== undefined);
      return { coords: [row, col], index: binary("add", times(row, n), col), valid: bounds.length === 0 ? undefined : allOf(bounds) };
    },
  };

  /** Accumulators of a group's part of a tile: r rows of it for each r in partRows (the last is the whole tile). */
  const partRows = [...PART_ROWS.filter((r) => r < tm), tm];
  const subName = (r: number): string => name(`p${r}_`);

  const compute = (ctx: KernelContext): Stmt[] => {
    const rows = Array.from({ length: tm }, (_, i) => v(name(`row${i}`), "i32"));
    // Columns are n0 + j where no edge clamps them, which the wasm renderer reads as one vector of four.
    const cols = Array.from({ length: tn }, (_, j) => (n % tn === 0 ? plus(n0, j) : v(name(`col${j}`), "i32")));
    const colAt = (group: Expr, j: number): Expr => (packed ? packed.at([group, nb, kk, i32(j)], ctx) : rhsAt(group, cols[j]!, kk, ctx));
    const tileEnd = v(name("tileEnd"), "i32");
    /** The products of rows `at` (row indices) with the group's columns, into accumulators `acc`. */
    const contraction = (acc: string, local: Expr, at: Expr[] = rows): Stmt =>
      words
        ? words.contraction(ctx, acc, name, at, cols, local, n)
        : { k: "for", name: name("k"), start: i32(0), end: i32(k), body: [{ k: "rank1", acc, rows: at.map((row) => cast(lhs!.at([row, kk], ctx), outType)), cols: cols.map((_, j) => colAt(local, j)) }] };
    const assign = (acc: string, i: number, j: number, value: Expr): Stmt => ({ k: "assign", name: accumulatorName(acc, i, j), value });
    const accumulator = (acc: string, i: number, j: number): Expr => v(accumulatorName(acc, i, j), outType);
    const visit = (local: Expr, start: Expr, end: Expr): Stmt[] => {
      // A tile across a group boundary: the group's products into accumulators of their own, then taken by the
      // rows of the group only (the others' sums, NaN or not, are dropped by the select). A group meeting at most
      // r of the tile's rows (r < tm) computes r rows from its first one in the tile: most visits of a tile across
      // many small groups then cost r + tn loads per step instead of tm + tn.
      const first = v(name("first"), "i32");
      const taken = (r: number): Stmt[] => {
        const part = subName(r);
        const subRows = Array.from({ length: r }, (_, q) => min(plus(first, q), m - 1));
        return [
          ...subRows.flatMap((_, q) => cols.map((_, j) => assign(part, q, j, zero))),
          contraction(part, local, subRows),
          ...rows.map((_, i): Stmt => ({ k: "let", name: name(`in${i}`), value: and(binary("ge", plus(r0, i), start), binary("lt", plus(r0, i), end)) })),
          ...rows.flatMap((_, i) =>
            cols.map((_, j) => {
              // Row i of the tile is row q of the part when first + q is it (q ≥ r: not in this group).
              let value = accumulator(key, i, j);
              for (let q = 0; q < Math.min(r, i + 1); q++) value = select(binary("eq", plus(first, q), plus(r0, i)), accumulator(part, q, j), value);
              return assign(key, i, j, select(v(name(`in${i}`), "bool"), value, accumulator(key, i, j)));
            }),
          ),
        ];
      };
      const count = binary("sub", binary("min", end, tileEnd), first);
      const masked = partRows.slice(0, -1).reduceRight<Stmt[]>((rest, r) => [{ k: "if", cond: binary("le", count, i32(r)), then: taken(r), else: rest }], taken(tm));
      return [
        {
          k: "if",
          cond: and(binary("ge", local, i32(0)), binary("lt", local, i32(g)), binary("lt", start, end)),
          then: [{ k: "if", cond: and(binary("le", start, r0), binary("ge", end, tileEnd)), then: [contraction(key, local)], else: [{ k: "let", name: name("first"), value: binary("max", start, r0) }, ...masked] }],
        },
      ];
    };
    // The groups whose rows meet the tile: from the first ending past r0 to the last starting before tileEnd.
    const groups = (starts: Value): Stmt[] => {
      const startOf = (t: Expr): Expr => starts.at([t], ctx);
      const offsetStart = (shift: number): Expr => startOf(binary("min", binary("max", plus(v(name("off"), "i32"), shift), i32(0)), i32(G)));
      const [first, past, t] = [name("first"), name("past"), name("t")];
      const tV = v(t, "i32");
      return [
        { k: "let", name: name("lo"), value: offsetStart(0) },
        { k: "let", name: name("hi"), value: offsetStart(g) },
        ...searchFirst(first, G, (x) => binary("gt", startOf(plus(x, 1)), r0)),
        ...searchFirst(past, G, (x) => binary("ge", startOf(x), tileEnd)),
        { k: "for", name: t, start: v(first, "i32"), end: v(past, "i32"), trips: G, body: visit(binary("sub", tV, v(name("off"), "i32")), startOf(tV), startOf(plus(tV, 1))) },
      ];
    };
    const none: Stmt[] = [
      { k: "let", name: name("lo"), value: i32(0) },
      { k: "let", name: name("hi"), value: i32(0) },
    ];
    // With a packed rhs, invocations step through row blocks first: one packed block is read while it is cached;
    // on the CPU they do so panel by panel (panelBlocks), so the panel's lhs rows stay cached too.
    const panel = panelRows(tm, k, packed !== undefined, target);
    const [inner, outer] = packed ? [mBlocks, nBlocks] : [nBlocks, mBlocks];
    const innerBlock = inner === 1 ? i32(0) : binary("rem", at, i32(inner));
    // The padding invocations of a spread order are past the last row block: they meet no group.
    const outerBlock = outer === 1 && !order ? i32(0) : inner === 1 ? at : binary("div", at, i32(inner));
    const blocks = panel < mBlocks ? panelBlocks(gid, mBlocks, nBlocks, panel, name("pw")) : { stmts: [], ...(packed ? { mBlock: innerBlock, nBlock: outerBlock } : { mBlock: outerBlock, nBlock: innerBlock }) };
    return [
      ...(order?.stmts ?? []),
      ...blocks.stmts,
      { k: "let", name: name("nb"), value: blocks.nBlock },
      { k: "let", name: name("r0"), value: times(blocks.mBlock, tm) },
      { k: "let", name: name("n0"), value: times(nb, tn) },
      { k: "let", name: name("tileEnd"), value: min(plus(r0, tm), m) },
      { k: "let", name: name("off"), value: asI32(groupOffset!.at([], ctx)) },
      ...rows.map((_, i): Stmt => ({ k: "let", name: name(`row${i}`), value: m % tm === 0 ? plus(r0, i) : min(plus(r0, i), m - 1) })),
      ...(n % tn === 0 ? [] : cols.map((_, j): Stmt => ({ k: "let", name: name(`col${j}`), value: min(plus(n0, j), n - 1) }))),
      ...[[key, tm] as const, ...partRows.map((r) => [subName(r), r] as const)].flatMap(([acc, r]) =>
        Array.from({ length: r }, (_, i) => cols.map((_, j): Stmt => ({ k: "declare", name: accumulatorName(acc, i, j), init: zero }))).flat(),
      ),
      ...(starts ? groups(starts) : none),
    ];
  };

  return blockedAccumulators(key, [m, n], outType, block, compute, (acc, i, j, ctx) => {
    const row = plus(r0, i);
    const active = and(binary("ge", row, lo), binary("lt", row, hi));
    const rest = existingOut ? cast(existingOut.at([min(row, m - 1), n % tn === 0 ? plus(n0, j) : min(plus(n0, j), n - 1)], ctx), outType) : zero;
    return select(active, acc, rest);
  });
}

/**
 * 8- and 4-bit operands on WebGPU (packed in u32 words) contract a word at a time: a k step reads one word per
 * row and per column instead of unpacking each element from its word. int8 words multiply with dot4I8Packed (four
 * products summed exactly in i32 per instruction); int4 and float8 words are unpacked in registers (sign-extended
 * nibbles, decoded bytes) into rank-1 updates, in k order as the element-wise loop would. Taken when both
 * operands have the same such type, k is a multiple of the elements per word (rows start on word boundaries)
 * and the result is f32 (or i32, for int8). Words are read from stored arrays, rhs k-contiguous: an operand
 * computed on the fly (a slice) is stored first, a [g, k, n] rhs copied transposed (a quarter of an f32 copy's
 * bytes, or less).
 */
function packedWords(lhs: Value, rhs: Value, transposeRhs: boolean, outType: ScalarType, target: LoweringTarget, materialize: (value: Value) => Value) {
  const k = lhs.shape[1]!;
  const element = lhs.element;
  const perWord = element === "int8" || element === "float8_e4m3fn" || element === "float8_e5m2" ? 4 : element === "int4" ? 8 : 0;
  const types = element === "int8" ? ["f32", "i32"] : ["f32"];
  if (target !== "webgpu" || perWord === 0 || rhs.element !== element || k === 0 || k % perWord !== 0 || !types.includes(outType)) return undefined;
  const [g, a, b] = rhs.shape as [number, number, number];
  // Operands computed on the fly (a slice, say) are stored first: words are read from arrays.
  const stored = materialize(lhs);
  const kMajor = materialize(transposeRhs ? rhs : { ...lazy([g, b, a], rhs.type, false, ([grp, column, t], ctx) => rhs.at([grp!, t!, column!], ctx)), element });
  const kWords = k / perWord;
  /** Element e of a word, as f32. */
  const unpack = (word: Expr, e: number): Expr =>
    element === "int4"
      ? cast(binary("sar", bitcast(binary("shl", word, c(28 - 4 * e, "u32")), "i32"), i32(28)), "f32")
      : decode(element as "float8_e4m3fn" | "float8_e5m2", binary("and", binary("shr", word, c(8 * e, "u32")), c(0xff, "u32")));
  return {
    /** The loop over k's words, each word pair's products added to the (i, j) accumulators. */
    contraction(ctx: KernelContext, acc: string, name: (s: string) => string, rows: Expr[], cols: Expr[], local: Expr, n: number): Stmt {
      const [lhsWords, rhsWords] = [ctx.slot(stored.ref!, { type: "u32" }), ctx.slot(kMajor.ref!, { type: "u32" })];
      const t = v(name("kw"), "i32");
      const rowWord = (i: number): Expr => v(name(`rw${i}`), "u32");
      const colWord = (j: number): Expr => v(name(`cw${j}`), "u32");
      const product = (i: number, j: number): Expr => (outType === "i32" ? dot4i8(rowWord(i), colWord(j)) : cast(dot4i8(rowWord(i), colWord(j)), "f32"));
      const updates: Stmt[] =
        element === "int8"
          ? rows.flatMap((_, i) => cols.map((_, j): Stmt => ({ k: "assign", name: accumulatorName(acc, i, j), value: binary("add", v(accumulatorName(acc, i, j), outType), product(i, j)) })))
          : Array.from({ length: perWord }, (_, e): Stmt => ({ k: "rank1", acc, rows: rows.map((_, i) => unpack(rowWord(i), e)), cols: cols.map((_, j) => unpack(colWord(j), e)) }));
      return {
        k: "for",
        name: name("kw"),
        start: i32(0),
        end: i32(kWords),
        body: [
          ...rows.map((row, i): Stmt => ({ k: "let", name: name(`rw${i}`), value: load(lhsWords, binary("add", times(row, kWords), t), "u32") })),
          ...cols.map((column, j): Stmt => ({ k: "let", name: name(`cw${j}`), value: load(rhsWords, binary("add", times(binary("add", times(local, n), column), kWords), t), "u32") })),
          ...updates,
        ],
      };
    },
  };
}

/**
 * Where each of the G groups starts, and where the last one ends: `[G+1]` i32, rows past m belonging to none (a
 * negative size counts as 0). A kernel of its own, G+1 invocations each adding up the sizes before it, so that an
 * invocation finds its groups' rows in a few loads instead of walking the G groups (with G = 64 the walk cost a
 * gmm about a tenth of its time on the CPU, and a tgmm, whose invocations contract few rows, most of it).
 */
function groupStarts(groupSizes: Value, m: number, materialize: (value: Value) => Value): Value {
  const G = groupSizes.shape[0]!;
  const [start, j] = [fresh("start"), fresh("j")];
  const startV = v(start, "i32");
  return materialize(
    lazy([G + 1], "i32", true, ([upTo], ctx) => {
      ctx.emitOnce(start, () => {
        const size = binary("max", asI32(groupSizes.at([v(j, "i32")], ctx)), i32(0));
        // start + min(size, m - start): never past m, and no overflow for huge sizes.
        const next = binary("add", startV, binary("min", size, binary("sub", i32(m), startV)));
        return [
          { k: "declare", name: start, init: i32(0) },
          { k: "for", name: j, start: i32(0), end: upTo!, trips: G, body: [{ k: "assign", name: start, value: next }] },
        ];
      });
      return startV;
    }),
  );
}

/**
 * Column blocks of a band of CPU tgmm invocations (see groupedTgmm). Consecutive invocations then write a band's 64
 * values of an output row (four whole cache lines) while the band's packed rows of the group stay cached. Measured at
 * 4096×512×1024 (ms a call, g = 8 balanced / skewed, g = 64 balanced / skewed): the k blocks of one column block
 * first (each output line written in halves far apart in time) 223 / 234 / 389 / 375; all column blocks of one k
 * block first (a large group's packed rows no longer cached) 214 / 267 / 332 / 366; bands of 8: 210–212 / 211–216
 * / 315–320 / 319–328 (of 4: 215 / 222 / 336 / 331; of 16: 216 / 221 / 317 / 353).
 */
const TGMM_BAND = 8;

/**
 * tgmm: `lhs [k,m]`, `rhs [m,n]`, `groupSizes [G]`, `groupOffset []`, `existingOut [g,k,n]`? → `[g,k,n]`. On the
 * CPU rhs is packed into column blocks first (as dot_general's), and a group's invocations walk its column
 * blocks in bands of TGMM_BAND: for each k block, the band's column blocks one after another.
 */
export function groupedTgmm(
  [lhs, rhs, groupSizes, groupOffset, existingOut]: Value[],
  outShape: readonly number[],
  outType: ScalarType,
  target: LoweringTarget,
  materialize: (value: Value) => Value,
): Value {
  const [g, k, n] = outShape as [number, number, number];
  const m = lhs!.shape[1]!;
  const { tm, tn } = chooseDotTiling(g, k, n, m, target);
  const [kBlocks, nBlocks] = [Math.max(1, Math.ceil(k / tm)), Math.max(1, Math.ceil(n / tn))];
  const key = fresh("tgmm");
  const name = (s: string): string => `${key}${s}`;
  const [a0, n0, nb, grp, r] = ["a0", "n0", "nb", "grp", "r"].map((s) => v(name(s), "i32")) as [Expr, Expr, Expr, Expr, Expr];
  const rhsAt = (column: Expr, row: Expr, ctx: KernelContext): Expr => cast(rhs!.at([row, column], ctx), outType);
  const packed = sizeOf(outShape) > 0 && packsRhs(k, m, n, target) ? packRhs(key, { batch: 1, k: m, n, nBlocks, tn }, outType, materialize, (_b, column, row, ctx) => rhsAt(column, row, ctx)) : undefined;
  const starts = sizeOf(outShape) > 0 ? groupStarts(groupSizes!, m, materialize) : undefined;

  // On WebGPU a large group's blocks contract more rows than a small one's: workgroups take them spread out.
  const grid = sizeOf(outShape) === 0 ? 0 : g * kBlocks * nBlocks;
  const order = target === "webgpu" && grid > 0 ? spreadWorkgroups(name("o"), grid) : undefined;
  const at = order?.index ?? gid;

  const block: Block = {
    grid: order?.grid ?? grid,
    rows: tm,
    cols: tn,
    element: (i, j) => {
      const [row, col] = [plus(a0, i), plus(n0, j)];
      const bounds = [order?.valid, k % tm !== 0 ? binary("lt", row, i32(k)) : undefined, n % tn !== 0 ? binary("lt", col, i32(n)) : undefined].filter((e) => e !== undefined);
      return { coords: [grp, row, col], index: binary("add", times(binary("add", times(grp, k), row), n), col), valid: bounds.length === 0 ? undefined : allOf(bounds) };
    },
  };
  const rowOf = (i: number): Expr => (k % tm === 0 ? plus(a0, i) : min(plus(a0, i), k - 1));
  const colOf = (j: number): Expr => (n % tn === 0 ? plus(n0, j) : min(plus(n0, j), n - 1));

  const compute = (ctx: KernelContext): Stmt[] => {
    const rest = kBlocks * nBlocks;
    const rows = Array.from({ length: tm }, (_, i) => cast(lhs!.at([v(name(`ra${i}`), "i32"), r], ctx), outType));
    const cols = Array.from({ length: tn }, (_, j) => (packed ? packed.at([i32(0), nb, r, i32(j)], ctx) : rhsAt(n % tn === 0 ? colOf(j) : v(name(`cb${j}`), "i32"), r, ctx)));
    const within = rest === 1 ? at : binary("rem", at, i32(rest));
    const banded = packed && TGMM_BAND < nBlocks ? panelBlocks(within, nBlocks, kBlocks, TGMM_BAND, name("bw")) : undefined;
    const nBlock = banded ? banded.mBlock : nBlocks === 1 ? i32(0) : binary("rem", at, i32(nBlocks));
    const kBlock = banded ? banded.nBlock : kBlocks === 1 ? i32(0) : binary("rem", binary("div", at, i32(nBlocks)), i32(kBlocks));
    const first = binary("add", grp, asI32(groupOffset!.at([], ctx)));
    const group = rest === 1 ? at : binary("div", at, i32(rest));
    // The padding invocations of a spread order take the last group's coordinates and contract no row.
    const end = starts!.at([plus(first, 1)], ctx);
    return [
      ...(order?.stmts ?? []),
      ...(banded?.stmts ?? []),
      { k: "let", name: name("grp"), value: order ? binary("min", group, i32(g - 1)) : group },
      { k: "let", name: name("nb"), value: nBlock },
      { k: "let", name: name("a0"), value: times(kBlock, tm) },
      { k: "let", name: name("n0"), value: times(nb, tn) },
      ...Array.from({ length: tm }, (_, i): Stmt => ({ k: "let", name: name(`ra${i}`), value: rowOf(i) })),
      ...(n % tn === 0 ? [] : Array.from({ length: tn }, (_, j): Stmt => ({ k: "let", name: name(`cb${j}`), value: colOf(j) }))),
      ...Array.from({ length: tm }, (_, i) => Array.from({ length: tn }, (_, j): Stmt => ({ k: "declare", name: accumulatorName(key, i, j), init: c(0, outType) }))).flat(),
      { k: "let", name: name("lo"), value: starts!.at([first], ctx) },
      { k: "let", name: name("hi"), value: order?.valid ? select(order.valid, end, v(name("lo"), "i32")) : end },
      { k: "for", name: name("r"), start: v(name("lo"), "i32"), end: v(name("hi"), "i32"), body: [{ k: "rank1", acc: key, rows, cols }], trips: m },
    ];
  };

  return blockedAccumulators(key, outShape, outType, block, compute, (acc, i, j, ctx) =>
    existingOut ? binary("add", acc, cast(existingOut.at([grp, rowOf(i), colOf(j)], ctx), outType)) : acc,
  );
}
