/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, bitwise ops, select_n, and dtype
 * conversions. Reference implementations compute in float64 and round once to the result dtype
 * (integers wrap as two's complement, as XLA does).
 */
import { ShapedArray } from "../../core/aval.js";
import { type DType, dtypeInfo, isBool, isFloat, isInteger, } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { BFLOAT16, FLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, type FloatFormat, decodeFloat, encodeFloat, float32Bits, float32FromBits } from "../../core/floatFormats.js";
import { convertScalar, roundResult, wrapInt } from "../../core/hostData.js";
import type { Array } from "../../core/array.js";
import { type Primitive, avalOf, definePrimitive } from "../../core/primitive.js";
import { bind1 } from "../../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defLinear, defNonDifferentiable, defTranspose, instantiate, isZero } from "../../vjp/ad.js";
import { defVectorized } from "../../vmap/batching.js";
import { expandTo, unbroadcast, zeros } from "./adUtil.js";
import { defBroadcasting, defSameShape } from "./batchUtil.js";
import * as lax from "./api.js";
import { shapesEqual } from "../../core/shape.js";
import { erf, erfInv } from "../../core/special.js";
import { allWeak, broadcastIndexer, checkDTypeKind, checkSameDType, checkSameShapeAndDType, elementwiseShape, tabulate } from "./util.js";

type NoParams = Record<string, never>;

const isNumeric = (d: DType): boolean => !isBool(d);
const isIntOrBool = (d: DType): boolean => isInteger(d) || isBool(d);

function unary(name: string, fn: (x: number, dtype: DType) => number, accepts: (d: DType) => boolean, expected: string): Primitive<NoParams> {
  const primitive = definePrimitive<NoParams>({
    name,
    abstractEval([x]) {
      checkDTypeKind(name, x!, accepts, expected);
      return [x!];
    },
    impl([x]) {
      const { dtype, data } = x!;
      return [tabulate(x!.shape, dtype, (i) => roundResult(fn(data[i]!, dtype), dtype))];
    },
  });
  defVectorized(primitive);
  return primitive;
}

const floatUnary = (name: string, fn: (x: number) => number): Primitive<NoParams> =>
  unary(name, fn, isFloat, "a floating-point array");

export const expP = floatUnary("exp", Math.exp);
export const logP = floatUnary("log", Math.log);
export const log1pP = floatUnary("log1p", Math.log1p);
export const expm1P = floatUnary("expm1", Math.expm1);
export const tanhP = floatUnary("tanh", Math.tanh);
export const logisticP = floatUnary("logistic", (x) => 1 / (1 + Math.exp(-x)));
export const sinP = floatUnary("sin", Math.sin);
export const cosP = floatUnary("cos", Math.cos);
export const tanP = floatUnary("tan", Math.tan);
export const asinP = floatUnary("asin", Math.asin);
export const acosP = floatUnary("acos", Math.acos);
export const atanP = floatUnary("atan", Math.atan);
export const sinhP = floatUnary("sinh", Math.sinh);
export const coshP = floatUnary("cosh", Math.cosh);
export const sqrtP = floatUnary("sqrt", Math.sqrt);
export const rsqrtP = floatUnary("rsqrt", (x) => 1 / Math.sqrt(x));
export const erfP = floatUnary("erf", erf);
export const erfInvP = floatUnary("erf_inv", erfInv);
export const floorP = floatUnary("floor", Math.floor);
export const ceilP = floatUnary("ceil", Math.ceil);

export const negP = unary("neg", (x) => -x, isNumeric, "a numeric array");
export const absP = unary("abs", Math.abs, isNumeric, "a numeric array");
export const signP = unary("sign", Math.sign, isNumeric, "a numeric array");
export const notP = unary("not", (x, d) => (isBool(d) ? (x ? 0 : 1) : ~x), isIntOrBool, "an integer or bool array");

export interface RoundParams {
  readonly rounding_method: 0 | 1;
}
export const roundP = definePrimitive<RoundParams>({
  name: "round",
  abstractEval([x]) {
    checkDTypeKind("round", x!, isFloat, "a floating-point array");
    return [x!];
  },
  impl([x], { rounding_method }) {
    const halfEven = (v: number): number => {
      const r = Math.round(v);
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const away = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));
    const fn = rounding_method === 1 ? halfEven : away;
    return [tabulate(x!.shape, x!.dtype, (i) => roundResult(fn(x!.data[i]!), x!.dtype))];
  },
  formatParams: ({ rounding_method }) => ({ rounding_method: String(rounding_method) }),
});

