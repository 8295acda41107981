/**
 * quant.quantize / dequantize as an API: scale shapes, int4 storage, calibration forms, round-trip error bounds
 * on random data for each qtype and calibration, QArray as a pytree through jit and makeJaxpr, derivatives, and
 * every error message.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, grad, jit, makeJaxpr, numpy as np, quant, tree } from "../../src/index.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(71);
const x46 = randomArray(next, [4, 6]);

describe("scale shapes (a 1 on reduced axes, dim / blockSize on tiled ones)", () => {
  it.each([
    [{}, [1, 1]],
    [{ channelwiseAxes: [0] }, [4, 1]],
    [{ channelwiseAxes: [-1] }, [1, 6]],
    [{ tiledAxes: { 1: 3 } }, [1, 2]],
    [{ channelwiseAxes: [0], tiledAxes: { 1: 2 } }, [4, 3]],
    [{ tiledAxes: { 0: 2, [-1]: 3 } }, [2, 2]],
    [{ channelwiseAxes: [0, 1] }, [4, 6]],
    [{ calibration: "fixed,-3,3", channelwiseAxes: [0] }, [1, 1]],
  ])("%j", (options, scaleShape) => {
    const q = quant.quantize(x46, { qtype: "int8", ...options });
    expect([q.qvalue.shape, q.qvalue.dtype, q.scale.shape, q.scale.dtype, q.zeroPoint, q.qtype]).toEqual([[4, 6], "int8", scaleShape, "float32", undefined, "int8"]);
    expect(q.scaleTileShape).toEqual([4 / scaleShape[0]!, 6 / scaleShape[1]!]);
  });

  it("asymmetric calibrations give an int zero point of the scale's shape", () => {
    const q = quant.quantize(x46, { qtype: "int4", channelwiseAxes: [1], calibration: "minmax" });
    expect([q.zeroPoint!.shape, q.zeroPoint!.dtype, q.scale.shape]).toEqual([[1, 6], "int4", [1, 6]]);
  });

  it("int4 codes are an int4 array, packed two per byte in storage (an odd size pads a nibble)", async () => {
    const q = quant.quantize(randomArray(next, [3, 7]), { qtype: "int4", channelwiseAxes: [0] });
    expect([q.qvalue.dtype, q.qvalue.nbytes]).toEqual(["int4", 11]);
    const codes = Array.from(await q.qvalue.data());
    expect(codes.every((c) => Number.isInteger(c) && c >= -8 && c <= 7)).toBe(true);
  });

  it("calibration strings are case-insensitive and equal their object forms", async () => {
    const pairs: [string, quant.CalibrationMethod][] = [
      ["ABSMAX", { method: "absmax" }],
      ["absmax,0.9", { method: "absmax", multiplier: 0.9 }],
      ["rms,2", { method: "rms", multiplier: 2 }],
      ["fixed,5", { method: "fixed", min: -5, max: 5 }],
      ["minmax", { method: "minmax" }],
    ];
    for (const [text, object] of pairs) {
      expect(quant.parseCalibration(text)).toEqual(quant.parseCalibration(object));
      const [a, b] = [text, object].map((calibration) => quant.quantize(x46, { qtype: "int8", channelwiseAxes: [0], calibration }));
      expect(Array.from(await a!.qvalue.data())).toEqual(Array.from(await b!.qvalue.data()));
    }
  });

  it("dequantize computes in the scale's dtype, or the one asked for", () => {
    const q = quant.quantize(x46.astype("bfloat16"), { qtype: "float8_e4m3fn" });
    expect([quant.dequantize(q).dtype, quant.dequantize(q, "float32").dtype]).toEqual(["bfloat16", "float32"]);
  });
});

describe("round-trip error bounds on random data", () => {
  const data = randomArray(next, [16, 64], "float32", 3);
  /** The largest |dequantize(quantize(x)) - x| an element may have, from its value and its scale (before the
   * float32 roundings of the scale and of code · scale, a few ulps of x, allowed below). */
  const bounds: Record<quant.QType, (x: number, scale: number) => number> = {
    int8: (_x, s) => s / 2,
    int4: (_x, s) => s / 2,
    float8_e4m3fn: (x, s) => Math.abs(x) * 2 ** -4 + s * 2 ** -10,
    float8_e5m2: (x, s) => Math.abs(x) * 2 ** -3 + s * 2 ** -17,
  };
  const layouts = [
    ["per tensor", {}],
    ["per row", { channelwiseAxes: [0] }],
    ["per row, blocks of 16", { channelwiseAxes: [0], tiledAxes: { 1: 16 } }],
  ] as const;
  const calibrations: [string, string][] = [["absmax", "absmax"], ["minmax", "minmax"], ["fixed", "fixed,-20,20"]];
  const combos = quant.QTYPES.flatMap((qtype) => layouts.flatMap(([name, layout]) => calibrations.filter(([c]) => c !== "minmax" || qtype.startsWith("int")).map(([c, calibration]) => [qtype, name, c, layout, calibration] as const)));

  it.each(combos)("%s, %s, %s", async (qtype, _name, _c, layout, calibration) => {
    const q = quant.quantize(data, { qtype, ...layout, calibration });
    const dequantized = await quant.dequantize(q).data();
    const scales = await np.broadcastTo(np.repeat(q.scale, q.scaleTileShape[1]!, { axis: 1 }), [16, 64]).data();
    const xs = await data.data();
    const worst = Array.from(xs).reduce((w, x, i) => Math.max(w, Math.abs(dequantized[i]! - x) / (bounds[qtype](x, scales[i]!) + Math.abs(x) * 2 ** -21)), 0);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("rms,3 saturates what lies beyond its range and rounds the rest within scale / 2", async () => {
    const q = quant.quantize(data, { qtype: "int8", channelwiseAxes: [0], calibration: "rms,3" });
    const [dequantized, xs, scales] = await Promise.all([quant.dequantize(q).data(), data.data(), np.broadcastTo(q.scale, [16, 64]).data()]);
    Array.from(xs).forEach((x, i) => {
      const limit = 127 * scales[i]!;
      expect(Math.abs(dequantized[i]! - Math.max(-limit - scales[i]!, Math.min(limit, x)))).toBeLessThanOrEqual((scales[i]! / 2) * (1 + 1e-6));
    });
  });
});

