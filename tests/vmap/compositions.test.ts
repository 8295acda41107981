/**
 * vmap composed with the other transformations, each against a per-example loop: jit(vmap), vmap(jit),
 * per-example gradients vmap(grad) of the autodiff issue's MLP (eagerly and under jit on the cpu and webgpu
 * devices), grad(vmap), vmap(vmap(grad)), jvp(vmap) and vmap(jvp), custom_vjp/custom_jvp in both orders,
 * control flow under vmap and grad, and Jacobians built on vmap.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, customJvp, customVjp, grad, jacfwd, jacrev, jit, jvp, lax, makeJaxpr, nn, numpy as np, vmap } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { webgpuDevice } from "../util/webgpu.js";

const next = rng(99);
const gpu = await webgpuDevice();

/** `f(i)` for each example, stacked along a new leading axis (for pytrees of arrays: leaf by leaf). */
function loop<T>(n: number, f: (i: number) => T): T {
  const results = Array.from({ length: n }, (_, i) => f(i));
  const first = results[0] as unknown;
  if (first && typeof first === "object" && !("shape" in first)) {
    return Object.fromEntries(Object.keys(first).map((k) => [k, np.stack(results.map((r) => (r as Record<string, A>)[k]!), 0)])) as T;
  }
  return np.stack(results as A[], 0) as T;
}

const close = async (actual: A, expected: A, rtol = 1e-5, atol = 1e-6): Promise<void> => {
  expect(actual.shape).toEqual(expected.shape);
  expectClose(await actual.data(), await expected.data(), rtol, atol);
};

describe("per-example gradients of the MLP", () => {
  const params = { w1: randomArray(next, [4, 5], "float32", 0.5), b1: randomArray(next, [5]), w2: randomArray(next, [5, 3], "float32", 0.5) };
  const x = randomArray(next, [6, 4]);
  const labels = nn.oneHot(np.array([0, 2, 1, 1, 0, 2], { dtype: "int32" }), 3);
  type P = typeof params;
  const exampleLoss = (p: P, data: A, y: A): A => {
    const h = np.tanh(np.matmul(data, p.w1).add(p.b1));
    return np.sum(nn.logSoftmax(np.matmul(h, p.w2)).mul(y)).neg();
  };
  const perExample = vmap(grad(exampleLoss), { inAxes: [null, 0, 0] });
  const expected = loop(6, (i) => grad(exampleLoss)(params, x.at(i), labels.at(i)) as P);

  it("vmap(grad) matches a loop of grads, eagerly", async () => {
    const got = perExample(params, x, labels) as P;
    for (const k of ["w1", "b1", "w2"] as const) await close(got[k], expected[k]);
  });

  it.each(["interpreter", "cpu", ...(gpu ? ["webgpu"] : [])])("jit(vmap(grad)) on the %s device matches the loop", async (device) => {
    const got = jit(perExample, { device })(params, x, labels) as P;
    for (const k of ["w1", "b1", "w2"] as const) await close(got[k], expected[k], 1e-4, 1e-5);
  });

  it("their mean is the gradient of the mean loss (grad(vmap))", async () => {
    const meanLoss = (p: P): A => np.mean(vmap(exampleLoss, { inAxes: [null, 0, 0] })(p, x, labels));
    const g = grad(meanLoss)(params) as P;
    for (const k of ["w1", "b1", "w2"] as const) await close(g[k], np.mean(expected[k], { axis: 0 }), 1e-5, 1e-6);
  });

  it("vmap(vmap(grad)) over two batch axes", async () => {
    const xs = np.reshape(x, [2, 3, 4]);
    const ys = np.reshape(labels, [2, 3, 3]);
    const nested = vmap(vmap(grad(exampleLoss), { inAxes: [null, 0, 0] }), { inAxes: [null, 0, 0] })(params, xs, ys) as P;
    expect(nested.w1.shape).toEqual([2, 3, 4, 5]);
    await close(np.reshape(nested.w1, [6, 4, 5]), expected.w1);
  });
});

