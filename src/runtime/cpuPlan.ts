/**
 * The CPU device's executable: a plan (src/lowering/plan.ts) whose kernel programs run as compiled WebAssembly
 * or JavaScript on typed arrays, with loops driven from JavaScript. Results are ordinary host arrays; arrays
 * put on the device (`devicePut(x, "cpu")`, src/runtime/cpuHeap.ts) are read from its heap where they are held.
 */
import type { ShapedArray } from "../core/aval.js";
import { type Array, ArrayImpl, arrayFromHost } from "../core/array.js";
import { runCheck } from "../core/checks.js";
import { type HostData, allocHost } from "../core/hostData.js";
import type { BufferRef, Program } from "../lowering/lower.js";
import { type Plan, layoutOf, splitChecked } from "../lowering/plan.js";
import { CpuDevice } from "./cpu.js";
import { CpuHeapBuffer } from "./cpuHeap.js";
import { type PlanDevice, runPlan } from "./planRunner.js";

/** The CPU device's buffers: host data, or an array put on the device (held in its heap). */
type CpuData = HostData | CpuHeapBuffer;

/** Runs a kernel program on its inputs in order; returns a buffer per output. */
export function runProgram(cpu: CpuDevice, program: Program, inputs: readonly CpuData[], consts: readonly HostData[] = []): CpuData[] {
  // The program's buffers in one list: inputs, constants, temporaries.
  const index = (ref: BufferRef): number => (ref.kind === "input" ? 0 : ref.kind === "const" ? inputs.length : inputs.length + consts.length) + ref.index;
  const steps = program.steps.map((s) => ({ kernel: s.kernel, buffers: s.buffers.map(index) }));
  const temps = program.outputs.flatMap((out) => (out.kind === "temp" ? [index(out)] : []));
  const results = cpu.runSteps(steps, [...inputs, ...consts, ...program.temps], temps);
  return program.outputs.map((out): CpuData => {
    if (out.kind === "literal") return allocHost(out.dtype, 1).fill(out.value);
    return out.kind === "temp" ? results[temps.indexOf(index(out))]! : (out.kind === "input" ? inputs : consts)[out.index]!;
  });
}

/** The host data of a buffer (of an array put on the device: its host copy, only to read). */
const host = (x: CpuData): HostData => (x instanceof CpuHeapBuffer ? x.host : x);

function hostDevice(cpu: CpuDevice): PlanDevice<CpuData> {
  return {
    fromArray: (x) => ({ buffer: x instanceof ArrayImpl && x.buffer instanceof CpuHeapBuffer ? x.buffer : x.dataSync(), owned: false }),
    literal: (value, aval) => allocHost(aval.dtype, 1).fill(value),
    run: (program, inputs) => runProgram(cpu, program, inputs),
    slice: (x, offset, length) => (x instanceof CpuHeapBuffer ? x.host.slice(offset, offset + length) : x.subarray(offset, offset + length)),
    allocate: (aval) => allocHost(aval.dtype, layoutOf(aval).length),
    write: (into, offset, x, length) => host(into).set(host(x).subarray(0, length) as never, offset),
    readScalar: (x) => host(x)[0]!,
    release: () => {},
    toArray: (x, aval) => (x instanceof CpuHeapBuffer ? new ArrayImpl(aval, x) : arrayFromHost(x, aval)),
  };
}

const shared = new CpuDevice();

/** `x` on the CPU device: its data copied into the device's heap (see cpuHeap.ts), unless it is there already. */
export function cpuPut(x: Array): Array {
  if (x instanceof ArrayImpl && x.buffer instanceof CpuHeapBuffer) return x;
  const buffer = shared.put(x.dataSync());
  return buffer ? new ArrayImpl(x.aval, buffer) : x;
}

/** Runs one lowered program (of a jaxpr with `constants` and `outAvals`) on the CPU: for tests and benchmarks of single programs. */
export function cpuExecutable(program: Program, constants: readonly Array[], outAvals: readonly ShapedArray[], cpu: CpuDevice = shared): (args: readonly Array[]) => Array[] {
  const consts = constants.map((c) => c.dataSync());
  return (args) => runProgram(cpu, program, args.map((a) => a.dataSync()), consts).map((data, i) => arrayFromHost(host(data), outAvals[i]!));
}

/** The executable of a plan on the CPU (by default on the process's shared CPU device); its checks run after each call. */
export function cpuPlanExecutable(plan: Plan, cpu: CpuDevice = shared): (args: readonly Array[]) => Array[] {
  const device = hostDevice(cpu);
  return (args) => {
    const { results, checked } = splitChecked(plan, runPlan(device, plan, args));
    checked.forEach((x, i) => runCheck(plan.checks[i]!, x.dataSync()));
    return results;
  };
}
