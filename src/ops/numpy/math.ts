/** jnp's elementwise functions: arithmetic with promotion and broadcasting, math, comparisons, logic, `where`, `clip`. */
import type { Array, ArrayLike } from "../../core/array.js";
import { isFloat, isInteger, isSignedInt } from "../../core/dtype.js";
import * as lax from "../lax/api.js";
import { broadcastShapes } from "../../core/shape.js";
import { broadcastTo, promoteArgs, promoteArgsInexact } from "./promote.js";

const binary = (name: string, op: (x: Array, y: Array) => Array) => (x: ArrayLike, y: ArrayLike): Array => {
  const [a, b] = promoteArgs(name, x, y);
  return op(a!, b!);
};
const inexactUnary = (name: string, op: (x: Array) => Array) => (x: ArrayLike): Array => op(promoteArgsInexact(name, x)[0]!);
const unary = (name: string, op: (x: Array) => Array) => (x: ArrayLike): Array => op(promoteArgs(name, x)[0]!);

/** For bools, `add` is logical or and `multiply` logical and, as in numpy and JAX. */
export const add = binary("add", (x, y) => (x.dtype === "bool" ? lax.bitwiseOr(x, y) : lax.add(x, y)));
export const subtract = binary("subtract", lax.sub);
export const multiply = binary("multiply", (x, y) => (x.dtype === "bool" ? lax.bitwiseAnd(x, y) : lax.mul(x, y)));
export const maximum = binary("maximum", lax.max);
export const minimum = binary("minimum", lax.min);
export const equal = binary("equal", lax.eq);
export const notEqual = binary("notEqual", lax.ne);
export const less = binary("less", lax.lt);
export const lessEqual = binary("lessEqual", lax.le);
export const greater = binary("greater", lax.gt);
export const greaterEqual = binary("greaterEqual", lax.ge);
export const bitwiseAnd = binary("bitwiseAnd", lax.bitwiseAnd);
export const bitwiseOr = binary("bitwiseOr", lax.bitwiseOr);
export const bitwiseXor = binary("bitwiseXor", lax.bitwiseXor);

/** True division: integer operands give float32, as in JAX. */
export function divide(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgsInexact("divide", x, y);
  return lax.div(a!, b!);
}
export const trueDivide = divide;

/** Floor division (rounds toward −∞ for integers and floats). */
export function floorDivide(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs("floorDivide", x, y);
  if (isFloat(a!.dtype)) return lax.floor(lax.div(a!, b!));
  if (!isSignedInt(a!.dtype)) return lax.div(a!, b!);
  // Truncating division rounds toward zero; step down where the signs differ and a remainder is left.
  const quotient = lax.div(a!, b!);
  const adjust = lax.bitwiseAnd(lax.ne(lax.lt(a!, 0), lax.lt(b!, 0)), lax.ne(lax.rem(a!, b!), 0));
  return lax.select(adjust, lax.sub(quotient, 1), quotient);
}

/** Remainder with the sign of the divisor (numpy's `mod`). */
export function remainder(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs("remainder", x, y);
  const r = lax.rem(a!, b!);
  if (a!.dtype === "bool" || (isInteger(a!.dtype) && !isSignedInt(a!.dtype))) return r;
  const fix = lax.bitwiseAnd(lax.ne(r, 0), lax.ne(lax.lt(r, 0), lax.lt(b!, 0)));
  return lax.select(fix, lax.add(r, b!), r);
}
export const mod = remainder;

/** `x ** y`: an integer JS exponent becomes `integer_pow`; integer arrays to integer powers stay integers. */
export function power(x: ArrayLike, y: ArrayLike): Array {
  if (typeof y === "number" && Number.isInteger(y) && typeof x !== "number" && typeof x !== "boolean") {
    const [a] = promoteArgs("power", x);
    if (y >= 0 || isFloat(a!.dtype)) return lax.integerPow(a!, y);
  }
  const [a, b] = promoteArgsInexact("power", x, y);
  return lax.pow(a!, b!);
}

