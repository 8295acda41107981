/**
 * quant.transform(f, rules): the same numbers as calling quantized(backend, rule) directly, eagerly and with jit
 * and grad around it in any order (and jit inside f); dot_general quantized against a fake-quant reference, its
 * straight-through gradients by hand, its bwdQtype gradients within a relative Frobenius bound; rule selection
 * by primitive and backend; the jaxpr it shows; errors.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, getGmmBackend, gmm, grad, jit, lax, makeJaxpr, numpy as np, quant, tgmm, valueAndGrad } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(523);
const [m, k, n, g] = [20, 16, 12, 3];
const groupSizes = np.array([6, 9, 3], { dtype: "int32" });
const lhs = randomArray(next, [m, k]);
const rhs = randomArray(next, [g, k, n]);
const tRhs = randomArray(next, [m, n]);
const weights = randomArray(next, [8, n]);
const host = (x: A): Float64Array => Float64Array.from(x.dataSync() as ArrayLike<number>);
const rule = { actQtype: "int8", weightQtype: "float8_e4m3fn", bwdQtype: "float8_e4m3fn" } as const;

/** A small program: gmm, a tgmm and a dense product (dot_general), on the cpu backend. */
function model(backend: string | ReturnType<typeof quant.quantized>, dense: (a: A, b: A) => A = (a, b) => lax.dotGeneral(a, b, [[[1], [1]], [[], []]])) {
  return (l: A, r: A, t: A, w: A): A => {
    const h = gmm(l, r, groupSizes, { backend });
    const wg = tgmm(lax.transpose(l, [1, 0]), t, groupSizes, { backend });
    return np.add(np.sum(np.square(dense(h, w))), np.sum(np.multiply(wg, wg)));
  };
}

describe("transform gives the numbers of quantized(backend, rule)", () => {
  const transformed = quant.transform(model("cpu"), [{ primitives: ["gmm", "tgmm"], ...rule }]);
  const direct = model(quant.quantized(getGmmBackend("cpu"), rule));
  const argnums = [0, 1, 2, 3];
  const run = (f: (...xs: A[]) => unknown): Float64Array[] => (f(lhs, rhs, tRhs, weights) as [A, A[]]).flat().map(host);
  const expected = run(valueAndGrad(direct, { argnums }));
  const cases: [string, (...xs: A[]) => unknown][] = [
    ["eagerly", valueAndGrad(transformed, { argnums })],
    ["jit(valueAndGrad(transform(f)))", jit(valueAndGrad(transformed, { argnums }), { device: "cpu" })],
    ["valueAndGrad(jit(transform(f)))", valueAndGrad(jit(transformed, { device: "cpu" }), { argnums })],
    ["valueAndGrad(transform(jit(f)))", valueAndGrad(quant.transform(jit(model("cpu")), [{ primitives: ["gmm", "tgmm"], ...rule }]), { argnums })],
  ];
  it.each(cases)("%s", (_, f) => run(f).forEach((x, i) => expectClose(x, expected[i]!, 2e-6, 1e-6)));

  it("on the interpreter (which accumulates in float64)", () => {
    const onInterpreter = run(jit(valueAndGrad(direct, { argnums }), { device: "interpreter" }));
    run(jit(valueAndGrad(transformed, { argnums }), { device: "interpreter" })).forEach((x, i) => expectClose(x, onInterpreter[i]!, 1e-7, 1e-7));
  });

  it("and differ from the unquantized program", () => {
    const plain = host(model("cpu")(lhs, rhs, tRhs, weights));
    expect(Math.abs(plain[0]! - expected[0]![0]!)).toBeGreaterThan(1e-3 * Math.abs(plain[0]!));
  });
});

