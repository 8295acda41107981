/**
 * lax.raggedDot / lax.raggedDotGeneral: the three modes and their VJPs against golden values from JAX (eagerly,
 * and those with batched group sizes also under jit on the kernel devices), the shape rule's errors, NaN safety,
 * the print form and checkGrads.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, checkGrads, jit, lax, makeJaxpr, numpy as np, vjp } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";
import { gpu } from "./backends.js";

interface Tensor {
  shape: number[];
  dtype: string;
  values: number[];
}
interface Fixture {
  name: string;
  lhs: Tensor;
  rhs: Tensor;
  group_sizes: Tensor;
  preferred: string | null;
  dimension_numbers: { contract: number[][]; batch: number[][]; lhs_ragged: number[]; rhs_group: number[] };
  out: Tensor;
  cotangent: Tensor;
  dlhs: Tensor;
  drhs: Tensor;
}

const fixtures = JSON.parse(readFileSync(new URL("../../fixtures/ragged_dot.json", import.meta.url), "utf8")).ragged_dot_general as Fixture[];
const tensor = (t: Tensor): A => np.reshape(np.array(t.values, { dtype: t.dtype as DType }), t.shape);
const dimsOf = (d: Fixture["dimension_numbers"]): lax.RaggedDotDimensionNumbers => ({
  dotDimensionNumbers: [[d.contract[0]!, d.contract[1]!], [d.batch[0]!, d.batch[1]!]],
  lhsRaggedDimensions: d.lhs_ragged,
  rhsGroupDimensions: d.rhs_group,
});
const next = rng(63);
const sizes = (values: number[]): A => np.array(values, { dtype: "int32" });
const RAGGED_DOT = dimsOf({ contract: [[1], [1]], batch: [[], []], lhs_ragged: [0], rhs_group: [0] });

/** The fixture's value and VJP: [out, dlhs, drhs]. */
const valueAndVjp = (c: Fixture) => (x: A, y: A, ct: A): A[] => {
  const f = (a: A, b: A) => lax.raggedDotGeneral(a, b, tensor(c.group_sizes), dimsOf(c.dimension_numbers), { preferredElementType: c.preferred as DType | null });
  const [out, pullback] = vjp(f, x, y);
  return [out as A, ...(pullback(ct) as A[])];
};

async function expectFixture(c: Fixture, [out, dlhs, drhs]: A[]): Promise<void> {
  expect(out!.shape).toEqual(c.out.shape);
  expect(out!.dtype).toBe(c.out.dtype);
  expectClose(await out!.data(), c.out.values, 1e-5, 1e-5);
  const loose = c.lhs.dtype === "bfloat16" ? 1e-2 : 1e-5;
  expectClose(await dlhs!.data(), c.dlhs.values, loose, loose);
  expectClose(await drhs!.data(), c.drhs.values, loose, loose);
}

describe("ragged_dot_general against JAX", () => {
  it.each(fixtures.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await expectFixture(c, valueAndVjp(c)(tensor(c.lhs), tensor(c.rhs), tensor(c.cotangent)));
  });
});

describe.each(["cpu", ...(gpu ? ["webgpu"] : [])])("batched group sizes against JAX under jit on the %s device", (device) => {
  const batched = fixtures.filter((c) => c.group_sizes.shape.length > 1);
  it.each(batched.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await expectFixture(c, jit(valueAndVjp(c), { device })(tensor(c.lhs), tensor(c.rhs), tensor(c.cotangent)));
  });
});

