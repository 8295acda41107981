/** Batching rule of `jit`: the body is batched once per batching (cached), and stays one jit call. */
import { type ClosedJaxpr, constsAsInputs } from "../trace/jaxpr.js";
import { type JitParams, jitP } from "../trace/jit.js";
import { bind } from "../trace/trace.js";
import { batchJaxpr, defBatch } from "./batching.js";

/** A jit body takes its constants as leading operands (as jit's own callee does); one object per batched body. */
const callees = new WeakMap<ClosedJaxpr, ClosedJaxpr>();
function calleeOf(closed: ClosedJaxpr): ClosedJaxpr {
  if (closed.consts.length === 0) return closed;
  let callee = callees.get(closed);
  if (!callee) {
    callee = constsAsInputs(closed);
    callees.set(closed, callee);
  }
  return callee;
}

defBatch(jitP, (args, dims, params: JitParams, size) => {
  const { jaxpr, outDims } = batchJaxpr(params.jaxpr, dims, size, false, params.name);
  return [bind(jitP, [...jaxpr.consts, ...args], { ...params, jaxpr: calleeOf(jaxpr) }), outDims];
});
