/** Turning user-facing leaves (Arrays, JS numbers, booleans) into Arrays and abstract values. */
import { ShapedArray } from "../core/aval.js";
import { Array, scalarArray } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";

/** The abstract value of a leaf: a JS number is a weakly typed scalar (int32 if integral, else float32). */
export function avalOfLeaf(x: unknown, argument: string): ShapedArray {
  if (x instanceof Array) return x.aval;
  if (typeof x === "boolean") return new ShapedArray([], "bool");
  if (typeof x === "number") return new ShapedArray([], Number.isInteger(x) ? "int32" : "float32", true);
  throw new ArgumentError(`${argument}: expected an Array, a number or a boolean, got ${x === null ? "null" : typeof x}`);
}

export function asArray(x: unknown, argument: string): Array {
  if (x instanceof Array) return x;
  const aval = avalOfLeaf(x, argument);
  return scalarArray(x as number | boolean, aval.dtype, aval.weakType);
}
