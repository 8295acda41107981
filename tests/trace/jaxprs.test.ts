/**
 * Printed jaxprs of TypeScript programs against the golden text real JAX printed for the same programs
 * (scripts/gen_jaxprs.py). Documented differences: jnp functions that JAX wraps in an inner jit (where,
 * clip, cumsum, take) are compared with JAX's jaxpr under disable_jit, since wgjax's numpy stages them inline.
 * The grad_* programs check that derivatives are ordinary equations, as JAX's are (add_any included).
 */
import { describe, expect, it } from "vitest";
import golden from "../fixtures/jaxprs.json" with { type: "json" };
import { type Array as JaxArray, checkJaxpr, grad, jit, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";

type A = JaxArray;
const f32 = (...shape: number[]) => np.zeros(shape);
const i32 = (...shape: number[]) => np.zeros(shape, { dtype: "int32" });

function double(y: A): A {
  return y.mul(2);
}
const CONST = np.arange(3).astype("float32");

const PROGRAMS: Record<string, [(...args: never[]) => unknown, unknown[]]> = {
  sin_mul: [(x: A) => np.sin(x).mul(2.0), [f32(3)]],
  add_broadcast: [(x: A, y: A) => x.add(y), [f32(3), f32(2, 1)]],
  weak_int_literal: [(x: A) => x.astype("int8").add(3), [f32(3)]],
  sum_axis0: [(x: A) => np.sum(x, { axis: 0 }), [f32(2, 3)]],
  max_keepdims: [(x: A) => np.max(x, { axis: 1, keepdims: true }), [f32(2, 3)]],
  mean: [(x: A) => np.mean(x), [f32(4)]],
  dot: [(a: A, b: A) => np.dot(a, b), [f32(2, 3), f32(3, 4)]],
  matmul_batched: [(a: A, b: A) => np.matmul(a, b), [f32(2, 3, 4), f32(2, 4, 5)]],
  dot_general: [(a: A, b: A) => lax.dotGeneral(a, b, [[[0], [1]], [[], []]]), [f32(3, 2), f32(4, 3)]],
  nested_jit: [(x: A) => jit(double)(x).add(1.0), [f32(3)]],
  cond: [(p: A, x: A) => lax.cond(p, (v: A) => v.add(1.0), (v: A) => v.sub(1.0), x), [np.array(true), f32(3)]],
  while: [(x: A) => lax.whileLoop((c: A) => c.lt(10), (c: A) => c.add(1), x), [i32()]],
  fori: [(x: A) => lax.foriLoop(0, 5, (i: A, c: A) => c.add(i), x), [i32()]],
  scan: [(xs: A) => lax.scan((c: A, x: A) => [c.add(x), c.mul(x)], np.array(0), xs), [f32(5)]],
  pytree: [(d: { a: A; b: A }) => ({ s: d.a.add(d.b), p: d.a.mul(d.b) }), [{ a: f32(2), b: f32(2) }]],
  softmax: [(x: A) => nn.softmax(x), [f32(2, 3)]],
  where: [(x: A) => np.where(x.gt(0), x, 0.0), [f32(3)]],
  astype_bf16: [(x: A) => x.astype("bfloat16"), [f32(3)]],
  transpose_reshape: [(x: A) => x.T.reshape(-1), [f32(2, 3)]],
  concatenate: [(x: A, y: A) => np.concatenate([x, y]), [f32(2), f32(3)]],
  argmax: [(x: A) => np.argmax(x, { axis: 1 }), [f32(2, 3)]],
  cumsum: [(x: A) => np.cumsum(x), [f32(4)]],
  arange_add: [(x: A) => x.add(np.arange(3)), [f32(3)]],
  zeros_add: [(x: A) => x.add(np.zeros(3)), [f32(3)]],
  closure_const: [(x: A) => x.add(CONST), [f32(3)]],
  integer_pow: [(x: A) => x.pow(2).add(x.pow(3)), [f32(3)]],
  clip: [(x: A) => np.clip(x, 0.0, 1.0), [f32(3)]],
  top_k: [(x: A) => lax.topK(x, 2), [f32(5)]],
  switch: [(i: A, x: A) => lax.switch(i, [(v: A) => v, (v: A) => v.mul(2.0), (v: A) => v.neg()], x), [i32(), f32(3)]],
  take: [(x: A, idx: A) => np.take(x, idx, { axis: 0 }), [f32(4, 3), i32(2)]],
  exp_literal: [(x: A) => x.add(np.exp(1.5)), [f32(3)]],
  weak_scalar_arg: [(x: A, s: A) => x.mul(s), [f32(3), 2.5]],
  grad_sin_mul: [grad((x: A) => np.sum(np.sin(x).mul(x))), [f32(3)]],
  grad_exp_sum: [grad((x: A) => np.exp(x).sum()), [f32(3)]],
  grad_tanh_matmul: [grad((w: A, x: A) => np.sum(np.tanh(np.matmul(x, w)))), [f32(3, 2), f32(4, 3)]],
};

describe("jaxprs print as JAX prints them", () => {
  it("covers every golden program", () => {
    expect(Object.keys(PROGRAMS).sort()).toEqual(Object.keys(golden).filter((k) => k !== "meta").sort());
  });
  for (const [name, [f, args]] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const closed = makeJaxpr(f)(...args);
      checkJaxpr(closed.jaxpr);
      const expected = (golden as Record<string, unknown>)[name] as string;
      expect(closed.toString()).toBe(expected);
    });
  }
});
