/**
 * Register blocks four lanes at a time, for the wasm renderer. A contraction kernel sets, merges and stores its
 * block element by element; with the block's accumulators in vector registers (wasm.ts), each of those statements
 * is a lane extraction or replacement. A run of four that set the four lanes of one accumulator, or store four
 * consecutive elements of one 32-bit buffer, of one expression at four lanes renders as one vector statement (a
 * local.set, a v128.store) of that expression computed four lanes at a time. An expression is at four lanes when
 * its four values differ only in what they read: lanes 0…3 of one vector accumulator, or four consecutive elements
 * of a buffer; everything else (a select's condition, a bias row index, a constant) is the same in all four and is
 * computed once and splatted.
 */
import type { BinaryOp, BufferDecl, Expr, ScalarType, Stmt } from "./kernelIr.js";
import { OP, SIMD, VAL } from "./wasmEncoding.js";
import { wide } from "./wasmNarrow.js";

type Load = Extract<Expr, { k: "load" }>;
type Store = Extract<Stmt, { k: "store" }>;

/** A lane of a vector accumulator, as the renderer keeps them. */
export interface AccumulatorLane {
  readonly local: number;
  readonly lane: number;
}

/** What the vector stores need of the scalar renderer. */
export interface LaneRenderer {
  readonly buffers: readonly BufferDecl[];
  readonly body: {
    op(...ops: number[]): unknown;
    index(op: number, i: number): unknown;
    simd(op: number, ...immediates: number[]): unknown;
    simdMemory(op: number, align: number, offset: number): unknown;
  };
  /** The vector accumulator lane a name stands for, if any. */
  lane(name: string): AccumulatorLane | undefined;
  /** Pushes the scalar value of `e`. */
  expr(e: Expr): void;
  /** Pushes the byte address of a load or store (through a loop's pointer when it has one); returns its memory offset. */
  addressOf(buffer: number, index: Expr, load?: Load): number;
}

/** An expression at four lanes, as it is computed. */
type Lanes =
  | { readonly k: "accumulator"; readonly local: number }
  | { readonly k: "splat"; readonly value: Expr }
  | { readonly k: "load"; readonly first: Load }
  | { readonly k: "binary"; readonly op: number; readonly a: Lanes; readonly b: Lanes }
  | { readonly k: "select"; readonly cond: Expr; readonly a: Lanes; readonly b: Lanes };

const F32X4: Partial<Record<BinaryOp, number>> = { add: SIMD.f32x4Add, sub: SIMD.f32x4Sub, mul: SIMD.f32x4Mul, div: SIMD.f32x4Div, min: SIMD.f32x4Min, max: SIMD.f32x4Max };
const VECTOR_TYPES: readonly ScalarType[] = ["f32", "i32", "u32"];

const CHILDREN = ["a", "b", "cond", "index"] as const;
const children = (e: Expr): Expr[] => CHILDREN.flatMap((key) => ((e as Record<string, unknown>)[key] as Expr | undefined) ?? []);
const text = (e: Expr): string => JSON.stringify(e);

/** An i32 sum as its non-constant terms (as text) and its constant part. */
export function offsetOf(e: Expr): { base: string; offset: number } {
  const terms: Expr[] = [];
  let offset = 0;
  const visit = (x: Expr): void => {
    if (x.k === "binary" && x.op === "add") {
      visit(x.a);
      visit(x.b);
    } else if (x.k === "const") offset += x.value;
    else terms.push(x);
  };
  visit(e);
  return { base: JSON.stringify(terms), offset };
}

/** Whether the four indices address four consecutive elements, in order. */
const consecutive = (indices: readonly Expr[]): boolean => {
  const first = offsetOf(indices[0]!);
  return indices.every((index, j) => {
    const at = offsetOf(index);
    return at.base === first.base && at.offset === first.offset + j;
  });
};

