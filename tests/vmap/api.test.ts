/**
 * vmap's API with JAX's semantics: inAxes/outAxes as numbers, null or pytree prefixes; negative axes; axisSize;
 * JAX's errors for mismatched sizes, bad axes and prefixes that do not fit; and jaxprs that show batched
 * primitives rather than a loop.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, type Array as A, ShapeError, lax, makeJaxpr, numpy as np, vmap } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";

const next = rng(2024);
const x = randomArray(next, [3, 4]);
const y = randomArray(next, [4]);

/** Row `i` of each example computed by a plain loop, stacked: the oracle. */
const stackLoop = (n: number, f: (i: number) => A): A => np.stack(Array.from({ length: n }, (_, i) => f(i)), 0);

describe("inAxes and outAxes", () => {
  const f = (a: A, b: A): A => np.tanh(a).mul(b);

  it("maps axis 0 by default and leaves a null axis unmapped", () => {
    const expected = stackLoop(3, (i) => f(x.at(i), y));
    expectClose(vmap(f, { inAxes: [0, null] })(x, y).dataSync(), expected.dataSync());
  });

  it("maps any axis, negative axes count from the end", () => {
    const xt = np.transpose(x);
    const expected = stackLoop(3, (i) => f(x.at(i), y));
    expectClose(vmap(f, { inAxes: [1, null] })(xt, y).dataSync(), expected.dataSync());
    expectClose(vmap(f, { inAxes: [-1, null] })(xt, y).dataSync(), expected.dataSync());
  });

  it("places the mapped axis where outAxes says (negative: from the end), and broadcasts unmapped outputs", () => {
    const out = vmap(f, { inAxes: [0, null], outAxes: -1 })(x, y);
    expect(out.shape).toEqual([4, 3]);
    expectClose(out.dataSync(), np.transpose(stackLoop(3, (i) => f(x.at(i), y))).dataSync());
    const both = vmap((a: A) => [a.sum(), y], { outAxes: [0, 1] })(x) as A[];
    expect(both[1]!.shape).toEqual([4, 3]);
    expectClose(both[1]!.dataSync(), np.stack([y, y, y], 1).dataSync());
    const unmapped = vmap((a: A) => [a.sum(), y], { outAxes: [0, null] })(x) as A[];
    expect(unmapped[1]!.shape).toEqual([4]);
  });

  it("takes pytree prefixes of the arguments and outputs", () => {
    const g = (p: { w: A; b: A }, v: A): { out: A; norm: A } => ({ out: np.matmul(v, p.w).add(p.b), norm: np.sum(v.mul(v)) });
    const p = { w: randomArray(next, [4, 2]), b: randomArray(next, [5, 2]) };
    const result = vmap(g, { inAxes: [{ w: null, b: 0 }, 1], outAxes: { out: 1, norm: 0 } })(p, np.transpose(np.stack([x.at(0), x.at(1), x.at(2), x.at(0), x.at(1)], 0))) as { out: A; norm: A };
    const rows = [0, 1, 2, 0, 1];
    expect(result.out.shape).toEqual([2, 5]);
    expectClose(result.out.dataSync(), np.transpose(stackLoop(5, (i) => np.matmul(x.at(rows[i]!), p.w).add(p.b.at(i)))).dataSync(), 1e-6, 1e-7);
    expectClose(result.norm.dataSync(), stackLoop(5, (i) => np.sum(x.at(rows[i]!).mul(x.at(rows[i]!)))).dataSync(), 1e-6);
  });

  it("uses axisSize when no argument is mapped", () => {
    const out = vmap((a: A) => a.mul(2), { inAxes: null, axisSize: 4 })(y);
    expect(out.shape).toEqual([4, 4]);
    expectClose(out.dataSync(), np.stack([y, y, y, y], 0).mul(2).dataSync());
  });

  it("vmap of vmap maps two axes", () => {
    const z = randomArray(next, [2, 3, 4]);
    const inner = vmap((row: A) => np.sum(row.mul(row)).add(row.at(0)));
    const out = vmap(inner, { inAxes: 1, outAxes: 1 })(z);
    expect(out.shape).toEqual([2, 3]);
    const expected = np.stack([0, 1].map((a) => np.stack([0, 1, 2].map((b) => np.sum(z.at(a).at(b).mul(z.at(a).at(b))).add(z.at(a).at(b).at(0))), 0)), 0);
    expectClose(out.dataSync(), expected.dataSync(), 1e-6);
  });
});

