/**
 * The wasm renderer's vector path for elementwise kernels: four invocations at a time, the rest through the scalar
 * body. On random inputs of lengths with every remainder mod 4 it must agree with the JavaScript renderer (floats to
 * float32 accuracy, ints and bools exactly) and, bit for bit, with its own scalar tail on the same values.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, lax, makeJaxpr, numpy as np } from "../../src/index.js";
import { lowerJaxpr } from "../../src/lowering/lower.js";
import { vectorizable } from "../../src/lowering/wasmSimd.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { cpuExecutable } from "../../src/runtime/cpuPlan.js";
import { expectClose } from "../util/assert.js";
import { rng } from "../util/random.js";

const [wasm, js] = [new CpuDevice(), new CpuDevice({ wasm: false })];
const next = rng(29);

interface Case {
  f: (...args: A[]) => A;
  dtypes: ("float32" | "int32")[];
  /** Whether every kernel of the program takes the vector path. */
  vector: boolean;
}

const CASES: Record<string, Case> = {
  "8-op chain with exp": { f: (x) => np.maximum(np.exp(x.mul(2).add(1).mul(x).neg()).mul(3).sub(0.5), 0), dtypes: ["float32"], vector: true },
  "exp over its whole range": { f: (x) => np.exp(x.mul(60)), dtypes: ["float32"], vector: true },
  "imported transcendentals": { f: (x, y) => np.log(np.abs(x).add(1)).add(np.sin(y)).add(np.power(np.abs(x), y)), dtypes: ["float32", "float32"], vector: true },
  "comparisons and selects": { f: (x, y) => np.where(x.gt(y), np.sqrt(np.abs(x)), np.floor(y.mul(3))), dtypes: ["float32", "float32"], vector: true },
  "integer arithmetic": { f: (i, j) => np.maximum(i.mul(j).sub(i), np.minimum(j, i.neg())).add(np.abs(j)), dtypes: ["int32", "int32"], vector: true },
  "casts both ways": { f: (x, i) => x.astype("int32").add(i).astype("float32").mul(x.gt(0).astype("float32")), dtypes: ["float32", "int32"], vector: true },
  "iota and a scalar operand": { f: (x, s) => x.add(lax.iota("float32", x.shape[0]!)).mul(s.reshape([]).astype("float32")), dtypes: ["float32", "int32"], vector: true },
};

/** Random values whose last `length mod 4` repeat the first ones, so the scalar tail recomputes vector lanes. */
function input(dtype: "float32" | "int32", length: number): A {
  const values = Array.from({ length }, () => (dtype === "float32" ? (next() - 0.5) * 8 : Math.floor((next() - 0.5) * 2000)));
  const whole = length - (length % 4);
  for (let i = whole; i < length; i++) values[i] = values[i - whole]!;
  return np.array(values, { dtype });
}

describe("the wasm renderer's vector path agrees with the scalar renderers", () => {
  for (const [name, { f, dtypes, vector }] of Object.entries(CASES)) {
    it.each([4, 5, 6, 7, 1027])(`${name}, length %i`, (length) => {
      const args = dtypes.map((d, i) => (name.includes("scalar") && i === 1 ? input(d, 1) : input(d, length)));
      const closed = makeJaxpr(f)(...args);
      const program = lowerJaxpr(closed);
      expect(program.steps.every((s) => vectorizable(s.kernel))).toBe(vector);
      const [actual] = cpuExecutable(program, closed.consts, closed.outAvals, wasm)(args);
      const [expected] = cpuExecutable(program, closed.consts, closed.outAvals, js)(args);
      const [a, e] = [actual!.dataSync(), expected!.dataSync()];
      if (actual!.dtype === "float32") expectClose(a, e, 1e-6, 1e-30);
      else expect(Array.from(a)).toEqual(Array.from(e));
      if (name.includes("iota")) return;
      const whole = length - (length % 4);
      for (let i = whole; i < length; i++) expect(Object.is(a[i], a[i - whole]) || a[i] === a[i - whole]).toBe(true);
    });
  }

  it("declines kernels that are not elementwise over the invocation index", () => {
    const closed = makeJaxpr((x: A) => np.sum(x.reshape([4, 8]), { axis: 1 }))(input("float32", 32));
    expect(lowerJaxpr(closed).steps.some((s) => vectorizable(s.kernel))).toBe(false);
  });
});
