/**
 * The wasm renderer's vector path for elementwise kernels: a body of `let`s and stores at `gid` runs four
 * invocations at a time in f32x4/i32x4 lanes (bools as lane masks), the last grid mod 4 invocations through the
 * scalar body. Lanes compute what the scalar path computes, bit for bit: the same f32/i32 operations, exp as the
 * same f64 polynomial two lanes at a time, other transcendentals through the same JavaScript imports lane by lane.
 */
import { type BinaryOp, type Expr, type Kernel, type ScalarType, type Stmt, type UnaryOp } from "./kernelIr.js";
import { type FunctionBody, OP, SIMD, VAL } from "./wasmEncoding.js";
import { wide } from "./wasmNarrow.js";

/** Unary ops the wasm module imports from JavaScript's Math (in f64). */
export const MATH_UNARY: ReadonlySet<UnaryOp> = new Set(["log", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"] as UnaryOp[]);
/** Binary f32 ops the wasm module imports, by import name. */
export const MATH_BINARY: Partial<Record<BinaryOp, string>> = { rem: "fmod", pow: "pow", atan2: "atan2" };

/** What the vector path needs of the scalar renderer. */
export interface ScalarRenderer {
  readonly body: FunctionBody;
  readonly kernel: Kernel;
  local(name: string, type: ScalarType): number;
  call(name: string): void;
  /** Pushes the scalar value of `e`. */
  expr(e: Expr): void;
  /** Pushes the byte address of element `index` of `buffer`. */
  address(buffer: number, index: Expr): void;
  stmts(body: readonly Stmt[]): void;
}

const F32_UNARY: Partial<Record<UnaryOp, number>> = { neg: SIMD.f32x4Neg, abs: SIMD.f32x4Abs, sqrt: SIMD.f32x4Sqrt, floor: SIMD.f32x4Floor, ceil: SIMD.f32x4Ceil, round_even: SIMD.f32x4Nearest };
const F32_BINARY: Partial<Record<BinaryOp, number>> = {
  add: SIMD.f32x4Add, sub: SIMD.f32x4Sub, mul: SIMD.f32x4Mul, div: SIMD.f32x4Div, min: SIMD.f32x4Min, max: SIMD.f32x4Max,
  eq: SIMD.f32x4Eq, ne: SIMD.f32x4Ne, lt: SIMD.f32x4Lt, le: SIMD.f32x4Le, gt: SIMD.f32x4Gt, ge: SIMD.f32x4Ge,
};
const intBinary = (unsigned: boolean): Partial<Record<BinaryOp, number>> => ({
  add: SIMD.i32x4Add, sub: SIMD.i32x4Sub, mul: SIMD.i32x4Mul, and: SIMD.v128And, or: SIMD.v128Or, xor: SIMD.v128Xor, eq: SIMD.i32x4Eq, ne: SIMD.i32x4Ne,
  lt: unsigned ? SIMD.i32x4LtU : SIMD.i32x4LtS, le: unsigned ? SIMD.i32x4LeU : SIMD.i32x4LeS, gt: unsigned ? SIMD.i32x4GtU : SIMD.i32x4GtS, ge: unsigned ? SIMD.i32x4GeU : SIMD.i32x4GeS,
  min: unsigned ? SIMD.i32x4MinU : SIMD.i32x4MinS, max: unsigned ? SIMD.i32x4MaxU : SIMD.i32x4MaxS,
});

const isGid = (e: Expr): boolean => e.k === "var" && e.name === "gid";
const children = (e: Expr): Expr[] => (["a", "b", "cond", "index"] as const).flatMap((key) => ((e as Record<string, unknown>)[key] as Expr | undefined) ?? []);
const readsVar = (e: Expr): boolean => e.k === "var" || children(e).some(readsVar);
const hasLoad = (e: Expr): boolean => e.k === "load" || children(e).some(hasLoad);

/** Whether every lane of `e` can be computed in vectors (the scalar path handles the rest). */
function vectorExpr(e: Expr, kernel: Kernel, stored: ReadonlySet<number>): boolean {
  const ok = (x: Expr): boolean => vectorExpr(x, kernel, stored);
  switch (e.k) {
    case "const":
    case "var":
      return true;
    case "load":
      return wide(kernel.buffers[e.buffer]!) && !stored.has(e.buffer) && ok(e.index);
    case "unary":
      if (e.type === "f32") return (F32_UNARY[e.op] !== undefined || e.op === "exp" || MATH_UNARY.has(e.op)) && ok(e.a);
      return ["neg", "not", "abs", "floor", "ceil"].includes(e.op) && (e.type !== "bool" || e.op === "not") && ok(e.a);
    case "binary":
      if (e.a.type === "f32") return (F32_BINARY[e.op] !== undefined || MATH_BINARY[e.op] !== undefined) && ok(e.a) && ok(e.b);
      if (e.a.type === "bool" && ["add", "sub", "mul"].includes(e.op)) return false;
      return intBinary(false)[e.op] !== undefined && ok(e.a) && ok(e.b);
    case "select":
      // Both sides are computed: a load only the chosen side may make (its index can be out of bounds) stays scalar.
      return !hasLoad(e.a) && !hasLoad(e.b) && ok(e.cond) && ok(e.a) && ok(e.b);
    case "cast":
    case "bitcast":
      return ok(e.a);
    default:
      return false;
  }
}

/** Whether `kernel` is elementwise over `gid` in a form the vector path renders. */
export function vectorizable(kernel: Kernel): boolean {
  if (kernel.grid < 4) return false;
  const stored = new Set(kernel.body.flatMap((s) => (s.k === "store" ? [s.buffer] : [])));
  return kernel.body.every((s) => {
    if (s.k === "let") return vectorExpr(s.value, kernel, stored);
    if (s.k !== "store" || !isGid(s.index) || !wide(kernel.buffers[s.buffer]!)) return false;
    return vectorExpr(s.value, kernel, stored);
  });
}

/** Renders a `vectorizable` kernel: the vector loop over whole groups of four, then the scalar loop over the rest. */
export function renderVectorKernel(r: ScalarRenderer): void {
  const b = r.body;
  const gid = r.local("gid", "i32");
  const v = new VectorRenderer(r);
  b.i32(0).index(OP.localSet, gid).op(OP.block, 0x40, OP.loop, 0x40);
  b.index(OP.localGet, gid).i32(r.kernel.grid - 3).op(OP.i32GeS).index(OP.brIf, 1);
  for (const s of r.kernel.body) v.stmt(s);
  b.index(OP.localGet, gid).i32(4).op(OP.i32Add).index(OP.localSet, gid).index(OP.br, 0).op(OP.end, OP.end);
  r.stmts([{ k: "for", name: "gid", start: { k: "var", name: "gid", type: "i32" }, end: { k: "const", value: r.kernel.grid, type: "i32" }, body: r.kernel.body }]);
}

class VectorRenderer {
  readonly #lets = new Map<string, number>();

  constructor(readonly r: ScalarRenderer) {}

  get b(): FunctionBody {
    return this.r.body;
  }

  stmt(s: Stmt): void {
    if (s.k === "let") {
      this.expr(s.value);
      const local = this.b.local(VAL.v128);
      this.#lets.set(s.name, local);
      this.b.index(OP.localSet, local);
    } else if (s.k === "store") {
      this.r.address(s.buffer, s.index);
      this.expr(s.value);
      this.b.simd(SIMD.v128Store, 2, 0);
    }
  }

  /** Pushes a v128 of four 32-bit lanes. */
  constant(lanes: readonly number[], type: ScalarType): void {
    const bytes = new Uint8Array((type === "f32" ? new Float32Array(lanes) : new Int32Array(lanes)).buffer);
    this.b.simd(SIMD.v128Const, ...bytes);
  }

  /** Leaves `e` in a new v128 local; its index. */
  temp(e: Expr): number {
    this.expr(e);
    const local = this.b.local(VAL.v128);
    this.b.index(OP.localSet, local);
    return local;
  }

  expr(e: Expr): void {
    const b = this.b;
    switch (e.k) {
      case "const":
        return this.constant(Array(4).fill(e.type === "bool" ? -Number(Boolean(e.value)) : e.value), e.type);
      case "var":
        if (!isGid(e)) {
          b.index(OP.localGet, this.#lets.get(e.name)!);
          return;
        }
        b.index(OP.localGet, this.r.local("gid", "i32")).simd(SIMD.i32x4Splat);
        this.constant([0, 1, 2, 3], "i32");
        b.simd(SIMD.i32x4Add);
        return;
      case "load":
        return this.load(e);
      case "unary":
        return this.unary(e.op, e.a, e.type);
      case "binary":
        return this.binary(e.op, e.a, e.b);
      case "select":
        this.expr(e.a);
        this.expr(e.b);
        this.expr(e.cond);
        b.simd(SIMD.v128Bitselect);
        return;
      case "cast":
        return this.cast(e.a, e.type);
      case "bitcast":
        return this.expr(e.a);
      default:
        throw new Error(`vector path: ${e.k}`);
    }
  }

  load(e: Extract<Expr, { k: "load" }>): void {
    const b = this.b;
    const [replace, load] = e.type === "f32" ? [SIMD.f32x4ReplaceLane, OP.f32Load] : [SIMD.i32x4ReplaceLane, OP.i32Load];
    if (isGid(e.index)) {
      this.r.address(e.buffer, e.index);
      b.simd(SIMD.v128Load, 2, 0);
    } else if (!readsVar(e.index)) {
      this.r.expr(e);
      b.simd(e.type === "f32" ? SIMD.f32x4Splat : SIMD.i32x4Splat);
    } else {
      // A gather: each lane's element at its own index.
      const index = this.temp(e.index);
      this.constant([0, 0, 0, 0], e.type);
      for (let lane = 0; lane < 4; lane++) {
        b.index(OP.localGet, e.buffer).index(OP.localGet, index).simd(SIMD.i32x4ExtractLane, lane).i32(2).op(OP.i32Shl, OP.i32Add);
        b.memory(load, 2).simd(replace, lane);
      }
    }
  }

  /** Each lane of `args` through the imported f64 function `name`, as the scalar path calls it. */
  imported(name: string, args: readonly Expr[]): void {
    const b = this.b;
    const locals = args.map((a) => this.temp(a));
    this.constant([0, 0, 0, 0], "f32");
    for (let lane = 0; lane < 4; lane++) {
      for (const local of locals) b.index(OP.localGet, local).simd(SIMD.f32x4ExtractLane, lane).op(OP.f64PromoteF32);
      this.r.call(name);
      b.op(OP.f32DemoteF64).simd(SIMD.f32x4ReplaceLane, lane);
    }
  }

  unary(op: UnaryOp, a: Expr, type: ScalarType): void {
    const b = this.b;
    if (type === "f32" && op === "exp") return this.exp(a);
    if (type === "f32" && MATH_UNARY.has(op)) return this.imported(op, [a]);
    this.expr(a);
    if (type === "f32") b.simd(F32_UNARY[op]!);
    else if (op === "neg") b.simd(SIMD.i32x4Neg);
    else if (op === "not") b.simd(SIMD.v128Not);
    else if (op === "abs" && type === "i32") b.simd(SIMD.i32x4Abs);
  }

  binary(op: BinaryOp, a: Expr, bExpr: Expr): void {
    if (a.type === "f32" && MATH_BINARY[op]) return this.imported(MATH_BINARY[op], [a, bExpr]);
    this.expr(a);
    this.expr(bExpr);
    this.b.simd((a.type === "f32" ? F32_BINARY : intBinary(a.type !== "i32"))[op]!);
  }

  cast(a: Expr, to: ScalarType): void {
    const b = this.b;
    const from = a.type;
    this.expr(a);
    if (from === to) return;
    if (to === "bool") {
      this.constant([0, 0, 0, 0], from);
      b.simd(from === "f32" ? SIMD.f32x4Ne : SIMD.i32x4Ne);
    } else if (from === "bool") {
      this.constant(Array(4).fill(1), to);
      b.simd(SIMD.v128And);
    } else if (to === "f32") {
      b.simd(from === "i32" ? SIMD.f32x4ConvertI32x4S : SIMD.f32x4ConvertI32x4U);
    } else if (from === "f32") {
      b.simd(to === "i32" ? SIMD.i32x4TruncSatF32x4S : SIMD.i32x4TruncSatF32x4U);
    }
  }

  /** exp as the scalar path's f64 polynomial (see `Renderer.exp` in wasm.ts), on lanes 0-1 and 2-3 as f64x2. */
  exp(a: Expr): void {
    const b = this.b;
    const input = this.temp(a);
    const halves = [0, 1].map((half) => {
      b.index(OP.localGet, input);
      // The high half moves to the low lanes (a shuffle of the vector with itself).
      if (half === 1) b.index(OP.localGet, input).simd(SIMD.i8x16Shuffle, ...Array.from({ length: 16 }, (_, i) => (8 + i) % 16));
      b.simd(SIMD.f64x2PromoteLowF32x4);
      const [x, k] = [b.local(VAL.v128), b.local(VAL.v128)];
      const splat = (value: number) => b.f64(value).simd(SIMD.f64x2Splat);
      splat(-110);
      b.simd(SIMD.f64x2Max);
      splat(100);
      b.simd(SIMD.f64x2Min).index(OP.localTee, x);
      splat(Math.LOG2E);
      b.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Nearest).index(OP.localTee, k);
      splat(-6.93147180369123816490e-1);
      b.simd(SIMD.f64x2Mul).index(OP.localGet, x).simd(SIMD.f64x2Add);
      b.index(OP.localGet, k);
      splat(-1.90821492927058770002e-10);
      b.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Add).index(OP.localSet, x);
      let factorial = 39916800;
      splat(1 / factorial);
      for (let n = 10; n >= 0; n--) {
        factorial /= n + 1;
        b.index(OP.localGet, x).simd(SIMD.f64x2Mul);
        splat(1 / factorial);
        b.simd(SIMD.f64x2Add);
      }
      b.index(OP.localGet, k).simd(SIMD.i32x4TruncSatF64x2SZero).simd(SIMD.i64x2ExtendLowI32x4S).i64(1023n).simd(SIMD.i64x2Splat).simd(SIMD.i64x2Add);
      b.i32(52).simd(SIMD.i64x2Shl).simd(SIMD.f64x2Mul).simd(SIMD.f32x4DemoteF64x2Zero);
      const out = b.local(VAL.v128);
      b.index(OP.localSet, out);
      return out;
    });
    b.index(OP.localGet, halves[0]!).index(OP.localGet, halves[1]!).simd(SIMD.i8x16Shuffle, ...Array.from({ length: 16 }, (_, i) => (i < 8 ? i : 8 + i)));
  }
}
