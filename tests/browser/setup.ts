/**
 * Setup of the browser project: the page's WebGPU adapter (navigator.gpu, found without shims) is registered as
 * the `webgpu` device, which the slice's WebGPU tests use (the wgsl gmm backend, `jit(f, {device: "webgpu"})`); the
 * default device stays `cpu`, as in Node, so the tests' synchronous reads keep their meaning. No adapter is a
 * failure.
 */
import { webgpuDevice } from "../../src/webgpuInit.js";

if ((await webgpuDevice()) === undefined) throw new Error("the browser offers no WebGPU adapter (navigator.gpu): the browser tests need one");
