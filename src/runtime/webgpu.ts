/**
 * The WebGPU device: adapter discovery (navigator.gpu in browsers; in Node the `webgpu` package, trying the
 * default backend first and then Dawn's OpenGL ES backend on a software rasteriser), buffers, a pipeline
 * cache keyed by WGSL text, batched submission and async readback. The only code that touches a GPU.
 */
import type { Kernel, ScalarType } from "../lowering/kernelIr.js";
import { dispatchSize, renderWgsl } from "../lowering/wgsl.js";

type TypedArray = Float32Array | Int32Array | Uint32Array;

/** WebGPU's usage flags (the numeric values of GPUBufferUsage / GPUMapMode, so no global is needed). */
const USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, STORAGE: 0x0080 } as const;
const MAP_MODE_READ = 0x0001;

const arrayTypeOf = (t: ScalarType): typeof Float32Array | typeof Int32Array | typeof Uint32Array => (t === "f32" ? Float32Array : t === "i32" ? Int32Array : Uint32Array);

export interface DeviceBuffer {
  readonly buffer: GPUBuffer;
  readonly type: ScalarType;
  readonly length: number;
}

async function requestAdapter(): Promise<GPUAdapter | null> {
  const browserGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browserGpu) return browserGpu.requestAdapter();
  if (typeof process === "undefined" || !process.versions?.node) return null;
  let module: { create(options: string[]): GPU };
  try {
    module = (await import(/* @vite-ignore */ "webgpu" as string)) as { create(options: string[]): GPU };
  } catch {
    return null;
  }
  const fromDefault = await module.create([]).requestAdapter().catch(() => null);
  if (fromDefault) return fromDefault;
  // Mesa's EGL needs a platform when there is no display; set it only if the user has not.
  process.env.EGL_PLATFORM ??= "surfaceless";
  return module.create(["backend=opengles"]).requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions).catch(() => null);
}

export class WebGpuDevice {
  readonly #pipelines = new Map<string, GPUComputePipeline>();

  private constructor(
    readonly device: GPUDevice,
    readonly description: string,
  ) {}

  /** The device, or undefined when no adapter is available. */
  static async create(): Promise<WebGpuDevice | undefined> {
    const adapter = await requestAdapter();
    if (!adapter) return undefined;
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
    return new WebGpuDevice(device, [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "WebGPU adapter");
  }

  upload(data: TypedArray | Uint8Array, type: ScalarType): DeviceBuffer {
    const values = type === "bool" ? Uint32Array.from(data) : data;
    const buffer = this.device.createBuffer({ size: Math.max(4, values.byteLength), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    if (values.byteLength > 0) this.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    return { buffer, type, length: values.length };
  }

  allocate(length: number, type: ScalarType): DeviceBuffer {
    const buffer = this.device.createBuffer({ size: Math.max(4, length * 4), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    return { buffer, type, length };
  }

  #pipeline(code: string): GPUComputePipeline {
    let pipeline = this.#pipelines.get(code);
    if (!pipeline) {
      const module = this.device.createShaderModule({ code });
      pipeline = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.#pipelines.set(code, pipeline);
    }
    return pipeline;
  }

  /** Records every kernel into one command buffer and submits once. */
  run(steps: readonly { kernel: Kernel; buffers: readonly DeviceBuffer[] }[]): void {
    const encoder = this.device.createCommandEncoder();
    for (const { kernel, buffers } of steps) {
      if (kernel.grid === 0) continue;
      const pipeline = this.#pipeline(renderWgsl(kernel));
      const bindGroup = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer } })),
      });
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      const [x, y] = dispatchSize(kernel.grid);
      pass.dispatchWorkgroups(x, y);
      pass.end();
    }
    this.device.queue.submit([encoder.finish()]);
  }

  async read(b: DeviceBuffer): Promise<TypedArray | Uint8Array> {
    const size = Math.max(4, b.length * 4);
    const staging = this.device.createBuffer({ size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(b.buffer, 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const raw = staging.getMappedRange().slice(0, b.length * 4);
    staging.unmap();
    staging.destroy();
    if (b.type === "bool") return Uint8Array.from(new Uint32Array(raw));
    const Ctor = arrayTypeOf(b.type);
    return new Ctor(raw);
  }

  get pipelineCount(): number {
    return this.#pipelines.size;
  }
}
