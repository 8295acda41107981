/**
 * The WebAssembly renderer against the JavaScript renderer on every primitive's sample program: the same lowered
 * kernels run on a CPU device of each kind must agree (ints and bools exactly, floats to float32 accuracy), and
 * the kernels of the common primitives must render to wasm rather than fall back.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, bind, makeJaxpr, reference } from "../../src/index.js";
import { LoweringError, type Program, lowerJaxpr } from "../../src/lowering/lower.js";
import { WasmUnsupported, renderWasm } from "../../src/lowering/wasm.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { cpuExecutable } from "../../src/runtime/cpuPlan.js";
import { expectClose } from "../util/assert.js";
import { SAMPLES } from "../util/samples.js";

const [wasm, js] = [new CpuDevice(), new CpuDevice({ wasm: false })];
const SKIPPED = ["cond", "while", "scan", "custom_lin"];
/** Primitives whose kernels the wasm renderer must handle itself. */
const NATIVE = ["add", "mul", "exp", "log", "tanh", "max", "select_n", "reduce_sum", "reduce_max", "dot_general", "transpose", "broadcast_in_dim", "iota", "rem", "div", "shift_left"];

const renders = (program: Program): boolean =>
  program.steps.every((s) => {
    try {
      return renderWasm(s.kernel).bytes.length > 0;
    } catch (e) {
      if (e instanceof WasmUnsupported) return false;
      throw e;
    }
  });

describe("wasm and JavaScript renderers agree on every primitive's sample", () => {
  const names = reference
    .listPrimitives()
    .map((p) => p.name)
    .filter((n) => !SKIPPED.includes(n));
  it.each(names)("%s", (name) => {
    const { inputs, params } = SAMPLES[name]!();
    const f = (...args: A[]) => bind(reference.getPrimitive(name)!, args, params);
    let program: Program;
    const closed = makeJaxpr(f)(...inputs);
    try {
      program = lowerJaxpr(closed);
    } catch (e) {
      // What the lowering refuses (bfloat16 samples, say) coverage.test.ts checks by name.
      expect(e).toBeInstanceOf(LoweringError);
      return;
    }
    if (NATIVE.includes(name)) expect(renders(program)).toBe(true);
    const actual = cpuExecutable(program, closed.consts, closed.outAvals, wasm)(inputs);
    const expected = cpuExecutable(program, closed.consts, closed.outAvals, js)(inputs);
    actual.forEach((a, i) => {
      const e = expected[i]!;
      if (a.dtype === "float32") expectClose(a.dataSync(), e.dataSync(), 1e-6, 1e-30);
      else expect(Array.from(a.dataSync())).toEqual(Array.from(e.dataSync()));
    });
  });
});
