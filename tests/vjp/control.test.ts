import { describe, expect, it } from "vitest";
import { type Array as JaxArray, checkGrads, grad, jit, jvp, lax, makeJaxpr, numpy as np } from "../../src/index.js";
import { expectArray } from "../util/assert.js";

type A = JaxArray;

describe("derivatives through control flow", () => {
  const piecewise = (x: A) => lax.cond(x.sum().gt(0), (v: A) => np.sum(np.sin(v)), (v: A) => np.sum(v.mul(v)), x) as A;

  it("cond: eager, and under jit with a traced predicate", () => {
    checkGrads(piecewise, [np.array([0.5, 1])], { order: 2 });
    checkGrads(piecewise, [np.array([-0.5, -1])], { order: 2 });
    expectArray(jit(grad(piecewise))(np.array([0.5, 1])) as A, [2], "float32", [Math.cos(0.5), Math.cos(1)], 1e-6);
    expectArray(jit(grad(piecewise))(np.array([-0.5, -1])) as A, [2], "float32", [-1, -2]);
  });

  it("under jit, a cond splits into a known cond (values and residuals) and a cond of the branches' linear parts", () => {
    const text = makeJaxpr(jit(grad(piecewise)))(np.array([0.5, 1])).toString();
    expect(text.match(/= cond\[/g)?.length).toBe(2);
    expect(text).not.toMatch(/select_n/);
  });

  it("a cond nested in a scan body is differentiated in both directions", () => {
    const f = (w: A, xs: A) =>
      lax.scan((c: A, x: A): [A, A] => {
        const h = lax.cond(x.gt(0), (a: A) => np.tanh(a.mul(w)), (a: A) => a.mul(w).mul(w), c.add(x)) as A;
        return [h, h];
      }, np.array(0.1).astype(w.dtype), xs)[0];
    const args = [np.array(0.8), np.array([0.5, -1, 2, -0.3])];
    checkGrads(f, args, { order: 2 });
    expect(Array.from((jit(grad(f))(...args) as A).dataSync())).toEqual(Array.from((grad(f)(...args) as A).dataSync()));
  });

  it("switch differentiates the selected branch", () => {
    const f = (i: A, x: A) => lax.switch(i, [(v: A) => v.sum(), (v: A) => np.sum(v.mul(v)), (v: A) => np.sum(np.exp(v))], x) as A;
    const x = np.array([0.5, 2]);
    expectArray(grad(f, { argnums: 1 })(np.array(1, { dtype: "int32" }), x) as A, [2], "float32", [1, 4]);
    expectArray(grad(f, { argnums: 1 })(np.array(2, { dtype: "int32" }), x) as A, [2], "float32", [Math.exp(0.5), Math.exp(2)], 1e-6);
  });

  it("scan: a tanh RNN's gradients match finite differences, eagerly and under jit", () => {
    const rnn = (w: A, u: A, xs: A) => {
      const [h, ys] = lax.scan((c: A, x: A): [A, A] => {
        const hn = np.tanh(np.matmul(c, w).add(x.mul(u)));
        return [hn, hn.sum()];
      }, np.zeros([2]).astype(u.dtype), xs);
      return h.sum().add(ys.mul(0.5).sum());
    };
    const args = [np.array([[0.5, -0.3], [0.2, 0.8]]), np.array([0.7, -0.4]), np.array([[1], [-2], [0.5]])];
    checkGrads(rnn, args, { order: 2 });
    const eager = grad(rnn, { argnums: [0, 1] })(...args) as A[];
    const jitted = jit(grad(rnn, { argnums: [0, 1] }))(...args) as A[];
    expect(Array.from(jitted[0]!.dataSync())).toEqual(Array.from(eager[0]!.dataSync()));
  });

  it("reverse scan and foriLoop with static bounds are reverse-differentiable", () => {
    const rev = (x: A) => lax.scan((c: A, v: A): [A, A] => [c.mul(v).add(1), c], np.array(1).astype(x.dtype), x, { reverse: true })[0];
    checkGrads(rev, [np.array([0.5, 2, -1])], { order: 2 });
    const powerTower = (x: A) => lax.foriLoop(0, 3, (_i: A, c: A) => np.sin(c).mul(x), x);
    checkGrads(powerTower, [np.array(0.7)], { order: 2 });
  });

  it("whileLoop is forward-differentiable; reverse mode raises JAX's error", () => {
    const f = (x: A) => lax.whileLoop(([i]: [A, A]) => i.lt(3), ([i, v]: [A, A]) => [i.add(1), np.sin(v)] as [A, A], [np.array(0, { dtype: "int32" }), x])[1];
    const [, t] = jvp(f, [np.array(0.5)], [np.array(1)]) as [A, A];
    const a = Math.sin(0.5);
    const b = Math.sin(a);
    expectArray(t, [], "float32", [Math.cos(b) * Math.cos(a) * Math.cos(0.5)], 1e-6);
    expect(() => grad(f)(np.array(0.5))).toThrow(/Reverse-mode differentiation does not work for lax.whileLoop/);
  });
});
