/**
 * Decompositions: primitives the kernel lowering has no rule for but that can be written as a jaxpr of
 * primitives it does lower (gmm, tgmm and ragged_dot_general, until their grouped kernels exist). The ops
 * layer registers a function from an equation's params and operand types to a closed jaxpr; the plan inlines
 * it in place of the equation before anything else is planned, so a decomposition may contain loops.
 */
import type { ShapedArray } from "../core/aval.js";
import type { Array } from "../core/array.js";
import type { Primitive } from "../core/primitive.js";
import { type Atom, type ClosedJaxpr, Jaxpr, type JaxprEqn, Var, eqn } from "../trace/jaxpr.js";
import type { LoweringTarget } from "./dot.js";
import { inlineJaxpr } from "../trace/passes.js";
import { kernelRuleFor } from "./kernelRules.js";
import { LoweringError } from "./rules/common.js";

/** The jaxpr an equation stands for, given its params and operand types; it may throw a LoweringError. */
export type Decomposition<P> = (params: P, inAvals: readonly ShapedArray[]) => ClosedJaxpr;

const decompositions = new Map<Primitive<never>, Decomposition<never>>();

export function registerDecomposition<P>(primitive: Primitive<P>, decompose: Decomposition<P>): void {
  decompositions.set(primitive as Primitive<never>, decompose as Decomposition<never>);
}

export const hasDecomposition = (primitive: Primitive<unknown>): boolean => decompositions.has(primitive as Primitive<never>);

/** How deep decompositions may nest (one backend's jaxpr calling another's primitive) before it is an error. */
const MAX_DEPTH = 8;

/**
 * `jaxpr` with every equation that has a decomposition replaced by the decomposition's equations (fresh
 * variables; its constants appended to `consts`/`constvars`), recursively; equations with a kernel rule for
 * `target` (src/lowering/kernelRules.ts) stay. Loop bodies are planned, and expanded, on their own.
 */
export function expandDecompositions(jaxpr: Jaxpr, consts: Array[], constvars: Var[], target: LoweringTarget, depth = 0): Jaxpr {
  const expands = (e: JaxprEqn): boolean => decompositions.has(e.primitive) && !kernelRuleFor(e, target);
  if (!jaxpr.eqns.some(expands)) return jaxpr;
  if (depth >= MAX_DEPTH) throw new LoweringError(`lowering: decompositions nest deeper than ${MAX_DEPTH} levels (a primitive's decomposition calls itself?)`);
  const eqns: JaxprEqn[] = [];
  const replace = new Map<Var, Atom>();
  const atom = (a: Atom): Atom => (a instanceof Var ? (replace.get(a) ?? a) : a);
  for (const original of jaxpr.eqns) {
    const decompose = expands(original) ? decompositions.get(original.primitive) : undefined;
    const inputs = original.inputs.map(atom);
    if (!decompose) {
      eqns.push(eqn(original.primitive, inputs, original.params, original.outputs));
      continue;
    }
    const closed = decompose(original.params as never, inputs.map((a) => a.aval));
    const inner = expandDecompositions(closed.jaxpr, consts, constvars, target, depth + 1);
    const results = inlineJaxpr(inner, inputs, eqns, liftConsts(inner.constvars, closed.consts, consts, constvars));
    original.outputs.forEach((v, i) => replace.set(v, results[i]!));
  }
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars.map(atom));
}

/** New constvars of the outer jaxpr (appended to `constvars`, their values to `consts`) for an inlined jaxpr's constants. */
export function liftConsts(vars: readonly Var[], values: readonly Array[], consts: Array[], constvars: Var[]): Var[] {
  return vars.map((cv, i) => {
    const fresh = new Var(cv.aval);
    constvars.push(fresh);
    consts.push(values[i]!);
    return fresh;
  });
}
