/**
 * Arrays put on the CPU device (`devicePut(x, "cpu")`): their data is copied into the device's wasm heap, where
 * its kernels read it without the copy a host array pays on every call. A re-layout a kernel program makes of
 * such arrays (dot_general's and gmm's packed rhs) is kept with them, as they cannot change: a model's weights
 * are packed once, not on every call. The heap holds them up to a budget, least recently used first out; an
 * array whose region went is copied in again from its host copy at its next use. So arrays dropped without
 * `dispose()` cost no more than the budget even in synchronous work, where no finalizer gets to run.
 */
import { HostBuffer } from "../core/array.js";
import type { HostData } from "../core/hostData.js";
import type { WasmKernels } from "./wasmKernels.js";

/** A typed array of the same type as `like`, over `length` elements of `buffer` from byte `offset`. */
export function viewLike(like: HostData, buffer: ArrayBuffer, offset: number, length: number): HostData {
  const Ctor = like.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => HostData;
  return new Ctor(buffer, offset, length);
}

/** An empty typed array of the type of `like` (not a view of its buffer, which it would keep alive). */
const emptyLike = (like: HostData): HostData => new (like.constructor as new (length: number) => HostData)(0);

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

  static fresh(heap: WasmKernels, like: HostData, length: number): HeapRegion {
    return new HeapRegion(heap, heap.allocate(like.BYTES_PER_ELEMENT * length), length, like);
  }

  get live(): boolean {
    return this.#live;
  }

  /** Bytes of the elements and of the layouts kept with them. */
  get footprint(): number {
    let bytes = this.like.BYTES_PER_ELEMENT * this.length;
    for (const region of this.#derived.values()) bytes += region.footprint;
    return bytes;
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

/** The regions of arrays a CPU device holds in its heap, within a budget of bytes (their layouts included). */
export class Residency {
  /** Held regions, least recently used first. */
  readonly #held = new Set<HeapRegion>();

  constructor(
    readonly heap: WasmKernels,
    readonly budget: number,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    let bytes = 0;
    for (const region of this.#held) if (region.live) bytes += region.footprint;
    return bytes;
  }

  /** A new region holding a copy of `data`. */
  hold(data: HostData, pinned: ReadonlySet<HeapRegion>): HeapRegion {
    const region = this.derive(emptyLike(data), data.length, pinned);
    region.view().set(data as never);
    this.#held.add(region);
    return region;
  }

  /** A new region of `length` elements like `like`, for a layout to keep with a held region. */
  derive(like: HostData, length: number, pinned: ReadonlySet<HeapRegion>): HeapRegion {
    this.#makeRoom(like.BYTES_PER_ELEMENT * length, pinned);
    return HeapRegion.fresh(this.heap, like, length);
  }

  /** Marks `region` as used now. */
  touch(region: HeapRegion): void {
    this.#held.delete(region);
    this.#held.add(region);
  }

  /** Frees the least recently used regions not in `pinned` until `bytes` more fit in the budget (or none is left). */
  #makeRoom(bytes: number, pinned: ReadonlySet<HeapRegion>): void {
    for (const region of this.#held) if (!region.live) this.#held.delete(region);
    let held = this.bytes;
    for (const region of this.#held) {
      if (held + bytes <= this.budget) return;
      if (pinned.has(region)) continue;
      held -= region.footprint;
      region.free();
      this.#held.delete(region);
    }
  }
}

/**
 * The buffer of an array put on the CPU device: its host copy, and its region of the heap while it has one.
 * Reads are copies: the host copy must stay what the heap holds.
 */
export class CpuHeapBuffer extends HostBuffer {
  #region: HeapRegion | undefined;

  /** `host` becomes this buffer's own: the caller gives a copy nobody else writes. */
  constructor(
    host: HostData,
    readonly residency: Residency,
  ) {
    super(host);
    this.#region = residency.hold(host, new Set());
  }

  /** The region holding the data now, if it has one. */
  get placed(): HeapRegion | undefined {
    return this.#region?.live ? this.#region : undefined;
  }

  /** The data's region, copied in again if it was freed; marked used and added to `pinned` (kept for this run). */
  region(pinned: Set<HeapRegion>): HeapRegion {
    if (!this.#region?.live) this.#region = this.residency.hold(this.host, pinned);
    this.residency.touch(this.#region);
    pinned.add(this.#region);
    return this.#region;
  }

  override read(): Promise<HostData> {
    return Promise.resolve(this.readSync());
  }

  override readSync(): HostData {
    return this.host.slice();
  }

  override release(): void {
    this.#region?.free();
    this.#region = undefined;
  }
}
