/**
 * Renders kernel IR as a JavaScript function over typed arrays (the CPU backend). Every f32 result is
 * rounded with Math.fround and every i32/u32 result wrapped, so results match float32/int32 arithmetic.
 * Functions JavaScript lacks (erf, rounding half to even, bit casts, range-checked shifts) come from `lib`,
 * bound when the text is compiled.
 */
import { dtypeInfo, isSignedInt } from "../core/dtype.js";
import { decodeFloat, encodeFloat, float32Bits, float32FromBits, roundToFormat } from "../core/floatFormats.js";
import { floatFormatOf } from "../core/hostData.js";
import { erf, erfInv } from "../core/special.js";
import { type BinaryOp, type Expr, type Kernel, type NarrowDType, type NarrowFloat, type ScalarType, type Stmt, type UnaryOp, expandRank1 } from "./kernelIr.js";

const formatOf = (element: NarrowFloat) => floatFormatOf(element)!;

/** The code of `x` in a narrow float format, every NaN (overflow of a format without infinity included) as the positive NaN. */
function encodeNarrow(x: number, element: NarrowFloat): number {
  const format = formatOf(element);
  const code = encodeFloat(x, format);
  return Number.isNaN(decodeFloat(code, format)) ? format.nanCode : code;
}

/** Element `index` of a packed buffer of `element`s, as its value. */
function loadPacked(words: Uint32Array, index: number, element: NarrowDType): number {
  const bits = dtypeInfo(element).bits;
  const per = 32 / bits;
  const code = (words[Math.floor(index / per)]! >>> ((index % per) * bits)) & (2 ** bits - 1);
  if (floatFormatOf(element)) return decodeFloat(code, formatOf(element as NarrowFloat));
  return isSignedInt(element) && code >= 2 ** (bits - 1) ? code - 2 ** bits : code;
}

