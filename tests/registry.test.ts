/**
 * Walks every registered primitive: each has its abstract evaluation and reference implementation, and on a
 * sample call the implementation's results have exactly the shapes and dtypes the abstract evaluation gives.
 */
import { describe, expect, it } from "vitest";
import { type Primitive, reference } from "../src/index.js";
import { getJvpRule, getTransposeRule, isNonDifferentiable } from "../src/vjp/ad.js";
import { getBatchRule } from "../src/vmap/batching.js";
import { SAMPLES } from "./util/samples.js";

describe("primitive registry", () => {
  const primitives = reference.listPrimitives();

  it("has a sample for every registered primitive and no stale samples", () => {
    expect(primitives.map((p) => p.name).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it.each(primitives.map((p) => [p.name, p] as const))("%s: implementation agrees with abstract evaluation", (name, primitive: Primitive) => {
    const { inputs, params } = SAMPLES[name]!();
    if (name === "custom_lin") {
      // Only its transpose (the user's bwd) can run: evaluating it is JAX's forward-mode error.
      expect(() => reference.evalPrimitive(primitive, inputs, params)).toThrow(/can't apply forward-mode autodiff \(jvp\) to a custom_vjp function/);
      return;
    }
    const avals = primitive.abstractEval(inputs.map((x) => x.aval), params);
    const outs = reference.evalPrimitive(primitive, inputs, params);
    expect(outs.length).toBe(avals.length);
    outs.forEach((out, k) => {
      expect(out.shape).toEqual(avals[k]!.shape);
      expect(out.dtype).toBe(avals[k]!.dtype);
      expect(out.dataSync().length).toBe(avals[k]!.size);
    });
    expect(reference.getPrimitive(name)).toBe(primitive);
  });

  // Linear primitives must transpose; custom_lin is the linear half of a custom_vjp and has no JVP by design.
  const LINEAR = ["neg", "add", "add_any", "sub", "mul", "div", "select_n", "convert_element_type", "broadcast_in_dim", "reshape", "transpose", "squeeze", "rev", "concatenate", "pad", "slice", "dynamic_slice", "dynamic_update_slice", "gather", "scatter-add", "reduce_sum", "cumsum", "dot_general", "gmm", "tgmm", "ragged_dot_general", "jit", "cond", "scan", "custom_lin"];
  it.each(primitives.map((p) => [p.name, p] as const))("%s has a JVP rule (or is non-differentiable) and, if linear, a transpose rule", (name, primitive: Primitive) => {
    if (name !== "custom_lin") expect(isNonDifferentiable(primitive) || getJvpRule(primitive) !== undefined).toBe(true);
    if (LINEAR.includes(name)) expect(getTransposeRule(primitive)).toBeDefined();
  });

  // A primitive without operands (iota) is never batched: vmap only sees it with every operand unbatched.
  it.each(primitives.map((p) => [p.name, p] as const))("%s has a batching rule (or takes no operands)", (name, primitive: Primitive) => {
    if (SAMPLES[name]!().inputs.length === 0) expect(name).toBe("iota");
    else expect(getBatchRule(primitive)).toBeDefined();
  });
});