export const negative = unary("negative", lax.neg);
export const abs = unary("abs", (x) => (isSignedInt(x.dtype) || isFloat(x.dtype) ? lax.abs(x) : x));
export const absolute = abs;
export const sign = unary("sign", lax.sign);
export const square = unary("square", lax.square);
export const exp = inexactUnary("exp", lax.exp);
export const exp2 = inexactUnary("exp2", (x) => lax.exp(lax.mul(x, Math.LN2)));
export const log = inexactUnary("log", lax.log);
export const log2 = inexactUnary("log2", (x) => lax.div(lax.log(x), Math.LN2));
export const log10 = inexactUnary("log10", (x) => lax.div(lax.log(x), Math.LN10));
export const log1p = inexactUnary("log1p", lax.log1p);
export const expm1 = inexactUnary("expm1", lax.expm1);
export const sqrt = inexactUnary("sqrt", lax.sqrt);
export const rsqrt = inexactUnary("rsqrt", lax.rsqrt);
export const reciprocal = inexactUnary("reciprocal", (x) => lax.div(1, x));
export const sin = inexactUnary("sin", lax.sin);
export const cos = inexactUnary("cos", lax.cos);
export const tan = inexactUnary("tan", lax.tan);
export const arcsin = inexactUnary("arcsin", lax.asin);
export const arccos = inexactUnary("arccos", lax.acos);
export const arctan = inexactUnary("arctan", lax.atan);
export const sinh = inexactUnary("sinh", lax.sinh);
export const cosh = inexactUnary("cosh", lax.cosh);
export const tanh = inexactUnary("tanh", lax.tanh);
export const floor = unary("floor", (x) => (isFloat(x.dtype) ? lax.floor(x) : x));
export const ceil = unary("ceil", (x) => (isFloat(x.dtype) ? lax.ceil(x) : x));
/** Rounds half to even, as `jnp.round`. */
export const round = unary("round", (x) => (isFloat(x.dtype) ? lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN) : x));
export const isfinite = unary("isfinite", (x) => (isFloat(x.dtype) ? lax.isFinite(x) : lax.eq(x, x)));
export const isnan = unary("isnan", (x) => lax.ne(x, x));
export const isinf = unary("isinf", (x) => (isFloat(x.dtype) ? lax.eq(lax.abs(x), Infinity) : lax.ne(x, x)));
export function arctan2(y: ArrayLike, x: ArrayLike): Array {
  const [a, b] = promoteArgsInexact("arctan2", y, x);
  return lax.atan2(a!, b!);
}

const toBool = (x: Array): Array => (x.dtype === "bool" ? x : lax.ne(x, 0));
export function logicalAnd(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs("logicalAnd", x, y);
  return lax.bitwiseAnd(toBool(a!), toBool(b!));
}
export function logicalOr(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs("logicalOr", x, y);
  return lax.bitwiseOr(toBool(a!), toBool(b!));
}
export function logicalXor(x: ArrayLike, y: ArrayLike): Array {
  const [a, b] = promoteArgs("logicalXor", x, y);
  return lax.bitwiseXor(toBool(a!), toBool(b!));
}
export const logicalNot = unary("logicalNot", (x) => lax.bitwiseNot(toBool(x)));
export const invert = unary("invert", lax.bitwiseNot);

/** `where(condition, x, y)`: x where condition is true, else y; all three broadcast together. */
export function where(condition: ArrayLike, x: ArrayLike, y: ArrayLike): Array {
  const [cond] = promoteArgs("where: condition", condition);
  const [a, b] = promoteArgs("where", x, y);
  const shape = broadcastShapes([cond!.shape, a!.shape, b!.shape], ["condition", "x", "y"]);
  return lax.select(broadcastTo(toBool(cond!), shape), broadcastTo(a!, shape), broadcastTo(b!, shape));
}

/** `clip(x, min, max)`; either bound may be omitted (null). */
export function clip(x: ArrayLike, min: ArrayLike | null = null, max: ArrayLike | null = null): Array {
  let result = promoteArgs("clip", x)[0]!;
  if (min !== null) result = maximum(min, result);
  if (max !== null) result = minimum(max, result);
  return result;
}
