import { describe, expect, it } from "vitest";
import { type Array as JaxArray, checkJaxpr, cse, dce, evalJaxpr, foldConstants, inlineCalls, jit, makeJaxpr, numpy as np, ClosedJaxpr, Jaxpr, Var, ShapedArray } from "../../src/index.js";

type A = JaxArray;
const run = (j: Jaxpr, ...args: A[]): number[][] => evalJaxpr(j, [], args).map((x) => Array.from(x.dataSync()));

describe("passes", () => {
  const x = np.array([0.5, -1, 2]);

  it("dce removes equations whose results are never used", () => {
    const closed = makeJaxpr((v: A) => {
      np.exp(v);
      return np.sin(v).mul(2);
    })(x);
    const out = dce(closed.jaxpr);
    checkJaxpr(out);
    expect(closed.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["exp", "sin", "mul"]);
    expect(out.eqns.map((e) => e.primitive.name)).toEqual(["sin", "mul"]);
    expect(run(out, x)).toEqual(run(closed.jaxpr, x));
  });

  it("cse merges identical equations", () => {
    const closed = makeJaxpr((v: A) => np.sin(v).add(np.sin(v)).mul(np.sin(v).add(np.sin(v))))(x);
    const out = cse(closed.jaxpr);
    checkJaxpr(out);
    expect(out.toString()).toBe("{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n    c:f32[3] = add b b\n    d:f32[3] = mul c c\n  in (d,) }");
    expect(run(out, x)).toEqual(run(closed.jaxpr, x));
  });

  it("foldConstants evaluates equations on literals into literals", () => {
    const closed = makeJaxpr((v: A) => v.add(np.exp(1.5)))(x);
    const out = foldConstants(closed.jaxpr);
    checkJaxpr(out);
    expect(out.toString()).toBe(`{ lambda ; a:f32[3]. let b:f32[3] = add a ${Math.fround(Math.exp(1.5))}:f32[] in (b,) }`);
    expect(run(out, x)).toEqual(run(closed.jaxpr, x));
  });

  it("inlineCalls replaces nested jit calls by their bodies, with fresh variables each time", () => {
    const double = jit(function double(v: A) {
      return v.mul(2);
    });
    const closed = makeJaxpr((v: A) => double(double(v)).add(1))(x);
    expect(closed.jaxpr.eqns.map((e) => e.primitive.name)).toEqual(["jit", "jit", "add"]);
    const out = inlineCalls(closed.jaxpr);
    checkJaxpr(out);
    expect(out.toString()).toBe("{ lambda ; a:f32[3]. let\n    b:f32[3] = mul a 2.0:f32[]\n    c:f32[3] = mul b 2.0:f32[]\n    d:f32[3] = add c 1.0:f32[]\n  in (d,) }");
    expect(run(out, x)).toEqual(run(closed.jaxpr, x));
  });

  it("checkJaxpr rejects ill-typed and ill-scoped jaxprs", () => {
    const closed = makeJaxpr((v: A) => np.sin(v))(x);
    const e = closed.jaxpr.eqns[0]!;
    const wrong = new Var(new ShapedArray([4], "float32"));
    const badType = new Jaxpr([], closed.jaxpr.invars, [{ ...e, outputs: [wrong] }], [wrong]);
    expect(() => checkJaxpr(badType)).toThrow(/output 0 is f32\[4\], its rule gives f32\[3\]/);
    const undefinedInput = new Jaxpr([], [], closed.jaxpr.eqns, closed.jaxpr.outvars);
    expect(() => checkJaxpr(undefinedInput)).toThrow(/uses an undefined variable/);
    expect(() => new ClosedJaxpr(closed.jaxpr, [x])).toThrow(/0 constvars but 1 consts/);
  });
});
