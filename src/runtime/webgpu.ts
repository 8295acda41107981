/**
 * The WebGPU device: adapter discovery (navigator.gpu in browsers; in Node the `webgpu` package, trying the
 * default backend first and then Dawn's OpenGL ES backend on a software rasteriser), buffers, a pipeline
 * cache keyed by WGSL text, a buffer pool, batched submission and async readback. The only code that
 * touches a GPU.
 *
 * Buffers are never destroyed while the device is in use: a released buffer goes back to the pool and is
 * reused by later work. WebGPU orders all queue operations, so a buffer released after its last use was
 * recorded can be written by the next submission without waiting. (Destroying buffers that dispatches used
 * crashes Dawn's OpenGL ES backend intermittently; pooling avoids it and saves allocations.)
 */
import { dumps } from "../core/env.js";
import { WgjaxError } from "../core/errors.js";
import type { Kernel, ScalarType } from "../lowering/kernelIr.js";
import { type Chunking, dispatchSize, renderWgsl, wgslInvocations } from "../lowering/wgsl.js";

type TypedArray = Float32Array | Int32Array | Uint32Array;

/** WebGPU's usage flags (the numeric values of GPUBufferUsage / GPUMapMode, so no global is needed). */
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
const MAP_MODE_READ = 0x0001;
const MAX_BATCH_DISPATCHES = 512;

const arrayTypeOf = (t: ScalarType): typeof Float32Array | typeof Int32Array | typeof Uint32Array => (t === "f32" ? Float32Array : t === "i32" ? Int32Array : Uint32Array);

export interface DeviceBuffer {
  readonly buffer: GPUBuffer;
  readonly type: ScalarType;
  /** Elements in use (the GPU buffer may be larger: pool buffers come in power-of-two sizes). */
  readonly length: number;
}

/** Pool size class of a request: the next power of two, at least 16 bytes. */
const sizeClass = (bytes: number): number => Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));

/**
 * An adapter and the GPU object it came from. In Node, Dawn's instance lives only as long as that object
 * is referenced: dropping it while a device is in use lets the garbage collector tear Dawn down underneath.
 */
async function requestAdapter(): Promise<{ gpu: GPU; adapter: GPUAdapter } | null> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) {
    const adapter = (await browserGpu.requestAdapter()) ?? (await browserGpu.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions));
    return adapter ? { gpu: browserGpu, adapter } : null;
  }
  if (typeof process === "undefined" || !process.versions?.node) return null;
  let module: { create(options: string[]): GPU };
  try {
    module = (await import(/* @vite-ignore */ "webgpu" as string)) as { create(options: string[]): GPU };
  } catch {
    return null;
  }
  const gpu = module.create([]);
  const fromDefault = await gpu.requestAdapter().catch(() => null);
  if (fromDefault) return { gpu, adapter: fromDefault };
  // Mesa's EGL needs a platform when there is no display; set it only if the user has not.
  process.env.EGL_PLATFORM ??= "surfaceless";
  const gles = module.create(["backend=opengles"]);
  const adapter = await gles.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions).catch(() => null);
  return adapter ? { gpu: gles, adapter } : null;
}

/**
 * A kernel's pipeline for one way of binding its buffers, its bind group layout, the uniform with its size and
 * shape parameters, and the invocations it dispatches (kept: each costs a native call or a walk of the kernel,
 * together a tenth of a small cached call).
 */
interface KernelPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly uniform: GPUBuffer;
  readonly invocations: number;
}

/**
 * Mesa's llvmpipe counts every loop iteration of a shader invocation and leaves its loops, silently, after 65535
 * (a guard against hung shaders): a reduction over more elements summed only the first 65535. Measured here;
 * other software rasterisers are given the same limit.
 */
const SOFTWARE_LOOP_LIMIT = 65535;

