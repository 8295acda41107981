import { describe, expect, it } from "vitest";
import { type Array as JaxArray, ShapeError, jit, lax, makeJaxpr, numpy as np } from "../../src/index.js";
import { expectArray } from "../util/assert.js";

type A = JaxArray;

describe("cond and switch", () => {
  const f = (p: A | boolean, x: A) => lax.cond(p, (v: A) => v.mul(2), (v: A) => v.neg(), x) as A;

  it("selects a branch eagerly and under jit with a traced predicate", () => {
    const x = np.array([1, -2]);
    expectArray(f(true, x), [2], "float32", [2, -4]);
    expectArray(f(np.array(false), x), [2], "float32", [-1, 2]);
    const g = jit((p: A, v: A) => f(p, v));
    expectArray(g(np.array(true), x), [2], "float32", [2, -4]);
    expectArray(g(np.array(false), x), [2], "float32", [-1, 2]);
    expect(g.traceCount).toBe(1);
  });

  it("passes pytrees and closed-over constants through branches", () => {
    const c = np.array([10, 20]);
    const out = lax.cond(true, (d: { a: A; b: A }) => ({ s: d.a.add(c), t: d.b }), (d: { a: A; b: A }) => ({ s: d.b, t: d.a }), { a: np.array([1, 2]), b: np.array([3, 4]) }) as { s: A; t: A };
    expectArray(out.s, [2], "float32", [11, 22]);
    expectArray(out.t, [2], "float32", [3, 4]);
  });

  it("evaluates branches that close over different values", () => {
    const [a, b] = [np.array(2), np.array(10)];
    const f = (p: boolean) => lax.cond(p, (v: A) => v.mul(a), (v: A) => v.add(b), np.array(1)) as A;
    expectArray(f(true), [], "float32", [2]);
    expectArray(f(false), [], "float32", [11]);
    expectArray(jit((p: A) => lax.cond(p, (v: A) => v.mul(a), (v: A) => v.add(b), np.array(1)) as A)(np.array(false)), [], "float32", [11]);
  });

  it("switch clamps the index", () => {
    const branches = [(v: A) => v, (v: A) => v.add(1), (v: A) => v.mul(10)];
    const x = np.array([1, 2]);
    for (const [i, expected] of [[-3, [1, 2]], [1, [2, 3]], [2, [10, 20]], [7, [10, 20]]] as const) {
      expectArray(lax.switch(np.array(i, { dtype: "int32" }), branches, x) as A, [2], "float32", expected);
    }
  });

  it("rejects branches with different output types, naming both", () => {
    expect(() => lax.cond(true, (v: A) => v, (v: A) => v.sum(), np.array([1, 2]))).toThrow(/branch 1 returns \(f32\[2\]\), branch 0 returns \(f32\[\]\)/);
    expect(() => lax.cond(np.array([true, false]), (v: A) => v, (v: A) => v, np.array(1))).toThrow(ShapeError);
  });
});

describe("whileLoop and foriLoop", () => {
  it("loops until the condition fails, eagerly and under jit", () => {
    const f = (x: A) => lax.whileLoop((c: A) => c.lt(10), (c: A) => c.mul(2), x);
    expectArray(f(np.array(1, { dtype: "int32" })), [], "int32", [16]);
    expectArray(jit(f)(np.array(3, { dtype: "int32" })), [], "int32", [12]);
  });

  it("carries pytrees", () => {
    const [i, total] = lax.whileLoop(([k]: [A, A]) => k.lt(5), ([k, s]: [A, A]) => [k.add(1), s.add(k)] as [A, A], [np.array(0, { dtype: "int32" }), np.array(0, { dtype: "int32" })]);
    expectArray(i, [], "int32", [5]);
    expectArray(total, [], "int32", [10]);
  });

  it("rejects a body that changes the carry's type", () => {
    expect(() => lax.whileLoop((c: A) => c.lt(3), (c: A) => c.astype("float32"), np.array(0, { dtype: "int32" }))).toThrow(/bodyFun must return the carry's structure and types \(i32\[\]\), got \(f32\[\]\)/);
    expect(() => lax.whileLoop((c: A) => c, (c: A) => c, np.array(0, { dtype: "int32" }))).toThrow(/condFun must return a boolean scalar/);
  });

  it("foriLoop with number bounds is a scan, with traced bounds a while loop", () => {
    const sumTo = (n: A | number) => lax.foriLoop(0, n, (i: A, c: A) => c.add(i), np.array(0, { dtype: "int32" }));
    expectArray(sumTo(5), [], "int32", [10]);
    expect(makeJaxpr(() => sumTo(5))().toString()).toContain("scan[");
    const traced = jit((n: A) => sumTo(n));
    expectArray(traced(np.array(6, { dtype: "int32" })), [], "int32", [15]);
    expect(traced.lower(np.array(6, { dtype: "int32" })).toString()).toContain("while[");
  });
});

describe("scan", () => {
  it("carries state and stacks outputs, forward and reversed", () => {
    const xs = np.array([1, 2, 3, 4]);
    const step = (c: A, x: A): [A, A] => [c.add(x), c.mul(x)];
    const [carry, ys] = lax.scan(step, np.array(0), xs);
    expectArray(carry, [], "float32", [10]);
    expectArray(ys, [4], "float32", [0, 2, 9, 24]);
    const [rc, rys] = lax.scan(step, np.array(0), xs, { reverse: true });
    expectArray(rc, [], "float32", [10]);
    expectArray(rys, [4], "float32", [9, 14, 12, 0]);
  });

  it("scans pytrees of xs with a pytree carry, and runs under jit", () => {
    const step = (c: { h: A }, x: { a: A; b: A }): [{ h: A }, A] => {
      const h = np.tanh(c.h.mul(0.5).add(x.a.mul(x.b)));
      return [{ h }, h.sum()];
    };
    const xs = { a: np.array([[1, 2], [3, 4], [5, 6]]), b: np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]) };
    const eager = lax.scan(step, { h: np.zeros([2]) }, xs);
    const jitted = jit((init: { h: A }, seq: typeof xs) => lax.scan(step, init, seq))({ h: np.zeros([2]) }, xs);
    // float64 reference of the same recurrence
    let h = [0, 0];
    const sums: number[] = [];
    for (let t = 0; t < 3; t++) {
      const a = [[1, 2], [3, 4], [5, 6]][t]!;
      const b = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]][t]!;
      h = h.map((v, k) => Math.tanh(v * 0.5 + a[k]! * b[k]!));
      sums.push(h[0]! + h[1]!);
    }
    expectArray(eager[0].h, [2], "float32", h, 1e-6);
    expectArray(eager[1], [3], "float32", sums, 1e-6);
    expect(Array.from(jitted[1].dataSync())).toEqual(Array.from(eager[1].dataSync()));
  });

  it("needs length when xs is null, and agreeing leading axes", () => {
    const [c, ys] = lax.scan((k: A, _x: null): [A, A] => [k.add(1), k], np.array(0, { dtype: "int32" }), null, { length: 3 });
    expectArray(c, [], "int32", [3]);
    expectArray(ys, [3], "int32", [0, 1, 2]);
    expect(() => lax.scan((k: A, x: A): [A, A] => [k, x], np.array(0), null)).toThrow(/pass length when xs is null/);
    expect(() => lax.scan((k: A, x: A[]): [A, A] => [k, x[0]!], np.array(0), [np.zeros([2]), np.zeros([3])])).toThrow(/must agree, got 2, 3/);
  });
});