/** The helpers rendered code calls as `lib.name(...)`; each computes in float64 or on 32-bit integers. */
const LIB = {
  erf,
  erfInv,
  roundEven(x: number): number {
    const r = Math.round(x);
    return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  roundAway: (x: number): number => Math.sign(x) * Math.round(Math.abs(x)),
  /** Shifts of a 32-bit pattern; an amount outside [0, 32) shifts everything out. */
  shl: (a: number, s: number): number => ((s >>> 0) >= 32 ? 0 : a << s),
  shr: (a: number, s: number): number => ((s >>> 0) >= 32 ? 0 : (a >>> 0) >>> s),
  sar: (a: number, s: number): number => a >> ((s >>> 0) >= 32 ? 31 : s),
  /** The sum of the products of the four signed bytes of a and b (WGSL's dot4I8Packed). */
  dot4i8(a: number, b: number): number {
    let sum = 0;
    for (let shift = 0; shift < 32; shift += 8) sum += ((a << (24 - shift)) >> 24) * ((b << (24 - shift)) >> 24);
    return sum;
  },
  bitsOfF32: float32Bits,
  f32OfBits: float32FromBits,
  /** Rounds a float64 to a narrow format once (so an op computed in float64 rounds as the interpreter rounds it). */
  round: (x: number, element: NarrowFloat): number => roundToFormat(x, formatOf(element)),
  encode: encodeNarrow,
  decode: (code: number, element: NarrowFloat): number => decodeFloat(code, formatOf(element)),
  loadPacked,
};

const UNARY: Record<UnaryOp, (a: string, t: ScalarType) => string> = {
  neg: (a) => `(-${a})`,
  not: (a, t) => (t === "bool" ? `(!${a})` : `(~${a})`),
  exp: (a) => `Math.exp(${a})`,
  log: (a) => `Math.log(${a})`,
  log1p: (a) => `Math.log1p(${a})`,
  expm1: (a) => `Math.expm1(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tan: (a) => `Math.tan(${a})`,
  asin: (a) => `Math.asin(${a})`,
  acos: (a) => `Math.acos(${a})`,
  atan: (a) => `Math.atan(${a})`,
  sinh: (a) => `Math.sinh(${a})`,
  cosh: (a) => `Math.cosh(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  abs: (a) => `Math.abs(${a})`,
  floor: (a) => `Math.floor(${a})`,
  ceil: (a) => `Math.ceil(${a})`,
  round_even: (a) => `lib.roundEven(${a})`,
  round_away: (a) => `lib.roundAway(${a})`,
  erf: (a) => `lib.erf(${a})`,
  erf_inv: (a) => `lib.erfInv(${a})`,
};

function binary(op: BinaryOp, a: string, b: string, t: ScalarType): string {
  switch (op) {
    case "add":
      return `(${a} + ${b})`;
    case "sub":
      return `(${a} - ${b})`;
    case "mul":
      return t === "i32" || t === "u32" ? `Math.imul(${a}, ${b})` : `(${a} * ${b})`;
    case "div":
      return t === "i32" || t === "u32" ? `(${b} === 0 ? -1 : Math.trunc(${a} / ${b}))` : `(${a} / ${b})`;
    case "rem":
      return t === "i32" || t === "u32" ? `(${b} === 0 ? ${a} : ${a} % ${b})` : `(${a} % ${b})`;
    case "max":
      return `Math.max(${a}, ${b})`;
    case "min":
      return `Math.min(${a}, ${b})`;
    case "lt":
      return `(${a} < ${b})`;
    case "le":
      return `(${a} <= ${b})`;
    case "gt":
      return `(${a} > ${b})`;
    case "ge":
      return `(${a} >= ${b})`;
    case "eq":
      return `(${a} === ${b})`;
    case "ne":
      return `(${a} !== ${b})`;
    case "and":
      return t === "bool" ? `(${a} && ${b})` : `(${a} & ${b})`;
    case "or":
      return t === "bool" ? `(${a} || ${b})` : `(${a} | ${b})`;
    case "xor":
      return t === "bool" ? `(${a} !== ${b})` : `(${a} ^ ${b})`;
    case "pow":
      return `Math.pow(${a}, ${b})`;
    case "atan2":
      return `Math.atan2(${a}, ${b})`;
    case "shl":
      return `lib.shl(${a}, ${b})`;
    case "shr":
      return `lib.shr(${a}, ${b})`;
    case "sar":
      return t === "u32" ? `lib.shr(${a}, ${b})` : `lib.sar(${a}, ${b})`;
    case "dot4i8":
      return `lib.dot4i8(${a}, ${b})`;
  }
}

/** Rounds a value of an f32/i32/u32 expression to its type. */
const round = (code: string, t: ScalarType): string => {
  if (t === "f32") return `Math.fround(${code})`;
  if (t === "i32") return `(${code} | 0)`;
  if (t === "u32") return `(${code} >>> 0)`;
  return code;
};

/** A constant; negative ones (and -0) in parentheses, so that `-` before them cannot read as `--`. */
function literal(value: number, t: ScalarType): string {
  if (t === "bool") return String(Boolean(value));
  const v = t === "f32" ? Math.fround(value) : t === "i32" ? value | 0 : value >>> 0;
  if (Number.isNaN(v)) return "NaN";
  return v < 0 || Object.is(v, -0) ? `(${Object.is(v, -0) ? "-0" : String(v)})` : String(v);
}

/** The element type of each packed buffer of the kernel being rendered. */
type Packed = (buffer: number) => NarrowDType | undefined;

/** An f32 operation's value before its rounding to f32 (as a float64), or the expression's value. */
function unrounded(e: Expr, packed: Packed): string {
  if (e.k === "unary") return UNARY[e.op](expr(e.a, packed), e.type);
  if (e.k === "binary") return binary(e.op, expr(e.a, packed), expr(e.b, packed), e.a.type);
  if (e.k === "cast" && (e.a.type === "i32" || e.a.type === "u32")) return expr(e.a, packed);
  return expr(e, packed);
}

function expr(e: Expr, packed: Packed): string {
  switch (e.k) {
    case "const":
      return literal(e.value, e.type);
    case "var":
      return e.name;
    case "load": {
      const element = packed(e.buffer);
      if (element) return `lib.loadPacked(b${e.buffer}, ${expr(e.index, packed)}, "${element}")`;
      return e.type === "bool" ? `(b${e.buffer}[${expr(e.index, packed)}] !== 0)` : `b${e.buffer}[${expr(e.index, packed)}]`;
    }
    case "unary":
      return round(UNARY[e.op](expr(e.a, packed), e.type), e.type);
    case "binary": {
      const code = binary(e.op, expr(e.a, packed), expr(e.b, packed), e.a.type);
      return e.type === "bool" ? code : round(code, e.type);
    }
    case "round":
      return `lib.round(${unrounded(e.a, packed)}, "${e.format}")`;
    case "encode":
    case "decode":
      return `lib.${e.k}(${expr(e.a, packed)}, "${e.format}")`;
    case "select":
      return `(${expr(e.cond, packed)} ? ${expr(e.a, packed)} : ${expr(e.b, packed)})`;
    case "cast": {
      const inner = expr(e.a, packed);
      if (e.type === "bool") return `(${inner} !== 0)`;
      if (e.a.type === "bool") return `(${inner} ? 1 : 0)`;
      if (e.a.type === "f32" && e.type !== "f32") {
        const [lo, hi] = e.type === "i32" ? [-2147483648, 2147483647] : [0, 4294967295];
        return `(Number.isNaN(${inner}) ? 0 : Math.min(${hi}, Math.max(${lo}, Math.trunc(${inner}))))`;
      }
      return round(inner, e.type);
    }
    case "bitcast": {
      const inner = expr(e.a, packed);
      if (e.a.type === "f32") return round(`lib.bitsOfF32(${inner})`, e.type);
      if (e.type === "f32") return `lib.f32OfBits(${inner})`;
      return round(inner, e.type);
    }
  }
}

function stmts(body: readonly Stmt[], indent: string, packed: Packed): string[] {
  return body.flatMap((s) => {
    switch (s.k) {
      case "let":
        return [`${indent}const ${s.name} = ${expr(s.value, packed)};`];
      case "declare":
        return [`${indent}let ${s.name} = ${expr(s.init, packed)};`];
      case "assign":
        return [`${indent}${s.name} = ${expr(s.value, packed)};`];
      case "store":
        return [`${indent}b${s.buffer}[${expr(s.index, packed)}] = ${expr(s.value, packed)};`];
      case "for":
        return [`${indent}for (let ${s.name} = ${expr(s.start, packed)}; ${s.name} < ${expr(s.end, packed)}; ${s.name}++) {`, ...stmts(s.body, indent + "  ", packed), `${indent}}`];
      case "if":
        return [`${indent}if (${expr(s.cond, packed)}) {`, ...stmts(s.then, indent + "  ", packed), ...(s.else ? [`${indent}} else {`, ...stmts(s.else, indent + "  ", packed)] : []), `${indent}}`];
      case "rank1":
        return [`${indent}{`, ...stmts(expandRank1(s), indent + "  ", packed), `${indent}}`];
      case "barrier":
        return [`${indent}yield;`];
    }
  });
}

const TYPED_ARRAYS: Record<ScalarType, string> = { f32: "Float32Array", i32: "Int32Array", u32: "Uint32Array", bool: "Uint8Array" };

/**
 * A workgroup kernel: each invocation a generator that yields at its barriers, the invocations of a workgroup
 * stepped in turns from one barrier to the next (so all reach a barrier before any goes past it).
 */
function renderWorkgroupJs(kernel: Kernel, size: number, bound: readonly string[], packed: Packed): string {
  const shared = kernel.buffers.flatMap((b, i) => (b.workgroup === undefined ? [] : [{ name: `b${i}`, type: TYPED_ARRAYS[b.type], length: b.workgroup }]));
  return [
    `const [${bound.join(", ")}] = buffers;`,
    ...shared.map((b) => `let ${b.name};`),
    "function* invocation(gid, lid, wid) {",
    ...stmts(kernel.body, "  ", packed),
    "}",
    `for (let wid = 0; wid < ${kernel.grid / size}; wid++) {`,
    ...shared.map((b) => `  ${b.name} = new ${b.type}(${b.length});`),
    `  const running = Array.from({ length: ${size} }, (_, lid) => invocation(wid * ${size} + lid, lid, wid));`,
    "  for (let live = running.length; live > 0; ) {",
    "    live = 0;",
    "    for (const it of running) if (!it.next().done) live++;",
    "  }",
    "}",
  ].join("\n");
}

export type CompiledKernel = (buffers: readonly unknown[]) => void;

export function renderJs(kernel: Kernel): string {
  const names = kernel.buffers.flatMap((b, i) => (b.workgroup === undefined ? [`b${i}`] : []));
  const packed: Packed = (buffer) => (kernel.buffers[buffer]!.packed ? kernel.buffers[buffer]!.element : undefined);
  if (kernel.workgroupSize) return renderWorkgroupJs(kernel, kernel.workgroupSize, names, packed);
  return [`const [${names.join(", ")}] = buffers;`, `for (let gid = 0; gid < ${kernel.grid}; gid++) {`, ...stmts(kernel.body, "  ", packed), "}"].join("\n");
}

/** Compiles the text `renderJs` produced, binding its `lib` of helpers. */
export function compileJs(text: string): CompiledKernel {
  const run = new Function("buffers", "lib", text) as (buffers: readonly unknown[], lib: typeof LIB) => void;
  return (buffers) => run(buffers, LIB);
}
