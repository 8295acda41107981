/**
 * quant.quantized as an API: rule validation and shape errors, gradient dtypes (the operands', never a qtype),
 * residual reuse (the backward requantizes nothing), weights given already quantized with per-group scales
 * (the dlhs fold gathers per row), existingOut, per-tensor rules, the jaxpr it shows, and composition with jit
 * and grad in any order.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type GmmBackend, getGmmBackend, gmm, grad, jit, lax, makeJaxpr, numpy as np, quant, vjp } from "../../src/index.js";
import { gmmOracle, rowGroups } from "../ops/gmm/oracle.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(311);
const [m, k, n, g] = [12, 8, 6, 3];
const sizes = [4, 3, 2];
const groupSizes = np.array(sizes, { dtype: "int32" });
const lhs = randomArray(next, [m, k]);
const rhs = randomArray(next, [g, k, n]);
const dout = randomArray(next, [m, n]);
const reference = getGmmBackend("reference");
const int8 = quant.quantized(reference, { actQtype: "int8", weightQtype: "int8" });
const host = (x: A): Float64Array => Float64Array.from(x.dataSync() as ArrayLike<number>);
const deq = (x: A, options: quant.QuantizeOptions): Float64Array => host(quant.dequantize(quant.quantize(x, options)));
const loss = (backend: GmmBackend) => (l: A, r: A): A => np.sum(np.multiply(gmm(l, r, groupSizes, { backend }), dout));
const count = (text: string, what: string): number => text.split(what).length - 1;

describe("errors", () => {
  it.each([
    [{ actQtype: "int9" }, /quantized\(reference\): rule.actQtype: unsupported qtype "int9"/],
    [{ actQType: "int8" }, /rule has unknown field\(s\) actQType/],
    [{ weightQtype: "int8", blockSize: 0 }, /rule.blockSize must be a positive integer, got 0/],
    [{ weightQtype: "float8_e4m3fn", weightCalibration: "minmax" }, /rule.weightCalibration .* is asymmetric, and float8_e4m3fn doesn't support/],
    [{ bwdCalibration: "absmax" }, /rule.bwdCalibration is given but rule.bwdQtype is not/],
    [{ actQtype: "int8", actCalibration: "rms" }, /rule.actCalibration: calibration 'rms': a scale factor is required/],
    [{ channelwise: "yes" }, /rule.channelwise must be a boolean/],
  ])("rule %j", (rule, message) => {
    expect(() => quant.quantized(reference, rule as quant.QuantRule)).toThrow(message);
  });

  it("a backend that is not one", () => {
    expect(() => quant.quantized("reference" as unknown as GmmBackend, {})).toThrow(/quantized: backend must be a GmmBackend \(getGmmBackend\(name\)\), got string/);
  });

  it("a block size that does not divide k, or n when the gradient is quantized", () => {
    const blocks = quant.quantized(reference, { actQtype: "int8", blockSize: 3 });
    expect(() => gmm(lhs, rhs, groupSizes, { backend: blocks })).toThrow(/quantized\(reference\) gmm: rule.blockSize 3 must divide k \(lhs \[m, k\] is \(12, 8\)\), got 8/);
    const dual = quant.quantized(reference, { actQtype: "int8", bwdQtype: "int8", blockSize: 4 });
    expect(() => gmm(lhs, rhs, groupSizes, { backend: dual })).toThrow(/rule.blockSize 4 must divide n when bwdQtype is set \(rhs is \(3, 8, 6\)\), got 6/);
  });

  it("a QArray operand for a backend that takes Arrays", () => {
    const weights = quant.quantize(rhs, { qtype: "int8" });
    expect(() => gmm(lhs, weights, groupSizes, { backend: "cpu" })).toThrow(/gmm: backend 'cpu' takes Arrays; a QArray operand needs a quantized backend/);
    expect(() => gmm(lhs, "w" as unknown as A, groupSizes)).toThrow(/gmm: rhs must be an Array \(or a QArray, with a quantized backend\), got string/);
  });

  it("an unregistered backend object that is not composite", () => {
    const stray: GmmBackend = { name: "stray", gmm: () => lhs, tgmm: () => rhs };
    expect(() => gmm(lhs, rhs, groupSizes, { backend: stray })).toThrow(/gmm: backend 'stray' is not registered; call registerGmmBackend\(backend\) first/);
  });
});

describe("gradients", () => {
  it("have the operands' dtypes (bfloat16), never the qtype's", () => {
    const bf = (x: A): A => lax.convertElementType(x, "bfloat16");
    for (const backend of [int8, quant.quantized(reference, { actQtype: "float8_e4m3fn", weightQtype: "float8_e4m3fn", bwdQtype: "float8_e4m3fn", blockSize: 2 })]) {
      const [dl, dr] = grad(loss(backend), { argnums: [0, 1] })(bf(lhs), bf(rhs)) as A[];
      expect([dl!.dtype, dl!.shape, dr!.dtype, dr!.shape]).toEqual(["bfloat16", [m, k], "bfloat16", [g, k, n]]);
    }
  });

  it("reuse the forward's quantization: the backward quantizes only the incoming gradient", () => {
    const quantizations = (backend: GmmBackend, f: (l: A, r: A) => unknown): number => count(makeJaxpr(f)(lhs, rhs).toString(), "reduce_max");
    const dual = quant.quantized(reference, { actQtype: "int8", weightQtype: "int8", bwdQtype: "int8", blockSize: 2 });
    const perChannel = quant.quantized(reference, { actQtype: "int8", weightQtype: "int8", bwdQtype: "int8" });
    const gradOf = (backend: GmmBackend) => grad(loss(backend), { argnums: [0, 1] });
    // Each quantization takes one absmax (reduce_max): lhs and rhs in the forward, the gradient twice backward,
    // and with blocks the two dual copies of the operands.
    expect([quantizations(int8, loss(int8)), quantizations(int8, gradOf(int8))]).toEqual([2, 2]);
    expect(quantizations(perChannel, gradOf(perChannel))).toBe(4);
    expect(quantizations(dual, gradOf(dual))).toBe(6);
  });

  it("of weights given quantized with per-group scales: dlhs gathers each row's group scale", () => {
    const weights = quant.quantize(rhs, { qtype: "int8", channelwiseAxes: [0, 2] });
    expect(weights.scale.shape).toEqual([g, 1, n]);
    const [out, pullback] = vjp((l: A) => gmm(l, weights, groupSizes, { backend: int8 }), lhs) as [A, (ct: A) => A[]];
    const [dl] = pullback(dout);
    const w = host(quant.dequantize(weights));
    const ql = deq(lhs, { qtype: "int8", channelwiseAxes: [0] });
    const c = { m, k, n, groups: g, groupSizes: sizes, groupOffset: 0, transposeRhs: false };
    expectClose(out.dataSync(), gmmOracle(c, ql, w), 1e-5, 1e-5);
    expectClose(dl!.dataSync(), gmmOracle({ ...c, k: n, n: k, transposeRhs: true }, host(dout), w), 1e-5, 1e-5);
  });

  it("of weights given quantized in blocks along n: the scale cannot fold, the residual is dequantized", () => {
    const weights = quant.quantize(rhs, { qtype: "int8", tiledAxes: { 2: 3 } });
    expect(weights.scale.shape).toEqual([1, 1, 2]);
    const [out, pullback] = vjp((l: A) => gmm(l, weights, groupSizes, { backend: int8 }), lhs) as [A, (ct: A) => A[]];
    const w = host(quant.dequantize(weights));
    const c = { m, k, n, groups: g, groupSizes: sizes, groupOffset: 0, transposeRhs: false };
    expectClose(out.dataSync(), gmmOracle(c, deq(lhs, { qtype: "int8", channelwiseAxes: [0] }), w), 1e-5, 1e-5);
    expectClose(pullback(dout)[0]!.dataSync(), gmmOracle({ ...c, k: n, n: k, transposeRhs: true }, host(dout), w), 1e-5, 1e-5);
  });

  it("of existingOut: dout on the rows outside the groups", () => {
    const existing = randomArray(next, [m, n]);
    const f = (e: A): A => np.sum(np.multiply(gmm(lhs, rhs, groupSizes, { backend: int8, existingOut: e }), dout));
    const de = host(grad(f)(existing) as A);
    const owners = rowGroups(sizes, m);
    const d = host(dout);
    expect(Array.from(de)).toEqual(Array.from(d, (v, i) => (owners[Math.floor(i / n)]! < g ? 0 : v)));
    const out = host(gmm(lhs, rhs, groupSizes, { backend: int8, existingOut: existing }));
    const e = host(existing);
    for (let i = 0; i < m * n; i++) if (owners[Math.floor(i / n)]! >= g) expect(out[i]).toBe(e[i]);
  });
});

describe("composition", () => {
  it("per-tensor rules quantize with one scale per operand", () => {
    const perTensor = quant.quantized(reference, { actQtype: "int4", weightQtype: "int4", channelwise: false });
    const out = gmm(lhs, rhs, groupSizes, { backend: perTensor });
    const c = { m, k, n, groups: g, groupSizes: sizes, groupOffset: 0, transposeRhs: false };
    expectClose(out.dataSync(), gmmOracle(c, deq(lhs, { qtype: "int4" }), deq(rhs, { qtype: "int4" })), 1e-5, 1e-5);
  });

  it("a backend that computes on codes gets them (wgsl: int8, per channel and block-wise), the others dequantized operands", () => {
    const operandTypes = (backend: GmmBackend, blockSize?: number): string[][] => {
      const q = quant.quantized(backend, { actQtype: "int8", weightQtype: "int8", blockSize });
      const call = makeJaxpr((l: A, r: A) => gmm(l, r, groupSizes, { backend: q }))(lhs, rhs).jaxpr.eqns.find((e) => e.primitive.name === "custom_vjp_call")!;
      const body = (call.params as { call_jaxpr: { jaxpr: { eqns: { primitive: { name: string }; inputs: { aval: { dtype: string } }[] }[] } } }).call_jaxpr.jaxpr;
      return body.eqns.filter((e) => e.primitive.name === "gmm").map((e) => e.inputs.slice(0, 2).map((x) => x.aval.dtype));
    };
    expect(getGmmBackend("wgsl").quantizedOperands).toEqual(["int8", "int4", "float8_e4m3fn", "float8_e5m2"]);
    expect(operandTypes(getGmmBackend("wgsl"))).toEqual([["int8", "int8"]]);
    // Blocks of 4 are too short to be products of their own; of 8 (k = 8), one block.
    expect(operandTypes(getGmmBackend("wgsl"), 4)).toEqual([["float32", "float32"]]);
    expect(operandTypes(getGmmBackend("wgsl"), 8)).toEqual([["int8", "int8"]]);
    expect(operandTypes(reference)).toEqual([["float32", "float32"]]);
  });

  it("the jaxpr shows the quantization and the inner backend's gmm inside a custom_vjp call", () => {
    const text = makeJaxpr((l: A, r: A) => gmm(l, r, groupSizes, { backend: int8 }))(lhs, rhs).toString();
    expect(text).toMatch(/custom_vjp_call\[.*name=quantized_gmm/s);
    expect(text).toMatch(/gmm\[\s*backend=reference/);
    expect(text).toMatch(/convert_element_type\[new_dtype=int8/);
  });

  it("with jit and grad in any order, on the interpreter and the cpu device", () => {
    const backend = quant.quantized(getGmmBackend("cpu"), { actQtype: "int8", weightQtype: "int8", bwdQtype: "float8_e4m3fn" });
    const g = grad(loss(backend), { argnums: [0, 1] });
    const eager = (g(lhs, rhs) as A[]).map(host);
    const variants = [jit(g, { device: "cpu" }), grad(jit(loss(backend), { device: "cpu" }), { argnums: [0, 1] }), jit(g, { device: "interpreter" })];
    for (const v of variants) (v(lhs, rhs) as A[]).forEach((x, i) => expectClose(x.dataSync(), eager[i]!, 1e-5, 1e-6));
  });
});