export const isFiniteP = definePrimitive<NoParams>({
  name: "is_finite",
  abstractEval([x]) {
    checkDTypeKind("is_finite", x!, isFloat, "a floating-point array");
    return [new ShapedArray(x!.shape, "bool")];
  },
  impl([x]) {
    return [tabulate(x!.shape, "bool", (i) => (Number.isFinite(x!.data[i]!) ? 1 : 0))];
  },
});

// ---- binary --------------------------------------------------------------------------------

function binary(
  name: string,
  fn: (x: number, y: number, dtype: DType) => number,
  accepts: (d: DType) => boolean,
  expected: string,
  resultDType?: DType,
): Primitive<NoParams> {
  const primitive = definePrimitive<NoParams>({
    name,
    abstractEval(avals) {
      const shape = elementwiseShape(name, avals);
      checkSameDType(name, avals);
      checkDTypeKind(name, avals[0]!, accepts, expected);
      return [new ShapedArray(shape, resultDType ?? avals[0]!.dtype, allWeak(avals))];
    },
    impl([x, y]) {
      const dtype = resultDType ?? x!.dtype;
      const shape = elementwiseShape(name, [avalOf(x!), avalOf(y!)]);
      const xi = broadcastIndexer(x!, shape);
      const yi = broadcastIndexer(y!, shape);
      const xd = x!.data;
      const yd = y!.data;
      return [tabulate(shape, dtype, (i) => roundResult(fn(xd[xi(i)]!, yd[yi(i)]!, x!.dtype), dtype))];
    },
  });
  defBroadcasting(primitive as Primitive<never>);
  return primitive;
}

/** Integer multiply exact for 32-bit operands (the float64 product could round). */
const intMul = (x: number, y: number, d: DType): number => (dtypeInfo(d).bits === 32 ? Math.imul(x, y) : x * y);

/** XLA's integer division: truncates toward zero; x/0 is -1 (all ones), INT_MIN/-1 is INT_MIN. */
function intDiv(x: number, y: number): number {
  if (y === 0) return -1;
  return Math.trunc(x / y);
}

/** XLA's integer remainder: the sign of the dividend; x rem 0 is x. */
const intRem = (x: number, y: number): number => (y === 0 ? x : x % y);

export const addP = binary("add", (x, y) => x + y, isNumeric, "a numeric array");
export const subP = binary("sub", (x, y) => x - y, isNumeric, "a numeric array");
export const mulP = binary("mul", (x, y, d) => (isInteger(d) ? intMul(x, y, d) : x * y), isNumeric, "a numeric array");
export const divP = binary("div", (x, y, d) => (isInteger(d) ? intDiv(x, y) : x / y), isNumeric, "a numeric array");
export const remP = binary("rem", (x, y, d) => (isInteger(d) ? intRem(x, y) : x % y), isNumeric, "a numeric array");
export const maxP = binary("max", (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)), () => true, "an array");
export const minP = binary("min", (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)), () => true, "an array");
export const atan2P = binary("atan2", Math.atan2, isFloat, "a floating-point array");
/** `pow` with a float base and an exponent of the same float dtype. */
export const powP = binary("pow", Math.pow, isFloat, "a floating-point array");

const bitwise = (op: (a: number, b: number) => number) => (x: number, y: number, d: DType): number =>
  isBool(d) ? op(x, y) & 1 : op(x, y);
