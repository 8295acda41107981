/** The standard basis Jacobians are built from: one JVP or VJP per basis vector, all at once under vmap. */
import type { Array } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { DTypeError, WgjaxError } from "../core/errors.js";

let identity: ((x: Array) => Array) | undefined;

/** Installed by ops/lax: the identity matrix of `x.size`, shaped `[x.size, ...x.shape]` in `x`'s dtype. */
export function setBasisOp(impl: (x: Array) => Array): void {
  identity = impl;
}

/** Every basis vector of `x`'s space, stacked along a new leading axis. */
export function basis(x: Array, name: string): Array {
  if (!isFloat(x.dtype)) throw new DTypeError(`${name}: expected a floating-point array, got ${x.dtype}`);
  if (!identity) throw new WgjaxError(`${name}: no basis operation installed; import wgjax through its index`);
  return identity(x);
}
