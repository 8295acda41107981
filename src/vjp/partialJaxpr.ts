/**
 * Partial evaluation of a jaxpr into two jaxprs (for loop and branch bodies): given which inputs are unknown,
 * a known jaxpr computes the known outputs plus residuals, and an unknown jaxpr takes the residuals first.
 * It runs the partial-evaluation trace inside a staging trace, so every primitive's own partial-evaluation
 * rule applies (a cond or scan nested in a body splits too), and known work is staged rather than computed.
 */
import type { ShapedArray } from "../core/aval.js";
import type { Array } from "../core/array.js";
import { ClosedJaxpr, Jaxpr, evalJaxpr } from "../trace/jaxpr.js";
import { traceToJaxpr } from "../trace/stage.js";
import { PartialVal, partialEvalFlat } from "./partial.js";

export interface SplitJaxpr {
  /** known inputs → [known outputs (in order), residuals] */
  known: ClosedJaxpr;
  /** [residuals, unknown inputs] → unknown outputs (in order) */
  unknown: Jaxpr;
  outUnknown: boolean[];
  numResiduals: number;
}

export function partialEvalJaxpr(closed: ClosedJaxpr, inUnknown: readonly boolean[], instantiate: readonly boolean[]): SplitJaxpr {
  const { jaxpr, consts } = closed;
  let unknown: Jaxpr | undefined;
  let outUnknown: boolean[] = [];
  let numResiduals = 0;
  const knownAvals: ShapedArray[] = jaxpr.invars.filter((_, i) => !inUnknown[i]).map((v) => v.aval);
  const known = traceToJaxpr(
    (...knownIns) => {
      let k = 0;
      const pvals = jaxpr.invars.map((v, i) => (inUnknown[i] ? PartialVal.unknown(v.aval) : PartialVal.known(knownIns[k++]!)));
      const { outs, jaxpr: staged } = partialEvalFlat((...xs) => evalJaxpr(jaxpr, consts, xs), pvals, "partial eval", instantiate);
      outUnknown = outs.map((p) => !p.isKnown);
      const j = staged.jaxpr;
      unknown = new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars);
      numResiduals = staged.consts.length;
      const knownOuts: Array[] = outs.filter((p) => p.isKnown).map((p) => p.known!);
      return [...knownOuts, ...staged.consts];
    },
    knownAvals,
    "partial eval",
  );
  return { known, unknown: unknown!, outUnknown, numResiduals };
}
