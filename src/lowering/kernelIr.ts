/**
 * The kernel IR: one compute kernel as typed scalar expressions and statements over flat buffers, run once
 * per invocation `gid` in [0, grid). Backend-neutral: the WGSL and JavaScript renderers read the same IR.
 */

export type ScalarType = "f32" | "i32" | "u32" | "bool";

/** Float formats narrower than f32: values are computed in f32, rounded to the format where the program says. */
export type NarrowFloat = "float16" | "bfloat16" | "float8_e4m3fn" | "float8_e5m2";
/** Element types narrower than 32 bits: floats computed in f32, signed ints in i32, unsigned ints in u32. */
export type NarrowDType = NarrowFloat | "int16" | "uint16" | "int8" | "uint8" | "int4";

/**
 * Unary ops keep their operand's type. `not` is logical on bool and bitwise on integers; `round_even` rounds
 * half to even, `round_away` half away from zero; `erf_inv` is the inverse of `erf` on (-1, 1).
 */
export type UnaryOp =
  | "neg" | "exp" | "log" | "log1p" | "expm1" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "tanh"
  | "sqrt" | "abs" | "floor" | "ceil" | "round_even" | "round_away" | "erf" | "erf_inv" | "not";
/**
 * Binary ops on operands of one type. `and`/`or`/`xor` are logical on bool and bitwise on integers.
 * Shifts take the shift amount in the operand's type; an amount outside [0, 32) gives 0 (`shl`, `shr`) or
 * fills with the sign bit (`sar` on i32; on u32 it is `shr`). `atan2(a, b)` is the angle of the point (b, a).
 * `dot4i8` takes two u32 words of four packed int8 each and gives the i32 sum of their four products (WGSL's
 * dot4I8Packed; see `dot4i8`).
 */
export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "rem" | "max" | "min" | "pow" | "atan2"
  | "lt" | "le" | "gt" | "ge" | "eq" | "ne"
  | "and" | "or" | "xor" | "shl" | "shr" | "sar" | "dot4i8";

export type Expr =
  | { readonly k: "const"; readonly value: number; readonly type: ScalarType }
  | { readonly k: "var"; readonly name: string; readonly type: ScalarType }
  | { readonly k: "load"; readonly buffer: number; readonly index: Expr; readonly type: ScalarType }
  | { readonly k: "unary"; readonly op: UnaryOp; readonly a: Expr; readonly type: ScalarType }
  | { readonly k: "binary"; readonly op: BinaryOp; readonly a: Expr; readonly b: Expr; readonly type: ScalarType }
  | { readonly k: "select"; readonly cond: Expr; readonly a: Expr; readonly b: Expr; readonly type: ScalarType }
  | { readonly k: "cast"; readonly a: Expr; readonly type: ScalarType }
  /** Reinterprets the 32 bits of a (non-bool) value as another 32-bit type. */
  | { readonly k: "bitcast"; readonly a: Expr; readonly type: ScalarType }
  /** An f32 rounded to the nearest value of a narrow float format (ties to even; NaN stays NaN). */
  | { readonly k: "round"; readonly format: NarrowFloat; readonly a: Expr; readonly type: "f32" }
  /** The code of an f32 in a narrow float format (rounded to nearest even, NaN as the format's positive NaN), as u32. */
  | { readonly k: "encode"; readonly format: NarrowFloat; readonly a: Expr; readonly type: "u32" }
  /** The f32 value of a narrow float format's code (a u32 holding the code in its low bits). */
  | { readonly k: "decode"; readonly format: NarrowFloat; readonly a: Expr; readonly type: "f32" };

export type Stmt =
  | { readonly k: "let"; readonly name: string; readonly value: Expr }
  | { readonly k: "declare"; readonly name: string; readonly init: Expr }
  | { readonly k: "assign"; readonly name: string; readonly value: Expr }
  | { readonly k: "store"; readonly buffer: number; readonly index: Expr; readonly value: Expr }
  /** `trips` bounds the iterations of a loop whose bounds are not constants. */
  | { readonly k: "for"; readonly name: string; readonly start: Expr; readonly end: Expr; readonly body: readonly Stmt[]; readonly trips?: number }
  | { readonly k: "if"; readonly cond: Expr; readonly then: readonly Stmt[]; readonly else?: readonly Stmt[] }
  /**
   * One step of a register-blocked matrix product: `${acc}_${i}_${j} += rows[i] * cols[j]` for every i, j (the
   * product and the sum each rounded to the accumulators' type), reading every row and column value once.
   * The accumulators are declared before. A statement of its own so renderers can vectorise it.
   */
  | { readonly k: "rank1"; readonly acc: string; readonly rows: readonly Expr[]; readonly cols: readonly Expr[] }
  /**
   * Waits until every invocation of the workgroup has reached it, its workgroup-buffer stores done (a workgroup
   * kernel's only synchronisation). Every invocation of a workgroup must reach the same barriers: only in
   * control flow that depends on nothing but constants, `wid` and uniform values.
   */
  | { readonly k: "barrier" };