/** `values` (four expressions, one per lane) as one computed in lanes, or undefined when they are not one. */
function lanesOf(values: readonly Expr[], r: LaneRenderer, stored: number): Lanes | undefined {
  const [first] = values as [Expr];
  if (!VECTOR_TYPES.includes(first.type) || values.some((e) => e.k !== first.k || e.type !== first.type)) return undefined;
  const readsLane = (e: Expr): boolean => (e.k === "var" && r.lane(e.name) !== undefined) || children(e).some(readsLane);
  // A value the four share is computed once, unless it reads the stored buffer (the scalar stores come between its reads).
  const shared = (e: Expr): boolean => !readsLane(e) && !loadsFrom(e, stored);
  if (values.every((e) => text(e) === text(first)) && shared(first)) return { k: "splat", value: first };
  switch (first.k) {
    case "var": {
      const lanes = values.map((e) => r.lane((e as typeof first).name));
      const local = lanes[0]?.local;
      return lanes.every((l, j) => l !== undefined && l.local === local && l.lane === j) ? { k: "accumulator", local: local! } : undefined;
    }
    case "load": {
      const loads = values as Load[];
      const decl = r.buffers[first.buffer]!;
      const ok = first.buffer !== stored && wide(decl) && loads.every((l) => l.buffer === first.buffer) && consecutive(loads.map((l) => l.index));
      return ok ? { k: "load", first } : undefined;
    }
    case "binary": {
      const ops = values as (typeof first)[];
      const op = F32X4[first.op];
      if (first.type !== "f32" || op === undefined || ops.some((e) => e.op !== first.op)) return undefined;
      const [a, b] = [lanesOf(ops.map((e) => e.a), r, stored), lanesOf(ops.map((e) => e.b), r, stored)];
      return a && b ? { k: "binary", op, a, b } : undefined;
    }
    case "select": {
      const selects = values as (typeof first)[];
      if (selects.some((e) => text(e.cond) !== text(first.cond)) || !shared(first.cond)) return undefined;
      const [a, b] = [lanesOf(selects.map((e) => e.a), r, stored), lanesOf(selects.map((e) => e.b), r, stored)];
      return a && b ? { k: "select", cond: first.cond, a, b } : undefined;
    }
    default:
      return undefined;
  }
}

const loadsFrom = (e: Expr, buffer: number): boolean => (e.k === "load" && e.buffer === buffer) || children(e).some((x) => loadsFrom(x, buffer));

function render(x: Lanes, type: ScalarType, r: LaneRenderer): void {
  const b = r.body;
  switch (x.k) {
    case "accumulator":
      b.index(OP.localGet, x.local);
      return;
    case "splat":
      r.expr(x.value);
      b.simd(type === "f32" ? SIMD.f32x4Splat : SIMD.i32x4Splat);
      return;
    case "load":
      b.simdMemory(SIMD.v128Load, 2, r.addressOf(x.first.buffer, x.first.index, x.first));
      return;
    case "binary":
      render(x.a, type, r);
      render(x.b, type, r);
      b.simd(x.op);
      return;
    case "select":
      // Only the chosen side runs, as in the scalar select: the other one's loads may be out of bounds.
      r.expr(x.cond);
      b.op(OP.if, VAL.v128);
      render(x.a, type, r);
      b.op(OP.else);
      render(x.b, type, r);
      b.op(OP.end);
      return;
  }
}

/**
 * Renders statements i … i+3 as one local.set when they set (declare or assign) lanes 0…3 of one vector accumulator,
 * in order, to one expression at four lanes; returns 4, or 0 when they are not (nothing is rendered then). Value j
 * may read lane j of the accumulator it sets: the lanes before it, already set in the scalar order, it does not read.
 */
export function vectorAssign(stmts: readonly Stmt[], i: number, r: LaneRenderer): number {
  const run = stmts.slice(i, i + 4);
  const sets = run.map((s) => (s.k === "declare" || s.k === "assign" ? { at: r.lane(s.name), value: s.k === "declare" ? s.init : s.value } : undefined));
  const local = sets[0]?.at?.local;
  if (run.length < 4 || local === undefined || !sets.every((s, lane) => s?.at?.local === local && s.at.lane === lane)) return 0;
  const type = sets[0]!.value.type;
  const lanes = lanesOf(sets.map((s) => s!.value), r, -1);
  if (!lanes) return 0;
  render(lanes, type, r);
  r.body.index(OP.localSet, local);
  return 4;
}

/**
 * Renders statements i … i+3 as one vector store when they are four stores to consecutive elements of one 32-bit
 * buffer of one expression at four lanes; returns 4, or 0 when they are not (nothing is rendered then).
 */
export function vectorStore(stmts: readonly Stmt[], i: number, r: LaneRenderer): number {
  const run = stmts.slice(i, i + 4);
  const first = run[0];
  if (run.length < 4 || first?.k !== "store" || !wide(r.buffers[first.buffer]!)) return 0;
  if (!run.every((s) => s.k === "store" && s.buffer === first.buffer) || !consecutive((run as Store[]).map((s) => s.index))) return 0;
  const type = r.buffers[first.buffer]!.type;
  const lanes = lanesOf((run as Store[]).map((s) => s.value), r, first.buffer);
  if (!lanes || first.value.type !== type) return 0;
  const offset = r.addressOf(first.buffer, first.index);
  render(lanes, type, r);
  r.body.simdMemory(SIMD.v128Store, 2, offset);
  return 4;
}
