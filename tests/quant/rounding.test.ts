/**
 * The exact rounding of src/quant/rounding.ts, fed the device's quotient perturbed by up to ±3 ulps (what WGSL's
 * 2.5-ULP division may return), on near-tie inputs built on purpose: codes and scales must equal a float64 host
 * oracle on the interpreter, the cpu device and WebGPU. A perturbed quotient without the correction is shown to
 * miss codes, so the inputs do reach the ties.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, jit, numpy as np, quant } from "../../src/index.js";
import { BFLOAT16, FLOAT16, FLOAT8_E4M3FN, FLOAT8_E5M2, type FloatFormat, roundHalfEven, roundToFormat } from "../../src/core/floatFormats.js";
import { quotientByConstant, symmetricCodes } from "../../src/quant/rounding.js";
import { rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

const devices = ["interpreter", "cpu", ...((await webgpuDevice()) ? ["webgpu"] : [])];
const FORMATS: Record<string, FloatFormat | undefined> = { float32: undefined, bfloat16: BFLOAT16, float16: FLOAT16, float8_e4m3fn: FLOAT8_E4M3FN, float8_e5m2: FLOAT8_E5M2 };
const round = (v: number, dtype: string): number => (FORMATS[dtype] ? roundToFormat(v, FORMATS[dtype]!) : Math.fround(v));

/** v moved by `ulps` float32 steps (v > 0). */
function stepUlps(v: number, ulps: number): number {
  const bits = new Uint32Array(new Float32Array([v]).buffer);
  bits[0] = bits[0]! + ulps;
  return new Float32Array(bits.buffer)[0]!;
}

/** The code qwix gives |x| / s rounded in `dtype`, with x's sign: the float64 oracle. */
function oracleCode(x: number, s: number, info: quant.QTypeInfo, dtype: DType): number {
  const q = Math.min(round(Math.abs(x) / s, dtype), info.kind === "int" ? info.max + 1 : info.max);
  const magnitude = info.kind === "int" ? roundHalfEven(q) : roundToFormat(q, FORMATS[info.name]!);
  const signed = x < 0 ? -magnitude : magnitude;
  return info.kind === "int" ? Math.min(Math.max(signed, -info.max - 1), info.max) : signed;
}

/** Values of `dtype` whose quotient by s lies on or within a few ulps of each code boundary (and a few random). */
function nearTies(next: () => number, info: quant.QTypeInfo, dtype: DType): { xs: number[]; ss: number[] } {
  const xs: number[] = [];
  const ss: number[] = [];
  const boundaries = info.kind === "int" ? Array.from({ length: info.max + 1 }, (_, k) => k + 0.5) : [0.5, 1.5, 17, 19, 100, 13, 0.0029296875, 0.021484375, 300, 440];
  for (let i = 0; i < 400; i++) {
    const s = round(2 ** (next() * 20 - 10) * (1 + next()), dtype);
    const b = boundaries[Math.floor(next() * boundaries.length)]!;
    const x = round(b * s, dtype);
    for (const ulps of [-2, -1, 0, 1, 2]) {
      const v = dtype === "float32" ? stepUlps(x, ulps) : round(x * (1 + ulps * 2 ** -9), dtype);
      xs.push(next() < 0.5 ? -v : v);
      ss.push(s);
    }
  }
  return { xs, ss };
}

