/** Helpers for Jacobians built from one JVP or VJP per basis vector (vmap will batch them later). */
import { Array } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { DTypeError } from "../core/errors.js";

let ops: { basis: (x: Array) => Array[]; stack: (xs: Array[], axis: number) => Array } | undefined;

/** Installed by ops/lax: one-hot basis arrays and stacking. */
export function setJacobianOps(impl: NonNullable<typeof ops>): void {
  ops = impl;
}

export function basisVectors(x: Array): Array[] {
  if (!isFloat(x.dtype)) throw new DTypeError(`jacobian: expected a floating-point array, got ${x.dtype}`);
  return ops!.basis(x);
}

export const stackAlong = (xs: Array[], axis: number): Array => ops!.stack(xs, axis);
