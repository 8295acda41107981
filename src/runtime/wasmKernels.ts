/**
 * Kernels compiled to WebAssembly for the CPU device. All of a device's kernels share one memory: a run copies
 * its buffers in (16-byte aligned, with slack for whole-vector reads at the end), calls the kernel with their
 * offsets, and copies the written buffers back.
 */
import type { HostData } from "../core/hostData.js";
import type { Kernel } from "../lowering/kernelIr.js";
import { WASM_IMPORTS, WasmUnsupported, renderWasm } from "../lowering/wasm.js";

const PAGE = 65536;

export class WasmKernels {
  readonly #memory = new WebAssembly.Memory({ initial: 1 });

  /**
   * The kernel as a function of its buffers, or undefined when the wasm renderer cannot render it (it reads every
   * buffer as 32-bit elements, so kernels on narrow element types run as JavaScript).
   */
  compile(kernel: Kernel): ((buffers: readonly HostData[]) => void) | undefined {
    if (kernel.buffers.some((b) => b.element !== undefined)) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = renderWasm(kernel).bytes;
    } catch (e) {
      if (e instanceof WasmUnsupported) return undefined;
      throw e;
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory: this.#memory }, m: WASM_IMPORTS });
    } catch (e) {
      // Browsers refuse synchronous compilation of large modules on the main thread.
      if (e instanceof RangeError) return undefined;
      throw e;
    }
    const run = instance.exports.run as (...offsets: number[]) => void;
    return (buffers) => {
      let size = 0;
      const offsets = buffers.map((b) => {
        const offset = size;
        size += Math.ceil(b.byteLength / 16) * 16 + 16;
        return offset;
      });
      const missing = Math.ceil(size / PAGE) - this.#memory.buffer.byteLength / PAGE;
      if (missing > 0) this.#memory.grow(missing);
      const heap = new Uint8Array(this.#memory.buffer);
      buffers.forEach((b, i) => heap.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), offsets[i]));
      run(...offsets);
      kernel.buffers.forEach((d, i) => {
        const b = buffers[i]!;
        if (d.access === "read_write") new Uint8Array(b.buffer, b.byteOffset, b.byteLength).set(heap.subarray(offsets[i]!, offsets[i]! + b.byteLength));
      });
    };
  }
}