export const andP = binary("and", bitwise((a, b) => a & b), isIntOrBool, "an integer or bool array");
export const orP = binary("or", bitwise((a, b) => a | b), isIntOrBool, "an integer or bool array");
export const xorP = binary("xor", bitwise((a, b) => a ^ b), isIntOrBool, "an integer or bool array");

/** The unsigned bit pattern of an integer of dtype `d`. */
const bitsOf = (x: number, d: DType): number => {
  const width = dtypeInfo(d).bits;
  return width === 32 ? x >>> 0 : x & ((1 << width) - 1);
};
const shiftOutOfRange = (s: number, d: DType): boolean => s < 0 || s >= dtypeInfo(d).bits;

export const shiftLeftP = binary(
  "shift_left",
  (x, s, d) => (shiftOutOfRange(s, d) ? 0 : wrapInt(bitsOf(x, d) * 2 ** s, d)),
  isInteger,
  "an integer array",
);
export const shiftRightLogicalP = binary(
  "shift_right_logical",
  (x, s, d) => (shiftOutOfRange(s, d) ? 0 : wrapInt(Math.floor(bitsOf(x, d) / 2 ** s), d)),
  isInteger,
  "an integer array",
);
export const shiftRightArithmeticP = binary(
  "shift_right_arithmetic",
  (x, s, d) => {
    const bits = dtypeInfo(d).bits;
    return Math.floor(x / 2 ** (shiftOutOfRange(s, d) ? bits : s));
  },
  isInteger,
  "an integer array",
);

const compare = (name: string, fn: (x: number, y: number) => boolean): Primitive<NoParams> =>
  binary(name, (x, y) => (fn(x, y) ? 1 : 0), () => true, "an array", "bool");

export const eqP = compare("eq", (x, y) => x === y);
export const neP = compare("ne", (x, y) => x !== y);
export const ltP = compare("lt", (x, y) => x < y);
export const leP = compare("le", (x, y) => x <= y);
export const gtP = compare("gt", (x, y) => x > y);
export const geP = compare("ge", (x, y) => x >= y);

/** `clamp(min, x, max)`: min and max are scalars or have x's shape. */
export const clampP = definePrimitive<NoParams>({
  name: "clamp",
  abstractEval([lo, x, hi]) {
    for (const [name, bound] of [["min", lo!], ["max", hi!]] as const) {
      if (bound.ndim !== 0 && !shapesEqual(bound.shape, x!.shape)) {
        throw new ShapeError(`clamp: ${name} must be a scalar or have the operand's shape ${fmtShape(x!.shape)}, got ${fmtShape(bound.shape)}`);
      }
      if (bound.dtype !== x!.dtype) throw new DTypeError(`clamp: ${name} dtype ${bound.dtype} must equal the operand's ${x!.dtype}`);
    }
    return [new ShapedArray(x!.shape, x!.dtype, allWeak([lo!, x!, hi!]))];
  },
  impl([lo, x, hi]) {
    const at = (t: typeof x, i: number): number => t!.data[t!.shape.length === 0 ? 0 : i]!;
    return [tabulate(x!.shape, x!.dtype, (i) => Math.min(Math.max(x!.data[i]!, at(lo, i)), at(hi, i)))];
  },
});

// ---- integer_pow, select_n, conversions -----------------------------------------------------

export interface IntegerPowParams {
  readonly y: number;
}
export const integerPowP = definePrimitive<IntegerPowParams>({
  name: "integer_pow",
  abstractEval([x], { y }) {
    checkDTypeKind("integer_pow", x!, isNumeric, "a numeric array");
    if (!Number.isInteger(y)) throw new DTypeError(`integer_pow: exponent y must be an integer, got ${y}`);
    if (y < 0 && !isFloat(x!.dtype)) throw new DTypeError(`integer_pow: a negative exponent ${y} needs a floating-point base, got ${x!.dtype}`);
    return [x!];
  },
  impl([x], { y }) {
    const { dtype, data } = x!;
    const power = (v: number): number => {
      if (isFloat(dtype)) return v ** y;
      let r = 1;
      for (let k = 0; k < y; k++) r = wrapInt(intMul(r, v, dtype), dtype);
      return r;
    };
    return [tabulate(x!.shape, dtype, (i) => roundResult(power(data[i]!), dtype))];
  },
});

