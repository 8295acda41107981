/**
 * Jaxpr-to-jaxpr passes: dead-code elimination, common-subexpression elimination, folding of equations on
 * literals only, and inlining of nested `jit` calls. Each returns a new jaxpr; none mutates its input.
 */
import { ArrayImpl } from "../core/array.js";
import type { Primitive } from "../core/primitive.js";
import { type Atom, ClosedJaxpr, Jaxpr, type JaxprEqn, Literal, Var, eqn, subJaxprs } from "./jaxpr.js";
import { evalPrimitive } from "./trace.js";

/** Rebuilds params with every sub-jaxpr replaced by `f(sub)`. */
function mapSubJaxprs(params: unknown, f: (j: Jaxpr) => Jaxpr): unknown {
  if (params instanceof ClosedJaxpr) return new ClosedJaxpr(f(params.jaxpr), params.consts);
  if (params instanceof Jaxpr) return f(params);
  if (Array.isArray(params)) return params.map((p) => mapSubJaxprs(p, f));
  if (typeof params === "object" && params !== null && Object.getPrototypeOf(params) === Object.prototype) {
    return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, mapSubJaxprs(v, f)]));
  }
  return params;
}

const withSubJaxprs = (e: JaxprEqn, f: (j: Jaxpr) => Jaxpr): JaxprEqn =>
  subJaxprs(e.params).length === 0 ? e : eqn(e.primitive, e.inputs, mapSubJaxprs(e.params, f), e.outputs);

/** Removes equations none of whose results are used (every primitive here is free of side effects). */
export function dce(jaxpr: Jaxpr): Jaxpr {
  const live = new Set<Var>(jaxpr.outvars.filter((a): a is Var => a instanceof Var));
  const kept: JaxprEqn[] = [];
  for (const e of [...jaxpr.eqns].reverse()) {
    if (!e.outputs.some((v) => live.has(v))) continue;
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
    kept.push(withSubJaxprs(e, dce));
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, kept.reverse(), jaxpr.outvars);
}

function paramsKey(params: unknown, ids: Map<object, number>): string {
  return JSON.stringify(params, (_key, value: unknown) => {
    if (value instanceof Jaxpr || value instanceof ClosedJaxpr) {
      if (!ids.has(value)) ids.set(value, ids.size);
      return `jaxpr#${ids.get(value)}`;
    }
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    return value;
  });
}

/** Reuses the results of an earlier equation with the same primitive, operands and params. */
export function cse(jaxpr: Jaxpr): Jaxpr {
  const replace = new Map<Var, Var>();
  const varIds = new Map<Var, number>();
  const jaxprIds = new Map<object, number>();
  const seen = new Map<string, readonly Var[]>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  const atomKey = (a: Atom): string => {
    if (a instanceof Literal) return `lit:${a.value}:${a.aval.toString()}`;
    if (!varIds.has(a)) varIds.set(a, varIds.size);
    return `var:${varIds.get(a)}`;
  };
  const eqns: JaxprEqn[] = [];
  for (const original of jaxpr.eqns) {
    const e = withSubJaxprs(eqn(original.primitive, original.inputs.map(atom), original.params, original.outputs), cse);
    const key = `${e.primitive.name}(${e.inputs.map(atomKey).join(",")})${paramsKey(e.params, jaxprIds)}`;
    const previous = seen.get(key);
    if (previous) {
      e.outputs.forEach((v, i) => replace.set(v, previous[i]!));
      continue;
    }
    seen.set(key, e.outputs);
    eqns.push(e);
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}

/** Evaluates equations whose operands are all literals and whose results are scalars, replacing them by literals. */
export function foldConstants(jaxpr: Jaxpr): Jaxpr {
  const replace = new Map<Var, Literal>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  const eqns: JaxprEqn[] = [];
  for (const original of jaxpr.eqns) {
    const inputs = original.inputs.map(atom);
    const foldable =
      inputs.length > 0 &&
      inputs.every((a) => a instanceof Literal) &&
      original.outputs.every((v) => v.aval.ndim === 0) &&
      subJaxprs(original.params).length === 0;
    if (foldable) {
      const outs = evalPrimitive(original.primitive as Primitive<unknown>, inputs.map((a) => (a as Literal).toArray()), original.params);
      original.outputs.forEach((v, i) => replace.set(v, new Literal((outs[i] as ArrayImpl).dataSync()[0]!, v.aval)));
      continue;
    }
    eqns.push(withSubJaxprs(eqn(original.primitive, inputs, original.params, original.outputs), foldConstants));
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}

/** Replaces calls of `jit` (and other call primitives that hold one closed jaxpr named `jaxpr`) by their bodies. */
export function inlineCalls(jaxpr: Jaxpr, isCall: (e: JaxprEqn) => boolean = (e) => e.primitive.name === "jit"): Jaxpr {
  const eqns: JaxprEqn[] = [];
  const replace = new Map<Var, Atom>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  for (const original of jaxpr.eqns) {
    const e = eqn(original.primitive, original.inputs.map(atom), original.params, original.outputs);
    const callee = (e.params as { jaxpr?: unknown } | null)?.jaxpr;
    if (!isCall(e) || !(callee instanceof ClosedJaxpr) || callee.consts.length > 0) {
      eqns.push(withSubJaxprs(e, (j) => inlineCalls(j, isCall)));
      continue;
    }
    const results = inlineJaxpr(inlineCalls(callee.jaxpr, isCall), e.inputs, eqns);
    e.outputs.forEach((v, i) => replace.set(v, results[i]!));
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}

/**
 * Appends `body`'s equations to `eqns` with its invars bound to `args` and its constvars to `constArgs`, and
 * fresh variables for what it defines (so a jaxpr inlined twice defines distinct variables); returns the
 * atoms of its outputs.
 */
export function inlineJaxpr(body: Jaxpr, args: readonly Atom[], eqns: JaxprEqn[], constArgs: readonly Atom[] = []): Atom[] {
  const rename = new Map<Var, Atom>();
  body.constvars.forEach((v, i) => rename.set(v, constArgs[i]!));
  body.invars.forEach((v, i) => rename.set(v, args[i]!));
  const renamed = (a: Atom): Atom => (a instanceof Var ? (rename.get(a) ?? a) : a);
  for (const inner of body.eqns) {
    const outputs = inner.outputs.map((v) => {
      const fresh = new Var(v.aval);
      rename.set(v, fresh);
      return fresh;
    });
    eqns.push(eqn(inner.primitive, inner.inputs.map(renamed), inner.params, outputs));
  }
  return body.outvars.map(renamed);
}

/** Applies a pass to a closed jaxpr, keeping its constants. */
export const onClosed = (pass: (j: Jaxpr) => Jaxpr) => (closed: ClosedJaxpr): ClosedJaxpr => new ClosedJaxpr(pass(closed.jaxpr), closed.consts);
