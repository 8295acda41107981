/**
 * The CPU device: kernels rendered to WebAssembly, or to JavaScript where the wasm renderer cannot render them,
 * compiled once per kernel, run on typed arrays. The kernels of one program share one copy of its buffers in
 * the wasm heap: the inputs are copied in once, temporaries never leave it, and only the results are copied
 * out (a program that copied every kernel's buffers in and out spent a quarter of a grouped matmul on copies).
 * Arrays put on the device are read where the heap holds them, and layouts derived from them are kept there.
 */
import type { DType } from "../core/dtype.js";
import { type HostData, allocHost } from "../core/hostData.js";
import { type Kernel, boundBuffers } from "../lowering/kernelIr.js";
import { compileJs, renderJs } from "../lowering/js.js";
import { CpuHeapBuffer, type HeapRegion, Residency, viewLike } from "./cpuHeap.js";
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

/** The kernel's buffer slots it writes. */
const writtenSlots = (kernel: Kernel): number[] => boundBuffers(kernel).flatMap((d, i) => (d.access === "read_write" ? [i] : []));

/** A buffer of a program: host data (copied into the heap for the call), an array put on the device, or a fresh one. */
export type StepBuffer = HostData | CpuHeapBuffer | FreshBuffer;

/** A kernel's structure as a string (its name aside): the key of the layouts it derives from an array. */
const kernelKeys = new WeakMap<Kernel, string>();
function kernelKey(kernel: Kernel): string {
  let key = kernelKeys.get(kernel);
  if (key === undefined) kernelKeys.set(kernel, (key = JSON.stringify({ ...kernel, name: "" })));
  return key;
}

/** A step's layout of held regions, as planned before a run: kept with `source` under `key`, or made by this run. */
interface Derived {
  readonly step: number;
  readonly output: number;
  readonly region: HeapRegion;
  readonly source: HeapRegion;
  readonly key: string;
  readonly made: boolean;
}

/** Bytes of arrays (and their kept layouts) a CPU device holds in its heap by default. */
const RESIDENT_BYTES = 2 ** 30;

export class CpuDevice {
  readonly #compiled = new WeakMap<Kernel, Compiled>();
  readonly #byText = new Map<string, Run>();
  readonly #wasm: WasmKernels | undefined;
  readonly #residency: Residency | undefined;

  /** `wasm: false` runs every kernel as JavaScript; `residentBytes` bounds the heap arrays put on the device hold. */
  constructor({ wasm = typeof WebAssembly !== "undefined", residentBytes = RESIDENT_BYTES }: { wasm?: boolean; residentBytes?: number } = {}) {
    this.#wasm = wasm ? new WasmKernels() : undefined;
    this.#residency = this.#wasm && new Residency(this.#wasm, residentBytes);
  }

  /** A buffer of a copy of `data` held in the device's heap, or undefined when the device has none (it runs JavaScript only). */
  put(data: HostData): CpuHeapBuffer | undefined {
    return this.#residency && new CpuHeapBuffer(data.slice(), this.#residency);
  }

  /** Bytes the arrays put on the device hold in its heap now, kept layouts included. */
  get residentBytes(): number {
    return this.#residency?.bytes ?? 0;
  }

  /** Runs one kernel on its buffers, in place (the written ones hold its results). */
  run(kernel: Kernel, buffers: readonly HostData[]): void {
    this.runSteps([{ kernel, buffers: buffers.map((_, i) => i) }], buffers, writtenSlots(kernel));
  }

