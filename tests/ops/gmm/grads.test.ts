/**
 * Differentiation of gmm and tgmm: checkGrads (float64 finite differences, first and second order) wrt lhs,
 * rhs and existingOut on every backend, with and without transposeRhs and groupOffset; the megablox VJP
 * against JAX's; the existingOut cotangent masked to inactive rows; gradients through jit.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Array as A, checkGrads, gmm, grad, jit, numpy as np, tgmm, vjp } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { rowGroups } from "./oracle.js";

const BACKENDS = ["reference", "ragged-dot"];
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

describe.each(BACKENDS)("checkGrads on the %s backend", (backend) => {
  it.each(VARIANTS)("gmm wrt lhs, rhs and existingOut: $name", ({ transposeRhs, groupOffset, groups }) => {
    const [k, n] = [3, 2];
    const f = (lhs: A, rhs: A, existingOut: A) => gmm(lhs, rhs, groupSizes, { backend, transposeRhs, groupOffset, existingOut });
    checkGrads(f, [f64([8, k]), f64(transposeRhs ? [groups, n, k] : [groups, k, n]), f64([8, n])], { order: 2 });
  });

  it.each(VARIANTS)("tgmm wrt lhs, rhs and existingOut: $name", ({ groupOffset, groups }) => {
    const f = (lhs: A, rhs: A, existingOut: A) => tgmm(lhs, rhs, groupSizes, { backend, groupOffset, numActualGroups: groups, existingOut });
    checkGrads(f, [f64([3, 8]), f64([8, 2]), f64([groups, 3, 2])], { order: 2 });
  });
});

describe.each(BACKENDS)("the VJP on the %s backend", (backend) => {
  it("the existingOut cotangent is the incoming gradient on inactive rows only (spec §D.1)", () => {
    const [lhs, rhs, existingOut, cotangent] = [randomArray(next, [8, 3]), randomArray(next, [2, 3, 2]), randomArray(next, [8, 2]), randomArray(next, [8, 2])];
    const [, pullback] = vjp((e: A) => gmm(lhs, rhs, groupSizes, { backend, groupOffset: 1, existingOut: e }), existingOut);
    const [dexisting] = pullback(cotangent) as A[];
    const owners = rowGroups([2, 1, 3], 8);
    const expected = Array.from(cotangent.dataSync()).map((v, i) => (owners[Math.floor(i / 2)]! >= 1 && owners[Math.floor(i / 2)]! < 3 ? 0 : v));
    expect(Array.from(dexisting!.dataSync())).toEqual(expected);
  });

  it("gradients have their operand's dtype (bfloat16 operands, float32 result)", () => {
    const [lhs, rhs] = [randomArray(next, [8, 3], "bfloat16"), randomArray(next, [3, 3, 2], "bfloat16")];
    const [dlhs, drhs] = grad((x: A, w: A) => gmm(x, w, groupSizes, { backend }).sum(), { argnums: [0, 1] })(lhs, rhs) as A[];
    expect([dlhs!.dtype, drhs!.dtype]).toEqual(["bfloat16", "bfloat16"]);
    // d/dlhs of sum(out) = sum over n of the row's weights; rows 6-7 belong to no group: exactly 0.
    expect(Array.from(dlhs!.dataSync().slice(18))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("grads through jit on every device equal the eager grads", () => {
    const [lhs, rhs] = [randomArray(next, [8, 3]), randomArray(next, [3, 2, 3])];
    const loss = (x: A, w: A) => np.sum(np.tanh(gmm(x, w, groupSizes, { backend, transposeRhs: true })));
    const eager = grad(loss, { argnums: [0, 1] })(lhs, rhs) as A[];
    for (const device of ["interpreter", "cpu"]) {
      const jitted = jit(grad(loss, { argnums: [0, 1] }), { device })(lhs, rhs) as A[];
      jitted.forEach((g, i) => expectClose(g.dataSync(), eager[i]!.dataSync(), 1e-5, 1e-6));
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
  it.each(fixtures.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const f = (x: A, w: A) => gmm(x, w, sizes(c.group_sizes.values), { backend, groupOffset: c.group_offset, transposeRhs: c.transpose_rhs });
    const [out, pullback] = vjp(f, fromFixture(c.lhs), fromFixture(c.rhs));
    expectClose((out as A).dataSync(), c.out.values, 1e-5, 1e-5);
    const [dlhs, drhs] = pullback(fromFixture(c.cotangent)) as A[];
    expectClose(dlhs!.dataSync(), c.dlhs.values, 1e-5, 1e-5);
    expectClose(drhs!.dataSync(), c.drhs.values, 1e-5, 1e-5);
  });
});
