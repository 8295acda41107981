/**
 * The MoE layer: the sparse layer (routing, sort by expert, three gmms, unsort and combine) against the dense
 * per-expert reference on every gmm backend, forward and gradients, with rows padded to a tile; with int8
 * quantization within its tolerance; a backend registered in the test serving the whole layer forward and
 * backward; checkGrads on a small float64 layer; routing invariants and errors.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type GmmBackend, checkGrads, getGmmBackend, lax, makeJaxpr, moe, numpy as np, registerGmmBackend, valueAndGrad } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { BACKENDS, runOn } from "../gmm/backends.js";

const next = rng(808);
const [T, D, F, E, K] = [24, 8, 12, 4, 2];
const params = (dtype: "float32" | "float64" = "float32"): moe.MoeParams => ({
  gate: randomArray(next, [D, E], dtype),
  w0: randomArray(next, [E, D, F], dtype, 0.5),
  w1: randomArray(next, [E, D, F], dtype, 0.5),
  wo: randomArray(next, [E, F, D], dtype, 0.5),
});
const p = params();
const x = randomArray(next, [T, D]);
const ct = randomArray(next, [T, D]);
const config: moe.MoeConfig = { numExperts: E, topK: K, rowTile: 32 };

/** Loss of a layer, and its gradients with respect to x and every parameter. */
function lossAndGrads(layer: typeof moe.moeLayer, c: moe.MoeConfig) {
  const loss = (xx: A, gate: A, w0: A, w1: A, wo: A): A => {
    const { out, auxLoss } = layer({ gate, w0, w1, wo }, xx, c);
    return lax.add(np.sum(lax.mul(out, ct)), lax.mul(auxLoss, 0.1));
  };
  return (...args: A[]): A[] => {
    const [value, grads] = valueAndGrad(loss, { argnums: [0, 1, 2, 3, 4] })(...args) as [A, A[]];
    return [value, ...grads];
  };
}
const args = [x, p.gate, p.w0, p.w1, p.wo];
const dense = lossAndGrads(moe.denseMoeLayer, config)(...args).map((a) => a.dataSync());
const denseOut = moe.denseMoeLayer(p, x, config).out.dataSync();

describe.each(BACKENDS)("the sparse layer on the %s backend", (name) => {
  it("equals the dense reference, forward and gradients (rows padded to a tile of 32)", async () => {
    const got = await runOn(name, lossAndGrads(moe.moeLayer, { ...config, backend: name }), ...args);
    got.forEach((g, i) => expectClose(g.dataSync(), dense[i]!, 2e-4, 2e-4));
  });

  it("with int8 quantization, within 3% (relative Frobenius) of the unquantized layer: output and gradients", async () => {
    const quantization = { actQtype: "int8", weightQtype: "int8", bwdQtype: "int8" } as const;
    const c = { ...config, backend: name, quantization };
    const output = (xx: A, gate: A, w0: A, w1: A, wo: A): A => moe.moeLayer({ gate, w0, w1, wo }, xx, c).out;
    const out = await runOn(name, output, ...args);
    const grads = await runOn(name, lossAndGrads(moe.moeLayer, c), ...args);
    const pairs: [ArrayLike<number>, ArrayLike<number>][] = [[out.dataSync(), denseOut], ...grads.slice(1).map((g, i): [ArrayLike<number>, ArrayLike<number>] => [g.dataSync(), dense[i + 1]!])];
    for (const [a, b] of pairs) {
      let [num, den] = [0, 0];
      for (let k = 0; k < b.length; k++) [num, den] = [num + (a[k]! - b[k]!) ** 2, den + b[k]! ** 2];
      expect(Math.sqrt(num / den)).toBeGreaterThan(0);
      expect(Math.sqrt(num / den)).toBeLessThan(0.03);
    }
  });
});

describe("sparseMatmul", () => {
  it("picks the backend and wraps it with quantization", () => {
    expect(moe.sparseMatmul({ backend: "cpu" })).toBe(getGmmBackend("cpu"));
    expect(moe.sparseMatmul({}).name).toBe("reference");
    expect(moe.sparseMatmul({ backend: "cpu", quantization: { weightQtype: "int4" } }).name).toBe("cpu+quantized(act=none,weight=int4,bwd=none)");
  });

  it("a backend registered by the user serves the whole layer, forward and backward", () => {
    // A few lines: per-group products written with lax (ragged-dot's), under a name of its own.
    const inner = getGmmBackend("ragged-dot");
    const mine: GmmBackend = { name: "mine", gmm: (...a) => inner.gmm(...a), tgmm: (...a) => inner.tgmm(...a) };
    registerGmmBackend(mine);
    const step = lossAndGrads(moe.moeLayer, { ...config, backend: "mine" });
    step(...args).forEach((g, i) => expectClose(g.dataSync(), dense[i]!, 2e-4, 2e-4));
    // Three gmms forward; backward a gmm (dlhs) and a tgmm (drhs) for each, all on this backend.
    const text = makeJaxpr(step)(...args).toString();
    expect([text.match(/(?<!t)gmm\[\s*backend=mine/g)?.length, text.match(/tgmm\[\s*backend=mine/g)?.length]).toEqual([6, 3]);
    expect(text).not.toMatch(/backend=(reference|ragged-dot|cpu|wgsl)/);
  });
});

describe("gradients by finite differences", () => {
  it("checkGrads on a small float64 layer", () => {
    const q = params("float64");
    const x64 = randomArray(next, [6, D], "float64");
    const c = { numExperts: E, topK: K };
    const f = (xx: A, w0: A, wo: A): A => np.sum(lax.mul(moe.moeLayer({ ...q, w0, wo }, xx, c).out, lax.convertElementType(lax.sliceInDim(ct, 0, 6, 1, 0), "float64")));
    // Reverse mode only: the sort is a custom_vjp function, which forward mode cannot differentiate (as in JAX).
    checkGrads(f, [x64, q.w0, q.wo], { order: 1, modes: ["rev"], eps: 1e-6, atol: 1e-6, rtol: 1e-5 });
  });
});

describe("routing", () => {
  it("sends every token to topK distinct experts, sorted rows grouped by expert, aux loss 1 when balanced", () => {
    const r = moe.route(lax.dotGeneral(x, p.gate, [[[1], [0]], [[], []]]), K);
    const experts = Array.from(r.experts.dataSync());
    const sizes = Array.from(r.groupSizes.dataSync());
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(T * K);
    for (let t = 0; t < T; t++) expect(experts[t * K]).not.toBe(experts[t * K + 1]);
    const perm = Array.from(r.perm.dataSync());
    const sortedExperts = perm.map((row) => experts[row]!);
    expect(sortedExperts).toEqual([...sortedExperts].sort((a, b) => a - b));
    expectClose(np.sum(r.weights, { axis: 1 }).dataSync(), new Array(T).fill(1), 1e-6);
    const uniform = moe.route(np.zeros([8, 4]), 1);
    expect(uniform.auxLoss.dataSync()[0]).toBeCloseTo(4 * (8 / 8) * 0.25, 6);
  });

  it("errors name the argument", () => {
    expect(() => moe.route(np.zeros([4]), 1)).toThrow(/route: logits must be \[tokens, experts\], got shape \(4,\)/);
    expect(() => moe.route(np.zeros([4, 3]), 4)).toThrow(/route: topK must be an integer in \[1, 3\]/);
    expect(() => moe.moeLayer({ ...p, wo: np.zeros([E, F, 3]) }, x, config)).toThrow(/moeLayer: params.wo must have shape \(4, 12, 8\), got \(4, 12, 3\)/);
  });
});