describe("errors", () => {
  it("names the arguments and sizes of mismatched mapped axes (JAX's message)", () => {
    expect(() => vmap((a: A, b: A) => a.add(b))(x, randomArray(next, [5, 4]))).toThrow(ShapeError);
    expect(() => vmap((a: A, b: A) => a.add(b))(x, randomArray(next, [5, 4]))).toThrow(
      /vmap got inconsistent sizes for array axes to be mapped:\n {2}\* one axis had size 3: axis 0 of argument 0 of type f32\[3,4\];\n {2}\* one axis had size 5: axis 0 of argument 1 of type f32\[5,4\]/,
    );
    expect(() => vmap((a: A) => a, { axisSize: 2 })(x)).toThrow(/axisSize was given as 2/);
  });

  it("rejects an axis beyond the argument's rank", () => {
    expect(() => vmap((a: A) => a, { inAxes: 2 })(x)).toThrow(/vmap was requested to map its argument 0 along axis 2, which implies that its rank should be at least 3, but is only 2 \(its shape is \(3, 4\)\)/);
  });

  it("needs a mapped argument or axisSize", () => {
    expect(() => vmap((a: A) => a, { inAxes: null })(x)).toThrow(/vmap must have at least one non-None value in in_axes/);
  });

  it("rejects inAxes that are not a prefix of the arguments", () => {
    expect(() => vmap((a: A, b: A) => a.add(b), { inAxes: [0] })(x, x)).toThrow(/one entry per positional argument: got 1 entries for 2 arguments/);
    expect(() => vmap((p: { a: A }) => p.a, { inAxes: [{ b: 0 }] })({ a: x })).toThrow(ArgumentError);
    expect(() => vmap((p: { a: A }) => p.a, { inAxes: [{ b: 0 }] })({ a: x })).toThrow(/in_axes specification must be a tree prefix of the corresponding value/);
  });

  it("rejects axes that are not integers, and inAxes that are neither an axis nor a list", () => {
    expect(() => vmap((a: A) => a, { inAxes: 0.5 })(x)).toThrow(/vmap in_axes: axes must be integers or null, got 0.5/);
    expect(() => vmap((a: A) => a, { inAxes: { a: 0 } })(x)).toThrow(/vmap in_axes must be a number, null, or a list with one entry per positional argument/);
  });

  it("refuses out_axes None for a mapped output", () => {
    expect(() => vmap((a: A) => a.mul(2), { outAxes: null })(x)).toThrow(/vmap has mapped output \(output leaf 0\) but out_axes is None/);
  });
});

describe("jaxprs", () => {
  it("show batched primitives, not a per-example loop", () => {
    const w = randomArray(next, [4, 2]);
    const closed = makeJaxpr(vmap((v: A) => np.tanh(np.matmul(v, w)).sum()))(x);
    const text = closed.toString();
    expect(text).toMatch(/f32\[3,1,2\] = dot_general/);
    expect(text).toMatch(/f32\[3,2\] = tanh/);
    expect(text).not.toMatch(/while|scan/);
    expect(closed.jaxpr.eqns.length).toBeLessThan(6);
  });

  it("batch both dot operands as a dot batch dimension", () => {
    const closed = makeJaxpr(vmap((a: A, b: A) => lax.dotGeneral(a, b, [[[0], [0]], [[], []]])))(x, x);
    expect(closed.toString()).toMatch(/dimension_numbers=\(\(\[1\], \[1\]\), \(\[0\], \[0\]\)\)/);
  });
});
