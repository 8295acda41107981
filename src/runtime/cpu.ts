/** The CPU device: kernels rendered to JavaScript, compiled once per kernel text, run on typed arrays. */
import type { Kernel } from "../lowering/kernelIr.js";
import { type CompiledKernel, compileJs, renderJs } from "../lowering/js.js";

export class CpuDevice {
  readonly #compiled = new Map<string, CompiledKernel>();

  run(kernel: Kernel, buffers: readonly (Float32Array | Int32Array | Uint32Array | Uint8Array)[]): void {
    const text = renderJs(kernel);
    let fn = this.#compiled.get(text);
    if (!fn) {
      fn = compileJs(text);
      this.#compiled.set(text, fn);
    }
    fn(buffers);
  }
}
