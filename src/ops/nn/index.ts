/** The nn namespace: activations, softmax family and one-hot encoding, as `jax.nn` defines them. */
import { Array, type ArrayLike } from "../../core/array.js";
import type { DType } from "../../core/dtype.js";
import { normalizeAxes, normalizeAxis } from "../../core/shape.js";
import * as lax from "../lax/api.js";
import { exp, log, maximum, where } from "../numpy/math.js";
import { promoteArgsInexact } from "../numpy/promote.js";
import { max, sum } from "../numpy/reductions.js";

const inexact = (name: string, x: ArrayLike): Array => promoteArgsInexact(name, x)[0]!;

export const relu = (x: ArrayLike): Array => maximum(x, 0);
export const sigmoid = (x: ArrayLike): Array => lax.logistic(inexact("sigmoid", x));
export const silu = (x: ArrayLike): Array => {
  const a = inexact("silu", x);
  return lax.mul(a, lax.logistic(a));
};
export const swish = silu;
export const softplus = (x: ArrayLike): Array => {
  const a = inexact("softplus", x);
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which neither overflows nor loses small values.
  return lax.add(lax.max(a, 0), lax.log1p(lax.exp(lax.neg(lax.abs(a)))));
};

/** GELU; `approximate` (the default, as in JAX) uses the tanh form, otherwise the exact erf form. */
export function gelu(x: ArrayLike, approximate = true): Array {
  const a = inexact("gelu", x);
  if (approximate) {
    const inner = lax.mul(lax.add(a, lax.mul(lax.integerPow(a, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return lax.mul(lax.mul(a, 0.5), lax.add(lax.tanh(inner), 1));
  }
  return lax.mul(lax.mul(a, 0.5), lax.add(lax.erf(lax.mul(a, Math.SQRT1_2)), 1));
}

type Axis = number | readonly number[];

/** Softmax along `axis` (default -1), shifted by the stop-gradient max for stability. */
export function softmax(x: ArrayLike, axis: Axis = -1): Array {
  const a = inexact("softmax", x);
  const unnormalized = exp(lax.sub(a, lax.stopGradient(max(a, { axis, keepdims: true, initial: -Infinity }))));
  return lax.div(unnormalized, sum(unnormalized, { axis, keepdims: true }));
}

export function logSoftmax(x: ArrayLike, axis: Axis = -1): Array {
  const a = inexact("logSoftmax", x);
  const shifted = lax.sub(a, lax.stopGradient(max(a, { axis, keepdims: true, initial: -Infinity })));
  return lax.sub(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
}

/** log(sum(exp(x))) along `axis` (all axes by default), stable for large and infinite inputs. */
export function logsumexp(x: ArrayLike, options: { axis?: Axis | null; keepdims?: boolean } = {}): Array {
  const a = inexact("logsumexp", x);
  const axes = normalizeAxes(options.axis, a.ndim, "logsumexp: axis");
  const maxKept = lax.stopGradient(max(a, { axis: axes, keepdims: true }));
  const safeMax = where(lax.isFinite(maxKept), maxKept, 0);
  const summed = log(sum(exp(lax.sub(a, safeMax)), { axis: axes, keepdims: true }));
  const out = lax.add(summed, safeMax);
  return options.keepdims ? out : axes.length > 0 ? lax.squeeze(out, axes) : out;
}

/** One-hot encoding of integer `x` with `numClasses` classes along a new axis (last by default). */
export function oneHot(x: Array, numClasses: number, options: { dtype?: DType; axis?: number } = {}): Array {
  const axis = normalizeAxis(options.axis ?? -1, x.ndim + 1, "oneHot: axis");
  const expanded = lax.expandDims(x, [axis]);
  const shape = expanded.shape.map((d, i) => (i === axis ? numClasses : d));
  const classes = lax.broadcastedIota(x.dtype === "bool" ? "int32" : x.dtype, shape, axis);
  const operand = lax.broadcastInDim(x.dtype === "bool" ? lax.convertElementType(expanded, "int32") : expanded, shape, shape.map((_, i) => i));
  return lax.convertElementType(lax.eq(operand, classes), options.dtype ?? "float32");
}