/** `select_n(which, *cases)`: case `which[i]` at each position; `which` is bool (two cases) or int32. */
export const selectNP = definePrimitive<NoParams>({
  name: "select_n",
  abstractEval([which, ...cases]) {
    if (cases.length === 0) throw new ShapeError("select_n: at least one case is required");
    checkSameShapeAndDType("select_n", cases, "cases");
    const shape = cases[0]!.shape;
    if (which!.ndim !== 0 && !shapesEqual(which!.shape, shape)) {
      throw new ShapeError(`select_n: which must be a scalar or have the cases' shape ${fmtShape(shape)}, got ${fmtShape(which!.shape)}`);
    }
    if (which!.dtype !== "bool" && which!.dtype !== "int32") {
      throw new DTypeError(`select_n: which must be bool or int32, got ${which!.dtype}`);
    }
    if (which!.dtype === "bool" && cases.length > 2) {
      throw new DTypeError(`select_n: a bool which selects between at most 2 cases, got ${cases.length}`);
    }
    return [new ShapedArray(shape, cases[0]!.dtype, allWeak(cases))];
  },
  impl([which, ...cases]) {
    const scalar = which!.shape.length === 0;
    const first = cases[0]!;
    return [
      tabulate(first.shape, first.dtype, (i) => {
        const k = Math.min(Math.max(which!.data[scalar ? 0 : i]!, 0), cases.length - 1);
        return cases[k]!.data[i]!;
      }),
    ];
  },
});

export interface ConvertElementTypeParams {
  readonly new_dtype: DType;
  readonly weak_type: boolean;
}
export const convertElementTypeP = definePrimitive<ConvertElementTypeParams>({
  name: "convert_element_type",
  abstractEval([x], { new_dtype, weak_type }) {
    return [new ShapedArray(x!.shape, new_dtype, weak_type)];
  },
  impl([x], { new_dtype }) {
    return [tabulate(x!.shape, new_dtype, (i) => convertScalar(x!.data[i]!, x!.dtype, new_dtype))];
  },
  formatParams: ({ new_dtype, weak_type }) => ({ new_dtype, weak_type: weak_type ? "True" : "False" }),
});

export interface BitcastConvertTypeParams {
  readonly new_dtype: DType;
}
export const bitcastConvertTypeP = definePrimitive<BitcastConvertTypeParams>({
  name: "bitcast_convert_type",
  abstractEval([x], { new_dtype }) {
    const from = dtypeInfo(x!.dtype).bits;
    const to = dtypeInfo(new_dtype).bits;
    if (from !== to || x!.dtype === "bool" || new_dtype === "bool" || from < 8) {
      throw new DTypeError(`bitcast_convert_type: needs dtypes of equal width (8, 16 or 32 bits), got ${x!.dtype} to ${new_dtype}`);
    }
    return [new ShapedArray(x!.shape, new_dtype)];
  },
  impl([x], { new_dtype }) {
    return [tabulate(x!.shape, new_dtype, (i) => fromBits(toBits(x!.data[i]!, x!.dtype), new_dtype))];
  },
});


const FORMATS: Partial<Record<DType, FloatFormat>> = {
  float16: FLOAT16,
  bfloat16: BFLOAT16,
  float8_e4m3fn: FLOAT8_E4M3FN,
  float8_e5m2: FLOAT8_E5M2,
};

