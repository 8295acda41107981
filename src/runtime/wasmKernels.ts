/**
 * Kernels compiled to WebAssembly for the CPU device. All of a device's kernels share one memory, the heap:
 * a kernel runs on buffers placed in it (16-byte aligned, with slack for whole-vector reads at the end), called
 * with their byte offsets. The heap holds regions that outlive a call (arrays put on the device, and layouts
 * derived from them), and above the highest of them the scratch space where the CPU device lays out a whole
 * program's other buffers at once (see cpu.ts).
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

  /** The heap (growing detaches views of it: take them after the last allocation). */
  get heap(): ArrayBuffer {
    return this.#memory.buffer;
  }

  /** Live regions: byte offset → byte length, by offset. */
  readonly #regions = new Map<number, number>();

  /** A region of `byteLength` bytes that stays until `free`: the first gap it fits, else above the others. */
  allocate(byteLength: number): number {
    const bytes = heapBytes(byteLength);
    let offset = 0;
    for (const [start, length] of [...this.#regions].sort((a, b) => a[0] - b[0])) {
      if (start - offset >= bytes) break;
      offset = Math.max(offset, start + length);
    }
    this.#regions.set(offset, bytes);
    this.#grow(offset + bytes);
    return offset;
  }

  free(offset: number): void {
    this.#regions.delete(offset);
  }

  /** The offset of `byteLength` bytes of scratch space above every region, valid until the next allocation. */
  scratch(byteLength: number): number {
    let base = 0;
    for (const [start, length] of this.#regions) base = Math.max(base, start + length);
    this.#grow(base + byteLength);
    return base;
  }

  #grow(bytes: number): void {
    const missing = Math.ceil(bytes / PAGE) - this.#memory.buffer.byteLength / PAGE;
    if (missing > 0) this.#memory.grow(missing);
  }
}
