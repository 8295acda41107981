import { describe, expect, it } from "vitest";
import { nn, numpy as np } from "../../../src/index.js";
import { expectArray } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse for a reference; integrate exp(-t²) by Simpson's rule instead.
  const n = 2000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
};

describe("activations", () => {
  const x = randomArray(rng(8), [3, 5], "float32", 3);
  const d = Array.from(x.dataSync());

  it("relu, sigmoid, silu, softplus match float64", () => {
    expectArray(nn.relu(x), [3, 5], "float32", d.map((v) => Math.max(v, 0)));
    expectArray(nn.sigmoid(x), [3, 5], "float32", d.map((v) => 1 / (1 + Math.exp(-v))), 1e-6, 1e-7);
    expectArray(nn.silu(x), [3, 5], "float32", d.map((v) => v / (1 + Math.exp(-v))), 1e-6, 1e-7);
    expectArray(nn.softplus(x), [3, 5], "float32", d.map((v) => Math.log1p(Math.exp(v))), 1e-6, 1e-7);
    expectArray(nn.softplus(np.array([100, -100])), [2], "float32", [100, Math.fround(Math.exp(-100))]);
    expectArray(nn.relu(np.array([-2, 3], { dtype: "int32" })), [2], "int32", [0, 3]);
  });

  it("gelu in its tanh and erf forms", () => {
    const tanhForm = d.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    expectArray(nn.gelu(x), [3, 5], "float32", tanhForm, 1e-5, 1e-6);
    expectArray(nn.gelu(x, false), [3, 5], "float32", d.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))), 1e-5, 1e-6);
  });
});

describe("softmax family", () => {
  const x = randomArray(rng(9), [2, 4], "float32", 4);
  const rows = [0, 1].map((i) => Array.from(x.dataSync()).slice(i * 4, i * 4 + 4));
  const lse = rows.map((r) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0)));

  it("softmax and logSoftmax along the last axis", () => {
    expectArray(nn.softmax(x), [2, 4], "float32", rows.flatMap((r, i) => r.map((v) => Math.exp(v - lse[i]!))), 1e-5, 1e-7);
    expectArray(nn.logSoftmax(x), [2, 4], "float32", rows.flatMap((r, i) => r.map((v) => v - lse[i]!)), 1e-5, 1e-6);
    const s = nn.softmax(x, 0);
    expectArray(np.sum(s, { axis: 0 }), [4], "float32", [1, 1, 1, 1], 1e-6);
  });

  it("logsumexp is stable for large and infinite inputs", () => {
    expectArray(nn.logsumexp(x, { axis: 1 }), [2], "float32", lse, 1e-6, 1e-6);
    expectArray(nn.logsumexp(x, { axis: 1, keepdims: true }), [2, 1], "float32", lse, 1e-6, 1e-6);
    expectArray(nn.logsumexp(np.array([1000, 1000])), [], "float32", [1000 + Math.LN2]);
    expectArray(nn.logsumexp(np.array([-Infinity, -Infinity])), [], "float32", [-Infinity]);
    expectArray(nn.softmax(np.array([1000, 0])), [2], "float32", [1, 0]);
  });

  it("oneHot encodes integer classes on a new axis", () => {
    const labels = np.array([2, 0, 5], { dtype: "int32" });
    expectArray(nn.oneHot(labels, 3), [3, 3], "float32", [0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expectArray(nn.oneHot(labels, 3, { axis: 0, dtype: "int8" }), [3, 3], "int8", [0, 1, 0, 0, 0, 0, 1, 0, 0]);
    expect(nn.oneHot(np.array([[1, 2]], { dtype: "int32" }), 4).shape).toEqual([1, 2, 4]);
  });
});
