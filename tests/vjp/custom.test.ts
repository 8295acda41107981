import { describe, expect, it } from "vitest";
import { type Array as JaxArray, checkGrads, customJvp, customVjp, grad, jit, jvp, makeJaxpr, nn, numpy as np, vjp } from "../../src/index.js";
import { expectArray } from "../util/assert.js";

type A = JaxArray;

describe("customVjp", () => {
  const clipGradient = customVjp(function clipGradient(x: A) {
    return x;
  }).defvjp(
    function fwd(x: A) {
      return [x, null];
    },
    function bwd(_res: null, g: A) {
      return [np.clip(g, -1, 1)];
    },
  );

  it("gradient clipping: the value is the identity, the gradient is clipped", () => {
    const f = (x: A) => np.sum(clipGradient(x).mul(np.array([0.5, 3, -4])));
    expectArray(clipGradient(np.array([2, 3])), [2], "float32", [2, 3]);
    expectArray(grad(f)(np.array([1, 1, 1])) as A, [3], "float32", [0.5, 1, -1]);
    expectArray(jit(grad(f))(np.array([1, 1, 1])) as A, [3], "float32", [0.5, 1, -1]);
  });

  it("appears in a jaxpr as one custom_vjp_call equation", () => {
    expect(makeJaxpr((x: A) => clipGradient(np.sin(x)))(np.zeros([3])).toString()).toBe(
      "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n    c:f32[3] = custom_vjp_call[\n      name=clipGradient\n      bwd=bwd\n      call_jaxpr={ lambda ; d:f32[3]. let  in (d,) }\n      fwd=fwd\n      symbolic_zeros=False\n    ] b\n  in (c,) }",
    );
  });

  it("a numerically stable log1pexp, with a pytree residual", () => {
    const log1pexp = customVjp(function log1pexp(x: A) {
      return np.log1p(np.exp(x));
    }).defvjp(
      (x: A) => [np.log1p(np.exp(x)), { s: nn.sigmoid(x), x }],
      (res: { s: A; x: A }, g: A) => [g.mul(res.s)],
    );
    const g = grad((x: A) => np.sum(log1pexp(x)))(np.array([100, 0, -5])) as A;
    expectArray(g, [3], "float32", [1, 0.5, 1 / (1 + Math.exp(5))], 1e-6);
    checkGrads((x: A) => log1pexp(x), [np.array([0.3, -1.2])], { order: 1, modes: ["rev"] });
  });

  it("nondiffArgnums are static and reach bwd first", () => {
    const scaleGrad = customVjp((x: A, _factor: number) => x.mul(1), { nondiffArgnums: [1] }).defvjp(
      (x: A) => [x, null],
      (factor: number, _res: null, g: A) => [g.mul(factor)],
    );
    expectArray(grad((x: A) => np.sum(scaleGrad(x, 3)))(np.ones([2])) as A, [2], "float32", [3, 3]);
    expect(() => jit((x: A, k: A) => scaleGrad(x, k as never))(np.ones([2]), np.array(2))).toThrow(/argument 1 is in nondiffArgnums but is a traced value/);
  });

  it("raises JAX's error under jvp, and names both sides when bwd returns the wrong cotangents", () => {
    expect(() => jvp(clipGradient, [np.zeros([3])], [np.ones([3])])).toThrow("can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
    const wrongCount = customVjp((x: A, y: A) => x.mul(y)).defvjp((x: A, y: A) => [x.mul(y), [x, y]], (_r: unknown, g: A) => [g]);
    expect(() => vjp(wrongCount, np.ones([2]), np.ones([2]))[1](np.ones([2]))).toThrow(/bwd must return a list of 2 cotangents \(one per differentiable argument\), got 1 cotangents/);
    const wrongShape = customVjp((x: A) => x.sum()).defvjp((x: A) => [x.sum(), null], (_r: null, g: A) => [g]);
    expect(() => grad(wrongShape)(np.ones([3]))).toThrow(/bwd's cotangent 0 is f32\[\], but argument 0 is f32\[3\]/);
  });
});

describe("customJvp", () => {
  const log1pexp = customJvp(function log1pexp(x: A) {
    return np.log1p(np.exp(x));
  }).defjvp(function jvpRule([x]: A[], [t]: A[]) {
    return [log1pexp(x!), t!.mul(nn.sigmoid(x!))];
  });

  it("uses the rule for jvp and grad (stable at large x), and prints as custom_jvp_call", () => {
    const [, t] = jvp(log1pexp, [np.array([100, 0])], [np.ones([2])]) as [A, A];
    expectArray(t, [2], "float32", [1, 0.5]);
    expectArray(grad((x: A) => np.sum(log1pexp(x)))(np.array([100, -3])) as A, [2], "float32", [1, 1 / (1 + Math.exp(3))], 1e-6);
    expect(makeJaxpr(log1pexp)(np.zeros([2])).toString()).toMatch(/custom_jvp_call\[\n\s+name=log1pexp\n\s+call_jaxpr=\{ lambda ; c:f32\[2\]\. let\n[^]*jvp=jvpRule\n\s+symbolic_zeros=False/);
    checkGrads((x: A) => log1pexp(x), [np.array([0.5, -2])], { order: 1 });
  });
});