function toBits(x: number, d: DType): number {
  if (d === "float32") return float32Bits(x);
  const f = FORMATS[d];
  if (f) return encodeFloat(x, f);
  return bitsOf(x, d);
}

function fromBits(bits: number, d: DType): number {
  if (d === "float32") return float32FromBits(bits);
  const f = FORMATS[d];
  if (f) return decodeFloat(bits, f);
  return wrapInt(bits, d);
}

// ---- differentiation rules ------------------------------------------------------------------

/** JVP of a unary op as `t · f'(x, y)`, with `y` the primal output. */
function defUnaryJvp(p: Primitive<NoParams>, derivative: (x: Array, y: Array) => Array): void {
  defJvp(p, ([x], [t], params) => {
    const y = bind1(p, [x!], params);
    return [[y], [t instanceof Zero ? t : lax.mul(t, derivative(x!, y))]];
  });
}

defUnaryJvp(expP, (_x, y) => y);
defUnaryJvp(logP, (x) => lax.div(1, x));
defUnaryJvp(log1pP, (x) => lax.div(1, lax.add(x, 1)));
defUnaryJvp(expm1P, (_x, y) => lax.add(y, 1));
// JAX's form, (t + t·y)(1 − y), so derivative jaxprs print as JAX's do.
defJvp(tanhP, ([x], [t]) => {
  const y = bind1(tanhP, [x!], {});
  return [[y], [t instanceof Zero ? t : lax.mul(lax.add(t!, lax.mul(t!, y)), lax.sub(1, y))]];
});
defUnaryJvp(logisticP, (_x, y) => lax.mul(y, lax.sub(1, y)));
defUnaryJvp(sinP, (x) => lax.cos(x));
defUnaryJvp(cosP, (x) => lax.neg(lax.sin(x)));
defUnaryJvp(tanP, (_x, y) => lax.add(1, lax.mul(y, y)));
defUnaryJvp(asinP, (x) => lax.rsqrt(lax.sub(1, lax.mul(x, x))));
defUnaryJvp(acosP, (x) => lax.neg(lax.rsqrt(lax.sub(1, lax.mul(x, x)))));
defUnaryJvp(atanP, (x) => lax.div(1, lax.add(1, lax.mul(x, x))));
defUnaryJvp(sinhP, (x) => lax.cosh(x));
defUnaryJvp(coshP, (x) => lax.sinh(x));
defUnaryJvp(sqrtP, (_x, y) => lax.div(0.5, y));
defUnaryJvp(rsqrtP, (x, y) => lax.mul(lax.div(y, x), -0.5));
defUnaryJvp(erfP, (x) => lax.mul(lax.exp(lax.neg(lax.mul(x, x))), 2 / Math.sqrt(Math.PI)));
defUnaryJvp(erfInvP, (_x, y) => lax.mul(lax.exp(lax.mul(y, y)), Math.sqrt(Math.PI) / 2));
defUnaryJvp(absP, (x) => lax.sign(x));

for (const p of [floorP, ceilP, roundP, signP, notP, isFiniteP, bitcastConvertTypeP] as Primitive<never>[]) defNonDifferentiable(p);
for (const p of [andP, orP, xorP, shiftLeftP, shiftRightLogicalP, shiftRightArithmeticP, eqP, neP, ltP, leP, gtP, geP]) defNonDifferentiable(p);

defLinear(negP, ([ct]) => [lax.neg(instantiate(ct!))]);

/** JVP of a binary op from the partial derivatives' tangent terms; each term gets the output's shape. */
function defBinaryJvp(p: Primitive<NoParams>, terms: [(t: Array, x: Array, y: Array, out: Array) => Array, (t: Array, x: Array, y: Array, out: Array) => Array]): void {
  defJvp(p, ([x, y], tangents) => {
    const out = bind1(p, [x!, y!], {});
    let total: Tangent = new Zero(out.aval.strongly());
    tangents.forEach((t, i) => {
      if (t instanceof Zero) return;
      const term = expandTo(terms[i]!(t, x!, y!, out), out.shape);
      total = addTangentTerms(total, term);
    });
    return [[out], [total]];
  });
}

