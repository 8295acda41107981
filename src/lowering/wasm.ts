/**
 * Renders kernel IR as a WebAssembly module (the CPU backend's fast path; kernels it cannot render run as
 * JavaScript). Buffers live in one imported memory, each kernel takes their byte offsets. Arithmetic is wasm's
 * f32/i32, which is what the JavaScript renderer's rounding reproduces, with its conventions for integer division
 * by zero and out-of-range casts. `rank1` blocks whose columns come in fours run as SIMD (f32x4/i32x4) with the
 * accumulators in vector registers, and the statements that set and store those accumulators four lanes at a time
 * where they can (wasmLanes.ts); elementwise kernels run four invocations at a time (wasmSimd.ts); exp is an f64
 * polynomial, other transcendentals call JavaScript's Math.
 */
import { type Expr, type Kernel, type ScalarType, type Stmt, type UnaryOp, accumulatorName, expandRank1 } from "./kernelIr.js";
import { FunctionBody, OP, SAT, SIMD, VAL, type ValType, encodeModule } from "./wasmEncoding.js";
import { MATH_BINARY, MATH_UNARY, renderVectorKernel, vectorizable as elementwise } from "./wasmSimd.js";
import { addressShift, loadOp, roundToFormat, storeOp, wide } from "./wasmNarrow.js";
import { type LaneRenderer, offsetOf, vectorAssign, vectorStore } from "./wasmLanes.js";
import { type StridePlan, planStrides } from "./wasmStrides.js";

/** A kernel the wasm renderer does not handle (the caller falls back to JavaScript). */
export class WasmUnsupported extends Error {}

/** JavaScript functions a module may import (module "m"). */
export const WASM_IMPORTS: Record<string, (...args: number[]) => number> = {
  log: Math.log, log1p: Math.log1p, expm1: Math.expm1, sin: Math.sin, cos: Math.cos, tan: Math.tan, asin: Math.asin, acos: Math.acos,
  atan: Math.atan, sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh, pow: Math.pow, atan2: Math.atan2, fmod: (a, b) => a % b,
};

const valType = (t: ScalarType): ValType => (t === "f32" ? VAL.f32 : VAL.i32);
const hasLoad = (e: Expr): boolean => e.k === "load" || ("a" in e && hasLoad(e.a)) || ("b" in e && hasLoad(e.b)) || ("cond" in e && hasLoad(e.cond));

/** An index as a sum of terms (keyed by their text) times coefficients, plus a constant: to spot contiguous loads. */
function linear(e: Expr): { terms: Map<string, number>; constant: number } {
  if (e.k === "const") return { terms: new Map(), constant: e.value };
  if (e.k === "binary" && (e.op === "add" || e.op === "sub")) {
    const [a, b] = [linear(e.a), linear(e.b)];
    const sign = e.op === "add" ? 1 : -1;
    for (const [key, n] of b.terms) a.terms.set(key, (a.terms.get(key) ?? 0) + sign * n);
    return { terms: a.terms, constant: a.constant + sign * b.constant };
  }
  if (e.k === "binary" && e.op === "mul" && e.b.k === "const") {
    const a = linear(e.a);
    for (const [key, n] of a.terms) a.terms.set(key, n * e.b.value);
    return { terms: a.terms, constant: a.constant * e.b.value };
  }
  return { terms: new Map([[JSON.stringify(e), 1]]), constant: 0 };
}

/** Whether four loads read consecutive 32-bit elements of one buffer (so one v128.load reads them all). */
function contiguous(exprs: readonly Expr[], kernel: Kernel): boolean {
  const first = exprs[0]!;
  if (first.k !== "load" || !wide(kernel.buffers[first.buffer]!)) return false;
  const base = linear(first.index);
  return exprs.every((e, lane) => {
    if (e.k !== "load" || e.buffer !== first.buffer || e.type !== first.type) return false;
    const l = linear(e.index);
    if (l.constant - base.constant !== lane) return false;
    const keys = new Set([...l.terms.keys(), ...base.terms.keys()]);
    return [...keys].every((key) => (l.terms.get(key) ?? 0) === (base.terms.get(key) ?? 0));
  });
}

type Rank1 = Extract<Stmt, { k: "rank1" }>;
const vectorizable = (s: Rank1): boolean => s.cols.length % 4 === 0 && s.rows[0]!.type !== "bool";