describe("QArray is a pytree", () => {
  it("flattens to qvalue, scale and zeroPoint, with the qtype as static data", () => {
    const q = quant.quantize(x46, { qtype: "int8", channelwiseAxes: [0] });
    const [leaves, def] = tree.flatten(q);
    expect(leaves.length).toBe(2);
    expect([leaves[0] === q.qvalue, leaves[1] === q.scale]).toEqual([true, true]);
    expect(def.toString()).toBe('PyTreeDef(CustomNode(QArray["int8"], [*, *, None]))');
    expect(tree.unflatten(def, leaves)).toBeInstanceOf(quant.QArray);
  });

  it("passes through jit as an argument and a result; the jaxpr shows its parts", async () => {
    const requantize = (q: quant.QArray): quant.QArray => quant.quantize(quant.dequantize(q).mul(2), { qtype: "int4", calibration: "minmax" });
    const f = jit(requantize);
    const q = quant.quantize(x46, { qtype: "int8", channelwiseAxes: [0] });
    const out = f(q);
    expect(out).toBeInstanceOf(quant.QArray);
    expect([out.qtype, out.qvalue.dtype, out.zeroPoint!.dtype]).toEqual(["int4", "int4", "int4"]);
    expect(Array.from(await out.qvalue.data())).toEqual(Array.from(await requantize(q).qvalue.data()));
    f(quant.quantize(randomArray(next, [4, 6]), { qtype: "int8", channelwiseAxes: [0] }));
    expect(f.traceCount).toBe(1);
    const text = makeJaxpr(requantize)(q).toString();
    expect(text.split("\n")[0]).toBe("{ lambda ; a:i8[4,6] b:f32[4,1]. let");
    expect(text).toMatch(/in \([a-z]+, [a-z]+, [a-z]+\) \}$/);
    expect(text).toContain(":i4[4,6] = convert_element_type");
  });
});

