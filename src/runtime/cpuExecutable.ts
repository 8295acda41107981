/** The CPU device's executable: a lowered program whose kernels run as compiled WebAssembly or JavaScript on typed arrays. */
import type { ShapedArray } from "../core/aval.js";
import { ArrayImpl, type Array, arrayFromHost } from "../core/array.js";
import type { HostData } from "../core/hostData.js";
import type { ScalarType } from "../lowering/kernelIr.js";
import type { BufferRef, Program } from "../lowering/lower.js";
import { CpuDevice } from "./cpu.js";

type Host = Float32Array | Int32Array | Uint32Array | Uint8Array;

const allocate = (t: ScalarType, n: number): Host => (t === "f32" ? new Float32Array(n) : t === "i32" ? new Int32Array(n) : t === "u32" ? new Uint32Array(n) : new Uint8Array(n));

const device = new CpuDevice();

/** Dumps the lowered program when WGJAX_DUMP names "plan" (one line per kernel). */
function dump(program: Program): void {
  const setting = typeof process !== "undefined" ? process.env?.WGJAX_DUMP ?? "" : "";
  if (!setting.split(",").includes("plan")) return;
  for (const step of program.steps) console.log(`${step.kernel.name}: grid ${step.kernel.grid}, buffers ${step.buffers.map((b) => `${b.kind}${b.index}`).join(" ")}`);
}

/** Runs `program` (lowered from a jaxpr whose constants are `constants` and outputs `outAvals`) on the CPU (by default the shared device). */
export function cpuExecutable(program: Program, constants: readonly Array[], outAvals: readonly ShapedArray[], cpu: CpuDevice = device): (args: readonly Array[]) => Array[] {
  dump(program);
  const consts = constants.map((c) => (c as ArrayImpl).dataSync() as Host);
  return (args) => {
    const inputs = args.map((a) => (a as ArrayImpl).dataSync() as Host);
    const temps = program.temps.map((t) => allocate(t.type, t.length));
    const resolve = (ref: BufferRef): Host => (ref.kind === "input" ? inputs : ref.kind === "const" ? consts : temps)[ref.index]!;
    for (const step of program.steps) cpu.run(step.kernel, step.buffers.map(resolve));
    return program.outputs.map((out, i) => {
      const data = out.kind === "literal" ? allocate(out.type, 1).fill(out.value) : resolve(out);
      return arrayFromHost(data as HostData, outAvals[i]!);
    });
  };
}
