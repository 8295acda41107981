/**
 * Narrow element types in the wasm renderer. On the CPU they are held one per typed-array slot (hostData.ts):
 * int8 and int4 in an Int8Array, uint8 and bool in a Uint8Array, int16/uint16 in 16-bit arrays, and the narrow
 * floats (f16, bf16, float8) as float32 values rounded to their format. So a buffer's elements are 1, 2 or 4
 * bytes wide: loads extend them (signed or not), stores truncate them (the wrap a typed array does), and rounding
 * to a narrow float format is f64 arithmetic matching the JavaScript renderer's `lib.round` bit for bit: the
 * value is taken before its f32 rounding (an f32 add, subtract, multiply or divide is computed in f64, as
 * JavaScript does), then rounded once to the format's quantum 2^(max(e, emin) − p) with f64.nearest (ties to
 * even; the division by a power of two is exact), overflowing to Inf (IEEE-like formats) or NaN (float8 e4m3fn).
 */
import { BFLOAT16, FLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, type FloatFormat, decodeFloat } from "../core/floatFormats.js";
import type { BufferDecl, NarrowFloat } from "./kernelIr.js";
import { type FunctionBody, OP, VAL } from "./wasmEncoding.js";

/** Bytes per element of a buffer in CPU memory. */
export function elementBytes(decl: BufferDecl): 1 | 2 | 4 {
  if (decl.type === "bool") return 1;
  switch (decl.element) {
    case "int8":
    case "uint8":
    case "int4":
      return 1;
    case "int16":
    case "uint16":
      return 2;
    default:
      return 4;
  }
}

/** Whether a buffer holds one 32-bit value per element (what vector loads and strided pointers assume). */
export const wide = (decl: BufferDecl): boolean => elementBytes(decl) === 4 && !decl.packed;

const LOG2 = { 1: 0, 2: 1, 4: 2 } as const;

/** log2 of the element width, the shift from an element index to a byte offset. */
export const addressShift = (decl: BufferDecl): number => LOG2[elementBytes(decl)];

/** The load of one element (opcode, alignment); 32-bit elements load as f32 or i32 by the buffer's type. */
export function loadOp(decl: BufferDecl): [number, number] {
  const bytes = elementBytes(decl);
  const signed = decl.element === "int8" || decl.element === "int4" || decl.element === "int16";
  if (bytes === 1) return [signed ? OP.i32Load8s : OP.i32Load8u, 0];
  if (bytes === 2) return [signed ? OP.i32Load16s : OP.i32Load16u, 1];
  return [decl.type === "f32" ? OP.f32Load : OP.i32Load, 2];
}

export function storeOp(decl: BufferDecl): [number, number] {
  const bytes = elementBytes(decl);
  if (bytes === 1) return [OP.i32Store8, 0];
  if (bytes === 2) return [OP.i32Store16, 1];
  return [decl.type === "f32" ? OP.f32Store : OP.i32Store, 2];
}

const FORMATS: Record<NarrowFloat, FloatFormat> = { float16: FLOAT16, bfloat16: BFLOAT16, float8_e4m3fn: FLOAT8_E4M3FN, float8_e5m2: FLOAT8_E5M2 };

/** Rounds the f64 on the stack to `format`, leaving the f32 holding the result. */
export function roundToFormat(b: FunctionBody, format: NarrowFloat): void {
  const f = FORMATS[format];
  const p = f.mantissaBits;
  const bias = 2 ** (f.exponentBits - 1) - 1;
  const minExponent = 1 - bias;
  const infCode = (2 ** f.exponentBits - 1) * 2 ** p;
  const largest = decodeFloat(f.ieee ? infCode - 1 : f.nanCode - 1, f);
  const [a, e, q, r] = [b.local(VAL.f64), b.local(VAL.i32), b.local(VAL.f64), b.local(VAL.f64)];
  b.index(OP.localSet, a);
  // e = max(exponent of a, the smallest normal exponent); q = 2^(e - p), built from its bits.
  b.index(OP.localGet, a).op(OP.i64ReinterpretF64).i64(52n).op(OP.i64ShrU, OP.i32WrapI64).i32(0x7ff).op(OP.i32And).i32(1023).op(OP.i32Sub);
  b.index(OP.localTee, e).i32(minExponent).index(OP.localGet, e).i32(minExponent).op(OP.i32GtS, OP.select);
  b.i32(1023 - p).op(OP.i32Add, OP.i64ExtendI32S).i64(52n).op(OP.i64Shl, OP.f64ReinterpretI64).index(OP.localSet, q);
  // r = nearest(|a| / q) · q, then Inf or NaN past the largest finite value, with a's sign.
  b.index(OP.localGet, a).op(OP.f64Abs).index(OP.localGet, q).op(OP.f64Div, OP.f64Nearest).index(OP.localGet, q).op(OP.f64Mul).index(OP.localSet, r);
  b.f64(f.ieee ? Infinity : NaN).index(OP.localGet, r).index(OP.localGet, r).f64(largest).op(OP.f64Gt, OP.select);
  b.index(OP.localGet, a).op(OP.f64Copysign, OP.f32DemoteF64);
}