describe("ragged_dot_general", () => {
  it("lax.raggedDot is mode 1 with gmm's dimension numbers; rows past the groups are 0", () => {
    const [lhs, rhs] = [randomArray(next, [5, 2]), randomArray(next, [2, 2, 3])];
    const out = lax.raggedDot(lhs, rhs, sizes([1, 2]));
    expect(Array.from(out.dataSync().slice(9))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(out.dataSync()).toEqual(lax.raggedDotGeneral(lhs, rhs, sizes([1, 2]), RAGGED_DOT).dataSync());
  });

  it("a NaN in an empty group's weights does not reach the output (JAX's decomposition gives NaN)", () => {
    const rhs = np.where(np.arange(3).reshape([3, 1, 1]).eq(1), NaN, randomArray(next, [3, 2, 2]));
    const out = lax.raggedDot(randomArray(next, [4, 2]), rhs, sizes([2, 0, 2]));
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true);
  });

  it("prints its dimension numbers", () => {
    const text = makeJaxpr((x: A, y: A) => lax.raggedDot(x, y, sizes([1, 2]), { preferredElementType: "float32" }))(np.ones([3, 2]), np.ones([2, 2, 4])).toString();
    expect(text).toContain(
      [
        "    d:f32[3,4] = ragged_dot_general[",
        "      dimension_numbers=RaggedDotDimensionNumbers(dot_dimension_numbers=(([1], [1]), ([], [])), lhs_ragged_dimensions=[0], rhs_group_dimensions=[0])",
        "      preferred_element_type=float32",
        "    ] b c a",
      ].join("\n"),
    );
  });

  it.each([
    ["k mismatch", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 3, 4]), sizes([1, 2])), /ragged_dot_general: contracting dimensions must have equal sizes, got lhs \(3, 2\) dims \[1\] and rhs \(2, 3, 4\) dims \[1\]/],
    ["group count", () => lax.raggedDot(np.ones([3, 2]), np.ones([3, 2, 4]), sizes([1, 2])), /ragged_dot_general: expected rhs group dimension size to be 2 \(the last dimension of groupSizes\), got 3/],
    ["float group sizes", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4]), np.array([1, 2])), /ragged_dot_general: groupSizes must be an integer array, got float32/],
    ["batched group sizes without a prefix dim", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4]), sizes([1, 2]).reshape([1, 2])), /ragged_dot_general: groupSizes must have shape \[g\], got \(1, 2\)/],
    ["scalar group sizes", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4]), np.array(2, { dtype: "int32" })), /ragged_dot_general: groupSizes must have shape \[g\], got \(\)/],
    ["mode 1 group sizes [m, g] for [b, g]", () => lax.raggedDotGeneral(np.ones([2, 5, 3]), np.ones([3, 2, 3, 4]), np.zeros([5, 3], { dtype: "int32" }), { dotDimensionNumbers: [[[2], [2]], [[0], [1]]], lhsRaggedDimensions: [1], rhsGroupDimensions: [0] }),
      /ragged_dot_general: groupSizes must have shape \[g\] or \[2, g\] \(g groups for each index of lhs dims \[0\]\), got \(5, 3\)/],
    ["mode 1 group sizes [x, b, g] for [b, x, g]", () => lax.raggedDotGeneral(np.ones([2, 3, 4, 3]), np.ones([2, 3, 3, 2]), np.zeros([2, 3, 2], { dtype: "int32" }), { dotDimensionNumbers: [[[3], [2]], [[1], [1]]], lhsRaggedDimensions: [2], rhsGroupDimensions: [0] }),
      /ragged_dot_general: groupSizes must have shape \[g\] or \[3, 2, g\] \(g groups for each index of lhs dims \[1, 0\]\), got \(2, 3, 2\)/],
    ["mode 2 group sizes over a contracting dim listed after the ragged one", () => lax.raggedDotGeneral(np.ones([2, 3, 4]), np.ones([3, 4, 2]), np.zeros([4, 2], { dtype: "int32" }), { dotDimensionNumbers: [[[1, 2], [0, 1]], [[], []]], lhsRaggedDimensions: [1], rhsGroupDimensions: [] }),
      /ragged_dot_general: groupSizes must have shape \[g\], got \(4, 2\)/],
    ["mode 3 group sizes [b2, g] for [b1, g]", () => lax.raggedDotGeneral(np.ones([2, 3, 2, 3]), np.ones([2, 3, 3, 2]), np.zeros([3, 2], { dtype: "int32" }), { dotDimensionNumbers: [[[3], [2]], [[0, 1], [0, 1]]], lhsRaggedDimensions: [1], rhsGroupDimensions: [] }),
      /ragged_dot_general: groupSizes must have shape \[g\] or \[2, g\] \(g groups for each index of lhs dims \[0\]\), got \(3, 2\)/],
    ["mode 3 group sizes when the ragged dim is the first batch dim", () => lax.raggedDotGeneral(np.ones([2, 3, 2, 3]), np.ones([2, 3, 3, 2]), np.zeros([2, 2], { dtype: "int32" }), { dotDimensionNumbers: [[[3], [2]], [[0, 1], [0, 1]]], lhsRaggedDimensions: [0], rhsGroupDimensions: [] }),
      /ragged_dot_general: groupSizes must have shape \[g\], got \(2, 2\)/],
    ["ranks", () => lax.raggedDot(np.ones([3]), np.ones([2, 2, 4]), sizes([1, 2])), /raggedDot: expected lhs \[m, k\] and rhs \[g, k, n\], got lhs \(3,\) and rhs \(2, 2, 4\)/],
    ["two ragged dims", () => lax.raggedDotGeneral(np.ones([3, 2]), np.ones([2, 2, 4]), sizes([1, 2]), { ...RAGGED_DOT, lhsRaggedDimensions: [0, 1] }), /exactly one lhs ragged dimension is required, got \[0, 1\]/],
    ["mode 1 without a group dim", () => lax.raggedDotGeneral(np.ones([3, 2]), np.ones([2, 4]), sizes([1, 2]), { dotDimensionNumbers: [[[1], [0]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [] }), /a ragged non-contracting lhs dimension needs exactly one rhs group dimension, got \[\]/],
    ["mode 2 with a group dim", () => lax.raggedDotGeneral(np.ones([3, 2]), np.ones([2, 3, 4]), sizes([1, 2]), { dotDimensionNumbers: [[[0], [1]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [0] }), /a contracting ragged lhs dimension takes no rhs group dimension, got \[0\]/],
    ["operand dtypes", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4], { dtype: "bfloat16" }), sizes([1, 2])), /ragged_dot_general: lhs and rhs must have equal dtypes, got lhs float32 and rhs bfloat16/],
  ])("rejects %s", (_name, call, message) => {
    expect(call).toThrow(message);
  });

  it("checkGrads in modes 1 and 2", () => {
    const f64 = (shape: number[]) => randomArray(next, shape, "float64");
    checkGrads((x: A, y: A) => lax.raggedDot(x, y, sizes([2, 0, 3])), [f64([6, 2]), f64([3, 2, 2])]);
    const contracting = { dotDimensionNumbers: [[[0], [0]], [[], []]], lhsRaggedDimensions: [0], rhsGroupDimensions: [] } as const;
    checkGrads((x: A, y: A) => lax.raggedDotGeneral(x, y, sizes([2, 0, 3]), contracting), [f64([6, 2]), f64([6, 3])]);
  });
});
