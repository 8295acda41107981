/**
 * Differentiation of gmm and tgmm: checkGrads (float64 finite differences, first and second order) wrt lhs,
 * rhs and existingOut on every backend, with and without transposeRhs and groupOffset; the megablox VJP
 * against JAX's; the existingOut cotangent masked to inactive rows; gradients through jit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Array as A, checkGrads, gmm, grad, jit, jvp, lax, numpy as np, tgmm, vjp } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { BACKENDS, gpu, runOn } from "./backends.js";
import { rowGroups } from "./oracle.js";

const next = rng(62);
const sizes = (values: number[]): A => np.array(values, { dtype: "int32" });
const f64 = (shape: number[]): A => randomArray(next, shape, "float64");

const VARIANTS = [
  { name: "plain", transposeRhs: false, groupOffset: 0, groups: 3 },
  { name: "transposeRhs", transposeRhs: true, groupOffset: 0, groups: 3 },
  { name: "groupOffset", transposeRhs: false, groupOffset: 1, groups: 2 },
  { name: "transposeRhs and groupOffset", transposeRhs: true, groupOffset: 1, groups: 2 },
];
// Rows 0-1 group 0, row 2 group 1, rows 3-5 group 2, rows 6-7 in no group.
const groupSizes = sizes([2, 1, 3]);

/**
 * `f` as checkGrads sees it on a backend: on the cpu backend, jitted on the cpu device in float32 (kernels have
 * no float64, and the cpu device would run a float64 program on the interpreter), converted from and to float64
 * outside; gmm and tgmm are bilinear, so a large step keeps the finite differences exact up to float32 rounding.
 * (checkGrads reads results synchronously, which WebGPU cannot: the wgsl backend's derivatives are checked on
 * its device against the reference backend's below.)
 */
function onDevice(backend: string, f: (...xs: A[]) => A): { f: (...xs: A[]) => A; options: { order: number; eps?: number; atol?: number; rtol?: number } } {
  if (backend !== "cpu") return { f, options: { order: 2 } };
  const jitted = jit(f, { device: "cpu" });
  return { f: (...xs: A[]) => lax.convertElementType(jitted(...xs.map((x) => lax.convertElementType(x, "float32"))), "float64"), options: { order: 2, eps: 0.5, atol: 1e-3, rtol: 1e-3 } };
}

const checkedBackends = BACKENDS.filter((b) => b !== "wgsl");
type Product = (backend: string, transposeRhs: boolean, groupOffset: number, groups: number) => (lhs: A, rhs: A, existingOut: A) => A;
const PRODUCTS: [string, Product, (transposeRhs: boolean, groups: number) => number[][]][] = [
  ["gmm", (backend, transposeRhs, groupOffset) => (lhs, rhs, existingOut) => gmm(lhs, rhs, groupSizes, { backend, transposeRhs, groupOffset, existingOut }), (t, g) => [[8, 3], t ? [g, 2, 3] : [g, 3, 2], [8, 2]]],
  ["tgmm", (backend, _t, groupOffset, groups) => (lhs, rhs, existingOut) => tgmm(lhs, rhs, groupSizes, { backend, groupOffset, numActualGroups: groups, existingOut }), (_t, g) => [[3, 8], [8, 2], [g, 3, 2]]],
];

describe.each(checkedBackends)("checkGrads on the %s backend", (backend) => {
  describe.each(PRODUCTS)("%s wrt lhs, rhs and existingOut", (_name, product, shapes) => {
    it.each(VARIANTS)("$name", ({ transposeRhs, groupOffset, groups }) => {
      const { f, options } = onDevice(backend, product(backend, transposeRhs, groupOffset, groups));
      checkGrads(f, shapes(transposeRhs, groups).map(f64), options);
    });
  });
});

describe.runIf(gpu).each(PRODUCTS)("%s derivatives wrt lhs, rhs and existingOut on the wgsl backend (webgpu) equal the checked reference ones", (_name, product, shapes) => {
  it.each(VARIANTS)("$name", async ({ transposeRhs, groupOffset, groups }) => {
    const derivatives = (backend: string) => (...xs: A[]): A[] => {
      const f = product(backend, transposeRhs, groupOffset, groups);
      const [primals, tangents, cotangent] = [xs.slice(0, 3), xs.slice(3, 6), xs[6]!];
      const [, tangentOut] = jvp(f, primals, tangents);
      return [tangentOut as A, ...(vjp(f, ...primals)[1](cotangent) as A[])];
    };
    const operands = shapes(transposeRhs, groups);
    const args = [...operands, ...operands].map((shape) => randomArray(next, shape));
    args.push(randomArray(next, product("reference", transposeRhs, groupOffset, groups)(args[0]!, args[1]!, args[2]!).shape));
    const expected = derivatives("reference")(...args);
    const actual = await runOn("wgsl", derivatives("wgsl"), ...args);
    actual.forEach((x, i) => expectClose(x.dataSync(), expected[i]!.dataSync(), 1e-5, 1e-5));
  });
});