export class WebGpuDevice {
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  #byKernel = new WeakMap<Kernel, Map<string, KernelPipeline>>();
  readonly #free = new Map<number, GPUBuffer[]>();
  /** Released while a batch is being recorded: reusable by later kernels of the batch, not by queue writes. */
  readonly #batchFree = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  /** Work that must finish before anything else touches the device (a run that reads back a loop predicate). */
  #tail: Promise<void> | undefined;
  #queued = 0;
  #failure: unknown;
  /** Buffers released while deferred work may still use them: pooled once the device is idle. */
  #deferred: DeviceBuffer[] = [];
  /** Mappable buffers for readback, by size class (reused: creating one per read is a large part of a read's cost). */
  readonly #staging = new Map<number, GPUBuffer[]>();
  /** The uniforms holding kernels' sizes and shape parameters, one immutable buffer per contents (see renderWgsl). */
  readonly #uniforms = new Map<string, GPUBuffer>();
  #encoder: GPUCommandEncoder | undefined;
  #flushScheduled = false;
  /** Dispatches in the open batch: a batch is submitted once it holds this many, even mid-task. */
  #dispatches = 0;
  /** Validation errors of submitted work, checked before any read (so a bad shader fails instead of hanging). */
  readonly #pendingErrors = new Set<Promise<unknown>>();
  #errors: GPUError[] = [];

  #gpu: GPU | undefined;

  private constructor(
    gpu: GPU,
    readonly device: GPUDevice,
    readonly description: string,
    /** A CPU rasteriser behind the adapter (Mesa llvmpipe, SwiftShader): the lowering tunes for it. */
    readonly software: boolean,
  ) {
    this.#gpu = gpu;
    this.loopLimit = software ? SOFTWARE_LOOP_LIMIT : undefined;
  }

  /** The most loop iterations a shader invocation may run, where the adapter stops longer loops. */
  readonly loopLimit: number | undefined;

