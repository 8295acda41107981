import { describe, expect, it } from "vitest";
import { type Array as JaxArray, ConcretizationError, LeakedTracerError, jit, makeJaxpr, numpy as np } from "../../src/index.js";

type A = JaxArray;

describe("errors users hit", () => {
  it("Number(tracer) raises a ConcretizationError that suggests lax.cond and staticArgnums", () => {
    const f = jit((x: A) => np.zeros([Number(x)]));
    expect(() => f(np.array(3))).toThrow(ConcretizationError);
    expect(() => f(np.array(3))).toThrow(/traced f32\[\].*lax\.cond.*staticArgnums/s);
  });

  it("comparing a tracer with a JS number in an if raises", () => {
    const f = jit((x: A) => {
      if ((x as unknown as number) > 0) return x;
      return x.neg();
    });
    expect(() => f(np.array(1))).toThrow(ConcretizationError);
  });

  it("reading a tracer's data raises", () => {
    expect(() => makeJaxpr((x: A) => x.dataSync())(np.zeros([2]))).toThrow(/x\.dataSync\(\) needs a concrete value, but got a traced f32\[2\]/);
    expect(() => makeJaxpr((x: A) => void x.data())(np.zeros([2]))).toThrow(ConcretizationError);
  });

  it("concrete arrays convert to numbers like Python's float()", () => {
    expect(Number(np.array([2.5]))).toBe(2.5);
    expect(() => Number(np.array([1, 2]))).toThrow(/only one-element arrays convert/);
  });

  it("a leaked tracer names the function that leaked it", () => {
    let leaked: A | undefined;
    const stash = jit(function stashInput(x: A) {
      leaked = x;
      return x;
    });
    stash(np.array([1]));
    expect(() => leaked!.add(1)).toThrow(LeakedTracerError);
    expect(() => leaked!.add(1)).toThrow(/transformation of 'stashInput'/);
  });
});
