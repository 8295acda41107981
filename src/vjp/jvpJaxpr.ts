/** The JVP of a closed jaxpr as another closed jaxpr, for the rules of control-flow primitives. */
import { isFloat } from "../core/dtype.js";
import { ClosedJaxpr, evalClosedJaxpr } from "../trace/jaxpr.js";
import { traceToJaxpr } from "../trace/stage.js";
import { Zero, instantiate, tangentAval } from "./ad.js";
import { jvpFlat } from "./api.js";

/**
 * `(primals..., tangents of the `withTangent` inputs...) → (outputs..., tangents of the float outputs...)`.
 * Output tangents are always materialised, so that every branch or iteration agrees on the types.
 */
export function jvpJaxpr(closed: ClosedJaxpr, withTangent: readonly boolean[], name: string): { jaxpr: ClosedJaxpr; tangentOut: boolean[] } {
  const inAvals = closed.inAvals;
  const tangentOut = closed.outAvals.map((a) => isFloat(a.dtype));
  const tangentAvals = inAvals.filter((_, i) => withTangent[i]).map(tangentAval);
  const traced = traceToJaxpr(
    (...args) => {
      const primals = args.slice(0, inAvals.length);
      let k = inAvals.length;
      const tangents = inAvals.map((a, i) => (withTangent[i] ? args[k++]! : new Zero(tangentAval(a))));
      const [outs, touts] = jvpFlat((...xs) => evalClosedJaxpr(closed, xs), primals, tangents, name);
      return [...outs, ...touts.filter((_, i) => tangentOut[i]).map(instantiate)];
    },
    [...inAvals, ...tangentAvals],
    name,
  );
  const j = traced.jaxpr;
  const jaxpr = traced.consts.length === 0 ? traced : new ClosedJaxpr(j, traced.consts);
  return { jaxpr, tangentOut };
}
