/**
 * The WebGPU device for tests. Without an adapter the WebGPU tests are not collected (the reason is printed),
 * except when WGJAX_REQUIRE_WEBGPU is set (as .ci/run does): then a missing adapter is a failure.
 */
import { WebGpuDevice } from "../../src/runtime/webgpu.js";

let device: Promise<WebGpuDevice | undefined> | undefined;

export async function webgpuDevice(): Promise<WebGpuDevice | undefined> {
  device ??= WebGpuDevice.create();
  const d = await device;
  if (!d && process.env.WGJAX_REQUIRE_WEBGPU) {
    throw new Error("no WebGPU adapter found, and WGJAX_REQUIRE_WEBGPU is set (install the Mesa EGL/GLES packages of shared/webgpu-linux.md)");
  }
  if (!d) console.warn("WebGPU tests not run: no WebGPU adapter on this machine");
  return d;
}
