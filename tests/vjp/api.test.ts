import { describe, expect, it } from "vitest";
import { type Array as JaxArray, DTypeError, ShapeError, grad, hessian, jacfwd, jacrev, jit, jvp, linearize, makeJaxpr, numpy as np, stopGradient, valueAndGrad, vjp } from "../../src/index.js";
import { expectArray, expectClose } from "../util/assert.js";

type A = JaxArray;
const f = (x: A): A => np.sum(np.sin(x).mul(x));
const df = (v: number): number => Math.sin(v) + v * Math.cos(v);
const x = np.array([0.5, -1, 2]);
const xs = [0.5, -1, 2];

describe("grad and valueAndGrad", () => {
  it("differentiate a scalar function", () => {
    expectArray(grad(f)(x) as A, [3], "float32", xs.map(df), 1e-6);
    const [value, g] = valueAndGrad(f)(x) as [A, A];
    expectArray(value, [], "float32", [xs.reduce((s, v) => s + Math.sin(v) * v, 0)], 1e-6);
    expectArray(g, [3], "float32", xs.map(df), 1e-6);
  });

  it("take argnums, pytrees and aux", () => {
    const loss = (p: { w: A; b: A }, data: A) => np.sum(np.matmul(data, p.w).add(p.b).pow(2));
    const p = { w: np.array([[1], [2]]), b: np.array([0.5]) };
    const data = np.array([[1, 1], [2, 0]]);
    const g = grad(loss)(p, data) as { w: A; b: A };
    // r = data·w + b = [3.5, 2.5]; d/dw = 2 dataᵀ r, d/db = 2 Σ r
    expectArray(g.w, [2, 1], "float32", [2 * (3.5 + 2 * 2.5), 2 * 3.5]);
    expectArray(g.b, [1], "float32", [12]);
    const both = grad(loss, { argnums: [0, 1] })(p, data) as [{ w: A }, A];
    expectArray(both[1], [2, 2], "float32", [2 * 3.5 * 1, 2 * 3.5 * 2, 2 * 2.5 * 1, 2 * 2.5 * 2]);
    const [gAux, aux] = grad((v: A) => [f(v), v.mul(2)], { hasAux: true })(x) as [A, A];
    expectArray(gAux, [3], "float32", xs.map(df), 1e-6);
    expectArray(aux, [3], "float32", [1, -2, 4]);
  });

  it("compose: grad of grad, jvp of grad, jit of grad, grad of jit", () => {
    const second = grad((v: A) => (grad((u: A) => np.sum(np.sin(u).mul(u)))(v) as A).sum())(x) as A;
    expectArray(second, [3], "float32", xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v)), 1e-5, 1e-6);
    const [, jg] = jvp(grad(f), [x], [np.ones([3])]) as [A, A];
    expectArray(jg, [3], "float32", xs.map((v) => 2 * Math.cos(v) - v * Math.sin(v)), 1e-5, 1e-6);
    expectArray(jit(grad(f))(x) as A, [3], "float32", xs.map(df), 1e-6);
    expectArray(grad(jit(f))(x) as A, [3], "float32", xs.map(df), 1e-6);
  });

  it("raises JAX's errors for non-scalar or integer outputs and integer inputs", () => {
    expect(() => grad((v: A) => v.mul(2))(x)).toThrow(/Gradient only defined for scalar-output functions. Output had shape: \(3,\)/);
    expect(() => grad((v: A) => np.argmax(v))(x)).toThrow(/grad requires real-valued outputs/);
    expect(() => grad(f)(np.array([1, 2], { dtype: "int32" }))).toThrow(DTypeError);
    const gi = grad((v: A, k: A) => np.sum(v.mul(k)), { argnums: [0, 1], allowInt: true })(x, np.array([1, 2, 3], { dtype: "int32" })) as A[];
    expectArray(gi[1]!, [3], "int32", [0, 0, 0]);
  });

  it("stopGradient blocks the derivative, and an unused input gets a zero without computation", () => {
    expectArray(grad((v: A) => np.sum(stopGradient(v).mul(v)))(x) as A, [3], "float32", xs);
    const [, g] = grad((v: A, _unused: A) => np.sum(v.mul(v)), { argnums: [0, 1] })(x, np.ones([2])) as A[];
    expectArray(g!, [2], "float32", [0, 0]);
    const text = makeJaxpr(grad((v: A, unused: A) => np.sum(v.mul(unused.sum())), { argnums: 0 }))(x, np.ones([2])).toString();
    expect(text).not.toMatch(/transpose/);
  });
});

describe("jvp, linearize, vjp", () => {
  it("jvp gives primal and tangent outputs as pytrees", () => {
    const [out, tangent] = jvp((p: { a: A; b: A }) => ({ s: p.a.mul(p.b) }), [{ a: x, b: np.array([1, 2, 3]) }], [{ a: np.ones([3]), b: np.zeros([3]) }]) as [{ s: A }, { s: A }];
    expectArray(out.s, [3], "float32", [0.5, -2, 6]);
    expectArray(tangent.s, [3], "float32", [1, 2, 3]);
    expect(() => jvp(f, [x], [np.ones([2])])).toThrow(ShapeError);
  });

  it("linearize evaluates the linear map without re-running f", () => {
    let calls = 0;
    const [y, lin] = linearize((v: A) => {
      calls++;
      return np.sin(v);
    }, x);
    expectArray(y as A, [3], "float32", xs.map(Math.sin), 1e-6);
    expectArray(lin(np.array([1, 2, 3])) as A, [3], "float32", xs.map((v, i) => Math.cos(v) * (i + 1)), 1e-6);
    lin(np.ones([3]));
    expect(calls).toBe(1);
  });

  it("vjp pulls back cotangents; integer inputs get zeros of their dtype", () => {
    const [y, pullback] = vjp((v: A, k: A) => np.sin(v).mul(k.astype("float32")), x, np.array([1, 2, 3], { dtype: "int32" }));
    expectArray(y as A, [3], "float32", xs.map((v, i) => Math.sin(v) * (i + 1)), 1e-6);
    const [cx, ck] = pullback(np.array([1, 1, 2])) as A[];
    expectArray(cx!, [3], "float32", xs.map((v, i) => Math.cos(v) * (i + 1) * [1, 1, 2][i]!), 1e-6);
    expectArray(ck!, [3], "int32", [0, 0, 0]);
    expect(() => pullback(np.ones([2]))).toThrow(/cotangent 0 has type f32\[2\], the output has f32\[3\]/);
  });
});

describe("Jacobians and Hessians", () => {
  const g = (v: A): A => np.stack([np.sin(v.at(0)).mul(v.at(1)), v.at(0).mul(v.at(0))]);
  const v = np.array([0.3, 2]);
  const J = [Math.cos(0.3) * 2, Math.sin(0.3), 0.6, 0];
  it("jacfwd and jacrev agree with the analytic Jacobian", () => {
    expectArray(jacfwd(g)(v), [2, 2], "float32", J, 1e-6);
    expectArray(jacrev(g)(v), [2, 2], "float32", J, 1e-6);
  });
  it("hessian of a scalar function", () => {
    const h = hessian((u: A) => np.sum(u.pow(3)).add(u.at(0).mul(u.at(1))))(v);
    expectClose(h.dataSync(), [6 * 0.3, 1, 1, 12], 1e-5, 1e-6);
    expect(h.shape).toEqual([2, 2]);
  });
});