describe("derivatives (JAX's through qwix's operations; no straight-through estimator)", () => {
  it("int codes have a zero derivative: the gradient of dequantize(quantize(x)) reaches x through the scale only", async () => {
    const x = np.array([0.5, -2, 1.25, 0.75]);
    const w = np.array([1, 2, 3, 4]);
    const g = grad((v: A) => quant.dequantize(quant.quantize(v, { qtype: "int8" })).mul(w).sum())(x) as A;
    const codes = Array.from(await quant.quantize(x, { qtype: "int8" }).qvalue.data());
    const dScale = codes.reduce((s, c, i) => s + c * (i + 1), 0);
    expect(Array.from(await g.data())).toEqual([0, Math.fround(-dScale / 127.5), 0, 0]);
  });

  it("the gradient with respect to a QArray's scale is the codes times the cotangent", async () => {
    const q = quant.quantize(x46, { qtype: "int8", channelwiseAxes: [0] });
    const g = grad((scale: A) => quant.dequantize(new quant.QArray(q.qvalue, scale, undefined, "int8")).sum())(q.scale) as A;
    expect(Array.from(await g.data())).toEqual(Array.from(await q.qvalue.astype("float32").sum(1, true).data()));
  });
});

describe("errors", () => {
  const quantize = (options: object, x: A = x46) => () => quant.quantize(x, { qtype: "int8", ...options } as quant.QuantizeOptions);
  it.each([
    ["an int input", () => quant.quantize(np.ones([2], { dtype: "int32" }), { qtype: "int8" }), /quantize: x must be a floating-point array \(float32, bfloat16, float16\), got int32/],
    ["not an Array", () => quant.quantize([1, 2] as unknown as A, { qtype: "int8" }), /quantize: x must be an Array, got object/],
    ["no options", () => quant.quantize(x46, undefined as unknown as quant.QuantizeOptions), /quantize: options \{qtype, channelwiseAxes, tiledAxes, calibration\} are required/],
    ["unknown qtype", quantize({ qtype: "int16" }), /quantize: qtype: unsupported qtype "int16"; expected one of int8, int4, float8_e4m3fn, float8_e5m2/],
    ["unknown calibration", quantize({ calibration: "foo" }), /quantize: calibration 'foo': unsupported calibration method 'foo'; expected absmax\[,c\], minmax\[,c\], rms,c, fixed,lo,hi or fixed,c/],
    ["rms without a factor", quantize({ calibration: "rms" }), /quantize: calibration 'rms': a scale factor is required for RMS calibration \(e.g. 'rms,2'\)/],
    ["fixed without a range", quantize({ calibration: "fixed" }), /quantize: calibration 'fixed': a fixed range is required for fixed calibration \('fixed,lo,hi' or 'fixed,c'\)/],
    ["fixed without 0", quantize({ calibration: "fixed,1,10" }), /quantize: calibration 'fixed,1,10': the range must contain 0 and be non-empty, got \[1, 10\]/],
    ["fixed empty", quantize({ calibration: "fixed,0" }), /quantize: calibration 'fixed,0': the range must contain 0 and be non-empty, got \[0, 0\]/],
    ["a non-numeric argument", quantize({ calibration: "absmax,x" }), /quantize: calibration 'absmax,x': argument 'x' is not a finite number/],
    ["a negative multiplier", quantize({ calibration: "absmax,-1" }), /quantize: calibration 'absmax,-1': the multiplier must be positive, got -1/],
    ["two multipliers", quantize({ calibration: "minmax,1,2" }), /quantize: calibration 'minmax,1,2': minmax takes at most one argument \(a multiplier\), got 2/],
    ["an object without its multiplier", quantize({ calibration: { method: "rms" } }), /quantize: calibration \{"method":"rms"\}: a scale factor is required for RMS calibration/],
    ["an object with a bad bound", quantize({ calibration: { method: "fixed", min: -1, max: "2" } }), /quantize: calibration .*: "2" is not a finite number/],
    ["a calibration of the wrong type", quantize({ calibration: 3 }), /quantize: calibration 3: expected a string \(absmax\[,c\], .*\) or an object \{method, \.\.\.\}/],
    ["minmax with float8", quantize({ qtype: "float8_e4m3fn", calibration: "minmax" }), /quantize: calibration \{"method":"minmax"\} is asymmetric, and float8_e4m3fn doesn't support asymmetric quantization \(int8 and int4 do\)/],
    ["asymmetric fixed with float8", quantize({ qtype: "float8_e5m2", calibration: "fixed,-1,3" }), /is asymmetric, and float8_e5m2 doesn't support asymmetric quantization/],
    ["channelwise axis out of range", quantize({ channelwiseAxes: [2] }), /quantize: channelwiseAxes: axis 2 is out of bounds for an array of rank 2/],
    ["channelwise axis twice", quantize({ channelwiseAxes: [1, -1] }), /quantize: channelwiseAxes lists axis 1 twice/],
    ["channelwise not a list", quantize({ channelwiseAxes: 0 }), /quantize: channelwiseAxes must be an array of axes, got 0/],
    ["tiledAxes not an object", quantize({ tiledAxes: [3] }), /quantize: tiledAxes must be an object \{axis: blockSize\}, got \[3\]/],
    ["tiled axis out of range", quantize({ tiledAxes: { 5: 2 } }), /quantize: tiledAxes: axis 5 is out of bounds for an array of rank 2/],
    ["a zero block size", quantize({ tiledAxes: { 1: 0 } }), /quantize: tiledAxes\[1\]: the block size must be a positive integer, got 0/],
    ["a fractional block size", quantize({ tiledAxes: { 1: 1.5 } }), /quantize: tiledAxes\[1\]: the block size must be a positive integer, got 1.5/],
    ["a tiled axis twice", quantize({ tiledAxes: { 1: 2, [-1]: 3 } }), /quantize: tiledAxes lists axis 1 twice/],
    ["channelwise and tiled", quantize({ channelwiseAxes: [1], tiledAxes: { 1: 2 } }), /quantize: axis 1 is in both channelwiseAxes and tiledAxes; an axis is either per channel or tiled/],
    ["a block that does not divide its dim", quantize({ tiledAxes: { 1: 4 } }), /quantize: tiledAxes\[1\]: block size 4 does not divide dimension 6 of axis 1 \(x has shape \(4, 6\)\)/],
  ])("quantize: %s", (_name, call, message) => {
    expect(call).toThrow(message);
  });

  const q = quant.quantize(x46, { qtype: "int8", channelwiseAxes: [0], calibration: "minmax" });
  const withParts = (qvalue: A, scale: A, zeroPoint: A | undefined, qtype: quant.QType = "int8") => () => quant.dequantize(new quant.QArray(qvalue, scale, zeroPoint, qtype));
  it.each([
    ["not a QArray", () => quant.dequantize(x46 as unknown as quant.QArray), /dequantize: q must be a QArray \(from quant.quantize\)/],
    ["a qvalue of another dtype", withParts(q.qvalue, q.scale, q.zeroPoint, "int4"), /dequantize: q.qvalue must have the qtype's dtype int4, got int8/],
    ["an int scale", withParts(q.qvalue, q.qvalue, undefined), /dequantize: q.scale must be a floating-point array \(float32, bfloat16, float16\), got int8/],
    ["a scale of another rank", withParts(q.qvalue, np.ones([4]), undefined), /dequantize: q.scale of shape \(4,\) must have q.qvalue's rank and dims dividing its shape \(4, 6\)/],
    ["a scale that does not divide", withParts(q.qvalue, np.ones([4, 4]), undefined), /dequantize: q.scale of shape \(4, 4\) must have q.qvalue's rank and dims dividing its shape \(4, 6\)/],
    ["a zero point of another dtype", withParts(q.qvalue, q.scale, q.scale), /dequantize: q.zeroPoint must have the qtype's dtype int8, got float32/],
    ["a zero point of another shape", withParts(q.qvalue, q.scale, np.zeros([1, 1], { dtype: "int8" })), /dequantize: q.zeroPoint must have q.scale's shape \(4, 1\), got \(1, 1\)/],
    ["an int output dtype", () => quant.dequantize(q, "int32" as DType), /dequantize: dtype must be one of float32, bfloat16, float16, got "int32"/],
  ])("dequantize: %s", (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