class Renderer {
  readonly body: FunctionBody;
  readonly imports: string[] = [];
  readonly #locals = new Map<string, number>();
  /** Accumulators of vectorised `rank1` blocks: a lane of a v128 local. */
  readonly #lanes = new Map<string, { local: number; lane: number; type: ScalarType }>();
  /** The `let`s rendered so far, by name (names are unique within a kernel). */
  readonly #lets = new Map<string, Expr>();
  /** The strided loads of the loops being rendered, innermost last, with their pointers' locals. */
  readonly #strides: { plan: StridePlan; locals: number[] }[] = [];

  /** This renderer as the register blocks' vector statements see it (wasmLanes.ts). */
  readonly #laneRenderer: LaneRenderer;

  constructor(readonly kernel: Kernel) {
    this.body = new FunctionBody(kernel.buffers.map(() => VAL.i32));
    this.#laneRenderer = {
      buffers: kernel.buffers,
      body: this.body,
      lane: (name) => this.#lanes.get(name),
      expr: (e) => this.expr(e),
      addressOf: (buffer, index, load) => {
        const offset = load && this.strided(load);
        if (offset === undefined) this.address(buffer, index);
        return offset ?? 0;
      },
    };
  }

  local(name: string, type: ScalarType): number {
    const key = `${name}:${type}`;
    let i = this.#locals.get(key);
    if (i === undefined) {
      i = this.body.local(valType(type));
      this.#locals.set(key, i);
    }
    return i;
  }

  call(name: string): void {
    let i = this.imports.indexOf(name);
    if (i < 0) i = this.imports.push(name) - 1;
    this.body.index(OP.call, i);
  }

  /** Registers the vector accumulators of every vectorisable `rank1` block in `stmts`. */
  collectBlocks(stmts: readonly Stmt[]): void {
    for (const s of stmts) {
      if (s.k === "for") this.collectBlocks(s.body);
      if (s.k === "if") this.collectBlocks([...s.then, ...(s.else ?? [])]);
      if (s.k !== "rank1" || !vectorizable(s)) continue;
      const type = s.rows[0]!.type;
      s.rows.forEach((_, i) => {
        for (let g = 0; g < s.cols.length / 4; g++) {
          const name = accumulatorName(s.acc, i, 4 * g);
          if (this.#lanes.has(name)) continue;
          const local = this.body.local(VAL.v128);
          for (let lane = 0; lane < 4; lane++) this.#lanes.set(accumulatorName(s.acc, i, 4 * g + lane), { local, lane, type });
        }
      });
    }
  }

  /** Pushes the byte address of element `index` of buffer `buffer`. */
  address(buffer: number, index: Expr): void {
    this.body.index(OP.localGet, buffer);
    this.expr(index);
    const shift = addressShift(this.kernel.buffers[buffer]!);
    if (shift > 0) this.body.i32(shift).op(OP.i32Shl);
    this.body.op(OP.i32Add);
  }

  /** Pushes the address of a load that reads through a loop's pointer; its memory offset (undefined if it does not). */
  strided(e: Expr): number | undefined {
    for (let i = this.#strides.length - 1; i >= 0; i--) {
      const { plan, locals } = this.#strides[i]!;
      const found = plan.loads.get(e);
      if (!found) continue;
      this.body.index(OP.localGet, locals[found.pointer]!);
      return found.offset;
    }
    return undefined;
  }

  expr(e: Expr): void {
    const b = this.body;
    switch (e.k) {
      case "const":
        if (e.type === "f32") b.f32(e.value);
        else b.i32(e.type === "bool" ? Number(Boolean(e.value)) : e.value);
        return;
      case "var": {
        const lane = this.#lanes.get(e.name);
        if (lane) b.index(OP.localGet, lane.local).simd(lane.type === "f32" ? SIMD.f32x4ExtractLane : SIMD.i32x4ExtractLane, lane.lane);
        else b.index(OP.localGet, this.local(e.name, e.type));
        return;
      }
      case "load": {
        const offset = this.strided(e);
        if (offset === undefined) this.address(e.buffer, e.index);
        b.memory(...loadOp(this.kernel.buffers[e.buffer]!), offset);
        if (e.type === "bool") b.i32(0).op(OP.i32Ne);
        return;
      }
      case "unary":
        return this.unary(e.op, e.a, e.type);
      case "binary":
        return this.binary(e.op, e.a, e.b);
      case "select": {
        if (hasLoad(e.a) || hasLoad(e.b)) {
          // Only the chosen side may load: the other one's index can be out of bounds.
          this.expr(e.cond);
          b.op(OP.if, valType(e.type));
          this.expr(e.a);
          b.op(OP.else);
          this.expr(e.b);
          b.op(OP.end);
        } else {
          this.expr(e.a);
          this.expr(e.b);
          this.expr(e.cond);
          b.op(OP.select);
        }
        return;
      }
      case "cast":
        return this.cast(e.a, e.type);
      case "round":
        this.unrounded(e.a);
        roundToFormat(b, e.format);
        return;
      case "bitcast":
        this.expr(e.a);
        if (e.a.type === "f32" && e.type !== "f32") b.op(OP.i32ReinterpretF32);
        else if (e.type === "f32" && e.a.type !== "f32") b.op(OP.f32ReinterpretI32);
        return;
      default:
        throw new WasmUnsupported(`expression ${(e as Expr).k}`);
    }
  }

  /**
   * An f32 expression's value before its rounding to f32, as an f64 (what the JavaScript renderer rounds to a
   * narrow format): an add, subtract, multiply or divide in f64, an integer converted exactly; an f32 value that
   * no rounding reaches (loads, exact operations) promoted. Other operations round in JavaScript.
   */
  unrounded(e: Expr): void {
    const b = this.body;
    const f64: Partial<Record<string, number>> = { add: OP.f64Add, sub: OP.f64Sub, mul: OP.f64Mul, div: OP.f64Div };
    if (e.k === "binary" && e.a.type === "f32" && f64[e.op] !== undefined) {
      this.unrounded(e.a);
      this.unrounded(e.b);
      b.op(f64[e.op]!);
    } else if (e.k === "cast" && (e.a.type === "i32" || e.a.type === "u32")) {
      this.expr(e.a);
      b.op(e.a.type === "i32" ? OP.f64ConvertI32S : OP.f64ConvertI32U);
    } else if ((e.k === "binary" && !["max", "min"].includes(e.op)) || (e.k === "unary" && !["neg", "abs", "floor", "ceil", "round_even", "round_away"].includes(e.op))) {
      throw new WasmUnsupported(`a ${e.op} rounded to a narrow format`);
    } else {
      this.expr(e);
      b.op(OP.f64PromoteF32);
    }
  }

  cast(a: Expr, to: ScalarType): void {
    const b = this.body;
    this.expr(a);
    const from = a.type;
    if (from === to) return;
    if (to === "bool") {
      if (from === "f32") b.f32(0).op(OP.f32Ne);
      else b.i32(0).op(OP.i32Ne);
    } else if (to === "f32") {
      b.op(from === "i32" ? OP.f32ConvertI32S : OP.f32ConvertI32U);
    } else if (from === "f32") {
      b.sat(to === "i32" ? SAT.i32TruncSatF32S : SAT.i32TruncSatF32U);
    }
  }

  unary(op: UnaryOp, a: Expr, type: ScalarType): void {
    const b = this.body;
    if (type !== "f32") {
      if (op === "neg") {
        b.i32(0);
        this.expr(a);
        b.op(OP.i32Sub);
      } else if (op === "not") {
        this.expr(a);
        if (type === "bool") b.op(OP.i32Eqz);
        else b.i32(-1).op(OP.i32Xor);
      } else if (op === "abs") {
        const t = this.body.local(VAL.i32);
        this.expr(a);
        b.index(OP.localSet, t).i32(0).index(OP.localGet, t).op(OP.i32Sub).index(OP.localGet, t).index(OP.localGet, t).i32(0);
        b.op(type === "u32" ? OP.i32LtU : OP.i32LtS, OP.select);
      } else if (op === "floor" || op === "ceil") {
        this.expr(a);
      } else {
        throw new WasmUnsupported(`${op} on ${type}`);
      }
      return;
    }
    const native: Partial<Record<UnaryOp, number>> = { neg: OP.f32Neg, abs: OP.f32Abs, sqrt: OP.f32Sqrt, floor: OP.f32Floor, ceil: OP.f32Ceil, round_even: OP.f32Nearest };
    this.expr(a);
    if (native[op] !== undefined) {
      b.op(native[op]);
    } else if (op === "exp") {
      this.exp();
    } else if (MATH_UNARY.has(op)) {
      b.op(OP.f64PromoteF32);
      this.call(op);
      b.op(OP.f32DemoteF64);
    } else {
      throw new WasmUnsupported(`${op}`);
    }
  }

  /**
   * exp of the f32 on the stack, in f64: 2^k · p(r) with r = x − k·ln2 and p the degree-11 Taylor polynomial
   * (relative error below 1e-14, so the f32 result is Math.exp's rounded but for rare ties).
   */
  exp(): void {
    const b = this.body;
    const [x, k] = [b.local(VAL.f64), b.local(VAL.f64)];
    b.op(OP.f64PromoteF32).f64(-110).op(OP.f64Max).f64(100).op(OP.f64Min).index(OP.localTee, x);
    b.f64(Math.LOG2E).op(OP.f64Mul, OP.f64Nearest).index(OP.localTee, k);
    b.f64(-6.93147180369123816490e-1).op(OP.f64Mul).index(OP.localGet, x).op(OP.f64Add);
    b.index(OP.localGet, k).f64(-1.90821492927058770002e-10).op(OP.f64Mul, OP.f64Add).index(OP.localSet, x);
    let factorial = 39916800;
    b.f64(1 / factorial);
    for (let n = 10; n >= 0; n--) {
      factorial /= n + 1;
      b.index(OP.localGet, x).op(OP.f64Mul).f64(1 / factorial).op(OP.f64Add);
    }
    b.index(OP.localGet, k).sat(SAT.i64TruncSatF64S).i64(1023n).op(OP.i64Add).i64(52n).op(OP.i64Shl, OP.f64ReinterpretI64, OP.f64Mul, OP.f32DemoteF64);
  }

  binary(op: Extract<Expr, { k: "binary" }>["op"], a: Expr, bExpr: Expr): void {
    const b = this.body;
    const t = a.type;
    if (t === "f32") {
      const native: Partial<Record<typeof op, number>> = {
        add: OP.f32Add, sub: OP.f32Sub, mul: OP.f32Mul, div: OP.f32Div, max: OP.f32Max, min: OP.f32Min,
        lt: OP.f32Lt, le: OP.f32Le, gt: OP.f32Gt, ge: OP.f32Ge, eq: OP.f32Eq, ne: OP.f32Ne,
      };
      const imported = MATH_BINARY;
      if (native[op] !== undefined) {
        this.expr(a);
        this.expr(bExpr);
        b.op(native[op]);
      } else if (imported[op]) {
        this.expr(a);
        b.op(OP.f64PromoteF32);
        this.expr(bExpr);
        b.op(OP.f64PromoteF32);
        this.call(imported[op]);
        b.op(OP.f32DemoteF64);
      } else {
        throw new WasmUnsupported(`${op} on f32`);
      }
      return;
    }
    const unsigned = t === "u32" || t === "bool";
    const plain: Partial<Record<typeof op, number>> = {
      add: OP.i32Add, sub: OP.i32Sub, mul: OP.i32Mul, and: OP.i32And, or: OP.i32Or, xor: OP.i32Xor, eq: OP.i32Eq, ne: OP.i32Ne,
      lt: unsigned ? OP.i32LtU : OP.i32LtS, le: unsigned ? OP.i32LeU : OP.i32LeS, gt: unsigned ? OP.i32GtU : OP.i32GtS, ge: unsigned ? OP.i32GeU : OP.i32GeS,
    };
    if (plain[op] !== undefined) {
      this.expr(a);
      this.expr(bExpr);
      b.op(plain[op]);
      return;
    }
    const [x, y] = [b.local(VAL.i32), b.local(VAL.i32)];
    this.expr(a);
    b.index(OP.localSet, x);
    this.expr(bExpr);
    b.index(OP.localSet, y);
    const get = (i: number) => b.index(OP.localGet, i);
    switch (op) {
      case "max":
      case "min":
        get(x);
        get(y);
        get(x);
        get(y);
        b.op(op === "max" ? (unsigned ? OP.i32GtU : OP.i32GtS) : unsigned ? OP.i32LtU : OP.i32LtS, OP.select);
        return;
      case "div":
      case "rem":
        // As the JavaScript renderer: x / 0 = -1 and x % 0 = x; i32 x / -1 = -x and x % -1 = 0 without trapping.
        get(y).op(OP.i32Eqz, OP.if, VAL.i32);
        if (op === "div") b.i32(-1);
        else get(x);
        b.op(OP.else);
        if (!unsigned) {
          get(y).i32(-1).op(OP.i32Eq, OP.if, VAL.i32);
          if (op === "div") b.i32(0).index(OP.localGet, x).op(OP.i32Sub);
          else b.i32(0);
          b.op(OP.else);
        }
        get(x);
        get(y);
        b.op(op === "div" ? (unsigned ? OP.i32DivU : OP.i32DivS) : unsigned ? OP.i32RemU : OP.i32RemS);
        if (!unsigned) b.op(OP.end);
        b.op(OP.end);
        return;
      case "shl":
      case "shr":
      case "sar": {
        const arithmetic = op === "sar" && !unsigned;
        get(x);
        if (arithmetic) {
          get(y).i32(31).index(OP.localGet, y).i32(32).op(OP.i32LtU, OP.select, OP.i32ShrS);
          return;
        }
        get(y);
        b.op(op === "shl" ? OP.i32Shl : OP.i32ShrU).i32(0);
        get(y).i32(32).op(OP.i32LtU, OP.select);
        return;
      }
      default:
        throw new WasmUnsupported(`${op} on ${t}`);
    }
  }

  stmts(stmts: readonly Stmt[]): void {
    for (let i = 0; i < stmts.length; ) {
      const done = vectorAssign(stmts, i, this.#laneRenderer) || this.copyRun(stmts, i) || vectorStore(stmts, i, this.#laneRenderer);
      if (done === 0) this.stmt(stmts[i]!);
      i += done || 1;
    }
  }

  /**
   * Statements i, i+1, … that copy consecutive elements of one 32-bit buffer to consecutive elements of another
   * (a packing kernel's `dst[a + j] = src[b + j]`), rendered four at a time as vector loads and stores; returns
   * how many it rendered (0 when they are not such a run).
   */
  copyRun(stmts: readonly Stmt[], i: number): number {
    const wideAt = (buffer: number): boolean => wide(this.kernel.buffers[buffer]!);
    const copyAt = (s: Stmt | undefined): { dst: Extract<Stmt, { k: "store" }>; src: Extract<Expr, { k: "load" }> } | undefined =>
      s?.k === "store" && s.value.k === "load" && s.value.buffer !== s.buffer && wideAt(s.buffer) && wideAt(s.value.buffer) ? { dst: s, src: s.value } : undefined;
    const first = copyAt(stmts[i]);
    if (!first) return 0;
    const [dst0, src0] = [offsetOf(first.dst.index), offsetOf(first.src.index)];
    let n = 1;
    for (let next = copyAt(stmts[i + n]); next; next = copyAt(stmts[i + n])) {
      const [dst, src] = [offsetOf(next.dst.index), offsetOf(next.src.index)];
      const follows = next.dst.buffer === first.dst.buffer && next.src.buffer === first.src.buffer && dst.base === dst0.base && src.base === src0.base;
      if (!follows || dst.offset !== dst0.offset + n || src.offset !== src0.offset + n) break;
      n++;
    }
    const vectors = Math.floor(n / 4);
    for (let v = 0; v < vectors; v++) {
      const at = stmts[i + 4 * v] as Extract<Stmt, { k: "store" }>;
      this.address(at.buffer, at.index);
      this.address((at.value as Extract<Expr, { k: "load" }>).buffer, (at.value as Extract<Expr, { k: "load" }>).index);
      this.body.simdMemory(SIMD.v128Load, 2, 0).simdMemory(SIMD.v128Store, 2, 0);
    }
    return 4 * vectors;
  }

  stmt(s: Stmt): void {
    const b = this.body;
    switch (s.k) {
      case "let":
      case "declare":
      case "assign": {
        const value = s.k === "declare" ? s.init : s.value;
        const lane = this.#lanes.get(s.name);
        if (lane) {
          b.index(OP.localGet, lane.local);
          this.expr(value);
          b.simd(lane.type === "f32" ? SIMD.f32x4ReplaceLane : SIMD.i32x4ReplaceLane, lane.lane).index(OP.localSet, lane.local);
        } else {
          this.expr(value);
          b.index(OP.localSet, this.local(s.name, value.type));
        }
        if (s.k === "let") this.#lets.set(s.name, s.value);
        return;
      }
      case "store": {
        this.address(s.buffer, s.index);
        this.expr(s.value);
        b.memory(...storeOp(this.kernel.buffers[s.buffer]!));
        return;
      }
      case "for": {
        const i = this.local(s.name, "i32");
        const plan = planStrides(s, this.#lets, this.kernel.buffers);
        const locals = plan.pointers.map((p) => {
          const local = b.local(VAL.i32);
          this.address(p.buffer, p.start);
          b.index(OP.localSet, local);
          return local;
        });
        this.expr(s.start);
        b.index(OP.localSet, i).op(OP.block, 0x40, OP.loop, 0x40).index(OP.localGet, i);
        this.expr(s.end);
        b.op(OP.i32GeS).index(OP.brIf, 1);
        this.#strides.push({ plan, locals });
        this.stmts(s.body);
        this.#strides.pop();
        plan.pointers.forEach((p, k) => b.index(OP.localGet, locals[k]!).i32(4 * p.stride).op(OP.i32Add).index(OP.localSet, locals[k]!));
        b.index(OP.localGet, i).i32(1).op(OP.i32Add).index(OP.localSet, i).index(OP.br, 0).op(OP.end, OP.end);
        return;
      }
      case "if":
        this.expr(s.cond);
        b.op(OP.if, 0x40);
        this.stmts(s.then);
        if (s.else) {
          b.op(OP.else);
          this.stmts(s.else);
        }
        b.op(OP.end);
        return;
      case "rank1":
        if (vectorizable(s)) this.rank1(s);
        else this.stmts(expandRank1(s));
        return;
      default:
        throw new WasmUnsupported(`statement ${(s as Stmt).k}`);
    }
  }

  /** A vectorised `rank1`: column values four to a vector (one load when contiguous), each row value splatted. */
  rank1(s: Rank1): void {
    const b = this.body;
    const f32 = s.rows[0]!.type === "f32";
    const [splat, replace, add, mul] = f32 ? [SIMD.f32x4Splat, SIMD.f32x4ReplaceLane, SIMD.f32x4Add, SIMD.f32x4Mul] : [SIMD.i32x4Splat, SIMD.i32x4ReplaceLane, SIMD.i32x4Add, SIMD.i32x4Mul];
    const groups = Array.from({ length: s.cols.length / 4 }, (_, g) => s.cols.slice(4 * g, 4 * g + 4));
    const columns = groups.map((lanes) => {
      const first = lanes[0]!;
      if (contiguous(lanes, this.kernel) && first.k === "load") {
        const offset = this.strided(first);
        if (offset === undefined) this.address(first.buffer, first.index);
        b.simdMemory(SIMD.v128Load, 2, offset ?? 0);
      } else {
        this.expr(first);
        b.simd(splat);
        if (!lanes.every((e) => JSON.stringify(e) === JSON.stringify(first))) {
          for (let lane = 1; lane < 4; lane++) {
            this.expr(lanes[lane]!);
            b.simd(replace, lane);
          }
        }
      }
      const local = b.local(VAL.v128);
      b.index(OP.localSet, local);
      return local;
    });
    const row = b.local(VAL.v128);
    s.rows.forEach((value, i) => {
      // A loaded row value is loaded straight into every lane.
      if (value.k === "load" && wide(this.kernel.buffers[value.buffer]!)) {
        const offset = this.strided(value);
        if (offset === undefined) this.address(value.buffer, value.index);
        b.simdMemory(SIMD.v128Load32Splat, 2, offset ?? 0).index(OP.localSet, row);
      } else {
        this.expr(value);
        b.simd(splat).index(OP.localSet, row);
      }
      columns.forEach((column, g) => {
        const acc = this.#lanes.get(accumulatorName(s.acc, i, 4 * g))!.local;
        b.index(OP.localGet, acc).index(OP.localGet, row).index(OP.localGet, column).simd(mul).simd(add).index(OP.localSet, acc);
      });
    });
  }
}

export interface WasmKernel {
  readonly bytes: Uint8Array;
  /** Names of the `WASM_IMPORTS` the module imports, in order. */
  readonly imports: readonly string[];
}

/** The module of one kernel: `run(offset0, offset1, ...)` runs every invocation on buffers at those byte offsets. */
export function renderWasm(kernel: Kernel): WasmKernel {
  if (kernel.workgroupSize) throw new WasmUnsupported("workgroup kernels");
  const r = new Renderer(kernel);
  r.collectBlocks(kernel.body);
  if (elementwise(kernel)) renderVectorKernel(r);
  else r.stmts([{ k: "for", name: "gid", start: { k: "const", value: 0, type: "i32" }, end: { k: "const", value: kernel.grid, type: "i32" }, body: kernel.body }]);
  const f64 = { params: [VAL.f64], results: [VAL.f64] };
  const f64x2 = { params: [VAL.f64, VAL.f64], results: [VAL.f64] };
  const imports = r.imports.map((name) => ({ name, type: WASM_IMPORTS[name]!.length === 2 ? f64x2 : f64 }));
  const bytes = encodeModule(imports, [{ name: "run", type: { params: kernel.buffers.map(() => VAL.i32), results: [] }, body: r.body, exported: true }]);
  return { bytes, imports: r.imports };
}
