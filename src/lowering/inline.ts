/**
 * Inlining before lowering: nested `jit` calls and custom_jvp/custom_vjp calls are replaced by their bodies
 * (a custom call's primal jaxpr is what runs forward; its derivative rules only matter to autodiff).
 */
import { ClosedJaxpr, Jaxpr, type JaxprEqn, eqn } from "../trace/jaxpr.js";
import { inlineCalls } from "../trace/passes.js";

const CUSTOM_CALLS = new Set(["custom_jvp_call", "custom_vjp_call"]);
const isCall = (e: JaxprEqn): boolean => e.primitive.name === "jit" || CUSTOM_CALLS.has(e.primitive.name);

/** Gives every call equation, at any depth, its callee under `jaxpr`, the param `inlineCalls` reads. */
function exposeCallees(jaxpr: Jaxpr): Jaxpr {
  const eqns = jaxpr.eqns.map((e) => {
    const params = e.params as { jaxpr?: unknown; call_jaxpr?: unknown };
    const callee = CUSTOM_CALLS.has(e.primitive.name) ? params.call_jaxpr : e.primitive.name === "jit" ? params.jaxpr : undefined;
    if (!(callee instanceof ClosedJaxpr)) return e;
    return eqn(e.primitive, e.inputs, { jaxpr: new ClosedJaxpr(exposeCallees(callee.jaxpr), callee.consts) }, e.outputs);
  });
  return new Jaxpr(jaxpr.constvars, jaxpr.invars, eqns, jaxpr.outvars);
}

/** `jaxpr` with every jit and custom call inlined. */
export const inlineAllCalls = (jaxpr: Jaxpr): Jaxpr => inlineCalls(exposeCallees(jaxpr), isCall);