/**
 * A buffer of elements of `type`, or of a narrow `element` type that loads as `type`. Narrow elements are held one
 * per typed-array slot, or, when `packed`, 32/bits per u32 word (element i in bits (i mod n)·bits of word i / n,
 * little end first): a load still reads element `index`, but a store writes the whole u32 word `index`.
 */
export interface BufferDecl {
  readonly type: ScalarType;
  readonly access: "read" | "read_write";
  readonly element?: NarrowDType;
  readonly packed?: boolean;
  /**
   * Set on a workgroup buffer of this many elements: not bound to an array but shared by the invocations of one
   * workgroup (zero at the workgroup's start). A kernel runs on its bound buffers only, given in order.
   */
  readonly workgroup?: number;
}

export interface Kernel {
  readonly name: string;
  readonly buffers: readonly BufferDecl[];
  /** Number of invocations; each sees its index as the `gid` variable (u32 in WGSL, a number in JS). */
  readonly grid: number;
  readonly body: readonly Stmt[];
  /**
   * Set on a kernel whose invocations cooperate in workgroups of this many (they share the workgroup buffers and
   * meet at barriers): the grid is a multiple of it, and an invocation also sees its index in the workgroup as
   * `lid` and its workgroup's as `wid`.
   */
  readonly workgroupSize?: number;
  /**
   * Set on a kernel that only re-lays out what it reads (a packed rhs): where what it reads cannot change (an
   * array put on the CPU device), a device may keep its result and skip it on later runs.
   */
  readonly relayout?: true;
}

// ---- builders -----------------------------------------------------------------------------------

const COMPARISONS: ReadonlySet<BinaryOp> = new Set(["lt", "le", "gt", "ge", "eq", "ne"]);

export const c = (value: number, type: ScalarType = "f32"): Expr => ({ k: "const", value, type });
export const v = (name: string, type: ScalarType): Expr => ({ k: "var", name, type });
/** The invocation index. */
export const gid: Expr = v("gid", "i32");
/** In a workgroup kernel: the invocation's index in its workgroup, and the workgroup's index. */
export const lid: Expr = v("lid", "i32");
export const wid: Expr = v("wid", "i32");

/** The bound buffers of a kernel, in order (its workgroup buffers left out). */
export const boundBuffers = (kernel: Kernel): readonly BufferDecl[] => kernel.buffers.filter((b) => b.workgroup === undefined);
export const load = (buffer: number, index: Expr, type: ScalarType): Expr => ({ k: "load", buffer, index, type });
export const unary = (op: UnaryOp, a: Expr): Expr => ({ k: "unary", op, a, type: a.type });
export const binary = (op: BinaryOp, a: Expr, b: Expr): Expr => ({ k: "binary", op, a, b, type: COMPARISONS.has(op) ? "bool" : a.type });
export const select = (cond: Expr, a: Expr, b: Expr): Expr => ({ k: "select", cond, a, b, type: a.type });
/** The i32 dot product of two u32 words, each four int8 (byte i of a times byte i of b, summed). */
export const dot4i8 = (a: Expr, b: Expr): Expr => ({ k: "binary", op: "dot4i8", a, b, type: "i32" });
export const cast = (a: Expr, type: ScalarType): Expr => (a.type === type ? a : { k: "cast", a, type });
export const bitcast = (a: Expr, type: ScalarType): Expr => (a.type === type ? a : { k: "bitcast", a, type });
export const roundTo = (format: NarrowFloat, a: Expr): Expr => ({ k: "round", format, a, type: "f32" });
export const encode = (format: NarrowFloat, a: Expr): Expr => ({ k: "encode", format, a, type: "u32" });
export const decode = (format: NarrowFloat, a: Expr): Expr => ({ k: "decode", format, a, type: "f32" });