  /**
   * Runs kernels in order on `buffers` and returns the data of those listed in `outputs` (a given array, written
   * in place, or a new one for a fresh buffer). With wasm kernels among them, every buffer is placed in the heap
   * once: arrays put on the device are read where they are, host data is copied in, and the outputs are copied
   * out. A step marked `relayout` that reads only arrays put on the device leaves its result in the heap, kept
   * with the first of them, and later runs use it instead of running the step.
   */
  runSteps(steps: readonly ProgramStep[], given: readonly StepBuffer[], outputs: readonly number[]): HostData[] {
    const compiled = steps.map((s) => this.#compile(s.kernel));
    // The buffers each step writes.
    const writes = steps.map((s) => writtenSlots(s.kernel).map((slot) => s.buffers[slot]!));
    writes.forEach((w, i) => {
      if (w.some((b) => given[b] instanceof CpuHeapBuffer)) throw new Error(`kernel '${steps[i]!.kernel.name}' writes the data of an array put on the device`);
    });
    const wasm = this.#wasm;
    const residency = this.#residency;
    // Arrays put on another device are read as host data.
    const buffers = given.map((b) => (b instanceof CpuHeapBuffer && b.residency !== residency ? b.host : b));
    if (!wasm || !residency || compiled.every((c) => "js" in c)) {
      const arrays = buffers.map((b) => (isFresh(b) ? allocHost(b.dtype, b.length) : b instanceof CpuHeapBuffer ? b.host : b));
      steps.forEach((s, i) => (compiled[i] as { js: Run }).js(s.buffers.map((b) => arrays[b]!)));
      return outputs.map((i) => arrays[i]!);
    }
    const pinned = new Set<HeapRegion>();
    const held = buffers.map((b) => (b instanceof CpuHeapBuffer ? b.region(pinned) : undefined));
    const derived = this.#deriving(residency, steps, writes, buffers, held, pinned);
    const regions = buffers.map((_, i) => held[i] ?? derived.find((d) => d.output === i)?.region);
    const likes = buffers.map((b, i) => regions[i]?.like ?? (isFresh(b) ? allocHost(b.dtype, 0) : (b as HostData)));
    const lengths = buffers.map((b) => (b instanceof CpuHeapBuffer ? b.host.length : b.length));
    let size = 0;
    const scratch = buffers.map((_, i) => {
      if (regions[i]) return 0;
      const at = size;
      size += heapBytes(likes[i]!.BYTES_PER_ELEMENT * lengths[i]!);
      return at;
    });
    try {
      const base = wasm.scratch(size);
      const offsets = buffers.map((_, i) => regions[i]?.offset ?? base + scratch[i]!);
      const views = buffers.map((_, i) => viewLike(likes[i]!, wasm.heap, offsets[i]!, lengths[i]!));
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
   * The layouts this run derives from held regions alone: those of `relayout` steps that read only arrays put on
   * the device and write one fresh buffer no other step writes. Kept ones are found; the others get a region.
   */
  #deriving(
    residency: Residency,
    steps: readonly ProgramStep[],
    writes: readonly (readonly number[])[],
    buffers: readonly StepBuffer[],
    held: readonly (HeapRegion | undefined)[],
    pinned: ReadonlySet<HeapRegion>,
  ): Derived[] {
    const writers = new Map<number, number>();
    for (const b of writes.flat()) writers.set(b, (writers.get(b) ?? 0) + 1);
    return steps.flatMap((s, step): Derived[] => {
      if (!s.kernel.relayout) return [];
      const written = writes[step]!;
      const read = s.buffers.filter((b) => !written.includes(b)).map((b) => held[b]);
      const output = written[0]!;
      const fresh = buffers[output]!;
      if (written.length !== 1 || writers.get(output) !== 1 || !isFresh(fresh) || read.length === 0) return [];
      if (!read.every((r): r is HeapRegion => r !== undefined)) return [];
      const source = read[0]!;
      const key = `${kernelKey(s.kernel)}|${read.map((r) => r.id).join(",")}`;
      const kept = source.derived(key);
      if (kept) return [{ step, output, region: kept, source, key, made: false }];
      return [{ step, output, region: residency.derive(allocHost(fresh.dtype, 0), fresh.length, pinned), source, key, made: true }];
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
