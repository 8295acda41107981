/**
 * vmap of the grouped products and of the MoE layer, on every gmm backend, against a per-example loop on the
 * same backend: per-example group sizes (empty groups, rows past every group), offsets, existingOut, transposed
 * weights, tgmm and ragged_dot; their gradients; a quantized backend; and the MoE layer over a leading batch.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, getGmmBackend, gmm, grad, jit, lax, makeJaxpr, moe, numpy as np, quant, tgmm, vmap } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { randomArray, rng } from "../util/random.js";
import { BACKENDS, runOn } from "../ops/gmm/backends.js";

const next = rng(4242);
const [B, M, K, N, G] = [3, 20, 8, 6, 4];
/** Per-example group sizes: an empty group, rows past every group, and every row used. */
const sizes = np.array(
  [
    [5, 0, 7, 4],
    [2, 9, 0, 9],
    [6, 6, 1, 3],
  ],
  { dtype: "int32" },
);
const lhs = randomArray(next, [B, M, K]);
const rhs = randomArray(next, [B, G, K, N]);
const existing = randomArray(next, [B, M, N]);

/** The batched function and its per-example loop, run on the backend's device; compared elementwise. */
async function expectLoop(backend: string, batched: (...xs: A[]) => A, example: (i: number, ...xs: A[]) => A, args: A[], tol = 2e-5): Promise<void> {
  const got = await runOn(backend, batched, ...args);
  const expected = await runOn(backend, (...xs: A[]) => np.stack(Array.from({ length: B }, (_, i) => example(i, ...xs)), 0), ...args);
  expect(got.shape).toEqual(expected.shape);
  expectClose(got.dataSync(), expected.dataSync(), tol, tol);
}

describe.each(BACKENDS)("vmap of gmm on the %s backend equals a loop", (backend) => {
  it("per-example rows and group sizes, shared weights (the MoE case)", async () => {
    const f = (x: A, s: A, w: A): A => gmm(x, w, s, { backend });
    await expectLoop(backend, (x, s, w) => vmap(f, { inAxes: [0, 0, null] })(x, s, w), (i, x, s, w) => f(x!.at(i), s!.at(i), w!), [lhs, sizes, rhs.at(0)]);
  });

  it("per-example weights too, transposed, with existingOut", async () => {
    const wt = np.transpose(rhs, [0, 1, 3, 2]);
    const f = (x: A, s: A, w: A, e: A): A => gmm(x, w, s, { backend, transposeRhs: true, existingOut: e });
    await expectLoop(backend, (x, s, w, e) => vmap(f)(x, s, w, e), (i, x, s, w, e) => f(x!.at(i), s!.at(i), w!.at(i), e!.at(i)), [lhs, sizes, wt, existing]);
  });

  it("only the rows batched (shared groups), with the batch axis last, and a per-example group offset", async () => {
    const xs = np.moveaxis(lhs, 0, 2);
    const f = (x: A, s: A, w: A): A => gmm(x, w, s, { backend });
    await expectLoop(backend, (x, s, w) => vmap(f, { inAxes: [2, null, null] })(x, s, w), (i, _x, s, w) => f(lhs.at(i), s!, w!), [xs, sizes.at(1), rhs.at(0).at(np.array([0, 1, 2], { dtype: "int32" }))]);
    const offsets = np.array([0, 1, 2], { dtype: "int32" });
    const g = (x: A, s: A, w: A, o: A): A => gmm(x, w, s, { backend, groupOffset: o });
    const w2 = rhs.at(0).at(np.array([0, 1], { dtype: "int32" }));
    await expectLoop(backend, (x, s, w, o) => vmap(g, { inAxes: [0, null, null, 0] })(x, s, w, o), (i, x, s, w, o) => g(x!.at(i), s!, w!, o!.at(i)), [lhs, sizes.at(2), w2, offsets]);
  });

  it("tgmm with per-example rows and group sizes, fewer computed groups, existingOut", async () => {
    const lt = np.transpose(lhs, [0, 2, 1]);
    const dout = randomArray(next, [B, M, N]);
    const acc = randomArray(next, [B, 3, K, N]);
    const f = (x: A, y: A, s: A, e: A): A => tgmm(x, y, s, { backend, numActualGroups: 3, existingOut: e });
    await expectLoop(backend, (x, y, s, e) => vmap(f)(x, y, s, e), (i, x, y, s, e) => f(x!.at(i), y!.at(i), s!.at(i), e!.at(i)), [lt, dout, sizes, acc]);
  });

  it("gradients: vmap(grad) and grad(vmap) of a gmm loss equal loops of grads", async () => {
    const ct = randomArray(next, [M, N]);
    const loss = (x: A, w: A, s: A): A => np.sum(np.tanh(gmm(x, w, s, { backend })).mul(ct));
    const w = rhs.at(0);
    await expectLoop(backend, (x, s, ww) => vmap(grad(loss), { inAxes: [0, null, 0] })(x, ww, s) as A, (i, x, s, ww) => grad(loss)(x!.at(i), ww!, s!.at(i)) as A, [lhs, sizes, w], 1e-4);
    const total = (ww: A, x: A, s: A): A => np.sum(vmap((xi: A, si: A) => loss(xi, ww, si))(x, s));
    const got = await runOn(backend, (ww, x, s) => grad(total)(ww, x, s) as A, w, lhs, sizes);
    const expected = await runOn(backend, (ww, x, s) => np.sum(np.stack([0, 1, 2].map((i) => grad(loss, { argnums: 1 })(x!.at(i), ww!, s!.at(i)) as A), 0), { axis: 0 }), w, lhs, sizes);
    expectClose(got.dataSync(), expected.dataSync(), 1e-4, 1e-4);
  });
});

