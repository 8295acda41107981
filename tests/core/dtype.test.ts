import { describe, expect, it } from "vitest";
import { DTYPES, DTypeError, dtypeInfo, promoteTypes, type DType } from "../../src/index.js";
import { convertScalar } from "../../src/core/hostData.js";
import promotion from "../fixtures/promote_types.json" with { type: "json" };
import formats from "../fixtures/float_formats.json" with { type: "json" };
import { BFLOAT16, FLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, decodeFloat, encodeFloat, float32Bits, float32FromBits } from "../../src/core/floatFormats.js";

describe("dtypes", () => {
  it("know their sizes, kinds and JAX's short names", () => {
    expect(dtypeInfo("bfloat16")).toMatchObject({ bits: 16, itemsize: 2, kind: "float", shortName: "bf16" });
    expect(dtypeInfo("int4")).toMatchObject({ bits: 4, itemsize: 0.5, kind: "int", shortName: "i4" });
    expect(dtypeInfo("float8_e4m3fn").shortName).toBe("f8_e4m3fn");
    expect(dtypeInfo("uint8").kind).toBe("uint");
    expect(DTYPES).toHaveLength(14);
    expect(dtypeInfo("float64")).toMatchObject({ bits: 64, kind: "float", shortName: "f64" });
  });
});

describe("float64 (a host-only dtype for the reference interpreter and checkGrads)", () => {
  it("promotes above float32 and keeps its dtype with weak scalars", () => {
    expect(promoteTypes("float32", "float64").dtype).toBe("float64");
    expect(promoteTypes("bfloat16", "float64").dtype).toBe("float64");
    expect(promoteTypes("float64", "int32").dtype).toBe("float64");
    expect(promoteTypes("float64", "float32", false, true)).toEqual({ dtype: "float64", weakType: false });
    expect(() => promoteTypes("float64", "float8_e4m3fn")).toThrow(DTypeError);
  });
});

describe("type promotion matches jnp.promote_types (golden table from JAX)", () => {
  const table = promotion.promote_types as Record<string, string>;
  it.each(Object.entries(table))("%s → %s", (pair, expected) => {
    const [a, b] = pair.split(",") as [DType, DType];
    if (expected.startsWith("error")) {
      expect(() => promoteTypes(a, b)).toThrow(DTypeError);
      expect(() => promoteTypes(a, b)).toThrow(new RegExp(`'${a}', '${b}'`));
    } else {
      // JAX (x64 off) computes int64 etc. in promote_types; results of operations are canonicalised to 32 bits.
      expect(promoteTypes(a, b).dtype).toBe(expected.replace("64", "32"));
    }
  });

  const weak = promotion.weak as Record<string, (string | boolean)[] | string>;
  it.each(Object.entries(weak))("array of %s with a weak scalar → %j", (key, expected) => {
    const [d, kind] = key.split(",") as [DType, "int" | "float" | "bool"];
    const scalar: [DType, boolean] = kind === "int" ? ["int32", true] : kind === "float" ? ["float32", true] : ["bool", false];
    if (typeof expected === "string") {
      expect(() => promoteTypes(d, scalar[0], false, scalar[1])).toThrow(DTypeError);
    } else {
      const r = promoteTypes(d, scalar[0], false, scalar[1]);
      expect([r.dtype, r.weakType]).toEqual(expected);
    }
  });
});

describe("float conversions match ml_dtypes bit for bit (golden tables)", () => {
  const decodeTables = formats.decode as Record<string, number[]>;
  it.each([["float8_e4m3fn", FLOAT8_E4M3FN], ["float8_e5m2", FLOAT8_E5M2]] as const)("%s decodes all 256 codes", (name, format) => {
    const mismatches = decodeTables[name]!.map((bits, code) => {
      const expected = float32FromBits(bits);
      const actual = decodeFloat(code, format);
      return Number.isNaN(expected) ? (Number.isNaN(actual) ? -1 : code) : Object.is(actual, expected) ? -1 : code;
    }).filter((c) => c >= 0);
    expect(mismatches).toEqual([]);
  });

  const encodeTable = formats.encode as Record<string, number[]>;
  const inputs = encodeTable.inputs!.map(float32FromBits);
  it.each([["float16", FLOAT16], ["bfloat16", BFLOAT16], ["float8_e4m3fn", FLOAT8_E4M3FN], ["float8_e5m2", FLOAT8_E5M2]] as const)(
    "%s encodes edge cases and random float32 values",
    (name, format) => {
      const expected = encodeTable[name]!;
      const mismatches: string[] = [];
      inputs.forEach((x, i) => {
        const code = encodeFloat(x, format);
        const want = expected[i]!;
        // Any NaN code is a NaN; ml_dtypes keeps the input NaN's sign and payload bits, we emit the canonical one.
        const bothNaN = Number.isNaN(decodeFloat(code, format)) && Number.isNaN(decodeFloat(want, format));
        if (code !== want && !bothNaN) mismatches.push(`${x} (bits ${float32Bits(x).toString(16)}): got ${code}, want ${want}`);
      });
      expect(mismatches).toEqual([]);
    },
  );

  it("float32 → integer conversions saturate, truncate and map NaN to 0 as XLA does", () => {
    const table = formats.float_to_int as Record<string, (number | string)[]>;
    const xs = table.inputs!.map((v) => (v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number)));
    for (const d of ["int8", "uint8", "int32", "uint32"] as DType[]) {
      expect(xs.map((x) => convertScalar(x, "float32", d)), d).toEqual(table[d]);
    }
  });
});
