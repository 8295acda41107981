/**
 * Prints jaxprs in JAX's text format, layout included: `{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }`.
 * A port of jax/_src/core.py's pp_jaxpr: globally unique names (a, b, ..., z, ba, ...), `_` for results
 * never read, inner jaxprs of call-like primitives named after their operands, and sub-jaxprs that are
 * large or used twice printed once up front as `let name = { ... } in`.
 */
import { dtypeInfo } from "../core/dtype.js";
import type { Primitive } from "../core/primitive.js";
import { type Atom, ClosedJaxpr, Jaxpr, type JaxprEqn, Literal, Var, subJaxprs } from "./jaxpr.js";
import { type Doc, brk, concat, format, group, join, nest, nil, text } from "./pretty.js";

function alphabetic(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

class Context {
  readonly names = new Map<Var, string>();
  readonly shared = new Map<Jaxpr, string>();
  readonly sharedNames = new Set<string>();
  private counter = 0;

  name(v: Var): string {
    let n = this.names.get(v);
    if (n === undefined) {
      do n = alphabetic(this.counter++);
      while (this.sharedNames.has(n));
      this.names.set(v, n);
    }
    return n;
  }

  /** Gives `forVars` the names of `likeVars` where both are variables and `forVars` have none yet. */
  suggestSameNames(forVars: readonly Atom[], likeVars: readonly Atom[]): void {
    if (forVars.length !== likeVars.length) return;
    const used = new Set<Var>();
    forVars.forEach((f, i) => {
      const like = likeVars[i]!;
      if (like instanceof Var && !used.has(like) && f instanceof Var && !this.names.has(f)) {
        used.add(like);
        this.names.set(f, this.name(like));
      }
    });
  }
}

/** Python's repr of a float (what JAX prints for float literals). */
export function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = x.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const fixed = String(x);
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

const literalText = (l: Literal): string => {
  const { dtype } = l.aval;
  const kind = dtypeInfo(dtype).kind;
  const value = kind === "bool" ? (l.value ? "True" : "False") : kind === "float" ? pythonFloat(l.value) : String(l.value);
  return `${value}:${l.aval.toString()}`;
};

const atomText = (a: Atom, ctx: Context): string => (a instanceof Literal ? literalText(a) : ctx.name(a));

function ppVars(vars: readonly Atom[], ctx: Context, { separator = "", shapes = false } = {}): Doc {
  const docs = vars.map((v) => text(shapes ? `${atomText(v, ctx)}:${v.aval.toString()}` : atomText(v, ctx)));
  return nest(2, group(join(concat(text(separator), group(brk())), docs)));
}

const isJaxprLike = (v: unknown): v is Jaxpr | ClosedJaxpr => v instanceof Jaxpr || v instanceof ClosedJaxpr;
const jaxprOf = (v: Jaxpr | ClosedJaxpr): Jaxpr => (v instanceof ClosedJaxpr ? v.jaxpr : v);

/** Python-style text of a param value. */
export function paramText(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (Array.isArray(v)) return `(${v.map(paramText).join(", ")}${v.length === 1 ? "," : ""})`;
  return String(v);
}

function ppKvPair(key: string, value: unknown, ctx: Context): Doc {
  let doc: Doc;
  if (Array.isArray(value) && value.length > 0 && value.every(isJaxprLike)) {
    doc = group(concat(nest(2, concat(text("("), brk(""), join(brk(), value.map((j) => ppJaxpr(jaxprOf(j), ctx))))), brk(""), text(")")));
  } else if (isJaxprLike(value)) {
    doc = ppJaxpr(jaxprOf(value), ctx);
  } else {
    doc = text(typeof value === "string" ? value : paramText(value));
  }
  return concat(text(`${key}=`), doc);
}

function ppKvPairs(pairs: [string, unknown][], ctx: Context): Doc {
  if (pairs.length === 0) return nil;
  return group(concat(nest(2, concat(text("["), brk(""), join(brk(), pairs.map(([k, v]) => ppKvPair(k, v, ctx))))), brk(""), text("]")));
}

function paramPairs(e: JaxprEqn): [string, unknown][] {
  const primitive = e.primitive as Primitive<unknown>;
  if (primitive.formatParams) return Object.entries(primitive.formatParams(e.params));
  const params = (e.params ?? {}) as Record<string, unknown>;
  return Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
}

function ppEqn(e: JaxprEqn, ctx: Context): Doc {
  const primitive = e.primitive as Primitive<unknown>;
  if (primitive.namesFollowOperands) {
    for (const sub of subJaxprs(e.params)) {
      const inner = jaxprOf(sub);
      if (ctx.shared.has(inner)) continue;
      ctx.suggestSameNames(inner.invars, e.inputs);
      ctx.suggestSameNames(inner.outvars, e.outputs);
    }
  }
  const lhs = ppVars(e.outputs, ctx, { shapes: true });
  const rhs = [text(e.primitive.name), ppKvPairs(paramPairs(e), ctx), concat(text(" "), ppVars(e.inputs, ctx))];
  return e.outputs.length > 0 ? concat(lhs, text(" = "), ...rhs) : concat(...rhs);
}

function ppJaxpr(jaxpr: Jaxpr, ctx: Context): Doc {
  const shared = ctx.shared.get(jaxpr);
  if (shared !== undefined) return text(shared);
  const constvars = ppVars(jaxpr.constvars, ctx, { shapes: true });
  const invars = ppVars(jaxpr.invars, ctx, { shapes: true });
  const eqns = join(brk("; "), jaxpr.eqns.map((e) => ppEqn(e, ctx)));
  const outvars = concat(text("("), ppVars(jaxpr.outvars, ctx, { separator: "," }), text(jaxpr.outvars.length === 1 ? ",)" : ")"));
  return concat(
    group(nest(2, concat(text("{ lambda "), constvars, text("; "), invars, text(". let"), nest(2, concat(brk(), eqns)), brk(), text("in "), outvars))),
    text(" }"),
  );
}

/** Results of top-level equations that are never read print as `_`. */
function dropVars(jaxpr: Jaxpr, ctx: Context): void {
  const used = new Set<Var>(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  for (const e of [...jaxpr.eqns].reverse()) {
    for (const v of e.outputs) if (!used.has(v)) ctx.names.set(v, "_");
    for (const a of e.inputs) if (a instanceof Var) used.add(a);
  }
}

function eqnName(e: JaxprEqn): string | undefined {
  const name = (e.params as { name?: unknown } | null)?.name;
  return typeof name === "string" ? name.replace(/^<|>$/g, "") : undefined;
}

export function printJaxpr(value: Jaxpr | ClosedJaxpr, width = 80): string {
  const top = jaxprOf(value);
  const ctx = new Context();
  dropVars(top, ctx);
  // Count the sub-jaxprs; those used twice, or with more than 10 equations, print once up front.
  const counts = new Map<Jaxpr, number>();
  const names = new Map<Jaxpr, string>();
  const queue: Jaxpr[] = [top];
  while (queue.length > 0) {
    const j = queue.shift()!;
    counts.set(j, (counts.get(j) ?? 0) + 1 + (j !== top && j.eqns.length > 10 ? 1 : 0));
    for (const e of j.eqns) {
      const name = eqnName(e);
      for (const sub of subJaxprs(e.params)) {
        const inner = jaxprOf(sub);
        queue.push(inner);
        if (name !== undefined && !names.has(inner)) names.set(inner, name);
      }
    }
  }
  const nameCounts = new Map<string, number>();
  const docs: Doc[] = [];
  const sharedList: [string, Jaxpr][] = [];
  for (const [j, c] of counts) {
    if (c === 1) continue;
    let name = names.get(j) ?? "jaxpr";
    const count = nameCounts.get(name) ?? 0;
    nameCounts.set(name, count + 1);
    if (count > 0) {
      name += String(count);
      nameCounts.set(name, (nameCounts.get(name) ?? 0) + 1);
    }
    ctx.sharedNames.add(name);
    ctx.shared.set(j, name);
    sharedList.push([name, j]);
  }
  for (const [name, j] of sharedList) {
    ctx.shared.delete(j);
    docs.push(concat(text(`let ${name} = `), ppJaxpr(j, ctx), text(" in"), brk()));
    ctx.shared.set(j, name);
  }
  docs.push(ppJaxpr(top, ctx));
  return format(concat(...docs), width);
}
