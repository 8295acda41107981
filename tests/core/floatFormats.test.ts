import { describe, expect, it } from "vitest";
import {
  BFLOAT16,
  FLOAT16,
  FLOAT8_E4M3FN,
  FLOAT8_E5M2,
  type FloatFormat,
  decodeFloat,
  encodeFloat,
  float32Bits,
} from "../../src/core/floatFormats.js";

/**
 * An independent decoder written from the format definitions (not the code under test): sign, biased
 * exponent, mantissa; exponent 0 is subnormal; IEEE formats use the top exponent for Inf/NaN, e4m3fn only
 * the all-ones code for NaN.
 */
function referenceDecode(code: number, e: number, m: number, ieee: boolean): number {
  const sign = code >> (e + m) ? -1 : 1;
  const exponent = (code >> m) & ((1 << e) - 1);
  const mantissa = code & ((1 << m) - 1);
  const bias = (1 << (e - 1)) - 1;
  if (ieee && exponent === (1 << e) - 1) return mantissa === 0 ? sign * Infinity : NaN;
  if (!ieee && exponent === (1 << e) - 1 && mantissa === (1 << m) - 1) return NaN;
  if (exponent === 0) return sign * mantissa * Math.pow(2, 1 - bias - m);
  return sign * (1 + mantissa / (1 << m)) * Math.pow(2, exponent - bias);
}

/** All finite values of a format, sorted, to find the nearest-even rounding by search. */
function finiteValues(bits: number, e: number, m: number, ieee: boolean): { value: number; code: number }[] {
  const out: { value: number; code: number }[] = [];
  for (let code = 0; code < 1 << bits; code++) {
    const value = referenceDecode(code, e, m, ieee);
    if (Number.isFinite(value)) out.push({ value, code });
  }
  return out.sort((a, b) => a.value - b.value);
}

/** Round to nearest, ties to the even code, by brute force over the format's values. */
function referenceRound(x: number, table: { value: number; code: number }[]): { value: number; code: number } {
  let best = table[0]!;
  for (const entry of table) {
    const d = Math.abs(entry.value - x);
    const bd = Math.abs(best.value - x);
    if (d < bd || (d === bd && (entry.code & 1) === 0 && (best.code & 1) === 1)) best = entry;
  }
  return best;
}

const EIGHT_BIT: [string, FloatFormat, number, number, boolean][] = [
  ["float8_e4m3fn", FLOAT8_E4M3FN, 4, 3, false],
  ["float8_e5m2", FLOAT8_E5M2, 5, 2, true],
];

describe.each(EIGHT_BIT)("%s", (_name, format, e, m, ieee) => {
  it("decodes every one of the 256 codes like the format definition", () => {
    for (let code = 0; code < 256; code++) {
      const expected = referenceDecode(code, e, m, ieee);
      const actual = decodeFloat(code, format);
      if (Number.isNaN(expected)) expect(actual, `code ${code}`).toBeNaN();
      else expect(Object.is(actual, expected), `code ${code}: ${actual} vs ${expected}`).toBe(true);
    }
  });

  it("encodes every finite code back to itself (−0 included)", () => {
    for (let code = 0; code < 256; code++) {
      const value = referenceDecode(code, e, m, ieee);
      if (Number.isFinite(value)) expect(encodeFloat(value, format), `code ${code}`).toBe(code);
    }
  });

  it("rounds midpoints and random values to nearest even, as a brute-force search does", () => {
    const table = finiteValues(8, e, m, ieee);
    const positives = table.filter((t) => t.value > 0);
    const probes: number[] = [];
    for (let i = 0; i + 1 < positives.length; i++) {
      const [a, b] = [positives[i]!.value, positives[i + 1]!.value];
      probes.push((a + b) / 2, a + (b - a) / 4, a + ((b - a) * 3) / 4);
    }
    probes.push(positives[0]!.value / 2, positives[0]!.value / 3, positives[0]!.value * 0.75);
    for (const p of probes) {
      for (const x of [p, -p]) {
        const expected = referenceRound(x, table);
        expect(decodeFloat(encodeFloat(x, format), format), `x = ${x}`).toBe(expected.value === 0 && x < 0 ? -0 : expected.value);
      }
    }
  });
});

