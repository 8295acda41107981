/**
 * NaN, infinities and signed zeros through the operations whose kernels could lose them: max and min (WGSL leaves
 * a NaN operand to the implementation), is_finite (a shader compiler may fold x - x to 0), and what is built on
 * them (reductions, relu, clip, argmax, sort), on each kernel device against the reference interpreter, bit
 * for bit (any NaN counting as NaN).
 */
import { describe, expect, it } from "vitest";
import { type Array as A, jit, numpy as np } from "../../src/index.js";
import { webgpuDevice } from "../util/webgpu.js";

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
const gpu = await webgpuDevice();
const devices = ["cpu", ...(gpu ? ["webgpu"] : [])];

const x = np.array([1, NaN, Infinity, -Infinity, -2, 0, -0, 3]);
const y = np.array([NaN, 3, 1, 2, NaN, -0, 0, -Infinity]);
const PROGRAMS: [string, (a: A, b: A) => A][] = [
  ["maximum", (a, b) => np.maximum(a, b)],
  ["minimum", (a, b) => np.minimum(a, b)],
  ["isfinite", (a) => np.isfinite(a)],
  ["isnan", (a) => np.isnan(a)],
  ["max over a row with a NaN", (a) => np.max(a)],
  ["min over a row with a NaN", (a) => np.min(a)],
  ["max over columns (signed zeros)", (a, b) => np.max(np.stack([a, b]), { axis: 0 })],
  ["relu", (a) => np.maximum(a, 0)],
  ["clip", (a) => np.clip(a, -1, 1)],
  ["argmax", (a) => np.argmax(a)],
  ["sort", (a) => np.sort(a)],
];

const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe.each(devices)("special values on the %s device", (device) => {
  it.each(PROGRAMS)("%s matches the interpreter bit for bit", async (_, f) => {
    const expected = Array.from((jit(f, { device: "interpreter" })(x, y) as A).dataSync());
    const actual = Array.from(await (jit(f, { device })(x, y) as A).data());
    expect(actual.length).toBe(expected.length);
    expect(actual.every((v, i) => same(v, expected[i]!)), `${actual} vs ${expected}`).toBe(true);
  });
});
