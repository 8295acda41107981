/**
 * The gmm API around the primitives: validation messages, tiling resolution, jaxpr print forms, the backend
 * registry (a user backend is used where the primitive runs and where it is lowered), data-dependent checks.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, type GmmBackend, GroupSizesError, getGmmBackend, gmm, grad, gmmBackends, jit, makeJaxpr, numpy as np, registerGmmBackend, tgmm } from "../../../src/index.js";
import { expectClose } from "../../util/assert.js";
import { randomArray, rng } from "../../util/random.js";

const next = rng(61);
const sizes = (values: number[]): A => np.array(values, { dtype: "int32" });
const lhs = randomArray(next, [6, 3]);
const rhs = randomArray(next, [2, 3, 4]);
const groupSizes = sizes([2, 4]);

describe("gmm validation", () => {
  it.each([
    ["lhs rank", () => gmm(np.ones([6]), rhs, groupSizes), /gmm: lhs must have rank 2 \(\[m, k\]\), got shape \(6,\)/],
    ["rhs rank", () => gmm(lhs, np.ones([3, 4]), groupSizes), /gmm: rhs must have rank 3 \(\[g, k, n\], or \[g, n, k\] with transposeRhs\), got shape \(3, 4\)/],
    ["k mismatch", () => gmm(lhs, np.ones([2, 5, 4]), groupSizes), /gmm: lhs \[m, k\] = \(6, 3\) and rhs \[g, k, n\] = \(2, 5, 4\) disagree on k \(3 vs 5\)/],
    ["k mismatch with transposeRhs", () => gmm(lhs, rhs, groupSizes, { transposeRhs: true }), /gmm: lhs \[m, k\] = \(6, 3\) and rhs \[g, n, k\] = \(2, 3, 4\) disagree on k \(3 vs 4\)/],
    ["groupSizes 2-D", () => gmm(lhs, rhs, np.ones([2, 1], { dtype: "int32" })), /gmm: groupSizes must be a 1-D integer array \[numGroups\], got i32\[2,1\]/],
    ["groupSizes float", () => gmm(lhs, rhs, np.array([2, 4])), /gmm: groupSizes must be a 1-D integer array \[numGroups\], got f32\[2\]/],
    ["more rhs groups than groups", () => gmm(lhs, np.ones([3, 3, 4]), groupSizes), /gmm: rhs has 3 groups but groupSizes only 2/],
    ["groupOffset < 0", () => gmm(lhs, rhs.at("0:1"), groupSizes, { groupOffset: -1 }), /gmm: groupOffset \+ the number of groups computed must lie in \[0, 2\] \(groupSizes has 2 groups\), got groupOffset -1 with 1 groups/],
    ["groupOffset + G > g", () => gmm(lhs, rhs, groupSizes, { groupOffset: 1 }), /got groupOffset 1 with 2 groups/],
    ["groupOffset of shape (2,)", () => gmm(lhs, rhs, groupSizes, { groupOffset: sizes([0, 1]) }), /gmm: groupOffset must be an integer scalar \(shape \(\) or \(1,\)\), got i32\[2\]/],
    ["existingOut shape", () => gmm(lhs, rhs, groupSizes, { existingOut: np.zeros([6, 3]) }), /gmm: existingOut must have the result's shape \(6, 4\), got \(6, 3\)/],
    ["existingOut dtype", () => gmm(lhs, rhs, groupSizes, { existingOut: np.zeros([6, 4], { dtype: "bfloat16" }) }), /gmm: existingOut must have dtype preferredElementType \(float32\), got bfloat16/],
    ["operand dtypes", () => gmm(lhs, rhs.astype("bfloat16"), groupSizes), /gmm: lhs and rhs must have equal dtypes, got lhs float32 and rhs bfloat16/],
    ["non-positive tile", () => gmm(lhs, rhs, groupSizes, { tiling: [128, 0, 128] }), /gmm: tiles for tiling must be three positive integers \(tm, tk, tn\), got \[128,0,128\]/],
    ["tiling length", () => gmm(lhs, rhs, groupSizes, { tiling: [8, 8, 8, 8] }), /gmm: tiling must have 9 entries \(forward, dlhs and drhs tm, tk, tn\) or 3, got \[8,8,8,8\]/],
    ["bad dlhs tiles", () => gmm(lhs, rhs, groupSizes, { tiling: [8, 8, 8, 8, -8, 8, 8, 8, 8] }), /gmm: tiles for the dlhs tiling must be three positive integers/],
    ["tiling function without an entry", () => gmm(lhs, rhs, groupSizes, { tiling: () => null }), /gmm: the tiling function found no tiles for \(m, k, n\) = \(6, 3, 4\) \(it returned null\)/],
    ["tiling function with a bad entry", () => gmm(lhs, rhs, groupSizes, { tiling: () => [1.5, 2, 2] }), /gmm: tiles for \(m, k, n\) = \(6, 3, 4\) must be three positive integers/],
    ["negative group size", () => gmm(lhs, rhs, sizes([3, -1])), /gmm: groupSizes\[1\] is -1; group sizes must not be negative/],
    ["sum(groupSizes) > m", () => gmm(lhs, rhs, sizes([4, 3])), /gmm: sum\(groupSizes\) is 7, more than the 6 rows/],
    ["unknown backend", () => gmm(lhs, rhs, groupSizes, { backend: "nope" }), /getGmmBackend: no gmm backend named 'nope'; registered: reference, ragged-dot/],
  ])("%s", (_name, call, message) => {
    expect(call).toThrow(message);
  });

  it.each([
    ["lhs rank", () => tgmm(np.ones([3]), np.ones([3, 2]), groupSizes), /tgmm: lhs must have rank 2 \(\[k, m\]\), got shape \(3,\)/],
    ["rhs rank", () => tgmm(np.ones([3, 6]), np.ones([6]), groupSizes), /tgmm: rhs must have rank 2 \(\[m, n\]\), got shape \(6,\)/],
    ["m mismatch", () => tgmm(np.ones([3, 6]), np.ones([5, 2]), groupSizes), /tgmm: lhs \[k, m\] = \(3, 6\) and rhs \[m, n\] = \(5, 2\) disagree on m \(6 vs 5\)/],
    ["numActualGroups", () => tgmm(np.ones([3, 6]), np.ones([6, 2]), groupSizes, { numActualGroups: 3 }), /tgmm: numActualGroups must be an integer in \[0, 2\] \(the number of groups\), got 3/],
    ["groupOffset window", () => tgmm(np.ones([3, 6]), np.ones([6, 2]), groupSizes, { groupOffset: 1, numActualGroups: 2 }), /tgmm: groupOffset \+ the number of groups computed must lie in \[0, 2\]/],
    ["existingOut shape", () => tgmm(np.ones([3, 6]), np.ones([6, 2]), groupSizes, { existingOut: np.zeros([2, 2, 3]) }), /tgmm: existingOut must have the result's shape \(2, 3, 2\), got \(2, 2, 3\)/],
    ["existingOut dtype", () => tgmm(np.ones([3, 6]), np.ones([6, 2]), groupSizes, { existingOut: np.zeros([2, 3, 2], { dtype: "float16" }) }), /tgmm: existingOut must have dtype preferredElementType \(float32\), got float16/],
    ["tiles", () => tgmm(np.ones([3, 6]), np.ones([6, 2]), groupSizes, { tiling: [0, 1, 1] }), /tgmm: tiles for tiling must be three positive integers/],
  ])("tgmm: %s", (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe("tiling", () => {
  it("a tiling function is asked for the forward (m, k, n), dlhs (m, n, k) and drhs (m, k, n) products", () => {
    const asked: number[][] = [];
    const closed = makeJaxpr((x: A) => gmm(x, rhs, groupSizes, { tiling: (m, k, n) => (asked.push([m, k, n]), [m, k, n + 1]) }))(lhs);
    expect(asked).toEqual([[6, 3, 4], [6, 4, 3], [6, 3, 4]]);
    expect(closed.toString()).toContain("tiling=(6, 3, 5)\n      dlhs_tiling=(6, 4, 4)\n      drhs_tiling=(6, 3, 5)");
  });

  it("9 entries: forward, dlhs, drhs; the VJP's products run with their own tiles", () => {
    const loss = (x: A, w: A) => gmm(x, w, groupSizes, { tiling: [1, 2, 3, 4, 5, 6, 7, 8, 9] }).sum();
    const text = makeJaxpr(grad(loss, { argnums: [0, 1] }))(lhs, rhs).toString();
    expect(text).toContain("tiling=(1, 2, 3)\n      dlhs_tiling=(4, 5, 6)\n      drhs_tiling=(7, 8, 9)");
    expect(text).toContain("tgmm[\n      backend=reference\n      tiling=(7, 8, 9)");
    expect(text).toContain("tiling=(4, 5, 6)\n      dlhs_tiling=(1, 2, 3)\n      drhs_tiling=(7, 8, 9)\n      transpose_rhs=True");
  });
});

describe("jaxpr print forms", () => {
  it("gmm and tgmm show their params and operands", () => {
    const text = makeJaxpr((x: A, w: A, s: A) => gmm(x, w, s, { backend: "ragged-dot", transposeRhs: true, groupOffset: 1, existingOut: np.zeros([6, 3]) }))(lhs, np.ones([1, 3, 3]), groupSizes).toString();
    expect(text).toContain(
      [
        "    e:f32[6,3] = gmm[",
        "      backend=ragged-dot",
        "      tiling=(128, 128, 128)",
        "      dlhs_tiling=(128, 128, 128)",
        "      drhs_tiling=(128, 128, 128)",
        "      transpose_rhs=True",
        "      preferred_element_type=float32",
        "      existing_out=True",
        "    ] a b c 1:i32[] d",
        "  in (e,) }",
      ].join("\n"),
    );
    const t = makeJaxpr((x: A, y: A) => tgmm(x, y, groupSizes, { numActualGroups: 1, checkGroupSizes: true }))(lhs.T, np.ones([6, 2])).toString();
    expect(t).toContain("d:f32[1,3,2] = tgmm[\n      backend=reference\n      tiling=(128, 128, 128)\n      num_actual_groups=1\n      preferred_element_type=float32\n      existing_out=False\n      check_group_sizes=True\n    ] b c a 0:i32[]");
  });
});

describe("backends", () => {
  it("a user backend is used where gmm and tgmm run, eagerly, under jit on every device and in the VJP", () => {
    const calls: string[] = [];
    const reference = getGmmBackend("reference");
    const doubled: GmmBackend = {
      name: "test-doubled",
      gmm: (l, r, s, call) => (calls.push("gmm"), reference.gmm(l, r, s, call).mul(2)),
      tgmm: (l, r, s, call) => (calls.push("tgmm"), reference.tgmm(l, r, s, call).mul(2)),
    };
    registerGmmBackend(doubled);
    expect(gmmBackends()).toContain("test-doubled");
    const expected = gmm(lhs, rhs, groupSizes).mul(2).dataSync();
    expect(gmm(lhs, rhs, groupSizes, { backend: "test-doubled" }).dataSync()).toEqual(expected);
    for (const device of ["interpreter", "cpu"]) {
      const out = jit((x: A) => gmm(x, rhs, groupSizes, { backend: "test-doubled" }), { device })(lhs) as A;
      expectClose(out.dataSync(), expected, 1e-6, 1e-6);
    }
    expect(calls.filter((c) => c === "gmm").length).toBeGreaterThanOrEqual(3);
    const jaxpr = makeJaxpr((x: A) => gmm(x, rhs, groupSizes, { backend: "test-doubled" }))(lhs).toString();
    expect(jaxpr).toContain("backend=test-doubled");
  });

  it("a backend that cannot serve a call says why", () => {
    registerGmmBackend({ name: "test-f32-only", gmm: () => lhs, tgmm: () => lhs, supports: (r) => r.lhs.dtype === "float32" || `operands of dtype ${r.lhs.dtype} are not supported` });
    expect(() => gmm(lhs.astype("bfloat16"), rhs.astype("bfloat16"), groupSizes, { backend: "test-f32-only" })).toThrow(
      "gmm: backend 'test-f32-only' cannot serve this call: operands of dtype bfloat16 are not supported",
    );
    expect(() => registerGmmBackend({ name: "", gmm: () => lhs } as unknown as GmmBackend)).toThrow(/registerGmmBackend: a backend needs a non-empty name and gmm and tgmm functions/);
  });
});

describe("data-dependent group sizes", () => {
  it("inside jit without checkGroupSizes: a negative size counts as 0 and rows past m are dropped", () => {
    const f = jit((x: A, s: A) => gmm(x, rhs, s), { device: "interpreter" });
    const negative = f(lhs, sizes([-2, 4])) as A;
    expectClose(negative.dataSync(), gmm(lhs, rhs, sizes([0, 4])).dataSync(), 1e-6, 1e-7);
    const tooMany = f(lhs, sizes([4, 5])) as A;
    expectClose(tooMany.dataSync(), gmm(lhs, rhs, sizes([4, 2])).dataSync(), 1e-6, 1e-7);
  });

  it("inside jit, checkGroupSizes makes bad sizes an error when the call runs (interpreter and cpu device)", () => {
    for (const device of ["interpreter", "cpu"]) {
      const f = jit((x: A, s: A) => gmm(x, rhs, s, { checkGroupSizes: true }), { device });
      expect(() => f(lhs, sizes([-2, 4]))).toThrow(GroupSizesError);
      expect(() => f(lhs, sizes([4, 5]))).toThrow("gmm: sum(groupSizes) is 9, more than the 6 rows");
      expectClose((f(lhs, sizes([2, 3])) as A).dataSync(), gmm(lhs, rhs, sizes([2, 3])).dataSync(), 1e-6, 1e-7);
      const t = jit((x: A, s: A) => tgmm(x, np.ones([6, 2]), s, { checkGroupSizes: true }), { device });
      expect(() => t(lhs.T, sizes([7, 0]))).toThrow("tgmm: sum(groupSizes) is 7, more than the 6 rows");
    }
  });
});
