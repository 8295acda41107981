/**
 * Opting in to the WebGPU device. Adapter discovery is asynchronous in every WebGPU implementation, so it
 * happens once, explicitly: after `await initWebGpu()`, `jit(f, {device: "webgpu"})` runs there, arrays it
 * returns stay on the GPU (read them with `await x.data()`), and eager operations on them run there too.
 * One device serves the whole process; `closeWebGpu()` lets it go (in Node the process can then exit).
 */
import { planJaxpr } from "./lowering/plan.js";
import { WebGpuDevice } from "./runtime/webgpu.js";
import { webgpuPlanExecutable } from "./runtime/webgpuExecutable.js";
import { preferDevice, registerCompiler, unregisterCompiler } from "./trace/executable.js";

let ready: Promise<WebGpuDevice | undefined> | undefined;

/** The process's WebGPU device (created on first use), or undefined when there is no adapter. */
export function webgpuDevice(): Promise<WebGpuDevice | undefined> {
  ready ??= WebGpuDevice.create().then((gpu) => {
    const options = {
      target: "webgpu" as const,
      splitReductions: !gpu?.software,
      loopLimit: gpu?.loopLimit,
      workgroupReductions: true,
      workgroupDots: gpu !== undefined && !gpu.software,
      maxStorageBuffers: gpu?.device.limits.maxStorageBuffersPerShaderStage,
    };
    if (gpu) registerCompiler("webgpu", (closed) => webgpuPlanExecutable(gpu, planJaxpr(closed, options)));
    return gpu;
  });
  return ready;
}

/**
 * Finds a WebGPU adapter, registers the "webgpu" device and makes it the default (unless WGJAX_DEVICE or
 * `setDefaultDevice` chose another); resolves to the adapter's description, or undefined if there is none.
 */
export async function initWebGpu(): Promise<string | undefined> {
  const gpu = await webgpuDevice();
  if (gpu) preferDevice("webgpu");
  return gpu?.description;
}

/** Destroys the WebGPU device and unregisters it; arrays still on it can no longer be read. */
export async function closeWebGpu(): Promise<void> {
  const gpu = await ready;
  ready = undefined;
  if (!gpu) return;
  unregisterCompiler("webgpu");
  gpu.destroy();
}
