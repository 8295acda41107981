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
import { HeapRegion, viewLike } from "./cpuHeap.js";
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

const isFresh = (b: StepBuffer): b is FreshBuffer => "dtype" in b;

/** A buffer of a program: host data (copied into the heap for the call), a region of the heap, or a fresh one. */
export type StepBuffer = HostData | HeapRegion | FreshBuffer;

/** A kernel's structure as a string (its name aside): the key of the layouts it derives from an array. */
const kernelKeys = new WeakMap<Kernel, string>();
function kernelKey(kernel: Kernel): string {
  let key = kernelKeys.get(kernel);
  if (key === undefined) kernelKeys.set(kernel, (key = JSON.stringify({ ...kernel, name: "" })));
  return key;
}

/** The step's layout of regions, as planned before a run: kept with `source` under `key`, or made by this run. */
interface Derived {
  readonly step: number;
  readonly output: number;
  readonly region: HeapRegion;
  readonly source: HeapRegion;
  readonly key: string;
  readonly made: boolean;
}

export class CpuDevice {
  readonly #compiled = new WeakMap<Kernel, Compiled>();
  readonly #byText = new Map<string, Run>();
  readonly #wasm: WasmKernels | undefined;

  /** `wasm: false` runs every kernel as JavaScript. */
  constructor({ wasm = typeof WebAssembly !== "undefined" }: { wasm?: boolean } = {}) {
    this.#wasm = wasm ? new WasmKernels() : undefined;
  }

  /** `data` copied into the device's heap, or undefined when the device has none (it runs JavaScript only). */
  place(data: HostData): HeapRegion | undefined {
    return this.#wasm && HeapRegion.holding(this.#wasm, data);
  }

  /** Runs one kernel on its buffers, in place (the written ones hold its results). */
  run(kernel: Kernel, buffers: readonly HostData[]): void {
    const written = boundBuffers(kernel).flatMap((d, i) => (d.access === "read_write" ? [i] : []));
    this.runSteps([{ kernel, buffers: buffers.map((_, i) => i) }], buffers, written);
  }

  /**
   * Runs kernels in order on `buffers` and returns the data of those listed in `outputs` (a given array, written
   * in place, or a new one for a fresh buffer). With wasm kernels among them, every buffer is placed in the heap
   * once: regions of it are read where they are, host data is copied in, and the outputs are copied out. A
   * step marked `relayout` that reads only regions leaves its result in the heap, kept with the first of them,
   * and later runs use it instead of running the step.
   */
  runSteps(steps: readonly ProgramStep[], given: readonly StepBuffer[], outputs: readonly number[]): HostData[] {
    const compiled = steps.map((s) => this.#compile(s.kernel));
    const wasm = this.#wasm;
    // Regions of another device's heap are read as host data.
    const buffers = given.map((b) => (b instanceof HeapRegion && b.heap !== wasm ? b.view() : b));
    steps.forEach((s) =>
      boundBuffers(s.kernel).forEach((d, i) => {
        if (d.access === "read_write" && buffers[s.buffers[i]!] instanceof HeapRegion) throw new Error(`kernel '${s.kernel.name}' writes an array's data in the heap`);
      }),
    );
    if (!wasm || compiled.every((c) => "js" in c)) {
      const arrays = buffers.map((b) => (isFresh(b) ? allocHost(b.dtype, b.length) : b instanceof HeapRegion ? b.view() : b));
      steps.forEach((s, i) => (compiled[i] as { js: Run }).js(s.buffers.map((b) => arrays[b]!)));
      return outputs.map((i) => arrays[i]!);
    }
    const derived = this.#deriving(wasm, steps, buffers);
    const regions = buffers.map((b, i) => (b instanceof HeapRegion ? b : derived.find((d) => d.output === i)?.region));
    const likes = buffers.map((b, i) => regions[i]?.like ?? (isFresh(b) ? allocHost(b.dtype, 0) : (b as HostData)));
    let size = 0;
    const scratch = buffers.map((b, i) => {
      if (regions[i]) return 0;
      const at = size;
      size += heapBytes(likes[i]!.BYTES_PER_ELEMENT * b.length);
      return at;
    });
    try {
      const base = wasm.scratch(size);
      const offsets = buffers.map((_, i) => regions[i]?.offset ?? base + scratch[i]!);
      const views = buffers.map((b, i) => viewLike(likes[i]!, wasm.heap, offsets[i]!, b.length));
      buffers.forEach((b, i) => isFresh(b) || regions[i] || views[i]!.set(b as never));
      steps.forEach((s, i) => {
        if (derived.some((d) => !d.made && d.step === i)) return;
        const c = compiled[i]!;
        if ("wasm" in c) c.wasm(...s.buffers.map((b) => offsets[b]!));
        else c.js(s.buffers.map((b) => views[b]!));
      });
      for (const d of derived) if (d.made) d.source.keep(d.key, d.region);
      return outputs.map((i) => {
        const b = buffers[i]!;
        if (isFresh(b) || regions[i]) return views[i]!.slice();
        (b as HostData).set(views[i]! as never);
        return b as HostData;
      });
    } catch (error) {
      for (const d of derived) if (d.made) d.region.free();
      throw error;
    }
  }

  /**
   * The layouts this run derives from regions alone: those of `relayout` steps that read only regions and
   * write one fresh buffer no other step writes. Kept ones are found; the others get a region of their own.
   */
  #deriving(wasm: WasmKernels, steps: readonly ProgramStep[], buffers: readonly StepBuffer[]): Derived[] {
    const writers = new Map<number, number>();
    const writes = (s: ProgramStep): number[] => boundBuffers(s.kernel).flatMap((d, i) => (d.access === "read_write" ? [s.buffers[i]!] : []));
    for (const s of steps) for (const b of writes(s)) writers.set(b, (writers.get(b) ?? 0) + 1);
    return steps.flatMap((s, step): Derived[] => {
      if (!s.kernel.relayout) return [];
      const written = writes(s);
      const read = s.buffers.filter((b) => !written.includes(b)).map((b) => buffers[b]);
      const output = written[0]!;
      const fresh = buffers[output]!;
      if (written.length !== 1 || writers.get(output) !== 1 || !isFresh(fresh) || read.length === 0) return [];
      if (!read.every((b): b is HeapRegion => b instanceof HeapRegion)) return [];
      const source = read[0]!;
      const key = `${kernelKey(s.kernel)}|${read.map((r) => r.id).join(",")}`;
      const kept = source.derived(key);
      if (kept) return [{ step, output, region: kept, source, key, made: false }];
      return [{ step, output, region: HeapRegion.fresh(wasm, allocHost(fresh.dtype, 0), fresh.length), source, key, made: true }];
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
