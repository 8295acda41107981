/**
 * Element types narrower than 32 bits in kernels: which compute type each uses, the "narrowing" that brings a
 * computed value back into its dtype after every operation (rounding for floats, wrapping for ints, as the
 * interpreter does per op), and the codes and words of the packed layout (32/bits elements per u32 word).
 */
import { type DType, dtypeInfo, isSignedInt } from "../core/dtype.js";
import { convertScalar } from "../core/hostData.js";
import { type Expr, type NarrowDType, type NarrowFloat, type ScalarType, binary, bitcast, c, encode, roundTo, select } from "./kernelIr.js";

const NARROW_FLOATS: readonly string[] = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"];
const NARROW_INTS: readonly string[] = ["int16", "uint16", "int8", "uint8", "int4"];

export const isNarrowFloat = (d: string): d is NarrowFloat => NARROW_FLOATS.includes(d);

/** The narrow element type of a dtype, or undefined for the 32-bit types and bool. */
export const narrowOf = (dtype: DType): NarrowDType | undefined => (isNarrowFloat(dtype) || NARROW_INTS.includes(dtype) ? (dtype as NarrowDType) : undefined);

/** Bits per element of a narrow type (its width in a packed word). */
export const elementBits = (element: NarrowDType): number => dtypeInfo(element).bits;

/** u32 words holding `length` packed elements. */
export const packedWords = (element: NarrowDType, length: number): number => Math.ceil((length * elementBits(element)) / 32);

/** The type a dtype computes in (float64 is refused by the caller). */
export function computeTypeOf(dtype: DType): ScalarType {
  const { kind } = dtypeInfo(dtype);
  return kind === "float" ? "f32" : kind === "int" ? "i32" : kind === "uint" ? "u32" : "bool";
}

/** The 32-bit dtype of a compute type (for values stored wide). */
export const wideDType = (type: ScalarType): DType => ({ f32: "float32", i32: "int32", u32: "uint32", bool: "bool" } as const)[type];

/** The value of an i32/u32 expression wrapped to an integer type's range (sign-extended from its width for signed ones). */
function wrapTo(e: Expr, element: NarrowDType): Expr {
  const bits = elementBits(element);
  if (!isSignedInt(element)) return binary("and", e, c(2 ** bits - 1, e.type));
  const shift = c(32 - bits, e.type);
  return binary("sar", binary("shl", e, shift), shift);
}

/**
 * Whether `e` certainly holds a value of `element` already (so narrowing it again would change nothing): a load of
 * such elements, a narrowed value, or a selection, extreme or (float) negation of such values.
 */
function holds(e: Expr, element: NarrowDType, elementOf: (buffer: number) => NarrowDType | undefined): boolean {
  const inner = (x: Expr): boolean => holds(x, element, elementOf);
  switch (e.k) {
    case "load":
      return elementOf(e.buffer) === element;
    case "round":
    case "decode":
      return e.format === element;
    case "select":
      return inner(e.a) && inner(e.b);
    case "binary":
      return (e.op === "max" || e.op === "min" || (e.type !== "f32" && ["and", "or", "xor"].includes(e.op))) && inner(e.a) && inner(e.b);
    case "unary":
      return e.type === "f32" && (e.op === "neg" || e.op === "abs") && inner(e.a);
    default:
      return false;
  }
}

/**
 * `e` (of `element`'s compute type) brought into `element`: rounded to nearest even for floats, wrapped for ints.
 * `elementOf` tells the element type of the kernel's buffers.
 */
export function narrow(e: Expr, element: NarrowDType, elementOf: (buffer: number) => NarrowDType | undefined): Expr {
  if (e.k === "const") return c(convertScalar(e.value, e.type === "f32" ? "float32" : "int32", element), e.type);
  if (holds(e, element, elementOf)) return e;
  return isNarrowFloat(element) ? roundTo(element, e) : wrapTo(e, element);
}

/** The code of a value of `element` (already narrowed), as u32 in the low `bits` bits. */
export function codeOf(e: Expr, element: NarrowDType): Expr {
  if (isNarrowFloat(element)) return encode(element, e);
  const bits = bitcast(e, "u32");
  return isSignedInt(element) ? binary("and", bits, c(2 ** elementBits(element) - 1, "u32")) : bits;
}

/** A packed word from the values of its elements (in order); an element whose `valid` is false contributes 0. */
export function packWord(elements: readonly { value: Expr; valid?: Expr }[], element: NarrowDType): Expr {
  const bits = elementBits(element);
  const parts = elements.map(({ value, valid }, j) => {
    const code = codeOf(value, element);
    const placed = j === 0 ? code : binary("shl", code, c(j * bits, "u32"));
    return valid ? select(valid, placed, c(0, "u32")) : placed;
  });
  return parts.reduce((word, part) => binary("or", word, part));
}