describe("the ragged batch mode", () => {
  it("is one grouped product in the jaxpr, rows reordered by prefix sums, no per-example loop", () => {
    const text = makeJaxpr(vmap((x: A, s: A, w: A) => gmm(x, w, s), { inAxes: [0, 0, null] }))(lhs, sizes, rhs.at(0)).toString();
    expect(text.match(/= gmm\[/g)?.length).toBe(1);
    expect(text).toMatch(/= cumsum\[/);
    expect(text.match(/= scatter-add\[/g)?.length).toBe(1);
    expect(text).toMatch(/f32\[60,6\] = gmm\[/);
    expect(text).not.toMatch(/while|scan/);
  });

  it("checks each example's group sizes on its own when asked", () => {
    const bad = np.array([[5, 5, 5, 5], [9, 9, 9, 9], [1, 1, 1, 1]], { dtype: "int32" });
    const f = (x: A, s: A): A => gmm(x, rhs.at(0), s, { checkGroupSizes: true });
    expect(vmap(f)(lhs, sizes).shape).toEqual([B, M, N]);
    expect(() => vmap(f)(lhs, bad)).toThrow(/gmm: sum\(groupSizes\) is 36, more than the 20 rows/);
    const sharedSizes = np.array([6, 5, 5, 5], { dtype: "int32" });
    const run = (s: A): A => jit(vmap(f, { inAxes: [0, null] }), { device: "interpreter" })(lhs, s);
    expect(run(sizes.at(0)).shape).toEqual([B, M, N]);
    expect(() => run(sharedSizes)).toThrow(/gmm: sum\(groupSizes\) is 21, more than the 20 rows/);
  });

  it("ragged_dot with per-example group sizes equals a loop", () => {
    const f = (x: A, w: A, s: A): A => lax.raggedDot(x, w, s);
    const got = vmap(f, { inAxes: [0, null, 0] })(lhs, rhs.at(0), sizes);
    const expected = np.stack([0, 1, 2].map((i) => f(lhs.at(i), rhs.at(0), sizes.at(i))), 0);
    expectClose(got.dataSync(), expected.dataSync(), 1e-5, 1e-6);
  });

  it("a quantized backend under vmap equals a loop", () => {
    const backend = quant.quantized(getGmmBackend("reference"), { actQtype: "int8", weightQtype: "int8", bwdQtype: "int8" });
    const ct = randomArray(next, [M, N]);
    const loss = (x: A, s: A, w: A): A => np.sum(gmm(x, w, s, { backend }).mul(ct));
    const value = vmap(loss, { inAxes: [0, 0, null] })(lhs, sizes, rhs.at(0));
    expectClose(value.dataSync(), np.stack([0, 1, 2].map((i) => loss(lhs.at(i), sizes.at(i), rhs.at(0))), 0).dataSync(), 1e-5, 1e-5);
    const grads = vmap(grad(loss), { inAxes: [0, 0, null] })(lhs, sizes, rhs.at(0)) as A;
    expectClose(grads.dataSync(), np.stack([0, 1, 2].map((i) => grad(loss)(lhs.at(i), sizes.at(i), rhs.at(0)) as A), 0).dataSync(), 1e-5, 1e-5);
  });
});

describe.each(BACKENDS)("vmap of the MoE layer over a leading batch on the %s backend", (backend) => {
  const [T, D, F, E] = [12, 8, 10, 4];
  const p: moe.MoeParams = {
    gate: randomArray(next, [D, E]),
    w0: randomArray(next, [E, D, F], "float32", 0.5),
    w1: randomArray(next, [E, D, F], "float32", 0.5),
    wo: randomArray(next, [E, F, D], "float32", 0.5),
  };
  const xs = randomArray(next, [2, T, D]);
  const config: moe.MoeConfig = { numExperts: E, topK: 2, rowTile: 8, backend };
  const layer = (x: A, gate: A, w0: A, w1: A, wo: A): A => moe.moeLayer({ gate, w0, w1, wo }, x, config).out;

  it("matches a loop over the batch, forward and the parameters' gradients", async () => {
    const batched = (x: A, ...ws: A[]): A => vmap((xi: A) => layer(xi, ...(ws as [A, A, A, A])))(x);
    const looped = (x: A, ...ws: A[]): A => np.stack([0, 1].map((i) => layer(x.at(i), ...(ws as [A, A, A, A]))), 0);
    const args = [xs, p.gate, p.w0, p.w1, p.wo];
    const got = await runOn(backend, batched, ...args);
    expect(got.shape).toEqual([2, T, D]);
    expectClose(got.dataSync(), (await runOn(backend, looped, ...args)).dataSync(), 1e-4, 1e-5);
    const lossOf = (fn: (x: A, ...ws: A[]) => A) => (w0: A, x: A, gate: A, w1: A, wo: A): A => np.sum(np.tanh(fn(x, gate, w0, w1, wo)));
    const gBatched = await runOn(backend, (w0, x, gate, w1, wo) => grad(lossOf(batched))(w0, x, gate, w1, wo) as A, p.w0, xs, p.gate, p.w1, p.wo);
    const gLooped = await runOn(backend, (w0, x, gate, w1, wo) => grad(lossOf(looped))(w0, x, gate, w1, wo) as A, p.w0, xs, p.gate, p.w1, p.wo);
    expectClose(gBatched.dataSync(), gLooped.dataSync(), 1e-4, 1e-5);
  });
});

describe("quantization under vmap", () => {
  it("quantize and dequantize per example equal a loop (QArray outputs are pytrees)", () => {
    const xs = randomArray(next, [B, 6, 8]);
    const q = (x: A): quant.QArray => quant.quantize(x, { qtype: "int8", channelwiseAxes: [0] });
    const batched = vmap(q)(xs);
    const looped = [0, 1, 2].map((i) => q(xs.at(i)));
    expect(Array.from(batched.qvalue.dataSync())).toEqual(looped.flatMap((l) => Array.from(l.qvalue.dataSync())));
    expectClose(batched.scale.dataSync(), np.stack(looped.map((l) => l.scale), 0).dataSync(), 1e-7);
    const roundTrip = vmap((x: A) => quant.dequantize(q(x)))(xs);
    expectClose(roundTrip.dataSync(), np.stack(looped.map((l) => quant.dequantize(l)), 0).dataSync(), 1e-7);
  });
});

describe("ragged_dot_general's modes under vmap", () => {
  const stackOf = (f: (i: number) => A): A => np.stack([0, 1, 2].map(f), 0);
  const ragged = (dims: Parameters<typeof lax.raggedDotGeneral>[3]) => (x: A, w: A, s: A): A => lax.raggedDotGeneral(x, w, s, dims);
  const perBatch = np.array([[2, 3, 0], [1, 1, 3], [0, 5, 0]], { dtype: "int32" });

  it("ragged rows with a dot batch dim and group sizes per batch index [b, g]", () => {
    const f = ragged({ dotDimensionNumbers: [[[2], [2]], [[0], [0]]], lhsRaggedDimensions: [1], rhsGroupDimensions: [1] });
    const x = randomArray(next, [B, 2, 5, 4]);
    const w = randomArray(next, [B, 2, 3, 4, 6]);
    const s = np.stack([perBatch.at(np.array([0, 1], { dtype: "int32" })), perBatch.at(np.array([1, 2], { dtype: "int32" })), perBatch.at(np.array([2, 0], { dtype: "int32" }))], 0);
    for (const inAxes of [[0, 0, 0], [0, null, 0], [0, 0, null]] as const) {
      const got = vmap(f, { inAxes: [...inAxes] })(x, inAxes[1] === null ? w.at(0) : w, inAxes[2] === null ? s.at(1) : s);
      const want = stackOf((i) => f(x.at(i), inAxes[1] === null ? w.at(0) : w.at(i), inAxes[2] === null ? s.at(1) : s.at(i)));
      expectClose(got.dataSync(), want.dataSync(), 1e-5, 1e-6);
    }
  });

  it("a ragged contracting dim (tgmm's mode), each operand batched alone and with the group sizes", () => {
    const f = ragged({ dotDimensionNumbers: [[[1], [0]], [[], []]], lhsRaggedDimensions: [1], rhsGroupDimensions: [] });
    const x = randomArray(next, [B, 4, 5]);
    const y = randomArray(next, [B, 5, 6]);
    for (const inAxes of [[0, null, null], [null, 0, null], [0, 0, 0], [null, null, 0]] as const) {
      const pick = (a: A, k: number, i: number): A => (inAxes[k] === null ? a.at(0) : a.at(i));
      const args = [x, y, perBatch].map((a, k) => (inAxes[k] === null ? a.at(0) : a));
      const got = vmap(f, { inAxes: [...inAxes] })(...(args as [A, A, A]));
      const want = stackOf((i) => f(pick(x, 0, i), pick(y, 1, i), pick(perBatch, 2, i)));
      expect(got.shape).toEqual([B, 3, 4, 6]);
      expectClose(got.dataSync(), want.dataSync(), 1e-5, 1e-6);
    }
  });
});
