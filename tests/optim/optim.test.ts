/**
 * optim: sgd (with and without momentum) and adam against float64 updates written out by hand on a pytree of
 * parameters, a jitted training step that minimizes a least-squares problem, and argument errors.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, grad, jit, lax, numpy as np, optim } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(1234);
const params = { w: randomArray(next, [3, 2]), b: [randomArray(next, [2])] };
const grads = { w: randomArray(next, [3, 2]), b: [randomArray(next, [2])] };
const leaves = (t: { w: A; b: A[] }): number[][] => [Array.from(t.w.dataSync()), Array.from(t.b[0]!.dataSync())];

describe("updates by hand", () => {
  it("sgd with momentum: v = 0.9 v + g, p -= lr v (two steps)", () => {
    const opt = optim.sgd(0.1, { momentum: 0.9 });
    let state = opt.init(params);
    let p: unknown = params;
    for (let i = 0; i < 2; i++) [p, state] = opt.update(grads, state, p);
    const expected = leaves(params).map((xs, k) => xs.map((x, i) => x - 0.1 * leaves(grads)[k]![i]! - 0.1 * 1.9 * leaves(grads)[k]![i]!));
    leaves(p as { w: A; b: A[] }).forEach((xs, k) => expectClose(xs, expected[k]!, 1e-6, 1e-7));
  });

  it("adam: bias-corrected moments (three steps, gradients changing)", () => {
    const opt = optim.adam(0.01);
    let state = opt.init(params);
    let p: unknown = params;
    const gs = [grads, { w: lax.mul(grads.w, -2), b: [lax.mul(grads.b[0]!, 0.5)] }, grads];
    for (const g of gs) [p, state] = opt.update(g, state, p);
    expect(Array.from(state.count.dataSync())).toEqual([3]);
    const expected = leaves(params).map((xs, k) =>
      xs.map((x, i) => {
        let [m, v, value] = [0, 0, x];
        gs.forEach((g, t) => {
          const gi = leaves(g)[k]![i]!;
          m = 0.9 * m + 0.1 * gi;
          v = 0.999 * v + 0.001 * gi * gi;
          value -= (0.01 * (m / (1 - 0.9 ** (t + 1)))) / (Math.sqrt(v / (1 - 0.999 ** (t + 1))) + 1e-8);
        });
        return value;
      }),
    );
    leaves(p as { w: A; b: A[] }).forEach((xs, k) => expectClose(xs, expected[k]!, 1e-5, 1e-6));
  });
});

describe("in a jitted training step", () => {
  it("adam fits a least-squares problem", () => {
    const xs = randomArray(next, [64, 3]);
    const target = lax.dotGeneral(xs, np.array([[1], [-2], [0.5]]), [[[1], [0]], [[], []]]);
    const loss = (w: A): A => np.mean(lax.square(lax.sub(lax.dotGeneral(xs, w, [[[1], [0]], [[], []]]), target)));
    const opt = optim.adam(0.05);
    const step = jit((w: A, s: optim.AdamState) => opt.update(grad(loss)(w), s, w), { device: "cpu" });
    let w: unknown = np.zeros([3, 1]);
    let state = opt.init(w);
    const first = loss(w as A).dataSync()[0]!;
    for (let i = 0; i < 300; i++) [w, state] = step(w as A, state) as [unknown, optim.AdamState];
    expect(loss(w as A).dataSync()[0]!).toBeLessThan(first * 1e-3);
  });
});

describe("errors", () => {
  it("name the argument", () => {
    expect(() => optim.sgd(-1)).toThrow(/sgd: learningRate must be a positive number, got -1/);
    expect(() => optim.sgd(0.1, { momentum: 1 })).toThrow(/sgd: momentum must lie in \[0, 1\), got 1/);
    expect(() => optim.adam(0.1, { b2: 1.5 })).toThrow(/adam: b2 must lie in \[0, 1\), got 1.5/);
  });
});
