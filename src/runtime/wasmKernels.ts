/**
 * Kernels compiled to WebAssembly for the CPU device. All of a device's kernels share one memory, the heap:
 * a kernel runs on buffers placed in it (16-byte aligned, with slack for whole-vector reads at the end), called
 * with their byte offsets. The CPU device lays out a whole program's buffers there at once (see cpu.ts).
 */
import type { Kernel } from "../lowering/kernelIr.js";
import { WASM_IMPORTS, WasmUnsupported, renderWasm } from "../lowering/wasm.js";

const PAGE = 65536;

/** A compiled kernel: runs every invocation on buffers at these byte offsets of the heap. */
export type WasmRun = (...offsets: number[]) => void;

/** Bytes a buffer of `byteLength` takes in the heap (aligned, with slack for whole-vector reads). */
export const heapBytes = (byteLength: number): number => Math.ceil(byteLength / 16) * 16 + 16;

export class WasmKernels {
  readonly #memory = new WebAssembly.Memory({ initial: 1 });

  /** The kernel's run function, or undefined when the wasm renderer cannot render it (it then runs as JavaScript). */
  compile(kernel: Kernel): WasmRun | undefined {
    if (kernel.buffers.some((b) => b.packed)) return undefined;
    let bytes: Uint8Array;
    try {
      bytes = renderWasm(kernel).bytes;
    } catch (e) {
      if (e instanceof WasmUnsupported) return undefined;
      throw e;
    }
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory: this.#memory }, m: WASM_IMPORTS });
      return instance.exports.run as WasmRun;
    } catch (e) {
      // Browsers refuse synchronous compilation of large modules on the main thread.
      if (e instanceof RangeError) return undefined;
      throw e;
    }
  }

  /** The heap, grown to at least `bytes` (growing detaches views of it: take them after this call). */
  heap(bytes: number): ArrayBuffer {
    const missing = Math.ceil(bytes / PAGE) - this.#memory.buffer.byteLength / PAGE;
    if (missing > 0) this.#memory.grow(missing);
    return this.#memory.buffer;
  }
}
