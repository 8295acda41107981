import { describe, expect, it } from "vitest";
import { lax, numpy as np } from "../../../src/index.js";
import { threefry2x32 } from "../../../src/ops/lax/misc.js";
import { expectArray } from "../../util/assert.js";

describe("threefry2x32", () => {
  it("matches the Random123 known-answer vectors (as JAX's tests use)", () => {
    const hex = (pair: [number, number]) => pair.map((v) => v.toString(16).padStart(8, "0"));
    expect(hex(threefry2x32(0, 0, 0, 0))).toEqual(["6b200159", "99ba4efe"]);
    expect(hex(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff))).toEqual(["1cb996fc", "bb002be7"]);
    expect(hex(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3))).toEqual(["c4923a9c", "483df7a0"]);
  });
});

describe("stop_gradient", () => {
  it("is the identity on values", () => {
    expectArray(lax.stopGradient(np.array([1, -2.5])), [2], "float32", [1, -2.5]);
  });
});
