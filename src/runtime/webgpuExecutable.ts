/**
 * The WebGPU device's executable and its arrays: a plan (src/lowering/plan.ts) whose kernel programs, scan
 * iterations and copies are recorded into one command buffer per call and submitted once. Results stay on the
 * device (read with `await x.data()`) and feed later calls without copies.
 */
import { type Array, ArrayImpl, type Buffer } from "../core/array.js";
import type { HostData } from "../core/hostData.js";
import type { BufferRef, Program } from "../lowering/lower.js";
import { type Plan, layoutOf } from "../lowering/plan.js";
import { type PlanDevice, bindArgs, mapConsts, runPlan, runPlanInto } from "./planRunner.js";
import type { DeviceBuffer, WebGpuDevice } from "./webgpu.js";

/** An array's data in a GPU buffer. Reading is asynchronous; `release` returns the buffer to the device's pool. */
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

type Host = Float32Array | Int32Array | Uint32Array | Uint8Array;

function gpuDevice(gpu: WebGpuDevice): PlanDevice<DeviceBuffer> {
  const upload = (data: Host, x: { type: DeviceBuffer["type"] }): DeviceBuffer => gpu.upload(data, x.type);
  const run = (program: Program, inputs: readonly DeviceBuffer[]): DeviceBuffer[] => {
    const temps = program.temps.map((t) => gpu.allocate(t.length, t.type));
    const resolve = (ref: BufferRef): DeviceBuffer => (ref.kind === "input" ? inputs : temps)[ref.index]!;
    gpu.record(program.steps.map((s) => ({ kernel: s.kernel, buffers: s.buffers.map(resolve) })));
    const outputs = program.outputs.map((out) => {
      if (out.kind === "literal") return upload(out.type === "f32" ? Float32Array.of(out.value) : out.type === "i32" ? Int32Array.of(out.value) : Uint32Array.of(out.value), out);
      return resolve(out);
    });
    for (const t of temps) if (!outputs.includes(t)) gpu.release(t);
    return outputs;
  };
  return {
    fromArray: (x) => {
      const impl = x as ArrayImpl;
      if (impl.buffer instanceof WebGpuArrayBuffer && impl.buffer.gpu === gpu) return { buffer: impl.buffer.handle, owned: false };
      return { buffer: upload(impl.dataSync() as Host, layoutOf(x.aval)), owned: true };
    },
    literal: (value, aval) => {
      const { type } = layoutOf(aval);
      return upload(type === "f32" ? Float32Array.of(value) : type === "i32" ? Int32Array.of(value) : Uint32Array.of(value), { type });
    },
    run,
    slice: (x, offset, length, aval) => {
      const b = gpu.allocate(length, layoutOf(aval).type);
      gpu.copy(x, offset, b, 0, length);
      return b;
    },
    allocate: (aval) => {
      const { type, length } = layoutOf(aval);
      return gpu.allocate(length, type);
    },
    write: (into, offset, x, length) => gpu.copy(x, 0, into, offset, length),
    readScalar: async (x) => (await gpu.readNow(x))[0]!,
    release: (b) => gpu.releaseNow(b),
    toArray: (b, aval) => new ArrayImpl(aval, new WebGpuArrayBuffer(gpu, b)),
  };
}

const hasWhile = (plan: Plan): boolean => plan.nodes.some((n) => n.kind === "while" || (n.kind === "scan" && hasWhile(n.body)));

/**
 * The executable of a plan on the WebGPU device: one submit per call. A call whose plan has a `while` loop
 * reads the predicate back once per iteration, which is asynchronous: such a call returns arrays at once, on
 * buffers allocated for the results, and runs queued on the device; later calls, reads and releases wait for
 * it in order. (Loops with static trip counts — `scan`, `fori` with JS-number bounds — never read back.)
 */
export function webgpuPlanExecutable(gpu: WebGpuDevice, plan: Plan): (args: readonly Array[]) => Array[] {
  const device = gpuDevice(gpu);
  // Constants move to the device once, with the executable.
  const resident = mapConsts(plan, (c) => {
    const { buffer, owned } = device.fromArray(c);
    return owned ? device.toArray(buffer, c.aval) : c;
  });
  const deferred = hasWhile(plan);
  return (args) => {
    if (!deferred && !gpu.busy) {
      try {
        return runPlan(device, resident, args);
      } finally {
        gpu.flush();
      }
    }
    // The arguments' buffers are taken now: the caller may dispose the arrays before the queued run starts.
    const bound = bindArgs(device, resident, args);
    const outs = resident.outputs.map((o) => device.allocate(o.aval));
    const arrays = outs.map((b, i) => device.toArray(b, resident.outputs[i]!.aval));
    gpu.enqueue(async () => {
      try {
        await runPlanInto(device, resident, bound, outs);
      } finally {
        gpu.flush();
      }
    });
    return arrays;
  };
}