describe("jit and vmap", () => {
  const f = (v: A): A => np.sum(np.sin(v).mul(v));
  const xs = randomArray(next, [5, 7]);

  it("vmap of a jitted function stays one jit call, compiled once for repeated calls", async () => {
    const jf = jit(f);
    const mapped = vmap(jf);
    await close(mapped(xs), loop(5, (i) => f(xs.at(i))));
    const text = makeJaxpr(mapped)(xs).toString();
    expect(text.match(/= jit\[/g)?.length).toBe(1);
    expect(text).toMatch(/f32\[5\] = reduce_sum/);
    await close(mapped(xs.mul(2)), loop(5, (i) => f(xs.at(i).mul(2))));
    expect(jf.traceCount).toBe(1);
  });

  it("jit of vmap", async () => {
    await close(jit(vmap(f))(xs), loop(5, (i) => f(xs.at(i))));
  });
});

describe("forward mode", () => {
  const f = (v: A): A => np.tanh(v).mul(np.cos(v));
  const xs = randomArray(next, [4, 3]);
  const ts = randomArray(next, [4, 3]);

  it("vmap(jvp) and jvp(vmap) equal a loop of jvps", async () => {
    const expected = loop(4, (i) => jvp(f, [xs.at(i)], [ts.at(i)])[1] as A);
    await close(vmap((x: A, t: A) => jvp(f, [x], [t])[1] as A)(xs, ts), expected);
    await close(jvp(vmap(f), [xs], [ts])[1] as A, expected);
  });

  it("jacfwd and jacrev are vmaps over the basis: one batched product, not one per basis vector", () => {
    const w = randomArray(next, [3, 6]);
    const g = (v: A): A => np.tanh(np.matmul(v, w));
    const v = randomArray(next, [3]);
    const fwd = jacfwd(g)(v);
    const rev = jacrev(g)(v);
    expect(fwd.shape).toEqual([6, 3]);
    expectClose(fwd.dataSync(), rev.dataSync(), 1e-5, 1e-6);
    const dots = (closed: { toString(): string }): number => closed.toString().match(/dot_general/g)?.length ?? 0;
    expect(dots(makeJaxpr(jacrev(g))(v))).toBeLessThanOrEqual(3);
    expect(dots(makeJaxpr(jacfwd(g))(v))).toBeLessThanOrEqual(3);
  });
});

describe("custom_vjp and custom_jvp under vmap", () => {
  let bwdCalls = 0;
  const clippedSin = customVjp((x: A, scale: A) => np.sin(x).mul(scale)).defvjp(
    (x: A, scale: A) => [np.sin(x).mul(scale), [x, scale]],
    ([x, scale]: A[], g: A) => {
      bwdCalls++;
      return [lax.clamp(-1, g.mul(np.cos(x!)).mul(scale!), 1), g.mul(np.sin(x!))];
    },
  );
  const xs = randomArray(next, [4, 3], "float32", 2);
  const scale = randomArray(next, [3]);
  const loss = (x: A, s: A): A => np.sum(clippedSin(x, s));
  const expectedX = loop(4, (i) => grad(loss)(xs.at(i), scale) as A);
  const expectedScale = loop(4, (i) => grad(loss, { argnums: 1 })(xs.at(i), scale) as A);

  it("vmap(grad) runs the user's bwd per example, batched", async () => {
    await close(vmap(grad(loss), { inAxes: [0, null] })(xs, scale) as A, expectedX);
  });

  it("grad(vmap) runs the user's bwd once on the whole batch; an unmapped argument's cotangent sums over it", async () => {
    bwdCalls = 0;
    const batchLoss = (x: A, s: A): A => np.sum(vmap(clippedSin, { inAxes: [0, null] })(x, s));
    const [gx, gs] = grad(batchLoss, { argnums: [0, 1] })(xs, scale) as A[];
    expect(bwdCalls).toBe(1);
    await close(gx!, expectedX);
    await close(gs!, np.sum(expectedScale, { axis: 0 }));
  });

  it("custom_jvp: vmap(jvp) and jvp(vmap) use the rule", async () => {
    const cube = customJvp((x: A) => x.mul(x).mul(x)).defjvp(([x]: A[], [t]: A[]) => [x!.mul(x!).mul(x!), t!.mul(x!.mul(x!)).mul(4)]);
    const ts = randomArray(next, [4, 3]);
    const expected = loop(4, (i) => jvp(cube, [xs.at(i)], [ts.at(i)])[1] as A);
    await close(expected, xs.mul(xs).mul(ts).mul(4));
    await close(vmap((x: A, t: A) => jvp(cube, [x], [t])[1] as A)(xs, ts), expected);
    await close(jvp(vmap(cube), [xs], [ts])[1] as A, expected);
  });

  it("a custom_vjp function closing over a batched value is refused with a clear error", () => {
    const f = (x: A, s: A): A => customVjp((v: A) => v.mul(s)).defvjp((v: A) => [v.mul(s), v], (_r: A, g: A) => [g.mul(s)])(x);
    expect(() => vmap(f)(xs, xs)).toThrow(/customVjp\(<lambda>\) under vmap: the function closes over a batched value; pass that value as an argument instead/);
  });
});

describe("control flow under vmap and grad", () => {
  const xs = randomArray(next, [4, 3]);

  it("a batched cond predicate selects per example, and differentiates", async () => {
    const f = (x: A): A => lax.cond(np.sum(x).gt(0), (v: A) => np.sin(v).sum(), (v: A) => v.mul(v).sum(), x) as A;
    await close(vmap(f)(xs), loop(4, (i) => f(xs.at(i))));
    await close(vmap(grad(f))(xs) as A, loop(4, (i) => grad(f)(xs.at(i)) as A));
  });

  it("a while loop with per-example trip counts", async () => {
    // Collatz steps: a different trip count for every example.
    const step = ([n, count]: [A, A]): [A, A] => [lax.select(lax.rem(n, 2).eq(0), lax.div(n, 2), n.mul(3).add(1)), count.add(1)];
    const steps = (n: A): A => (lax.whileLoop((c: [A, A]) => c[0].gt(1), step, [n, np.array(0, { dtype: "int32" })]) as A[])[1]!;
    const ns = np.array([6, 7, 1, 27], { dtype: "int32" });
    expect(Array.from(vmap(steps)(ns).dataSync())).toEqual([8, 16, 0, 111]);
  });

  it("scan over batched xs and carry, with its gradient", async () => {
    const seqs = randomArray(next, [4, 5, 3]);
    const run = (h0: A, seq: A): A => np.sum((lax.scan((h: A, x: A) => { const n = np.tanh(h.add(x)); return [n, n.mul(2)]; }, h0, seq) as [A, A])[1]);
    await close(vmap(run)(xs, seqs), loop(4, (i) => run(xs.at(i), seqs.at(i))));
    await close(vmap(grad(run))(xs, seqs) as A, loop(4, (i) => grad(run)(xs.at(i), seqs.at(i)) as A));
    await close(vmap(run, { inAxes: [null, 0] })(xs.at(0), seqs), loop(4, (i) => run(xs.at(0), seqs.at(i))));
  });
});
