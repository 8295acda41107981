/**
 * WGSL for narrow element types: exact conversions between f32 and the narrow float formats in integer
 * arithmetic (WGSL's own f16 conversions may round either way and leave overflow indeterminate), and a load
 * function per packed buffer that extracts an element from its u32 word and decodes it.
 */
import { dtypeInfo, isSignedInt } from "../core/dtype.js";
import { float32Bits } from "../core/floatFormats.js";
import { floatFormatOf } from "../core/hostData.js";
import type { NarrowDType, NarrowFloat, ScalarType } from "./kernelIr.js";

const FORMATS: readonly NarrowFloat[] = ["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"];

const hex = (x: number): string => `0x${(x >>> 0).toString(16)}u`;

/** The helper name of a conversion (`wg_enc_bf16`, ...). */
export const narrowHelper = (kind: "round" | "encode" | "decode", format: NarrowFloat): string =>
  `wg_${kind === "encode" ? "enc" : kind === "decode" ? "dec" : "round"}_${dtypeInfo(format).shortName}`;

/** Encoder and decoder of a format with an exponent bias below f32's (f16 and the float8s): normal, subnormal, overflow. */
function generic(format: NarrowFloat): [string, string] {
  const f = floatFormatOf(format)!;
  const [E, M] = [f.exponentBits, f.mantissaBits];
  const bias = 2 ** (E - 1) - 1;
  const largestCode = f.ieee ? ((2 ** E - 1) << M) - 1 : f.nanCode - 1;
  const largestExponent = (largestCode >> M) - bias;
  const largest = (1 + (largestCode & (2 ** M - 1)) / 2 ** M) * 2 ** largestExponent;
  // Halfway above the largest finite value: a tie rounds to it when its last mantissa bit is even.
  const overflow = float32Bits(largest + 2 ** (largestExponent - M - 1));
  const overflows = largestCode & 1 ? `a >= ${hex(overflow)}` : `a > ${hex(overflow)}`;
  const signShift = E + M;
  const encoder = `fn ${narrowHelper("encode", format)}(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let s = (b >> 31u) << ${signShift}u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return ${hex(f.nanCode)}; }
  if (${overflows}) { return ${f.ieee ? `s | ${hex((2 ** E - 1) << M)}` : hex(f.nanCode)}; }
  if (a >= ${hex(float32Bits(2 ** (1 - bias)))}) {
    let r = a + ${hex(2 ** (22 - M) - 1)} + ((a >> ${23 - M}u) & 1u);
    return s | ((r >> ${23 - M}u) - ${hex((127 - bias) << M)});
  }
  let e = a >> 23u;
  if (e < ${127 - bias - M}u) { return s; }
  let shift = ${151 - bias - M}u - e;
  let m = (a & 0x7fffffu) | 0x800000u;
  let q = m >> shift;
  let rest = m & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return s | (q + select(0u, 1u, rest > half || (rest == half && (q & 1u) == 1u)));
}`;
  const special = f.ieee
    ? `if (e == ${2 ** E - 1}u) { return bitcast<f32>(s | 0x7f800000u | (m << ${23 - M}u)); }`
    : `if ((c & ${hex(f.nanCode)}) == ${hex(f.nanCode)}) { return bitcast<f32>(0x7fc00000u | c); }`;
  const decoder = `fn ${narrowHelper("decode", format)}(c: u32) -> f32 {
  let s = ((c >> ${signShift}u) & 1u) << 31u;
  let e = (c >> ${M}u) & ${2 ** E - 1}u;
  let m = c & ${2 ** M - 1}u;
  ${special}
  if (e == 0u) { return bitcast<f32>(s | bitcast<u32>(f32(m) * ${(2 ** (1 - bias - M)).toExponential()}f)); }
  return bitcast<f32>(s | ((e + ${127 - bias}u) << 23u) | (m << ${23 - M}u));
}`;
  return [encoder, decoder];
}

/** bfloat16 is the top half of an f32: round the low half to nearest even, keep NaN a quiet NaN. */
const BFLOAT16: [string, string] = [
  `fn ${narrowHelper("encode", "bfloat16")}(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { return 0x7fc0u; }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}`,
  `fn ${narrowHelper("decode", "bfloat16")}(c: u32) -> f32 { return bitcast<f32>(c << 16u); }`,
];

const CONVERSIONS = new Map<NarrowFloat, [string, string]>(FORMATS.map((format) => [format, format === "bfloat16" ? BFLOAT16 : generic(format)]));

/** The conversion helpers `code` calls (rounding calls both the encoder and the decoder). */
export function narrowHelpersFor(code: string): string[] {
  return FORMATS.flatMap((format) => {
    const [encoder, decoder] = CONVERSIONS.get(format)!;
    const uses = (kind: "round" | "encode" | "decode"): boolean => code.includes(`${narrowHelper(kind, format)}(`);
    const round = `fn ${narrowHelper("round", format)}(x: f32) -> f32 { return ${narrowHelper("decode", format)}(${narrowHelper("encode", format)}(x)); }`;
    return [
      ...(uses("round") ? [round] : []),
      ...(uses("round") || uses("encode") ? [encoder] : []),
      ...(uses("round") || uses("decode") ? [decoder] : []),
    ];
  });
}

/** The name of the load function of packed buffer `buffer`. */
export const packedLoad = (buffer: number): string => `ld_b${buffer}`;

/** The load function of a packed buffer: element `i` out of its word (`word` reads a word), decoded to `type`. */
export function packedLoader(buffer: number, element: NarrowDType, type: ScalarType, word: (index: string) => string): string {
  const bits = dtypeInfo(element).bits;
  const per = 32 / bits;
  const code = `(${word(`e >> ${Math.log2(per)}u`)} >> ((e & ${per - 1}u) * ${bits}u)) & ${hex(2 ** bits - 1)}`;
  const value = floatFormatOf(element)
    ? `${narrowHelper("decode", element as NarrowFloat)}(c)`
    : isSignedInt(element)
      ? `bitcast<i32>(c << ${32 - bits}u) >> ${32 - bits}u`
      : "c";
  return `fn ${packedLoad(buffer)}(i: i32) -> ${type} {
  let e = u32(i);
  let c = ${code};
  return ${value};
}`;
}
