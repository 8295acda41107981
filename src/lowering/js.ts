/**
 * Renders kernel IR as a JavaScript function over typed arrays (the CPU backend). Every f32 result is
 * rounded with Math.fround and every i32/u32 result wrapped, so results match float32/int32 arithmetic.
 */
import type { BinaryOp, Expr, Kernel, ScalarType, Stmt, UnaryOp } from "./kernelIr.js";

const UNARY: Record<UnaryOp, (a: string) => string> = {
  neg: (a) => `(-${a})`,
  not: (a) => `(!${a})`,
  exp: (a) => `Math.exp(${a})`,
  log: (a) => `Math.log(${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  abs: (a) => `Math.abs(${a})`,
  floor: (a) => `Math.floor(${a})`,
  ceil: (a) => `Math.ceil(${a})`,
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
  }
}

/** Rounds a value of an f32/i32/u32 expression to its type. */
const round = (code: string, t: ScalarType): string => {
  if (t === "f32") return `Math.fround(${code})`;
  if (t === "i32") return `(${code} | 0)`;
  if (t === "u32") return `(${code} >>> 0)`;
  return code;
};

function expr(e: Expr): string {
  switch (e.k) {
    case "const":
      return e.type === "bool" ? String(Boolean(e.value)) : Number.isNaN(e.value) ? "NaN" : String(e.type === "f32" ? Math.fround(e.value) : e.value);
    case "var":
      return e.name;
    case "load":
      return e.type === "bool" ? `(b${e.buffer}[${expr(e.index)}] !== 0)` : `b${e.buffer}[${expr(e.index)}]`;
    case "unary":
      return e.op === "not" ? UNARY.not(expr(e.a)) : round(UNARY[e.op](expr(e.a)), e.type);
    case "binary": {
      const code = binary(e.op, expr(e.a), expr(e.b), e.a.type);
      return e.type === "bool" ? code : round(code, e.type);
    }
    case "select":
      return `(${expr(e.cond)} ? ${expr(e.a)} : ${expr(e.b)})`;
    case "cast": {
      const inner = expr(e.a);
      if (e.type === "bool") return `(${inner} !== 0)`;
      if (e.a.type === "bool") return `(${inner} ? 1 : 0)`;
      if (e.a.type === "f32" && e.type !== "f32") {
        const [lo, hi] = e.type === "i32" ? [-2147483648, 2147483647] : [0, 4294967295];
        return `(Number.isNaN(${inner}) ? 0 : Math.min(${hi}, Math.max(${lo}, Math.trunc(${inner}))))`;
      }
      return round(inner, e.type);
    }
  }
}

function stmts(body: readonly Stmt[], indent: string): string[] {
  return body.flatMap((s) => {
    switch (s.k) {
      case "let":
        return [`${indent}const ${s.name} = ${expr(s.value)};`];
      case "declare":
        return [`${indent}let ${s.name} = ${expr(s.init)};`];
      case "assign":
        return [`${indent}${s.name} = ${expr(s.value)};`];
      case "store":
        return [`${indent}b${s.buffer}[${expr(s.index)}] = ${expr(s.value)};`];
      case "for":
        return [`${indent}for (let ${s.name} = ${expr(s.start)}; ${s.name} < ${expr(s.end)}; ${s.name}++) {`, ...stmts(s.body, indent + "  "), `${indent}}`];
      case "if":
        return [`${indent}if (${expr(s.cond)}) {`, ...stmts(s.then, indent + "  "), `${indent}}`];
    }
  });
}

export type CompiledKernel = (buffers: readonly unknown[]) => void;

export function renderJs(kernel: Kernel): string {
  const names = kernel.buffers.map((_, i) => `b${i}`);
  return [`const [${names.join(", ")}] = buffers;`, `for (let gid = 0; gid < ${kernel.grid}; gid++) {`, ...stmts(kernel.body, "  "), "}"].join("\n");
}

/** Compiles the text `renderJs` produced. */
export const compileJs = (text: string): CompiledKernel => new Function("buffers", text) as CompiledKernel;
