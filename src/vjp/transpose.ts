/**
 * Transposition (JAX's backward_pass): walks a linear jaxpr backwards, applying each primitive's transpose
 * rule and summing cotangents. Equations that touch no linear input are evaluated forward first, so a jaxpr
 * may mix non-linear work on known values (residuals) with its linear part.
 */
import { Array } from "../core/array.js";
import { WgjaxError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { type Atom, type Jaxpr, Literal, Var } from "../trace/jaxpr.js";
import { bind } from "../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, getTransposeRule, tangentAval } from "./ad.js";

let adder: ((x: Array, y: Array) => Array) | undefined;

/** Installed by ops/lax: cotangents are summed with `add`. */
export function setCotangentAdder(add: (x: Array, y: Array) => Array): void {
  adder = add;
}

export function addTangents(a: Tangent, b: Tangent): Tangent {
  if (a instanceof Zero) return b;
  if (b instanceof Zero) return a;
  if (!adder) throw new WgjaxError("autodiff: no cotangent adder installed; import wgjax through its index");
  return adder(a, b);
}

/**
 * Cotangents of the `UndefPrimal` arguments of `jaxpr`, given cotangents of its outputs. Known arguments
 * (and `consts`) are values; the result has one entry per argument (Zero where none flowed).
 */
export function backwardPass(jaxpr: Jaxpr, consts: readonly Array[], args: readonly (Array | UndefPrimal)[], cotangents: readonly Tangent[]): Tangent[] {
  const primal = new Map<Var, Array>();
  const linear = new Set<Var>();
  jaxpr.constvars.forEach((v, i) => primal.set(v, consts[i]!));
  jaxpr.invars.forEach((v, i) => {
    const a = args[i]!;
    if (a instanceof UndefPrimal) linear.add(v);
    else primal.set(v, a);
  });
  const readPrimal = (a: Atom): Array | UndefPrimal => {
    if (a instanceof Literal) return a.toArray();
    if (linear.has(a)) return new UndefPrimal(a.aval);
    const v = primal.get(a);
    if (!v) throw new WgjaxError("backwardPass: a known variable has no value");
    return v;
  };
  // Forward: evaluate the equations that do not depend on a linear input; the rest are linear.
  const linearEqns = [];
  for (const e of jaxpr.eqns) {
    if (e.inputs.some((a) => a instanceof Var && linear.has(a))) {
      linearEqns.push(e);
      e.outputs.forEach((v) => linear.add(v));
    } else {
      const outs = bind(e.primitive as Primitive<unknown>, e.inputs.map((a) => readPrimal(a) as Array), e.params);
      e.outputs.forEach((v, i) => primal.set(v, outs[i]!));
    }
  }
  const ct = new Map<Var, Tangent>();
  const writeCt = (a: Atom, value: Tangent | null): void => {
    if (!(a instanceof Var) || !linear.has(a) || value === null || value instanceof Zero) return;
    ct.set(a, addTangents(ct.get(a) ?? new Zero(tangentAval(a.aval)), value));
  };
  jaxpr.outvars.forEach((v, i) => writeCt(v, cotangents[i]!));
  for (const e of linearEqns.reverse()) {
    const cts = e.outputs.map((v) => ct.get(v) ?? new Zero(tangentAval(v.aval)));
    e.outputs.forEach((v) => ct.delete(v));
    if (cts.every((c) => c instanceof Zero)) continue;
    const rule = getTransposeRule(e.primitive as Primitive<unknown>);
    if (!rule) throw new WgjaxError(`Transpose rule (for reverse-mode differentiation) for '${e.primitive.name}' not implemented`);
    const inputCts = rule(cts, e.inputs.map(readPrimal), e.params);
    e.inputs.forEach((a, i) => writeCt(a, inputCts[i] ?? null));
  }
  return jaxpr.invars.map((v, i) => (args[i] instanceof UndefPrimal ? (ct.get(v) ?? new Zero(tangentAval(v.aval))) : new Zero(tangentAval(v.aval))));
}