describe.each(BACKENDS)("the VJP on the %s backend", (backend) => {
  it("the existingOut cotangent is the incoming gradient on inactive rows only (spec §D.1)", async () => {
    const [lhs, rhs, existingOut, cotangent] = [randomArray(next, [8, 3]), randomArray(next, [2, 3, 2]), randomArray(next, [8, 2]), randomArray(next, [8, 2])];
    const pulled = (e: A, ct: A): A[] => vjp((x: A) => gmm(lhs, rhs, groupSizes, { backend, groupOffset: 1, existingOut: x }), e)[1](ct) as A[];
    const [dexisting] = await runOn(backend, pulled, existingOut, cotangent);
    const owners = rowGroups([2, 1, 3], 8);
    const expected = Array.from(cotangent.dataSync()).map((v, i) => (owners[Math.floor(i / 2)]! >= 1 && owners[Math.floor(i / 2)]! < 3 ? 0 : v));
    expect(Array.from(dexisting!.dataSync())).toEqual(expected);
  });

  it("gradients have their operand's dtype (bfloat16 operands, float32 result)", async () => {
    const [lhs, rhs] = [randomArray(next, [8, 3], "bfloat16"), randomArray(next, [3, 3, 2], "bfloat16")];
    const [dlhs, drhs] = await runOn(backend, grad((x: A, w: A) => gmm(x, w, groupSizes, { backend }).sum(), { argnums: [0, 1] }) as (x: A, w: A) => A[], lhs, rhs);
    expect([dlhs!.dtype, drhs!.dtype]).toEqual(["bfloat16", "bfloat16"]);
    // d/dlhs of sum(out) = sum over n of the row's weights; rows 6-7 belong to no group: exactly 0.
    expect(Array.from(dlhs!.dataSync().slice(18))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("grads through jit on every device equal the eager grads", async () => {
    const [lhs, rhs] = [randomArray(next, [8, 3]), randomArray(next, [3, 2, 3])];
    const loss = (x: A, w: A) => np.sum(np.tanh(gmm(x, w, groupSizes, { backend, transposeRhs: true })));
    const eager = grad(loss, { argnums: [0, 1] })(lhs, rhs) as A[];
    for (const device of ["interpreter", "cpu", ...(gpu ? ["webgpu"] : [])]) {
      const jitted = jit(grad(loss, { argnums: [0, 1] }), { device })(lhs, rhs) as A[];
      for (const [i, g] of jitted.entries()) expectClose(await g.data(), eager[i]!.dataSync(), 1e-5, 1e-6);
    }
  });
});

interface Fixture {
  name: string;
  lhs: { shape: number[]; values: number[] };
  rhs: { shape: number[]; values: number[] };
  group_sizes: { values: number[] };
  group_offset: number;
  transpose_rhs: boolean;
  out: { values: number[] };
  cotangent: { shape: number[]; values: number[] };
  dlhs: { values: number[] };
  drhs: { values: number[] };
}
const fixtures = JSON.parse(readFileSync(new URL("../../fixtures/ragged_dot.json", import.meta.url), "utf8")).gmm as Fixture[];
const fromFixture = (x: { shape: number[]; values: number[] }): A => np.reshape(np.array(x.values, { dtype: "float32" }), x.shape);

describe.each(BACKENDS)("gmm and its VJP against JAX (the group-offset emulation of ragged_dot) on the %s backend", (backend) => {
  it.each(fixtures.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const f = (x: A, w: A) => gmm(x, w, sizes(c.group_sizes.values), { backend, groupOffset: c.group_offset, transposeRhs: c.transpose_rhs });
    const withGrads = (x: A, w: A, ct: A): A[] => {
      const [out, pullback] = vjp(f, x, w);
      return [out as A, ...(pullback(ct) as A[])];
    };
    const [out, dlhs, drhs] = await runOn(backend, withGrads, fromFixture(c.lhs), fromFixture(c.rhs), fromFixture(c.cotangent));
    expectClose(out!.dataSync(), c.out.values, 1e-5, 1e-5);
    expectClose(dlhs!.dataSync(), c.dlhs.values, 1e-5, 1e-5);
    expectClose(drhs!.dataSync(), c.drhs.values, 1e-5, 1e-5);
  });
});
