/**
 * Arrays put on the CPU device (`devicePut(x, "cpu")`): their data lives in the device's wasm heap, where its
 * kernels read it without the copy every host array pays on each call. A re-layout a kernel program makes of
 * such an array (dot_general's and gmm's packed rhs) is kept with it, as the array cannot change: a model's
 * weights are packed once, not on every call. Reading the data copies it out of the heap.
 */
import type { Buffer } from "../core/array.js";
import { HOST_DEVICE } from "../core/array.js";
import type { HostData } from "../core/hostData.js";
import type { WasmKernels } from "./wasmKernels.js";

/** A typed array of the same type as `like`, over `length` elements of `buffer` from byte `offset`. */
export function viewLike(like: HostData, buffer: ArrayBuffer, offset: number, length: number): HostData {
  const Ctor = like.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => HostData;
  return new Ctor(buffer, offset, length);
}

/** An empty typed array of the type of `like` (not a view of its buffer, which it would keep alive). */
export const emptyLike = (like: HostData): HostData => new (like.constructor as new (length: number) => HostData)(0);

/** Layouts derived from one array a region keeps at most (the oldest goes first). */
const MAX_DERIVED = 4;

let nextId = 0;

/** A region of the heap holding one array's elements: an array's own data, or a layout derived from arrays. */
export class HeapRegion {
  readonly id = nextId++;
  readonly #derived = new Map<string, HeapRegion>();
  #live = true;

  /** `like`: an empty typed array of the elements' type. */
  constructor(
    readonly heap: WasmKernels,
    readonly offset: number,
    readonly length: number,
    readonly like: HostData,
  ) {}

  static holding(heap: WasmKernels, data: HostData): HeapRegion {
    const region = HeapRegion.fresh(heap, emptyLike(data), data.length);
    region.view().set(data as never);
    return region;
  }

  static fresh(heap: WasmKernels, like: HostData, length: number): HeapRegion {
    return new HeapRegion(heap, heap.allocate(like.BYTES_PER_ELEMENT * length), length, like);
  }

  /** The elements in place (a view detached by the heap's next growth). */
  view(): HostData {
    if (!this.#live) throw new Error(`a freed heap region (${this.length} elements) was read`);
    return viewLike(this.like, this.heap.heap, this.offset, this.length);
  }

  /** A derived layout kept under `key`, if there is one. */
  derived(key: string): HeapRegion | undefined {
    return this.#derived.get(key);
  }

  /** The layouts kept with this region, oldest first. */
  keptLayouts(): HeapRegion[] {
    return [...this.#derived.values()];
  }

  /** Keeps `region` as the layout under `key`, freed with this region. */
  keep(key: string, region: HeapRegion): void {
    if (this.#derived.size >= MAX_DERIVED) {
      const [oldest, dropped] = this.#derived.entries().next().value as [string, HeapRegion];
      this.#derived.delete(oldest);
      dropped.free();
    }
    this.#derived.set(key, region);
  }

  free(): void {
    if (!this.#live) return;
    this.#live = false;
    this.heap.free(this.offset);
    for (const region of this.#derived.values()) region.free();
    this.#derived.clear();
  }
}

/** The buffer of an array put on the CPU device. */
export class CpuHeapBuffer implements Buffer {
  readonly device = HOST_DEVICE;
  constructor(readonly region: HeapRegion) {}
  read(): Promise<HostData> {
    return Promise.resolve(this.readSync());
  }
  /** A copy of the data (a view into the heap would be detached when it grows, and must not be written). */
  readSync(): HostData {
    return this.region.view().slice();
  }
  release(): void {
    this.region.free();
  }
}
