/** The jaxpr lowering: fusion measured by counting kernels, and `jit(f, {device: "cpu"})` against the interpreter. */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, devices, grad, jit, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";
import { LoweringError, lowerJaxpr } from "../../src/lowering/lower.js";
import { expectClose } from "../util/assert.js";
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
    expect(() => lowerJaxpr(makeJaxpr((v: A) => lax.sort(v))(x))).toThrow(/the primitive 'sort' is not supported by the kernel lowering yet/);
    expect(() => lowerJaxpr(makeJaxpr((v: A) => v.add(1))(x.astype("bfloat16")))).toThrow(LoweringError);
    expect(() => lowerJaxpr(makeJaxpr((v: A) => v.add(1))(x.astype("bfloat16")))).toThrow(/dtype bfloat16 is not supported/);
  });
});

describe("jit on the cpu device matches the reference interpreter", () => {
  it("lists the devices", () => {
    expect(devices()).toEqual(expect.arrayContaining(["interpreter", "cpu"]));
  });

  const programs: [string, (...args: A[]) => unknown, A[]][] = [
    ["elementwise with broadcasting and ints", (a: A, b: A) => [a.mul(b).add(np.arange(4)).astype("int32").mul(3), a.gt(b)], [randomArray(next, [3, 4], "float32", 5), randomArray(next, [4], "float32", 5)]],
    ["reductions over several axes", (a: A) => [np.sum(a, { axis: [0, 2] }), np.max(a, { axis: 1, keepdims: true }), np.min(a)], [randomArray(next, [2, 3, 4])]],
    ["dot_general with batch and contracting dims", (a: A, b: A) => lax.dotGeneral(a, b, [[[2, 1], [0, 2]], [[0], [1]]]), [randomArray(next, [2, 3, 4]), randomArray(next, [4, 2, 3])]],
    ["transpose, reshape, slice, rev", (a: A) => a.T.reshape([4, 6]).at("1:3", "::-2"), [randomArray(next, [2, 3, 4])]],
    ["softmax", (a: A) => nn.softmax(a), [randomArray(next, [3, 5])]],
  ];
  for (const [name, f, args] of programs) {
    it(name, () => {
      const expected = jit(f)(...args) as A | A[];
      const actual = jit(f, { device: "cpu" })(...args) as A | A[];
      const [es, as] = [[expected].flat(), [actual].flat()];
      as.forEach((a, i) => {
        expect(a.shape).toEqual(es[i]!.shape);
        expect(a.dtype).toBe(es[i]!.dtype);
        expectClose(a.dataSync(), es[i]!.dataSync(), 2e-6, 1e-6);
      });
    });
  }

  it("forward and backward of an MLP", () => {
    const loss = (w1: A, w2: A, data: A, y: A) => np.mean(np.sum(nn.logSoftmax(np.matmul(nn.relu(np.matmul(data, w1)), w2)).mul(y), { axis: 1 }).neg());
    const args = [randomArray(next, [4, 8], "float32", 0.5), randomArray(next, [8, 3], "float32", 0.5), randomArray(next, [5, 4]), nn.oneHot(np.array([0, 1, 2, 1, 0], { dtype: "int32" }), 3)];
    const g = grad(loss, { argnums: [0, 1] });
    const expected = jit(g)(...args) as A[];
    const actual = jit(g, { device: "cpu" })(...args) as A[];
    actual.forEach((a, i) => expectClose(a.dataSync(), expected[i]!.dataSync(), 1e-5, 1e-6));
  });
});
