/**
 * The WebGPU device's executable and its arrays: a plan (src/lowering/plan.ts) whose kernel programs, scan
 * iterations and copies are recorded into one command buffer per call and submitted once. Results stay on the
 * device (read with `await x.data()`) and feed later calls without copies.
 */
import { type Array, ArrayImpl, type Buffer } from "../core/array.js";
import { runCheck } from "../core/checks.js";
import type { DType } from "../core/dtype.js";
import { type HostData, allocHost } from "../core/hostData.js";
import type { NarrowDType } from "../lowering/kernelIr.js";
import type { Kernel } from "../lowering/kernelIr.js";
import { type BufferRef, type Program, scalarTypeOf } from "../lowering/lower.js";
import { chooseKernel, packedSliceKernel, packedWriteKernel } from "./packedCopy.js";
import { elementBits, narrowOf, packedWords } from "../lowering/packing.js";
import { type Plan, layoutOf, splitChecked } from "../lowering/plan.js";
import { packHost, unpackHost } from "./packedHost.js";
import { type PlanDevice, bindArgs, mapConsts, runPlan, runPlanInto } from "./planRunner.js";
import type { DeviceBuffer, WebGpuDevice } from "./webgpu.js";

/** An array's data in a GPU buffer. Reading is asynchronous; `release` returns the buffer to the device's pool. */
export class WebGpuArrayBuffer implements Buffer {
  readonly device = "webgpu";
  #released = false;
  constructor(
    readonly gpu: WebGpuDevice,
    readonly handle: DeviceBuffer,
    /** Set when the buffer holds `length` narrow elements packed in u32 words. */
    readonly packed?: { readonly element: NarrowDType; readonly length: number },
  ) {}
  async read(): Promise<HostData> {
    const data = await this.gpu.read(this.handle);
    return this.packed ? unpackHost(data as Uint32Array, this.packed.element, this.packed.length) : (data as HostData);
  }
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.gpu.release(this.handle);
  }
}

type Host = Float32Array | Int32Array | Uint32Array | Uint8Array;

function gpuDevice(gpu: WebGpuDevice): PlanDevice<DeviceBuffer> {
  /** The element type of each buffer holding packed narrow elements. */
  const packedOf = new WeakMap<DeviceBuffer, NarrowDType>();
  const upload = (data: HostData, dtype: DType): DeviceBuffer => {
    const element = narrowOf(dtype);
    if (!element) return gpu.upload(data as Host, scalarTypeOf(dtype));
    const b = gpu.upload(packHost(data, element), "u32");
    packedOf.set(b, element);
    return b;
  };
  const allocate = (dtype: DType, length: number): DeviceBuffer => {
    const element = narrowOf(dtype);
    if (!element) return gpu.allocate(length, scalarTypeOf(dtype));
    const b = gpu.allocate(packedWords(element, length), "u32");
    packedOf.set(b, element);
    return b;
  };
  /** Runs a packed-copy kernel from `src` to `dst` with the element offsets `at`. */
  const packedCopy = (kernel: Kernel, src: DeviceBuffer, dst: DeviceBuffer, at: [number, number]): void => {
    const offsets = gpu.upload(Int32Array.of(...at), "i32");
    gpu.record([{ kernel, buffers: [src, offsets, dst] }]);
    gpu.releaseNow(offsets);
  };
  const run = (program: Program, inputs: readonly DeviceBuffer[]): DeviceBuffer[] => {
    const temps = program.temps.map((t) => allocate(t.dtype, t.length));
    const resolve = (ref: BufferRef): DeviceBuffer => (ref.kind === "input" ? inputs : temps)[ref.index]!;
    gpu.record(program.steps.map((s) => ({ kernel: s.kernel, buffers: s.buffers.map(resolve) })));
    const outputs = program.outputs.map((out) => {
      if (out.kind === "literal") return upload(allocHost(out.dtype, 1).fill(out.value), out.dtype);
      return resolve(out);
    });
    for (const t of temps) if (!outputs.includes(t)) gpu.release(t);
    return outputs;
  };
  return {
    fromArray: (x) => {
      const impl = x as ArrayImpl;
      if (impl.buffer instanceof WebGpuArrayBuffer && impl.buffer.gpu === gpu) return { buffer: impl.buffer.handle, owned: false };
      return { buffer: upload(impl.dataSync(), x.aval.dtype), owned: true };
    },
    literal: (value, aval) => upload(allocHost(aval.dtype, 1).fill(value), aval.dtype),
    run,
    slice: (x, offset, length, aval) => {
      const b = allocate(aval.dtype, length);
      const element = packedOf.get(x);
      const per = element ? 32 / elementBits(element) : 1;
      if (offset % per === 0) gpu.copy(x, offset / per, b, 0, Math.ceil(length / per));
      else packedCopy(packedSliceKernel(elementBits(element!), length), x, b, [offset, 0]);
      return b;
    },
    allocate: (aval) => allocate(aval.dtype, layoutOf(aval).length),
    write: (into, offset, x, length) => {
      const element = packedOf.get(into);
      const per = element ? 32 / elementBits(element) : 1;
      // A copy of whole words, unless that would spill into a neighbouring row's elements.
      if (offset % per === 0 && length % per === 0) gpu.copy(x, 0, into, offset / per, length / per);
      else packedCopy(packedWriteKernel(elementBits(element!), length, into.length), x, into, [0, offset]);
    },
    readScalar: async (x) => (await gpu.readNow(x))[0]!,
    choose: (p, a, b) => {
      const element = packedOf.get(a);
      const out = gpu.allocate(a.length, a.type);
      if (element) packedOf.set(out, element);
      gpu.record([{ kernel: chooseKernel(a.length), buffers: [p, a, b, out] }]);
      return out;
    },
    maxSpeculation: 64,
    release: (b) => gpu.releaseNow(b),
    toArray: (b, aval) => {
      const element = packedOf.get(b);
      return new ArrayImpl(aval, new WebGpuArrayBuffer(gpu, b, element && { element, length: layoutOf(aval).length }));
    },
  };
}

