/**
 * Lowering rules of elementwise primitives: each is an index function that combines its operands' values at
 * the same coordinates (size-1 axes and scalars broadcast), so chains of them fuse into one expression.
 * threefry2x32 is elementwise too, but its twenty rounds are statements: a pending value like a reduction's.
 */
import { type DType, dtypeInfo, intRange, isFloat } from "../../core/dtype.js";
import type { JaxprEqn } from "../../trace/jaxpr.js";
import { type BinaryOp, type Expr, type ScalarType, type Stmt, type UnaryOp, binary, bitcast, c, cast, decode, select, unary, v } from "../kernelIr.js";
import type { KernelContext } from "../lower.js";
import { codeOf, isNarrowFloat, narrowOf } from "../packing.js";
import { type MultiRule, type Rule, fresh, lazy } from "./common.js";

/** Elementwise ops: operands are scalars or have the output's rank (size-1 axes broadcast). */
export function elementwise(make: (args: Expr[], eqn: JaxprEqn, outType: ScalarType) => Expr): Rule {
  return (eqn, inputs, outShape, outType) =>
    lazy(outShape, outType, inputs.some((i) => i.pending), (coords, ctx) =>
      make(
        inputs.map((x) => x.at(x.shape.length === 0 ? [] : x.shape.map((d, k) => (d === 1 && outShape[k] !== 1 ? c(0, "i32") : coords[k]!)), ctx)),
        eqn,
        outType,
      ),
    );
}

const F32_MAX_BELOW_2_31 = 2147483520;
const F32_MAX_BELOW_2_32 = 4294967040;

/**
 * An int32/uint32 as the f32 whose rounding to bfloat16 is the integer's: from 2^24 on, an f32 would round it
 * once and bfloat16 again, so the bits below the 16th fold into a sticky bit (at bit 8, which f32 keeps).
 */
function intForBfloat16(x: Expr): Expr {
  const negative = x.type === "i32" ? binary("lt", x, c(0, "i32")) : undefined;
  const magnitude = negative ? bitcast(select(negative, unary("neg", x), x), "u32") : x;
  const sticky = select(binary("ne", binary("and", magnitude, c(0xffff, "u32")), c(0, "u32")), c(0x100, "u32"), c(0, "u32"));
  const folded = binary("or", binary("and", magnitude, c(0xffff0000, "u32")), sticky);
  const value = cast(select(binary("ge", magnitude, c(2 ** 24, "u32")), folded, magnitude), "f32");
  return negative ? select(negative, unary("neg", value), value) : value;
}

/**
 * `convert_element_type` as XLA does it: float → int saturates and truncates toward zero, NaN → 0 (the float is
 * clamped to the largest float below the type's limit first: WGSL leaves out-of-range casts undefined); NaN →
 * bool is false; int → int keeps the bits (the driver wraps narrow results). Narrow floats round afterwards.
 */
function convert(x: Expr, from: DType, to: DType, outType: ScalarType): Expr {
  if (x.type === "f32" && outType === "bool") return binary("and", binary("ne", x, c(0)), binary("eq", x, x));
  if (to === "bfloat16" && dtypeInfo(from).bits === 32 && !isFloat(from)) return intForBfloat16(x);
  if (x.type !== "f32" || outType === "f32" || outType === "bool") return cast(x, outType);
  if (narrowOf(to)) {
    const [lo, hi] = intRange(to);
    return cast(select(binary("ne", x, x), c(0), binary("max", binary("min", x, c(hi)), c(lo))), outType);
  }
  const [lo, hi, highest] = outType === "i32" ? [-2147483648, F32_MAX_BELOW_2_31, 2147483647] : [0, F32_MAX_BELOW_2_32, 4294967295];
  const clamped = binary("max", binary("min", x, c(hi)), c(lo));
  return select(binary("gt", x, c(hi)), c(highest, outType), cast(select(binary("ne", x, x), c(0), clamped), outType));
}

/** `bitcast_convert_type`: the 32 bits reinterpreted, or a narrow value's code read as the other narrow type. */
function bitcastConvert(x: Expr, from: DType, to: DType, outType: ScalarType): Expr {
  const source = narrowOf(from);
  if (!source) return bitcast(x, outType);
  const code = codeOf(x, source);
  return isNarrowFloat(to) ? decode(to, code) : cast(code, outType);
}

const dtypes = (eqn: JaxprEqn): [DType, DType] => [eqn.inputs[0]!.aval.dtype, eqn.outputs[0]!.aval.dtype];

const one = (t: ScalarType): Expr => c(1, t);

const UNARY_PRIMITIVES: Partial<Record<string, UnaryOp>> = {
  neg: "neg", exp: "exp", log: "log", log1p: "log1p", expm1: "expm1", sin: "sin", cos: "cos", tan: "tan", asin: "asin", acos: "acos",
  atan: "atan", sinh: "sinh", cosh: "cosh", tanh: "tanh", sqrt: "sqrt", abs: "abs", floor: "floor", ceil: "ceil", erf: "erf", erf_inv: "erf_inv", not: "not",
};

const BINARY_PRIMITIVES: Partial<Record<string, BinaryOp>> = {
  add: "add", add_any: "add", sub: "sub", mul: "mul", div: "div", rem: "rem", pow: "pow", atan2: "atan2", eq: "eq", ne: "ne",
  and: "and", or: "or", xor: "xor", shift_left: "shl", shift_right_arithmetic: "sar",
};

/** A logical right shift of a narrow signed int shifts its own bits, not the sign-extended ones. */
function shiftRightLogical([a, s]: Expr[], eqn: JaxprEqn): Expr {
  const element = narrowOf(eqn.inputs[0]!.aval.dtype);
  const bits = element && a!.type === "i32" ? binary("and", a!, c(2 ** dtypeInfo(element).bits - 1, "i32")) : a!;
  return binary("shr", bits, s!);
}