describe.each(devices)("exact codes on %s from a quotient off by up to 3 ulps", (device) => {
  it.each([
    ["int8", "float32"],
    ["int4", "float32"],
    ["float8_e4m3fn", "float32"],
    ["float8_e5m2", "float32"],
    ["int8", "bfloat16"],
    ["float8_e4m3fn", "float16"],
  ] as const)("%s codes of %s values", async (qtype, dtype) => {
    const info = quant.qtypeInfo(qtype);
    const { xs, ss } = nearTies(rng(qtype.length * 31 + dtype.length), info, dtype);
    const expected = xs.map((x, i) => oracleCode(x, ss[i]!, info, dtype));
    const codes = jit((x: A, s: A, q: A) => symmetricCodes(x, s, info, dtype, q), { device });
    const plainCodes: number[] = [];
    for (const ulps of [-3, -1, 0, 1, 3]) {
      const quotients = xs.map((x, i) => Math.fround(Math.abs(x) / ss[i]!)).map((q) => (Number.isFinite(q) ? stepUlps(q, ulps) : q));
      const got = Array.from(await codes(np.array(xs), np.array(ss), np.array(quotients)).data());
      expect(got.flatMap((g, i) => (Object.is(g, expected[i]) ? [] : [`x=${xs[i]} s=${ss[i]}: ${g} != ${expected[i]}`])), `quotients off by ${ulps} ulps`).toEqual([]);
      if (ulps === 3) quotients.forEach((q, i) => plainCodes.push(oracleCode(Math.sign(xs[i]!) * q * ss[i]!, ss[i]!, info, dtype)));
    }
    if (dtype === "float32") expect(plainCodes.filter((c, i) => c !== expected[i]).length).toBeGreaterThan(0);
  });
});

describe.each(devices)("exact scales on %s from a quotient off by up to 3 ulps", (device) => {
  it.each([
    [127.5, "float32"],
    [7.5, "float32"],
    [448, "float32"],
    [57344, "float32"],
    [255, "float32"],
    [127.5, "bfloat16"],
    [448, "float16"],
    [15, "bfloat16"],
  ] as const)("a / %s in %s", async (divisor, dtype) => {
    const next = rng(divisor + dtype.length);
    const [span, lowest] = dtype === "float16" ? [14, -12] : [40, -20];
    const as = [0, ...Array.from({ length: 2000 }, () => round(2 ** (next() * span + lowest) * (1 + next()) * divisor, dtype))];
    const expected = as.map((a) => round(a / divisor, dtype));
    const quotient = jit((a: A, q: A) => quotientByConstant(a, divisor, dtype, q), { device });
    for (const ulps of [-3, -2, -1, 0, 1, 2, 3]) {
      const guesses = as.map((a) => (a === 0 ? 0 : stepUlps(Math.fround(a / divisor), ulps)));
      const got = Array.from(await quotient(np.array(as), np.array(guesses)).data());
      expect(got.flatMap((g, i) => (g === expected[i] ? [] : [`a=${as[i]}: ${g} != ${expected[i]}`])), `quotients off by ${ulps} ulps`).toEqual([]);
    }
  });
});

describe("quantize against the host oracle", () => {
  it.each(devices)("int8 per tensor on %s: scale = absmax / 127.5 and codes, correctly rounded", async (device) => {
    const next = rng(5);
    const xs = Array.from({ length: 512 }, () => Math.fround((next() - 0.5) * 2 ** (next() * 8)));
    const q = jit((x: A) => quant.quantize(x, { qtype: "int8" }), { device })(np.array(xs));
    const scale = Math.fround(Math.max(...xs.map(Math.abs)) / 127.5);
    expect(Array.from(await q.scale.data())).toEqual([scale]);
    expect(Array.from(await q.qvalue.data())).toEqual(xs.map((x) => oracleCode(x, scale, quant.qtypeInfo("int8"), "float32") + 0));
  });
});

describe.runIf(devices.includes("webgpu"))("asymmetric quantization on WebGPU", () => {
  it("codes and zero points within one of the interpreter's (x / scale is not corrected there), the scale exact", async () => {
    const x = np.array(Array.from({ length: 4096 }, (_, i) => Math.sin(i) * 3 + 1));
    const run = (device: string) => jit((v: A) => quant.quantize(v.reshape([64, 64]), { qtype: "int8", channelwiseAxes: [0], calibration: "minmax" }), { device })(x);
    const [gpu, exact] = [run("webgpu"), run("interpreter")];
    expect(Array.from(await gpu.scale.data())).toEqual(Array.from(await exact.scale.data()));
    for (const part of ["qvalue", "zeroPoint"] as const) {
      const [g, e] = [await gpu[part]!.data(), await exact[part]!.data()];
      expect(Math.max(...Array.from(g).map((v, i) => Math.abs(v - e[i]!)))).toBeLessThanOrEqual(1);
    }
  });
});
