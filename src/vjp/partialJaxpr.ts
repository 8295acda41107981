/**
 * Partial evaluation of a jaxpr as a rewrite (for loop bodies): given which inputs are unknown, split it into
 * a known jaxpr that also outputs residuals, and an unknown jaxpr that takes the residuals first. An equation
 * with any unknown input is unknown as a whole.
 */
import { type Atom, Jaxpr, type JaxprEqn, Literal, Var } from "../trace/jaxpr.js";

export interface SplitJaxpr {
  /** known inputs → [known outputs (in order), residuals] */
  known: Jaxpr;
  /** [residuals, unknown inputs] → unknown outputs (in order) */
  unknown: Jaxpr;
  outUnknown: boolean[];
  numResiduals: number;
}

export function partialEvalJaxpr(jaxpr: Jaxpr, inUnknown: readonly boolean[], instantiate: readonly boolean[]): SplitJaxpr {
  const unknownVars = new Set<Var>();
  jaxpr.invars.forEach((v, i) => inUnknown[i] && unknownVars.add(v));
  const isUnknown = (a: Atom): boolean => a instanceof Var && unknownVars.has(a);
  const knownEqns: JaxprEqn[] = [];
  const unknownEqns: JaxprEqn[] = [];
  for (const e of jaxpr.eqns) {
    if (e.inputs.some(isUnknown)) {
      unknownEqns.push(e);
      e.outputs.forEach((v) => unknownVars.add(v));
    } else knownEqns.push(e);
  }
  const outUnknown = jaxpr.outvars.map((a, i) => isUnknown(a) || instantiate[i] === true);
  // Residuals: known variables the unknown side reads (including known outputs it must produce).
  const residuals: Var[] = [];
  const residualSet = new Set<Var>();
  const needs = (a: Atom): void => {
    if (a instanceof Var && !unknownVars.has(a) && !residualSet.has(a)) {
      residualSet.add(a);
      residuals.push(a);
    }
  };
  for (const e of unknownEqns) e.inputs.forEach(needs);
  jaxpr.outvars.forEach((a, i) => outUnknown[i] && needs(a));
  const knownOuts = jaxpr.outvars.filter((_, i) => !outUnknown[i]);
  const known = new Jaxpr(
    jaxpr.constvars,
    jaxpr.invars.filter((_, i) => !inUnknown[i]),
    knownEqns,
    [...knownOuts, ...residuals],
  );
  // The unknown side reads residuals through fresh variables of its own.
  const residualIn = residuals.map((r) => new Var(r.aval));
  const rename = new Map<Var, Var>(residuals.map((r, i) => [r, residualIn[i]!]));
  const atom = (a: Atom): Atom => (a instanceof Literal ? a : (rename.get(a) ?? a));
  const unknown = new Jaxpr(
    [],
    [...residualIn, ...jaxpr.invars.filter((_, i) => inUnknown[i])],
    unknownEqns.map((e) => ({ ...e, inputs: e.inputs.map(atom) })),
    jaxpr.outvars.filter((_, i) => outUnknown[i]).map(atom),
  );
  return { known, unknown, outUnknown, numResiduals: residuals.length };
}