describe("float8_e4m3fn specifics (spec §E.5)", () => {
  const enc = (x: number): number => encodeFloat(x, FLOAT8_E4M3FN);
  it("has max 448, NaN 0x7F, no infinity, non-saturating overflow", () => {
    expect(decodeFloat(0x7e, FLOAT8_E4M3FN)).toBe(448);
    expect(decodeFloat(0x7f, FLOAT8_E4M3FN)).toBeNaN();
    expect(decodeFloat(0xff, FLOAT8_E4M3FN)).toBeNaN();
    expect(enc(449)).toBe(0x7e);
    expect(enc(464)).toBe(0x7e);
    expect(enc(464.0001)).toBe(0x7f);
    expect(enc(465)).toBe(0x7f);
    expect(enc(Infinity)).toBe(0x7f);
    expect(enc(-Infinity)).toBe(0xff);
    expect(enc(NaN)).toBe(0x7f);
    expect(enc(-0)).toBe(0x80);
  });
  it("rounds the spec's examples", () => {
    expect(decodeFloat(enc(2 ** -10), FLOAT8_E4M3FN)).toBe(0);
    expect(decodeFloat(enc(1.5 * 2 ** -10), FLOAT8_E4M3FN)).toBe(2 ** -9);
    expect(decodeFloat(enc(3 * 2 ** -10), FLOAT8_E4M3FN)).toBe(2 ** -8);
    expect(decodeFloat(enc(17), FLOAT8_E4M3FN)).toBe(16);
    expect(decodeFloat(enc(19), FLOAT8_E4M3FN)).toBe(20);
    expect(decodeFloat(0x01, FLOAT8_E4M3FN)).toBe(2 ** -9);
    expect(decodeFloat(0x07, FLOAT8_E4M3FN)).toBe(0.013671875);
  });
});

describe("float8_e5m2 specifics", () => {
  it("keeps infinities and overflows to them", () => {
    expect(decodeFloat(0x7b, FLOAT8_E5M2)).toBe(57344);
    expect(encodeFloat(61439, FLOAT8_E5M2)).toBe(0x7b);
    expect(encodeFloat(61440, FLOAT8_E5M2)).toBe(0x7c);
    expect(encodeFloat(-Infinity, FLOAT8_E5M2)).toBe(0xfc);
    expect(decodeFloat(0x01, FLOAT8_E5M2)).toBe(2 ** -16);
  });
});

describe.each([
  ["float16", FLOAT16, 5, 10],
  ["bfloat16", BFLOAT16, 8, 7],
] as const)("%s", (_name, format, e, m) => {
  it("round-trips all 65536 codes (NaNs to NaN) like the format definition", () => {
    const mismatches: number[] = [];
    for (let code = 0; code < 65536; code++) {
      const expected = referenceDecode(code, e, m, true);
      const actual = decodeFloat(code, format);
      const ok = Number.isNaN(expected) ? Number.isNaN(actual) : Object.is(actual, expected) && encodeFloat(actual, format) === code;
      if (!ok) mismatches.push(code);
    }
    expect(mismatches).toEqual([]);
  });

  it("rounds ties between adjacent codes to the even code, subnormals included", () => {
    for (const code of [0, 1, 2, 3, 0x3ff, 0x400, 0x401, 0x3c00, 0x3c01, 0x7bfe, 0x1234, 0x7f]) {
      const a = referenceDecode(code, e, m, true);
      const b = referenceDecode(code + 1, e, m, true);
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      const mid = (a + b) / 2;
      const even = code % 2 === 0 ? code : code + 1;
      expect(encodeFloat(mid, format), `between codes ${code} and ${code + 1}`).toBe(even);
      expect(encodeFloat(-mid, format)).toBe(even + (1 << (e + m)));
    }
  });
});

describe("float16 and bfloat16 edge cases", () => {
  it("handles max, overflow, the smallest subnormal, ±0, NaN and ±Inf", () => {
    expect(decodeFloat(0x7bff, FLOAT16)).toBe(65504);
    expect(encodeFloat(65519.99, FLOAT16)).toBe(0x7bff);
    expect(encodeFloat(65520, FLOAT16)).toBe(0x7c00);
    expect(decodeFloat(0x0001, FLOAT16)).toBe(2 ** -24);
    expect(encodeFloat(2 ** -25, FLOAT16)).toBe(0);
    expect(encodeFloat(2 ** -25 * 1.0001, FLOAT16)).toBe(1);
    expect(encodeFloat(-0, FLOAT16)).toBe(0x8000);
    expect(encodeFloat(NaN, FLOAT16)).toBe(0x7e00);
    expect(encodeFloat(-Infinity, BFLOAT16)).toBe(0xff80);
    expect(decodeFloat(0x7f7f, BFLOAT16)).toBe(3.3895313892515355e38);
    expect(encodeFloat(1e-40, BFLOAT16)).toBe(float32Bits(1e-40) >>> 16);
    expect(decodeFloat(0x0001, BFLOAT16)).toBe(2 ** -133);
  });
});