const hasWhile = (plan: Plan): boolean => plan.nodes.some((n) => n.kind === "while" || (n.kind === "scan" && hasWhile(n.body)));

/**
 * The executable of a plan on the WebGPU device: one submit per call. A call whose plan has a `while` loop
 * must read predicates back (about log2(n) times for n iterations: see runWhile), which is asynchronous: such
 * a call returns arrays at once, on buffers allocated for the results, and runs queued on the device; later
 * calls, reads and releases wait for it in order. (Loops with static trip counts — `scan`, `fori` with
 * JS-number bounds — never read back.)
 */
export function webgpuPlanExecutable(gpu: WebGpuDevice, plan: Plan): (args: readonly Array[]) => Array[] {
  const device = gpuDevice(gpu);
  // Constants move to the device once, with the executable.
  const resident = mapConsts(plan, (c) => {
    const { buffer, owned } = device.fromArray(c);
    return owned ? device.toArray(buffer, c.aval) : c;
  });
  const deferred = hasWhile(plan);
  /** Reads the checked values of a run (from queued work), lets go of them with `done`, and runs the plan's checks. */
  const check = async (checked: readonly DeviceBuffer[], done: () => void): Promise<void> => {
    let data: HostData[];
    try {
      data = await Promise.all(checked.map((b) => gpu.readNow(b)));
    } finally {
      done();
    }
    checked.forEach((_, i) => runCheck(plan.checks[i]!, data[i]!));
  };
  return (args) => {
    if (!deferred && !gpu.busy) {
      let outputs: Array[];
      try {
        outputs = runPlan(device, resident, args);
      } finally {
        gpu.scheduleFlush();
      }
      const { results, checked } = splitChecked(plan, outputs);
      // The checks read back: they run queued, and a failure is raised by the next read.
      if (checked.length) {
        // A checked value may be an argument or a result, and several checks may read one array.
        const mine = new Set(checked.filter((x) => !results.includes(x) && !args.includes(x)));
        gpu.enqueue(() => check(checked.map((x) => ((x as ArrayImpl).buffer as WebGpuArrayBuffer).handle), () => mine.forEach((x) => x.dispose())));
      }
      return results;
    }
    // The arguments' buffers are taken now: the caller may dispose the arrays before the queued run starts.
    const bound = bindArgs(device, resident, args);
    const outs = resident.outputs.map((o) => device.allocate(o.aval));
    const { results, checked } = splitChecked(plan, outs);
    gpu.enqueue(async () => {
      try {
        await runPlanInto(device, resident, bound, outs);
      } finally {
        gpu.flush();
      }
      await check(checked, () => checked.forEach((b) => gpu.release(b)));
    });
    return results.map((b, i) => device.toArray(b, resident.outputs[i]!.aval));
  };
}
