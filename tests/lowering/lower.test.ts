/** The jaxpr lowering: fusion measured by counting kernels, and `jit(f, {device: "cpu"})` against the interpreter. */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";
import { LoweringError, lowerJaxpr } from "../../src/lowering/lower.js";
import { randomArray, rng } from "../util/random.js";

type A = JaxArray;
const next = rng(5);
const kernels = (f: (...args: never[]) => unknown, ...args: unknown[]): number => lowerJaxpr(makeJaxpr(f)(...args)).steps.length;

describe("fusion", () => {
  const x = randomArray(next, [64]);

  it("an 8-op elementwise chain on one input is one kernel", () => {
    const chain = (v: A) => np.maximum(np.exp(v.mul(2).add(1).neg()).mul(3).sub(0.5).div(2), 0);
    expect(makeJaxpr(chain)(x).jaxpr.eqns.length).toBe(8);
    expect(kernels(chain, x)).toBe(1);
  });

  it("sum(exp(x - max(x))) is at most two kernels", () => {
    expect(kernels((v: A) => np.sum(np.exp(v.sub(np.max(v)))), x)).toBeLessThanOrEqual(2);
  });

  it("relu(x @ w + b) is one matmul kernel with the epilogue fused", () => {
    const program = lowerJaxpr(makeJaxpr((a: A, w: A, b: A) => nn.relu(np.matmul(a, w).add(b)))(randomArray(next, [4, 8]), randomArray(next, [8, 3]), randomArray(next, [3])));
    expect(program.steps.length).toBe(1);
    expect(program.steps[0]!.kernel.body.some((s) => s.k === "for")).toBe(true);
  });

  it("names what it cannot lower yet", () => {
    const loop = (v: A) => lax.whileLoop((carry: A) => np.sum(carry).lt(100), (carry: A) => carry.mul(2), v);
    expect(() => lowerJaxpr(makeJaxpr(loop)(x))).toThrow(/the primitive 'while' is not supported by the kernel lowering yet/);
    expect(() => lowerJaxpr(makeJaxpr((v: A) => v.add(1))(x.astype("float64")))).toThrow(LoweringError);
    expect(() => lowerJaxpr(makeJaxpr((v: A) => v.add(1))(x.astype("float64")))).toThrow(/dtype float64 is not supported/);
  });
});