const linearInputs = (inputs: (Array | UndefPrimal)[]): boolean[] => inputs.map((x) => x instanceof UndefPrimal);
const avalOfInput = (x: Array | UndefPrimal): ShapedArray => (x instanceof UndefPrimal ? x.aval : x.aval);

/** `add_any`: the sum of two tangents or cotangents of one type (no broadcasting or promotion), as in JAX. */
export const addAnyP = definePrimitive<NoParams>({
  name: "add_any",
  abstractEval([x, y]) {
    checkSameShapeAndDType("add_any", [x!, y!]);
    return [x!.strongly()];
  },
  impl([x, y]) {
    return [tabulate(x!.shape, x!.dtype, (i) => roundResult(x!.data[i]! + y!.data[i]!, x!.dtype))];
  },
});
defLinear(addAnyP, ([ct], inputs) => inputs.map((x) => (x instanceof UndefPrimal ? instantiate(ct!) : null)));

/** Sums tangent terms with `add_any`, keeping symbolic zeros symbolic. */
export const addTangentTerms = (a: Tangent, b: Tangent): Tangent => (a instanceof Zero ? b : b instanceof Zero ? a : bind1(addAnyP, [a, b], {}));

defBinaryJvp(addP, [(t) => t, (t) => t]);
defTranspose(addP, ([ct], inputs) => inputs.map((x) => (x instanceof UndefPrimal ? unbroadcast(instantiate(ct!), x.aval) : null)));
defBinaryJvp(subP, [(t) => t, (t) => lax.neg(t)]);
defTranspose(subP, ([ct], inputs) =>
  inputs.map((x, i) => (x instanceof UndefPrimal ? unbroadcast(i === 0 ? instantiate(ct!) : lax.neg(instantiate(ct!)), x.aval) : null)),
);
defBinaryJvp(mulP, [(t, _x, y) => lax.mul(t, y), (t, x) => lax.mul(x, t)]);
defTranspose(mulP, ([ct], [x, y]) => {
  const [lx, ly] = linearInputs([x!, y!]);
  if (lx && ly) throw new ArgumentError("mul: transpose of a product of two linear values (the function is not linear)");
  const c = instantiate(ct!);
  return [lx ? unbroadcast(lax.mul(c, y as Array), avalOfInput(x!)) : null, ly ? unbroadcast(lax.mul(x as Array, c), avalOfInput(y!)) : null];
});
defBinaryJvp(divP, [(t, _x, y) => lax.div(t, y), (t, _x, y, out) => lax.neg(lax.mul(t, lax.div(out, y)))]);
defTranspose(divP, ([ct], [x, y]) => {
  if (y instanceof UndefPrimal) throw new ArgumentError("div: transpose with respect to the divisor (the function is not linear in it)");
  return [unbroadcast(lax.div(instantiate(ct!), y!), avalOfInput(x!)), null];
});

/** 1 where `a` is the extreme and `b` is not, ½ where both are: ties split the tangent evenly, as in JAX. */
const balanced = (a: Array, b: Array, out: Array): Array => {
  const aIs = lax.convertElementType(lax.eq(a, out), out.dtype);
  const bIs = lax.convertElementType(lax.eq(b, out), out.dtype);
  return lax.div(aIs, lax.add(bIs, 1));
};
defBinaryJvp(maxP, [(t, x, y, out) => lax.mul(t, balanced(x, y, out)), (t, x, y, out) => lax.mul(t, balanced(y, x, out))]);
defBinaryJvp(minP, [(t, x, y, out) => lax.mul(t, balanced(x, y, out)), (t, x, y, out) => lax.mul(t, balanced(y, x, out))]);
defBinaryJvp(powP, [
  (t, x, y) => lax.mul(t, lax.mul(y, lax.pow(x, lax.sub(y, 1)))),
  (t, x, _y, out) => lax.mul(t, lax.mul(lax.log(lax.select(lax.eq(x, 0), expandTo(lax.convertElementType(1, x.dtype), x.shape), x)), out)),
]);
defBinaryJvp(atan2P, [
  (t, x, y) => lax.mul(t, lax.div(y, lax.add(lax.mul(x, x), lax.mul(y, y)))),
  (t, x, y) => lax.mul(t, lax.div(lax.neg(x), lax.add(lax.mul(x, x), lax.mul(y, y)))),
]);
defBinaryJvp(remP, [(t) => t, (t, x, y) => lax.mul(lax.neg(t), lax.mul(lax.sign(lax.div(x, y)), lax.floor(lax.abs(lax.div(x, y)))))]);