/** The name of accumulator (i, j) of a `rank1` block. */
export const accumulatorName = (acc: string, i: number, j: number): string => `${acc}_${i}_${j}`;

/** A `rank1` step as scalar statements: each row and column value bound once, then every product accumulated. */
export function expandRank1(s: Extract<Stmt, { k: "rank1" }>): Stmt[] {
  const type = s.rows[0]!.type;
  const rows = s.rows.map((value, i) => ({ k: "let" as const, name: `${s.acc}_r${i}`, value }));
  const cols = s.cols.map((value, j) => ({ k: "let" as const, name: `${s.acc}_c${j}`, value }));
  const updates = s.rows.flatMap((_, i) =>
    s.cols.map((_, j): Stmt => {
      const name = accumulatorName(s.acc, i, j);
      return { k: "assign", name, value: binary("add", v(name, type), binary("mul", v(rows[i]!.name, type), v(cols[j]!.name, type))) };
    }),
  );
  return [...rows, ...cols, ...updates];
}

/**
 * An upper bound on the loop iterations one invocation runs, inner loops' included: nested loops multiply,
 * consecutive ones add. A loop with non-constant bounds counts its `trips` (Infinity without them).
 */
export function loopIterations(body: readonly Stmt[]): number {
  return body.reduce((total, s) => {
    if (s.k === "if") return total + Math.max(loopIterations(s.then), loopIterations(s.else ?? []));
    if (s.k !== "for") return total;
    const trips = s.start.k === "const" && s.end.k === "const" ? Math.max(0, s.end.value - s.start.value) : (s.trips ?? Infinity);
    return total + trips * (1 + loopIterations(s.body));
  }, 0);
}

/** A human-readable listing of a kernel, for debugging (`WGJAX_DUMP`). */
export function printKernel(kernel: Kernel): string {
  const expr = (e: Expr): string => {
    switch (e.k) {
      case "const":
        return `${e.value}:${e.type}`;
      case "var":
        return e.name;
      case "load":
        return `b${e.buffer}[${expr(e.index)}]`;
      case "unary":
        return `${e.op}(${expr(e.a)})`;
      case "binary":
        return `${e.op}(${expr(e.a)}, ${expr(e.b)})`;
      case "select":
        return `select(${expr(e.cond)}, ${expr(e.a)}, ${expr(e.b)})`;
      case "cast":
        return `${e.type}(${expr(e.a)})`;
      case "bitcast":
        return `bitcast<${e.type}>(${expr(e.a)})`;
      case "round":
      case "encode":
      case "decode":
        return `${e.k}_${e.format}(${expr(e.a)})`;
    }
  };
  const stmts = (body: readonly Stmt[], indent: string): string[] =>
    body.flatMap((s) => {
      switch (s.k) {
        case "let":
          return [`${indent}let ${s.name} = ${expr(s.value)}`];
        case "declare":
          return [`${indent}var ${s.name} = ${expr(s.init)}`];
        case "assign":
          return [`${indent}${s.name} = ${expr(s.value)}`];
        case "store":
          return [`${indent}b${s.buffer}[${expr(s.index)}] = ${expr(s.value)}`];
        case "for":
          return [`${indent}for ${s.name} in [${expr(s.start)}, ${expr(s.end)}):`, ...stmts(s.body, indent + "  ")];
        case "if":
          return [`${indent}if ${expr(s.cond)}:`, ...stmts(s.then, indent + "  "), ...(s.else ? [`${indent}else:`, ...stmts(s.else, indent + "  ")] : [])];
        case "rank1":
          return [`${indent}${s.acc}[${s.rows.length}x${s.cols.length}] += outer([${s.rows.map(expr).join(", ")}], [${s.cols.map(expr).join(", ")}])`];
        case "barrier":
          return [`${indent}barrier`];
      }
    });
  const buffer = (b: BufferDecl, i: number): string =>
    b.workgroup !== undefined ? `b${i}:${b.type}[${b.workgroup}]:workgroup` : `b${i}:${b.element ? `${b.element}${b.packed ? "(packed)" : ""}` : b.type}:${b.access}`;
  const header = `kernel ${kernel.name} grid=${kernel.grid}${kernel.workgroupSize ? ` workgroup=${kernel.workgroupSize}` : ""} buffers=(${kernel.buffers.map(buffer).join(", ")})`;
  return [header, ...stmts(kernel.body, "  ")].join("\n");
}
