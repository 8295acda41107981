/**
 * Walks every registered primitive: each has its abstract evaluation and reference implementation, and on a
 * sample call the implementation's results have exactly the shapes and dtypes the abstract evaluation gives.
 */
import { describe, expect, it } from "vitest";
import { type Primitive, reference } from "../src/index.js";
import { SAMPLES } from "./util/samples.js";

describe("primitive registry", () => {
  const primitives = reference.listPrimitives();

  it("has a sample for every registered primitive and no stale samples", () => {
    expect(primitives.map((p) => p.name).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it.each(primitives.map((p) => [p.name, p] as const))("%s: implementation agrees with abstract evaluation", (name, primitive: Primitive) => {
    const { inputs, params } = SAMPLES[name]!();
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
});
