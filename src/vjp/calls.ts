/**
 * Differentiation rules of `jit`: its JVP differentiates the body inline (the derivative of a jitted
 * function is staged into the enclosing computation), and its transpose runs the body backwards.
 */
import { type JitParams, jitP } from "../trace/jit.js";
import { evalClosedJaxpr } from "../trace/jaxpr.js";
import { defJvp, defTranspose, UndefPrimal } from "./ad.js";
import { jvpFlat } from "./api.js";
import { backwardPass } from "./transpose.js";

defJvp(jitP, (primals, tangents, { jaxpr, name }: JitParams) => jvpFlat((...xs) => evalClosedJaxpr(jaxpr, xs), primals, tangents, name));

defTranspose(jitP, (cotangents, inputs, { jaxpr }: JitParams) => {
  const cts = backwardPass(jaxpr.jaxpr, jaxpr.consts, inputs, cotangents);
  return cts.map((c, i) => (inputs[i] instanceof UndefPrimal ? c : null));
});