  /** The device, or undefined when no adapter is available. */
  static async create(): Promise<WebGpuDevice | undefined> {
    const found = await requestAdapter();
    if (!found) return undefined;
    const { gpu, adapter } = found;
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      },
    });
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "WebGPU adapter";
    const software = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /llvmpipe|swiftshader|softpipe|lavapipe/i.test(description);
    return new WebGpuDevice(gpu, device, description, software);
  }

  /**
   * A storage buffer of at least `length` elements, from the pool when one of its size class is free. Only a
   * buffer written by recorded commands (`forQueueWrite` false) may reuse one released during the open batch.
   */
  allocate(length: number, type: ScalarType, forQueueWrite = false): DeviceBuffer {
    const size = sizeClass(length * 4);
    const pooled = (forQueueWrite ? undefined : this.#batchFree.get(size)?.pop()) ?? this.#free.get(size)?.pop();
    if (pooled) this.#pooledBytes -= size;
    const buffer = pooled ?? this.device.createBuffer({ size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    return { buffer, type, length };
  }

  upload(data: TypedArray | Uint8Array, type: ScalarType): DeviceBuffer {
    const values = type === "bool" ? Uint32Array.from(data) : data;
    const b = this.allocate(values.length, type, true);
    if (values.byteLength > 0) this.device.queue.writeBuffer(b.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    return b;
  }

  /**
   * Returns a buffer to the pool. Work already submitted or recorded that uses it is unaffected: commands run
   * in recording order, and a queue write (which runs before the open batch) never gets a buffer the batch uses.
   */
  release(b: DeviceBuffer): void {
    if (this.#tail) this.#deferred.push(b);
    else this.releaseNow(b);
  }

  /** Returns a buffer to the pool at once: for the work that is running, which knows its own buffers' last use. */
  releaseNow(b: DeviceBuffer): void {
    const size = b.buffer.size;
    const pool = this.#encoder ? this.#batchFree : this.#free;
    const free = pool.get(size);
    if (free) free.push(b.buffer);
    else pool.set(size, [b.buffer]);
    this.#pooledBytes += size;
    if (!this.#encoder) this.#trim();
  }

  /**
   * Destroys free buffers, the largest first, while the pool holds more than `poolLimit` bytes (without a limit a
   * process working on ever new shapes kept every buffer it had used). Only buffers no open batch can still use
   * are pooled in `#free`: submitted work that used one completes before the memory goes.
   */
  #trim(): void {
    for (const size of [...this.#free.keys()].sort((a, b) => b - a)) {
      if (this.#pooledBytes <= this.poolLimit) return;
      const free = this.#free.get(size)!;
      while (free.length > 0 && this.#pooledBytes > this.poolLimit) {
        free.pop()!.destroy();
        this.#pooledBytes -= size;
      }
      if (free.length === 0) this.#free.delete(size);
    }
  }

  /** The most bytes free buffers may hold in the pool; more are destroyed as they are released. */
  poolLimit = 512 * 1024 * 1024;

  /** Bytes held by free buffers in the pool. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /**
   * The pipeline of a kernel object for a way of binding its buffers (its WGSL is rendered only the first time
   * this object is seen with that binding).
   */
  #kernelPipeline(kernel: Kernel, split: Chunking): KernelPipeline {
    let pipelines = this.#byKernel.get(kernel);
    if (!pipelines) this.#byKernel.set(kernel, (pipelines = new Map()));
    const key = split.counts.join(",");
    let entry = pipelines.get(key);
    if (!entry) {
      const { code, uniform } = renderWgsl(kernel, split);
      const pipeline = this.#pipeline(code);
      pipelines.set(key, (entry = { pipeline, layout: pipeline.getBindGroupLayout(0), uniform: this.#uniform(uniform), invocations: wgslInvocations(kernel, split) }));
    }
    return entry;
  }

  /** The bind group entries of a kernel's buffers: one binding each, or consecutive chunks of a large one. */
  #bindings(buffers: readonly DeviceBuffer[]): { split: Chunking; entries: GPUBindGroupEntry[] } {
    const limit = this.device.limits.maxStorageBufferBindingSize;
    const entries: GPUBindGroupEntry[] = [];
    const counts = buffers.map((b) => {
      const size = b.buffer.size;
      if (size <= limit) {
        entries.push({ binding: entries.length, resource: { buffer: b.buffer } });
        return 1;
      }
      const count = Math.ceil(size / limit);
      for (let c = 0; c < count; c++) entries.push({ binding: entries.length, resource: { buffer: b.buffer, offset: c * limit, size: Math.min(limit, size - c * limit) } });
      return count;
    });
    return { split: { words: limit / 4, counts }, entries };
  }

  #pipeline(code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(code);
    if (!pipeline) {
      if (dumps("wgsl")) console.log(code);
      const module = this.device.createShaderModule({ code });
      pipeline = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.#pipelines.set(code, pipeline);
    }
    return pipeline;
  }

  #uniform(contents: Uint32Array<ArrayBuffer>): GPUBuffer {
    const key = contents.join(",");
    let uniform = this.#uniforms.get(key);
    if (!uniform) {
      uniform = this.device.createBuffer({ size: contents.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST });
      this.device.queue.writeBuffer(uniform, 0, contents);
      this.#uniforms.set(key, uniform);
    }
    return uniform;
  }

  #batch(): GPUCommandEncoder {
    if (!this.#encoder) {
      this.device.pushErrorScope("validation");
      this.#encoder = this.device.createCommandEncoder();
    }
    return this.#encoder;
  }

  /** Records kernels into the open batch (one command buffer, submitted by `flush`). */
  record(steps: readonly { kernel: Kernel; buffers: readonly DeviceBuffer[] }[]): void {
    const encoder = this.#batch();
    for (const { kernel, buffers } of steps) {
      if (kernel.grid === 0) continue;
      const { split, entries } = this.#bindings(buffers);
      const { pipeline, layout, uniform, invocations } = this.#kernelPipeline(kernel, split);
      const bindGroup = this.device.createBindGroup({ layout, entries: [...entries, { binding: entries.length, resource: { buffer: uniform } }] });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const [x, y] = dispatchSize(invocations, kernel.workgroupSize);
      pass.dispatchWorkgroups(x, y);
      pass.end();
      this.#dispatches++;
    }
  }

  /** Records a copy of `length` elements from `src` at `srcOffset` to `dst` at `dstOffset` into the open batch. */
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    if (length > 0) this.#batch().copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, length * 4);
  }

  /**
   * Submits the open batch at the end of the current task (a read of a result recorded before then joins it;
   * work recorded in one synchronous stretch goes in one command buffer).
   */
  scheduleFlush(): void {
    if (this.#dispatches >= MAX_BATCH_DISPATCHES) this.flush();
    if (this.#flushScheduled || !this.#encoder) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  /** Submits the open batch, if any. */
  flush(): void {
    const encoder = this.#encoder;
    if (!encoder) return;
    this.#encoder = undefined;
    this.#dispatches = 0;
    this.device.queue.submit([encoder.finish()]);
    const pending: Promise<unknown> = this.device.popErrorScope().then((error) => {
      this.#pendingErrors.delete(pending);
      if (error) this.#errors.push(error);
    });
    this.#pendingErrors.add(pending);
    for (const [size, buffers] of this.#batchFree) {
      const free = this.#free.get(size);
      if (free) free.push(...buffers);
      else this.#free.set(size, buffers);
    }
    this.#batchFree.clear();
    this.#trim();
  }

  /** Records every kernel into one command buffer and submits it. */
  run(steps: readonly { kernel: Kernel; buffers: readonly DeviceBuffer[] }[]): void {
    this.record(steps);
    this.flush();
  }

  /** True while deferred work is queued: new work must then be queued behind it (`enqueue`). */
  get busy(): boolean {
    return this.#tail !== undefined;
  }

  /**
   * Queues work that awaits the GPU (a while loop reading back its predicate) behind any queued before it. Until
   * the queue drains, releases are deferred and reads wait; a failure is raised by the next read.
   */
  enqueue(task: () => Promise<void>): void {
    this.#queued++;
    this.#tail = (this.#tail ?? Promise.resolve())
      .then(task)
      .catch((error: unknown) => {
        this.#failure ??= error;
      })
      .finally(() => {
        if (--this.#queued > 0) return;
        this.#tail = undefined;
        for (const b of this.#deferred.splice(0)) this.releaseNow(b);
      });
  }

  /** The data of a buffer, once all queued work has finished. */
  async read(b: DeviceBuffer): Promise<TypedArray | Uint8Array> {
    while (this.#tail) await this.#tail;
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
    return this.readNow(b);
  }

  /** The data of a buffer as the submitted work leaves it (for queued work reading its own results). */
  async readNow(b: DeviceBuffer): Promise<TypedArray | Uint8Array> {
    // The copy joins the open batch (one submit for a call and the read of its result), and is recorded before
    // any await, so a later release and reuse of `b` cannot change what is read.
    const size = sizeClass(b.length * 4);
    const staging = this.#staging.get(size)?.pop() ?? this.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.#batch().copyBufferToBuffer(b.buffer, 0, staging, 0, Math.max(4, b.length * 4));
    this.flush();
    // Mapping starts at once, so waiting for the validation results and for the data overlap; a rejected kernel
    // throws before the mapping is awaited (its batch never ran, and the mapping may never complete).
    const mapped = staging.mapAsync(MAP_MODE_READ);
    await Promise.all([...this.#pendingErrors]);
    const errors = this.#errors.splice(0);
    if (errors.length > 0) {
      mapped.catch(() => undefined);
      throw new WgjaxError(`WebGPU rejected a kernel: ${errors.map((e) => e.message).join("; ")}`);
    }
    await mapped;
    const raw = staging.getMappedRange().slice(0, b.length * 4);
    staging.unmap();
    const free = this.#staging.get(size);
    if (free) free.push(staging);
    else this.#staging.set(size, [staging]);
    if (b.type === "bool") return Uint8Array.from(new Uint32Array(raw));
    const Ctor = arrayTypeOf(b.type);
    return new Ctor(raw);
  }

  /** Destroys the device and lets go of the GPU instance (in Node, the process can then exit). */
  destroy(): void {
    if (!this.#gpu) return;
    this.device.destroy();
    this.#encoder = undefined;
    this.#free.clear();
    this.#batchFree.clear();
    this.#staging.clear();
    this.#uniforms.clear();
    this.#pipelines.clear();
    this.#byKernel = new WeakMap();
    this.#gpu = undefined;
  }

  get pipelineCount(): number {
    return this.#pipelines.size;
  }
}