/** Ops bool operands need spelled differently: max/min are or/and, orderings compare 0/1. */
const max = (a: Expr, b: Expr): Expr => binary(a.type === "bool" ? "or" : "max", a, b);
const min = (a: Expr, b: Expr): Expr => binary(a.type === "bool" ? "and" : "min", a, b);
const ordering = (op: BinaryOp) => ([a, b]: Expr[]): Expr => (a!.type === "bool" ? binary(op, cast(a!, "i32"), cast(b!, "i32")) : binary(op, a!, b!));

/** select_n: a bool picks between two cases; an int32 `which` is clamped into the cases' range. */
function selectN([which, ...cases]: Expr[]): Expr {
  if (which!.type === "bool") return cases.length === 1 ? cases[0]! : select(which!, cases[1]!, cases[0]!);
  let chosen = cases[cases.length - 1]!;
  for (let k = cases.length - 2; k >= 0; k--) chosen = select(binary("le", which!, c(k, which!.type)), cases[k]!, chosen);
  return chosen;
}

function integerPow([a]: Expr[], eqn: JaxprEqn): Expr {
  const y = (eqn.params as { y: number }).y;
  let p: Expr = one(a!.type);
  for (let k = 0; k < Math.abs(y); k++) p = k === 0 ? a! : binary("mul", p, a!);
  return y < 0 ? binary("div", one(a!.type), p) : p;
}

export const ELEMENTWISE_RULES: Record<string, Rule> = {
  ...Object.fromEntries(Object.entries(UNARY_PRIMITIVES).map(([name, op]) => [name, elementwise(([a]) => unary(op!, a!))])),
  ...Object.fromEntries(Object.entries(BINARY_PRIMITIVES).map(([name, op]) => [name, elementwise(([a, b]) => binary(op!, a!, b!))])),
  max: elementwise(([a, b]) => max(a!, b!)),
  min: elementwise(([a, b]) => min(a!, b!)),
  lt: elementwise(ordering("lt")),
  le: elementwise(ordering("le")),
  gt: elementwise(ordering("gt")),
  ge: elementwise(ordering("ge")),
  rsqrt: elementwise(([a]) => binary("div", c(1), unary("sqrt", a!))),
  logistic: elementwise(([a]) => binary("div", c(1), binary("add", c(1), unary("exp", unary("neg", a!))))),
  sign: elementwise(([a]) => select(binary("gt", a!, c(0, a!.type)), one(a!.type), select(binary("lt", a!, c(0, a!.type)), c(-1, a!.type), a!))),
  // From the bits: a shader compiler may fold x - x to 0 (so Inf would count as finite).
  is_finite: elementwise(([a]) => binary("lt", binary("and", bitcast(a!, "u32"), c(0x7fffffff, "u32")), c(0x7f800000, "u32"))),
  round: elementwise(([a], e) => unary((e.params as { rounding_method: 0 | 1 }).rounding_method === 1 ? "round_even" : "round_away", a!)),
  stop_gradient: elementwise(([a]) => a!),
  select_n: elementwise(selectN),
  clamp: elementwise(([lo, x, hi]) => min(max(x!, lo!), hi!)),
  convert_element_type: elementwise(([a], e, outType) => convert(a!, ...dtypes(e), outType)),
  bitcast_convert_type: elementwise(([a], e, outType) => bitcastConvert(a!, ...dtypes(e), outType)),
  integer_pow: elementwise(integerPow),
  shift_right_logical: elementwise(shiftRightLogical),
};

const THREEFRY_ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;

/** threefry2x32 (20 rounds, as JAX computes it) on u32 statements; both outputs come from one block of them. */
export const threefry2x32: MultiRule = (_eqn, inputs, outs) => {
  const id = fresh("threefry");
  const [x0, x1] = [`${id}_x0`, `${id}_x1`];
  const u32 = (name: string): Expr => v(name, "u32");
  const statements = (coords: Expr[], ctx: KernelContext): Stmt[] => {
    const [key0, key1, count0, count1] = inputs.map((x) => x.at(coords, ctx));
    const keys = [`${id}_k0`, `${id}_k1`, `${id}_k2`];
    const add = (name: string, value: Expr): Stmt => ({ k: "assign", name, value: binary("add", u32(name), value) });
    const rotl = (x: Expr, r: number): Expr => binary("or", binary("shl", x, c(r, "u32")), binary("shr", x, c(32 - r, "u32")));
    const body: Stmt[] = [
      { k: "let", name: keys[0]!, value: key0! },
      { k: "let", name: keys[1]!, value: key1! },
      { k: "let", name: keys[2]!, value: binary("xor", binary("xor", u32(keys[0]!), u32(keys[1]!)), c(0x1bd11bda, "u32")) },
      { k: "declare", name: x0, init: binary("add", count0!, u32(keys[0]!)) },
      { k: "declare", name: x1, init: binary("add", count1!, u32(keys[1]!)) },
    ];
    for (let block = 0; block < 5; block++) {
      for (const r of THREEFRY_ROTATIONS[block % 2]!) {
        body.push(add(x0, u32(x1)), { k: "assign", name: x1, value: binary("xor", rotl(u32(x1), r), u32(x0)) });
      }
      body.push(add(x0, u32(keys[(block + 1) % 3]!)), add(x1, binary("add", u32(keys[(block + 2) % 3]!), c(block + 1, "u32"))));
    }
    return body;
  };
  return [x0, x1].map((name, k) =>
    lazy(outs[k]!.shape, "u32", true, (coords, ctx) => {
      ctx.emitOnce(id, () => statements(coords, ctx));
      return u32(name);
    }),
  );
};
