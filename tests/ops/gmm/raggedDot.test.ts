/**
 * lax.raggedDot / lax.raggedDotGeneral: the three modes and their VJPs against golden values from JAX, the
 * shape rule's errors, NaN safety, the print form and checkGrads.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Array as A, type DType, checkGrads, lax, makeJaxpr, numpy as np, vjp } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

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

describe("ragged_dot_general against JAX", () => {
  it.each(fixtures.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const f = (x: A, y: A) => lax.raggedDotGeneral(x, y, tensor(c.group_sizes), dimsOf(c.dimension_numbers), { preferredElementType: c.preferred as DType | null });
    const [out, pullback] = vjp(f, tensor(c.lhs), tensor(c.rhs));
    expect((out as A).shape).toEqual(c.out.shape);
    expect((out as A).dtype).toBe(c.out.dtype);
    expectClose((out as A).dataSync(), c.out.values, 1e-5, 1e-5);
    const [dlhs, drhs] = pullback(tensor(c.cotangent)) as A[];
    const loose = c.lhs.dtype === "bfloat16" ? 1e-2 : 1e-5;
    expectClose(dlhs!.dataSync(), c.dlhs.values, loose, loose);
    expectClose(drhs!.dataSync(), c.drhs.values, loose, loose);
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
    ["group count", () => lax.raggedDot(np.ones([3, 2]), np.ones([3, 2, 4]), sizes([1, 2])), /ragged_dot_general: expected rhs group dimension size to be 2 \(the length of groupSizes\), got 3/],
    ["float group sizes", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4]), np.array([1, 2])), /ragged_dot_general: groupSizes must be an integer array, got float32/],
    ["batched group sizes", () => lax.raggedDot(np.ones([3, 2]), np.ones([2, 2, 4]), sizes([1, 2]).reshape([1, 2])), /ragged_dot_general: groupSizes must be \[g\] \(batched group sizes are not supported\), got \(1, 2\)/],
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
