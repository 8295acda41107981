/**
 * The CPU device: kernels rendered to WebAssembly, or to JavaScript where the wasm renderer cannot render them,
 * compiled once per kernel, run on typed arrays. The kernels of one program share one copy of its buffers in
 * the wasm heap: the inputs are copied in once, temporaries never leave it, and only the results are copied
 * out (a program that copied every kernel's buffers in and out spent a quarter of a grouped matmul on copies).
 */
import type { DType } from "../core/dtype.js";
import { type HostData, allocHost } from "../core/hostData.js";
import { type Kernel, boundBuffers } from "../lowering/kernelIr.js";
import { compileJs, renderJs } from "../lowering/js.js";
import { type WasmRun, WasmKernels, heapBytes } from "./wasmKernels.js";

type Run = (buffers: readonly HostData[]) => void;

/** A compiled kernel: a wasm function of heap offsets, or a JavaScript function of typed arrays. */
type Compiled = { readonly wasm: WasmRun } | { readonly js: Run };

/** One kernel of a program and its buffers, as indices into the program's buffer list. */
export interface ProgramStep {
  readonly kernel: Kernel;
  readonly buffers: readonly number[];
}

/** A buffer the kernels write before they read it: only its type and length are given. */
export interface FreshBuffer {
  readonly dtype: DType;
  readonly length: number;
}

/** A typed array of the same type as `like`, over `length` elements of `buffer` from byte `offset`. */
function viewLike(like: HostData, buffer: ArrayBuffer, offset: number, length: number): HostData {
  const Ctor = like.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => HostData;
  return new Ctor(buffer, offset, length);
}

const isFresh = (b: HostData | FreshBuffer): b is FreshBuffer => "dtype" in b;

export class CpuDevice {
  readonly #compiled = new WeakMap<Kernel, Compiled>();
  readonly #byText = new Map<string, Run>();
  readonly #wasm: WasmKernels | undefined;

  /** `wasm: false` runs every kernel as JavaScript. */
  constructor({ wasm = typeof WebAssembly !== "undefined" }: { wasm?: boolean } = {}) {
    this.#wasm = wasm ? new WasmKernels() : undefined;
  }

  /** Runs one kernel on its buffers, in place (the written ones hold its results). */
  run(kernel: Kernel, buffers: readonly HostData[]): void {
    const written = boundBuffers(kernel).flatMap((d, i) => (d.access === "read_write" ? [i] : []));
    this.runSteps([{ kernel, buffers: buffers.map((_, i) => i) }], buffers, written);
  }

  /**
   * Runs kernels in order on `buffers` and returns the data of those listed in `outputs` (a given array, written
   * in place, or a new one for a fresh buffer). With wasm kernels among them, every buffer is placed in the heap
   * once: given ones are copied in, and the outputs copied out.
   */
  runSteps(steps: readonly ProgramStep[], buffers: readonly (HostData | FreshBuffer)[], outputs: readonly number[]): HostData[] {
    const compiled = steps.map((s) => this.#compile(s.kernel));
    if (!this.#wasm || compiled.every((c) => "js" in c)) {
      const arrays = buffers.map((b) => (isFresh(b) ? allocHost(b.dtype, b.length) : b));
      steps.forEach((s, i) => (compiled[i] as { js: Run }).js(s.buffers.map((b) => arrays[b]!)));
      return outputs.map((i) => arrays[i]!);
    }
    const offsets: number[] = [];
    let size = 0;
    const likes = buffers.map((b) => (isFresh(b) ? allocHost(b.dtype, 0) : b));
    buffers.forEach((b, i) => {
      offsets.push(size);
      size += heapBytes(likes[i]!.BYTES_PER_ELEMENT * b.length);
    });
    const heap = this.#wasm.heap(size);
    const views = buffers.map((b, i) => viewLike(likes[i]!, heap, offsets[i]!, b.length));
    buffers.forEach((b, i) => isFresh(b) || views[i]!.set(b as never));
    steps.forEach((s, i) => {
      const c = compiled[i]!;
      if ("wasm" in c) c.wasm(...s.buffers.map((b) => offsets[b]!));
      else c.js(s.buffers.map((b) => views[b]!));
    });
    return outputs.map((i) => {
      const b = buffers[i]!;
      if (isFresh(b)) return views[i]!.slice();
      b.set(views[i]! as never);
      return b;
    });
  }

  #compile(kernel: Kernel): Compiled {
    let c = this.#compiled.get(kernel);
    if (!c) {
      const wasm = this.#wasm?.compile(kernel);
      c = wasm ? { wasm } : { js: this.#js(kernel) };
      this.#compiled.set(kernel, c);
    }
    return c;
  }

  #js(kernel: Kernel): Run {
    const text = renderJs(kernel);
    let fn = this.#byText.get(text);
    if (!fn) {
      fn = compileJs(text);
      this.#byText.set(text, fn);
    }
    return fn;
  }
}
