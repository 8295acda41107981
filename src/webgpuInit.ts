/**
 * Opting in to the WebGPU device. Adapter discovery is asynchronous in every WebGPU implementation, so it
 * happens once, explicitly: after `await initWebGpu()`, `jit(f, {device: "webgpu"})` runs there and arrays
 * it returns stay on the GPU (read them with `await x.data()`).
 */
import { lowerJaxpr } from "./lowering/lower.js";
import { WebGpuDevice } from "./runtime/webgpu.js";
import { webgpuExecutable } from "./runtime/webgpuExecutable.js";
import { registerCompiler } from "./trace/executable.js";

let ready: Promise<string | undefined> | undefined;

/** Finds a WebGPU adapter and registers the "webgpu" device; resolves to its description, or undefined if there is none. */
export function initWebGpu(): Promise<string | undefined> {
  ready ??= WebGpuDevice.create().then((gpu) => {
    if (!gpu) return undefined;
    registerCompiler("webgpu", (closed) => webgpuExecutable(gpu, lowerJaxpr(closed), closed.consts, closed.outAvals));
    return gpu.description;
  });
  return ready;
}
