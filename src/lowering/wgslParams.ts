/**
 * Shape constants as shader parameters, so that one WebGPU pipeline serves a kernel at many shapes. The
 * lowering bakes sizes and strides into a kernel as i32 constants; before rendering, each such constant becomes
 * a parameter read from the kernel's uniform (after its grid size): kernels that differ in sizes alone render
 * to one text, hence one pipeline.
 *
 * What stays a literal: constants of other types (values, bit patterns); -1, 0 and 1 (structural: loop starts
 * and steps, offsets); and divisors. A division by a literal compiles to a multiply and a shift, by a uniform to
 * a real division, which on Mesa's llvmpipe is done lane by lane: a transposing kernel (unravelling its index
 * with `/` and `%`) ran 25% slower with lifted divisors. So kernels that differ in an inner size used to unravel
 * an index get pipelines of their own; row counts, batch and reduction lengths, loop bounds and strides do not.
 * The kernel's own variables are renamed in order of appearance too (the lowering numbers them across kernels).
 */
import type { Expr, Kernel, Stmt } from "./kernelIr.js";

/** At most this many parameters (a uniform binding holds 64 KiB; the rest stay literals). */
const MAX_PARAMS = 1024;

export interface KernelParams {
  /** The kernel with its lifted constants as `var` expressions named by `paramName`. */
  readonly kernel: Kernel;
  /** The parameters' values, in slot order. */
  readonly values: readonly number[];
}

const paramName = (slot: number): string => `wg_p${slot}`;

/** The declarations of a kernel's parameters, read from `uniform` (vec4u rows; row 0 holds the grid size). */
export function paramDeclarations(count: number, uniform: string): string[] {
  return Array.from({ length: count }, (_, slot) => `  let ${paramName(slot)} = bitcast<i32>(${uniform}[${1 + (slot >> 2)}].${"xyzw"[slot & 3]});`);
}

/**
 * A renaming of a kernel's variables to `v<n>` in order of first appearance. A `rank1` block's prefix becomes
 * `a<n>`, and its accumulators (`<prefix>_<i>_<j>`, declared before the block) are renamed with it.
 */
function renaming(kernel: Kernel): { variable: (name: string) => string; block: (prefix: string) => string } {
  const blocks = new Map<string, string>();
  const visit = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === "rank1" && !blocks.has(s.acc)) blocks.set(s.acc, `a${blocks.size}`);
      if (s.k === "for") visit(s.body);
      if (s.k === "if") visit([...s.then, ...(s.else ?? [])]);
    }
  };
  visit(kernel.body);
  const names = new Map<string, string>();
  const variable = (name: string): string => {
    let renamed = names.get(name);
    if (renamed === undefined) {
      const accumulator = /^(.*)_(\d+_\d+)$/.exec(name);
      const block = accumulator && blocks.get(accumulator[1]!);
      renamed = block ? `${block}_${accumulator![2]}` : `v${names.size}`;
      names.set(name, renamed);
    }
    return renamed;
  };
  return { variable, block: (prefix) => blocks.get(prefix)! };
}

/** Names that the renderer defines, not the kernel. */
const RENDERER_NAMES: ReadonlySet<string> = new Set(["gid", "lid", "wid"]);

/** The kernel with its i32 shape constants lifted into parameters and its variables renamed, and the parameters' values. */
export function liftShapeConstants(kernel: Kernel): KernelParams {
  const slots = new Map<number, number>();
  const rename = renaming(kernel);
  const name = (n: string): string => (RENDERER_NAMES.has(n) ? n : rename.variable(n));
  const lift = (e: Expr): Expr => {
    switch (e.k) {
      case "const": {
        if (e.type !== "i32" || Math.abs(e.value) <= 1) return e;
        let slot = slots.get(e.value);
        if (slot === undefined) {
          if (slots.size >= MAX_PARAMS) return e;
          slots.set(e.value, (slot = slots.size));
        }
        return { k: "var", name: paramName(slot), type: "i32" };
      }
      case "var":
        return { ...e, name: name(e.name) };
      case "load":
        return { ...e, index: lift(e.index) };
      case "unary":
      case "cast":
      case "bitcast":
      case "round":
      case "encode":
      case "decode":
        return { ...e, a: lift(e.a) } as Expr;
      case "binary":
        return { ...e, a: lift(e.a), b: (e.op === "div" || e.op === "rem") && e.b.k === "const" ? e.b : lift(e.b) };
      case "select":
        return { ...e, cond: lift(e.cond), a: lift(e.a), b: lift(e.b) };
    }
  };
  const body = (stmts: readonly Stmt[]): Stmt[] =>
    stmts.map((s): Stmt => {
      switch (s.k) {
        case "let":
        case "assign":
          return { ...s, name: name(s.name), value: lift(s.value) };
        case "declare":
          return { ...s, name: name(s.name), init: lift(s.init) };
        case "store":
          return { ...s, index: lift(s.index), value: lift(s.value) };
        case "for":
          return { ...s, name: name(s.name), start: lift(s.start), end: lift(s.end), body: body(s.body) };
        case "if":
          return { ...s, cond: lift(s.cond), then: body(s.then), ...(s.else ? { else: body(s.else) } : {}) };
        case "rank1":
          return { ...s, acc: rename.block(s.acc), rows: s.rows.map(lift), cols: s.cols.map(lift) };
        case "barrier":
          return s;
      }
    });
  const lifted = { ...kernel, body: body(kernel.body) };
  return { kernel: lifted, values: [...slots.keys()] };
}
