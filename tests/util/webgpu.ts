/**
 * The WebGPU device for tests: the process's one device (src/webgpuInit.ts), so raw-kernel tests and jit tests
 * share it. Without an adapter the WebGPU tests are not collected (the reason is printed), except when
 * WGJAX_REQUIRE_WEBGPU is set (as .ci/run does): then a missing adapter is a failure.
 */
import type { WebGpuDevice } from "../../src/runtime/webgpu.js";
import { webgpuDevice as processDevice } from "../../src/webgpuInit.js";

/** A variable of the test environment: process.env in Node, import.meta.env (vitest's `env`) in the browser. */
export const testEnv = (name: string): string | undefined =>
  typeof process !== "undefined" ? process.env[name] : ((import.meta as { env?: Record<string, string | undefined> }).env?.[name] ?? undefined);

export async function webgpuDevice(): Promise<WebGpuDevice | undefined> {
  const d = await processDevice();
  if (!d && testEnv("WGJAX_REQUIRE_WEBGPU")) {
    throw new Error("no WebGPU adapter found, and WGJAX_REQUIRE_WEBGPU is set (install the Mesa EGL/GLES packages of shared/webgpu-linux.md)");
  }
  if (!d) console.warn("WebGPU tests not run: no WebGPU adapter on this machine");
  return d;
}
