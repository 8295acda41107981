/**
 * The backends the gmm tests loop over, and how a test runs a function on one: the kernel backends under jit
 * on their own device (`cpu` on the cpu device, `wgsl` on webgpu when an adapter exists), so their grouped
 * kernels run; the others eagerly, as every test of the file has always done. Results come back as host arrays.
 */
import { type Array as A, jit } from "../../../src/index.js";
import { ShapedArray } from "../../../src/core/aval.js";
import { arrayFromHost } from "../../../src/core/array.js";
import { webgpuDevice } from "../../util/webgpu.js";

// Resolved while the file is collected: in CI (WGJAX_REQUIRE_WEBGPU) a missing adapter throws here, a failure.
export const gpu = await webgpuDevice();

export const BACKENDS = ["reference", "ragged-dot", "cpu", ...(gpu ? ["wgsl"] : [])];

/** The device whose grouped kernel serves a backend, if it has one. */
export const kernelDevice = (backend: string): string | undefined => ({ cpu: "cpu", wgsl: "webgpu" })[backend];

const toHost = async (x: A): Promise<A> => arrayFromHost(await x.data(), new ShapedArray(x.shape, x.dtype));

/** `f` applied to `args` on the backend's device (jit), or eagerly; every result read back to the host. */
export async function runOn<T extends A | A[]>(backend: string, f: (...args: A[]) => T, ...args: A[]): Promise<T> {
  const device = kernelDevice(backend);
  const out = device ? jit(f, { device })(...args) : f(...args);
  return (Array.isArray(out) ? await Promise.all(out.map(toHost)) : await toHost(out as A)) as T;
}