describe("selection", () => {
  const count = (f: (...xs: A[]) => unknown, what: string): number => makeJaxpr(f)(lhs, rhs, tRhs, weights).toString().split(what).length - 1;

  it("by primitive and by backend; the jaxpr shows the quantization", () => {
    expect(count(quant.transform(model("cpu"), [{ primitives: ["dot_general"], actQtype: "int8" }]), "name=quantized_dot_general")).toBe(1);
    expect(count(quant.transform(model("cpu"), [{ actQtype: "int8" }]), "custom_vjp_call")).toBe(3);
    expect(count(quant.transform(model("cpu"), [{ primitives: ["gmm", "tgmm"], backends: ["reference"], actQtype: "int8" }]), "custom_vjp_call")).toBe(0);
    const text = makeJaxpr(quant.transform(model("reference"), [{ primitives: ["gmm"], backends: ["reference"], actQtype: "int4" }]))(lhs, rhs, tRhs, weights).toString();
    expect(text).toMatch(/name=quantized_gmm/);
    expect(text).toMatch(/convert_element_type\[new_dtype=int4/);
  });

  it("the first rule that selects an equation applies", () => {
    const twoRules = quant.transform(model("cpu"), [{ primitives: ["dot_general"], actQtype: "int4" }, { actQtype: "int8" }]);
    const text = makeJaxpr(twoRules)(lhs, rhs, tRhs, weights).toString();
    expect(text.split("new_dtype=int4").length - 1).toBe(1);
    expect(text.split("new_dtype=int8").length - 1).toBe(2);
  });
});

describe("dot_general", () => {
  const x = randomArray(next, [2, 6, 8, 4]);
  const y = randomArray(next, [2, 8, 4, 5]);
  // Batch axis 0 with 0; contracting (2, 3) of x with (1, 2) of y: out [2, 6, 5].
  const dims = [[[2, 3], [1, 2]], [[0], [0]]] as const;
  const dot = (a: A, b: A): A => lax.dotGeneral(a, b, dims);
  const cotangent = randomArray(next, [2, 6, 5]);
  const loss = (f: (a: A, b: A) => A) => (a: A, b: A): A => np.sum(np.multiply(f(a, b), cotangent));
  /** float64 out[b, i, j] = Σ_{c, d} a[b, i, c, d] · b[b, c, d, j]. */
  function dot64(a: Float64Array, b: Float64Array): Float64Array {
    const out = new Float64Array(2 * 6 * 5);
    for (let bb = 0; bb < 2; bb++) for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) for (let c = 0; c < 8; c++) for (let d = 0; d < 4; d++) out[(bb * 6 + i) * 5 + j] += a[((bb * 6 + i) * 8 + c) * 4 + d]! * b[((bb * 8 + c) * 4 + d) * 5 + j]!;
    return out;
  }
  const fake = (v: A, options: quant.QuantizeOptions): Float64Array => host(quant.dequantize(quant.quantize(v, options)));

  it("per channel: forward = fake-quant reference, gradients = straight-through by hand", () => {
    const f = quant.transform(dot, [{ actQtype: "int8", weightQtype: "int4" }]);
    const qx = fake(x, { qtype: "int8", channelwiseAxes: [0, 1] });
    const qy = fake(y, { qtype: "int4", channelwiseAxes: [0, 3] });
    expectClose(f(x, y).dataSync(), dot64(qx, qy), 1e-5, 1e-5);
    const [dx, dy] = grad(loss(f), { argnums: [0, 1] })(x, y) as A[];
    // d/dx Σ ct·dot(x, qy) = ct · qyᵀ; d/dy = qxᵀ · ct (straight-through), as float64 vjps of dot64.
    const ct = host(cotangent);
    const dx64 = new Float64Array(x.size);
    const dy64 = new Float64Array(y.size);
    for (let bb = 0; bb < 2; bb++) for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) for (let c = 0; c < 8; c++) for (let d = 0; d < 4; d++) {
      const t = ct[(bb * 6 + i) * 5 + j]!;
      dx64[((bb * 6 + i) * 8 + c) * 4 + d] += t * qy[((bb * 8 + c) * 4 + d) * 5 + j]!;
      dy64[((bb * 8 + c) * 4 + d) * 5 + j] += t * qx[((bb * 6 + i) * 8 + c) * 4 + d]!;
    }
    expect([dx!.dtype, dy!.dtype]).toEqual(["float32", "float32"]);
    expectClose(dx!.dataSync(), dx64, 1e-5, 1e-5);
    expectClose(dy!.dataSync(), dy64, 1e-5, 1e-5);
  });

  it("block-wise along the one contracting axis", () => {
    const a = randomArray(next, [6, 8]);
    const b = randomArray(next, [8, 5]);
    const f = quant.transform((p: A, q: A) => lax.dotGeneral(p, q, [[[1], [0]], [[], []]]), [{ actQtype: "int8", weightQtype: "int8", blockSize: 4 }]);
    const qa = fake(a, { qtype: "int8", channelwiseAxes: [0], tiledAxes: { 1: 4 } });
    const qb = fake(b, { qtype: "int8", channelwiseAxes: [1], tiledAxes: { 0: 4 } });
    const out64 = Float64Array.from({ length: 30 }, (_, i) => qa.slice(Math.floor(i / 5) * 8, Math.floor(i / 5) * 8 + 8).reduce((s, v, c) => s + v * qb[c * 5 + (i % 5)]!, 0));
    expectClose(f(a, b).dataSync(), out64, 1e-5, 1e-5);
    expect(() => quant.transform(dot, [{ actQtype: "int8", blockSize: 4 }])(x, y)).toThrow(/quant.transform dot_general: block-wise quantization needs exactly one contracting axis, got 2/);
  });

  it("with bwdQtype, gradients within 5% (relative Frobenius) of the straight-through ones", () => {
    const base = { actQtype: "int8", weightQtype: "int8" } as const;
    const [sx, sy] = grad(loss(quant.transform(dot, [base])), { argnums: [0, 1] })(x, y) as A[];
    const [bx, by] = grad(loss(quant.transform(dot, [{ ...base, bwdQtype: "float8_e4m3fn" }])), { argnums: [0, 1] })(x, y) as A[];
    for (const [got, want] of [[bx!, sx!], [by!, sy!]]) {
      const [p, q] = [host(got), host(want)];
      const error = Math.sqrt(p.reduce((s, v, i) => s + (v - q[i]!) ** 2, 0) / q.reduce((s, v) => s + v * v, 0));
      expect(error).toBeGreaterThan(0);
      expect(error).toBeLessThan(0.05);
    }
  });
});

describe("errors", () => {
  it.each([
    [[{ primitives: ["conv"] }], /quant.transform: rules\[0\].primitives must list some of gmm, tgmm, dot_general, got \["conv"\]/],
    [[{ backends: "cpu" }], /rules\[0\].backends must be an array of backend names/],
    [[{ actQtype: "int3" }], /quant.transform: rules\[0\]: rule.actQtype: unsupported qtype "int3"/],
    [{}, /rules must be an array of rules/],
  ])("rules %j", (rules, message) => {
    expect(() => quant.transform(model("cpu"), rules as quant.TransformRule[])).toThrow(message);
  });

  it("a selected primitive inside a loop body", () => {
    const looped = (a: A, b: A): A => lax.foriLoop(0, 2, (_i: A, c: A) => lax.dotGeneral(c, b, [[[1], [0]], [[], []]]), a);
    const square = randomArray(next, [4, 4]);
    expect(() => quant.transform(looped, [{ actQtype: "int8" }])(square, square)).toThrow(/quant.transform: a dot_general inside scan would be quantized by the rules, but the bodies of scan are not rewritten/);
    expect(quant.transform(looped, [{ primitives: ["gmm"], actQtype: "int8" }])(square, square).shape).toEqual([4, 4]);
  });
});