defJvp(integerPowP, ([x], [t], params) => {
  const out = bind1(integerPowP, [x!], params);
  if (t instanceof Zero || params.y === 0) return [[out], [new Zero(out.aval.strongly())]];
  const slope = params.y === 1 ? lax.convertElementType(1, x!.dtype) : lax.mul(lax.integerPow(x!, params.y - 1), params.y);
  return [[out], [lax.mul(t!, slope)]];
});

defJvp(selectNP, ([which, ...cases], [, ...tangents]) => {
  const out = bind1(selectNP, [which!, ...cases], {});
  if (tangents.every(isZero)) return [[out], [new Zero(out.aval.strongly())]];
  const instantiated = (tangents as Tangent[]).map(instantiate);
  return [[out], [bind1(selectNP, [which!, ...instantiated], {})]];
});
defTranspose(selectNP, ([ct], [which, ...cases]) => {
  if (which instanceof UndefPrimal) throw new ArgumentError("select_n: the selector is not differentiable");
  const c = instantiate(ct!);
  const zero = zeros(c.aval);
  return [null, ...cases.map((x, i) => (x instanceof UndefPrimal ? bind1(selectNP, [which!, ...cases.map((_, j) => (j === i ? c : zero))], {}) : null))];
});

defJvp(clampP, ([lo, x, hi], [tlo, tx, thi]) => {
  const out = bind1(clampP, [lo!, x!, hi!], {});
  const shape = out.shape;
  const pick = (t: Tangent, mask: Array): Tangent => (t instanceof Zero ? t : lax.select(mask, expandTo(t, shape), zeros(out.aval.strongly())));
  const parts = [
    pick(tlo!, lax.lt(x!, expandTo(lo!, shape))),
    pick(tx!, lax.bitwiseAnd(lax.ge(x!, expandTo(lo!, shape)), lax.le(x!, expandTo(hi!, shape)))),
    pick(thi!, lax.gt(x!, expandTo(hi!, shape))),
  ];
  const total = parts.reduce<Tangent>(addTangentTerms, new Zero(out.aval.strongly()));
  return [[out], [total]];
});

defJvp(convertElementTypeP, ([x], [t], params) => {
  const out = bind1(convertElementTypeP, [x!], params);
  if (t instanceof Zero || !isFloat(params.new_dtype) || !isFloat(x!.dtype)) return [[out], [new Zero(out.aval.strongly())]];
  return [[out], [bind1(convertElementTypeP, [t!], { new_dtype: params.new_dtype, weak_type: false })]];
});
defTranspose(convertElementTypeP, ([ct], [x]) => [x instanceof UndefPrimal ? lax.convertElementType(instantiate(ct!), x.aval.dtype) : null]);

// ---- batching rules (the unary and binary families register theirs where they are defined) -----------

for (const p of [roundP, isFiniteP, integerPowP, convertElementTypeP, bitcastConvertTypeP] as Primitive<unknown>[]) defVectorized(p);
defSameShape(addAnyP as Primitive<never>);
defSameShape(clampP as Primitive<never>, [0, 2]);
defSameShape(selectNP as Primitive<never>, [0]);
