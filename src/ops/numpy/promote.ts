/**
 * jnp's operand handling: JS scalars become weakly typed scalars, dtypes promote along JAX's lattice, and
 * lower-rank operands gain leading unit axes (lax broadcasts unit axes and scalars itself).
 */
import { Array, type ArrayLike } from "../../core/array.js";
import { type PromotedType, isFloat, resultType } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import { broadcastShapes, shapesEqual } from "../../core/shape.js";
import * as lax from "../lax/api.js";

/** The abstract type a JS scalar has as an operand: integral numbers act like Python ints, others like floats. */
export function scalarType(value: number | boolean): PromotedType {
  if (typeof value === "boolean") return { dtype: "bool", weakType: false };
  return { dtype: Number.isInteger(value) ? "int32" : "float32", weakType: true };
}

export function checkArrayLike(value: unknown, argument: string): asserts value is ArrayLike {
  if (!(value instanceof Array) && typeof value !== "number" && typeof value !== "boolean") {
    throw new ArgumentError(`${argument}: expected an Array, a number or a boolean, got ${value === null ? "null" : typeof value}`);
  }
}

const typeOf = (x: ArrayLike): PromotedType => (x instanceof Array ? { dtype: x.dtype, weakType: x.weakType } : scalarType(x));

/** Converts `x` to `dtype` (a JS scalar becomes a scalar Array). */
export function cast(x: ArrayLike, to: PromotedType, argument = "operand"): Array {
  if (x instanceof Array) return lax.convertElementType(x, to.dtype, to.weakType);
  if (typeof x === "number" && !Number.isInteger(x) && !isFloat(to.dtype)) {
    throw new ArgumentError(`${argument}: the non-integer ${x} cannot be converted to ${to.dtype}`);
  }
  return lax.scalarLike(x, to.dtype, argument, to.weakType);
}

/** Gives non-scalar operands the same rank by prepending unit axes (scalars stay rank 0 for lax). */
export function promoteRanks(arrays: readonly Array[]): Array[] {
  const rank = Math.max(0, ...arrays.map((a) => a.ndim));
  return arrays.map((a) => (a.ndim === 0 || a.ndim === rank ? a : lax.broadcastInDim(a, [...new globalThis.Array(rank - a.ndim).fill(1), ...a.shape], a.shape.map((_, i) => i + rank - a.ndim))));
}

/** Operands converted to their common dtype (shapes untouched), for products and concatenation. */
export function promoteDTypes(name: string, ...xs: ArrayLike[]): Array[] {
  xs.forEach((x, i) => checkArrayLike(x, `${name}: argument ${i}`));
  const to = resultType(...xs.map(typeOf));
  return xs.map((x, i) => cast(x, to, `${name}: argument ${i}`));
}

/** Operands of an elementwise jnp function: one dtype, equal ranks, shapes checked for broadcasting. */
export function promoteArgs(name: string, ...xs: ArrayLike[]): Array[] {
  const arrays = promoteDTypes(name, ...xs);
  broadcastShapes(arrays.map((a) => a.shape), xs.map((_, i) => `argument ${i}`));
  return promoteRanks(arrays);
}

/** Like `promoteArgs`, then integer and bool results become float32 (jnp's promote_args_inexact). */
export function promoteArgsInexact(name: string, ...xs: ArrayLike[]): Array[] {
  const arrays = promoteArgs(name, ...xs);
  return arrays.map((a) => (isFloat(a.dtype) ? a : lax.convertElementType(a, "float32", a.weakType)));
}

export function asArray(x: ArrayLike, argument = "operand"): Array {
  checkArrayLike(x, argument);
  return x instanceof Array ? x : cast(x, scalarType(x), argument);
}

/** Broadcasts to `shape` with numpy rules. */
export function broadcastTo(x: ArrayLike, shape: readonly number[]): Array {
  const a = asArray(x, "broadcastTo: x");
  const target = broadcastShapes([a.shape, shape], ["x", "shape"]);
  if (!shapesEqual(target, shape)) {
    throw new ArgumentError(`broadcastTo: cannot broadcast shape (${a.shape.join(", ")}) to (${shape.join(", ")})`);
  }
  if (shapesEqual(a.shape, shape)) return a;
  const offset = shape.length - a.ndim;
  const squeezed = a.shape.map((d, i) => (d === 1 && shape[i + offset] !== 1 ? i : -1)).filter((i) => i >= 0);
  const kept = a.shape.map((_, i) => i).filter((i) => !squeezed.includes(i));
  const base = squeezed.length > 0 ? lax.reshape(a, kept.map((i) => a.shape[i]!)) : a;
  return lax.broadcastInDim(base, shape, kept.map((i) => i + offset));
}
