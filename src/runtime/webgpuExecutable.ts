/**
 * The WebGPU device's executable and its arrays: a lowered program runs as one batch of WGSL kernels; results
 * stay on the device (read with `await x.data()`) and can be fed to later calls without copies.
 */
import type { ShapedArray } from "../core/aval.js";
import { type Array, ArrayImpl, type Buffer, arrayFromHost } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { type HostData, allocHost } from "../core/hostData.js";
import type { ScalarType } from "../lowering/kernelIr.js";
import type { BufferRef, Program } from "../lowering/lower.js";
import type { DeviceBuffer, WebGpuDevice } from "./webgpu.js";

const SCALAR: Partial<Record<DType, ScalarType>> = { float32: "f32", int32: "i32", uint32: "u32", bool: "bool" };

/** An array's data in a GPU buffer. Reading is asynchronous; `release` frees the GPU memory. */
export class WebGpuArrayBuffer implements Buffer {
  readonly device = "webgpu";
  #released = false;
  constructor(
    readonly gpu: WebGpuDevice,
    readonly handle: DeviceBuffer,
  ) {}
  async read(): Promise<HostData> {
    return (await this.gpu.read(this.handle)) as HostData;
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.gpu.release(this.handle);
  }
}

export function webgpuExecutable(gpu: WebGpuDevice, program: Program, constants: readonly Array[], outAvals: readonly ShapedArray[]): (args: readonly Array[]) => Array[] {
  const upload = (x: Array): DeviceBuffer => {
    const impl = x as ArrayImpl;
    if (impl.buffer instanceof WebGpuArrayBuffer && impl.buffer.gpu === gpu) return impl.buffer.handle;
    return gpu.upload(impl.dataSync() as Float32Array, SCALAR[x.dtype]!);
  };
  const consts = constants.map(upload);
  return (args) => {
    const owned: DeviceBuffer[] = [];
    const inputs = args.map((a) => {
      const b = upload(a);
      if (!((a as ArrayImpl).buffer instanceof WebGpuArrayBuffer)) owned.push(b);
      return b;
    });
    const temps = program.temps.map((t) => gpu.allocate(t.length, t.type));
    const resolve = (ref: BufferRef): DeviceBuffer => (ref.kind === "input" ? inputs : ref.kind === "const" ? consts : temps)[ref.index]!;
    gpu.run(program.steps.map((s) => ({ kernel: s.kernel, buffers: s.buffers.map(resolve) })));
    const kept = new Map<DeviceBuffer, ArrayImpl>();
    const outs = program.outputs.map((out, i) => {
      const aval = outAvals[i]!;
      if (out.kind === "literal") {
        const data = allocHost(aval.dtype, 1);
        data[0] = out.value;
        return arrayFromHost(data, aval);
      }
      if (out.kind === "input") return args[out.index]!;
      if (out.kind === "const") return constants[out.index]!;
      const handle = temps[out.index]!;
      let array = kept.get(handle);
      if (!array) kept.set(handle, (array = new ArrayImpl(aval, new WebGpuArrayBuffer(gpu, handle))));
      return array;
    });
    // Uploads and intermediates go back to the pool; later work that reuses them is ordered after this call's.
    for (const b of [...owned, ...temps]) if (!kept.has(b)) gpu.release(b);
    return outs;
  };
}
