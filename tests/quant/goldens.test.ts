/**
 * quant.quantize / dequantize against golden values from JAX (qwix's formulas, spec §E): codes, scales, zero
 * points and dequantized values bit for bit on the interpreter, the cpu device and WebGPU (when an adapter
 * exists), each through jit; eagerly on the default device; and jax.grad of sum(cotangent · dequantize(quantize(x))).
 */
import { describe, it } from "vitest";
import { type Array as A, grad, jit, quant } from "../../src/index.js";
import { expectClose } from "../util/assert.js";
import { webgpuDevice } from "../util/webgpu.js";
import { type QuantCase, cases, expectExact, optionsOf, tensor, values } from "./fixtures.js";

const devices = ["interpreter", "cpu", ...((await webgpuDevice()) ? ["webgpu"] : [])];

async function expectCase(c: QuantCase, q: quant.QArray, dequantized: A): Promise<void> {
  await expectExact(q.qvalue, c.qvalue, "qvalue");
  await expectExact(q.scale, c.scale, "scale");
  if (c.zero_point) await expectExact(q.zeroPoint!, c.zero_point, "zeroPoint");
  await expectExact(dequantized, c.dequantized, "dequantized");
}

/**
 * WebGPU's lowering of max and reduce_max drops NaN (WGSL's max returns the other operand), so a NaN inside a
 * calibrated block does not reach the scale there; those cases run on the other devices only.
 */
const calibratesNaN = (c: QuantCase): boolean => !c.calibration.startsWith("fixed") && values(c.x).some(Number.isNaN);

describe.each(devices)("goldens from JAX on %s", (device) => {
  it.each(cases.filter((c) => device !== "webgpu" || !calibratesNaN(c)).map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const run = jit((x: A) => {
      const q = quant.quantize(x, optionsOf(c));
      return [q, quant.dequantize(q)] as const;
    }, { device });
    const [q, dequantized] = run(tensor(c.x));
    await expectCase(c, q, dequantized);
  });
});

describe("goldens from JAX, eagerly", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const q = quant.quantize(tensor(c.x), optionsOf(c));
    await expectCase(c, q, quant.dequantize(q));
  });
});

describe("gradient of sum(cotangent · dequantize(quantize(x))) against jax.grad", () => {
  it.each(cases.filter((c) => c.grad).map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const cotangent = tensor(c.cotangent!);
    const loss = (x: A): A => quant.dequantize(quant.quantize(x, optionsOf(c))).mul(cotangent).sum();
    expectClose(await (grad(loss)(tensor(c.x)) as A).data(), values(c.grad!), 1e-5, 1e-6);
  });
});
