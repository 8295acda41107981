/**
 * Two clean-ups of kernel IR before rendering. Common subexpressions of one statement (a value read twice, so
 * loaded twice, once the lazy index functions are inlined) are bound once in a `let` before it. Loop-invariant
 * code motion: arithmetic inside a `for` that reads no variable the loop changes (and no buffer) moves into a
 * `let` before the loop. It mainly takes the row offsets of a matrix product's loads out of its contraction loop,
 * which neither V8's wasm compiler nor its JavaScript one does reliably.
 */
import { type Expr, type Stmt, accumulatorName, v } from "./kernelIr.js";

/** Variables a statement list assigns or binds (a `rank1` assigns its accumulators). */
function assigned(body: readonly Stmt[], into: Set<string>): Set<string> {
  for (const s of body) {
    if (s.k === "let" || s.k === "declare" || s.k === "assign") into.add(s.name);
    if (s.k === "for") assigned(s.body, into.add(s.name));
    if (s.k === "if") assigned([...s.then, ...(s.else ?? [])], into);
    if (s.k === "rank1") s.rows.forEach((_, i) => s.cols.forEach((_, j) => into.add(accumulatorName(s.acc, i, j))));
  }
  return into;
}

/** Whether `e` reads only variables outside `variant` and no buffer. */
function invariant(e: Expr, variant: ReadonlySet<string>): boolean {
  switch (e.k) {
    case "const":
      return true;
    case "var":
      return !variant.has(e.name);
    case "load":
      return false;
    default:
      return ["a", "b", "cond"].every((key) => {
        const child = (e as Record<string, unknown>)[key] as Expr | undefined;
        return child === undefined || invariant(child, variant);
      });
  }
}

/**
 * Whether moving `e` saves work: sums of variables and constants stay (they cost as much as reading a hoisted
 * value, and renderers read consecutive indices off them).
 */
const costly = (e: Expr): boolean => e.k !== "const" && e.k !== "var" && !(e.k === "binary" && (e.op === "add" || e.op === "sub") && !costly(e.a) && !costly(e.b));

class Hoister {
  #count = 0;

  /** `body` with every loop's invariant subexpressions bound before it. */
  stmts(body: readonly Stmt[]): Stmt[] {
    return body.flatMap((s) => this.stmt(s));
  }

  stmt(s: Stmt): Stmt[] {
    if (s.k === "if") return [{ ...s, then: this.stmts(s.then), ...(s.else ? { else: this.stmts(s.else) } : {}) }];
    if (s.k !== "for") return [s];
    const inner = this.stmts(s.body);
    const variant = assigned(inner, new Set([s.name]));
    const lets: Stmt[] = [];
    const names = new Map<string, string>();
    const hoist = (e: Expr): Expr => {
      if (e.k === "const" || e.k === "var") return e;
      if (costly(e) && invariant(e, variant)) {
        const key = JSON.stringify(e);
        let name = names.get(key);
        if (!name) {
          name = `inv${this.#count++}`;
          names.set(key, name);
          lets.push({ k: "let", name, value: e });
        }
        return v(name, e.type);
      }
      const out: Record<string, unknown> = { ...e };
      for (const key of ["a", "b", "cond", "index"]) if (key in e) out[key] = hoist((e as Record<string, unknown>)[key] as Expr);
      return out as Expr;
    };
    const rewrite = (body: readonly Stmt[]): Stmt[] =>
      body.map((t): Stmt => {
        switch (t.k) {
          case "let":
          case "assign":
            return { ...t, value: hoist(t.value) };
          case "declare":
            return { ...t, init: hoist(t.init) };
          case "store":
            return { ...t, index: hoist(t.index), value: hoist(t.value) };
          case "for":
            return { ...t, start: hoist(t.start), end: hoist(t.end), body: rewrite(t.body) };
          case "if":
            return { ...t, cond: hoist(t.cond), then: rewrite(t.then), ...(t.else ? { else: rewrite(t.else) } : {}) };
          case "rank1":
            return { ...t, rows: t.rows.map(hoist), cols: t.cols.map(hoist) };
          default:
            return t;
        }
      });
    const loop: Stmt = { ...s, body: rewrite(inner) };
    return [...lets, loop];
  }
}

const CHILDREN = ["a", "b", "cond", "index"] as const;
const children = (e: Expr): Expr[] => CHILDREN.flatMap((key) => ((e as Record<string, unknown>)[key] as Expr | undefined) ?? []);

/**
 * Counts the costly subexpressions of `e`, and collects those evaluated whatever the data (not only in a select's
 * arm: the other arm's loads may be out of bounds, so only these may move before the statement).
 */
function count(e: Expr, counts: Map<string, number>, unconditional: Set<string> | undefined): void {
  const key = JSON.stringify(e);
  if (costly(e)) {
    counts.set(key, (counts.get(key) ?? 0) + 1);
    unconditional?.add(key);
  }
  if (e.k === "select") {
    count(e.cond, counts, unconditional);
    count(e.a, counts, undefined);
    count(e.b, counts, undefined);
  } else {
    for (const child of children(e)) count(child, counts, unconditional);
  }
}

/** Binds subexpressions a statement evaluates more than once to `let`s before it, in every nested body. */
class Deduplicator {
  #count = 0;

  stmts(body: readonly Stmt[]): Stmt[] {
    return body.flatMap((s) => this.stmt(s));
  }

  stmt(s: Stmt): Stmt[] {
    switch (s.k) {
      case "for":
        return [{ ...s, body: this.stmts(s.body) }];
      case "if":
        return [{ ...s, then: this.stmts(s.then), ...(s.else ? { else: this.stmts(s.else) } : {}) }];
      case "let":
      case "assign":
        return this.#bind([s.value], ([value]) => ({ ...s, value: value! }));
      case "store":
        return this.#bind([s.index, s.value], ([index, value]) => ({ ...s, index: index!, value: value! }));
      case "rank1":
        return this.#bind([...s.rows, ...s.cols], (exprs) => ({ ...s, rows: exprs.slice(0, s.rows.length), cols: exprs.slice(s.rows.length) }));
      default:
        return [s];
    }
  }

  /** `make` of `exprs` reading their repeated subexpressions from `let`s bound before it (inner ones first). */
  #bind(exprs: readonly Expr[], make: (rewritten: Expr[]) => Stmt): Stmt[] {
    const counts = new Map<string, number>();
    const unconditional = new Set<string>();
    for (const e of exprs) count(e, counts, unconditional);
    const lets: Stmt[] = [];
    const names = new Map<string, string>();
    const rewrite = (e: Expr): Expr => {
      const key = JSON.stringify(e);
      const bound = names.get(key);
      if (bound) return v(bound, e.type);
      const out: Record<string, unknown> = { ...e };
      for (const child of CHILDREN) if (child in e) out[child] = rewrite((e as Record<string, unknown>)[child] as Expr);
      if ((counts.get(key) ?? 0) < 2 || !unconditional.has(key)) return out as Expr;
      const name = `cse${this.#count++}`;
      names.set(key, name);
      lets.push({ k: "let", name, value: out as Expr });
      return v(name, e.type);
    };
    const stmt = make(exprs.map(rewrite));
    return [...lets, stmt];
  }
}

/** Binds each statement's repeated subexpressions once, then moves loop-invariant arithmetic out of every `for` loop in `body`. */
export const hoistInvariants = (body: readonly Stmt[]): Stmt[] => new Hoister().stmts(new Deduplicator().stmts(body));
