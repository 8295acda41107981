/** The jaxpr lowering: fusion measured by counting kernels, and `jit(f, {device: "cpu"})` against the interpreter. */
import { describe, expect, it } from "vitest";
import { type Array as JaxArray, lax, makeJaxpr, nn, numpy as np } from "../../src/index.js";
import { ravelExpr, unravelExpr } from "../../src/lowering/index.js";
import { binary, c, gid, v } from "../../src/lowering/kernelIr.js";
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

describe("index arithmetic", () => {
  const i32 = (value: number) => c(value, "i32");

  it("ravels an unravelled position back to the flat expression, also in part and around size-1 dims", () => {
    expect(ravelExpr(unravelExpr(gid, [128, 512]), [128, 512])).toEqual(gid);
    expect(ravelExpr(unravelExpr(gid, [3, 1, 5, 7]), [3, 1, 5, 7])).toEqual(gid);
    // The inner two coordinates of a 3-d position: the position modulo their size.
    const [, j, k] = unravelExpr(gid, [4, 5, 6]);
    expect(ravelExpr([j!, k!], [5, 6])).toEqual(binary("rem", gid, i32(30)));
    // Other coordinates keep the sum of products.
    expect(ravelExpr([v("a", "i32"), v("b", "i32")], [4, 6])).toEqual(binary("add", binary("mul", v("a", "i32"), i32(6)), v("b", "i32")));
  });

  it("an elementwise kernel over a materialised 2-d value reads at the invocation index", () => {
    const closed = makeJaxpr((a: A) => nn.relu(a.mul(2)))(randomArray(next, [128, 512]));
    expect(JSON.stringify(lowerJaxpr(closed).steps[0]!.kernel.body)).not.toContain('"div"');
  });
});
