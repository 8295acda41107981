/**
 * `npx tsx bench/lowering.ts [sizes...]`: the lowering's own kernels for each target's tiling — f32 matmul
 * (GFLOP/s) and the fused 8-op elementwise chain on 4M floats — on the CPU device (WebAssembly, and JavaScript
 * for reference) and, when an adapter exists, as WGSL on WebGPU, where the matmul also runs staged through
 * workgroup memory (hardware adapters' kernel) beside the register-blocked one. Readback included; medians
 * after warm-up.
 */
import { type Array as JaxArray, makeJaxpr, numpy as np } from "../src/index.js";
import { lowerJaxpr } from "../src/lowering/lower.js";
import { CpuDevice } from "../src/runtime/cpu.js";
import { cpuExecutable } from "../src/runtime/cpuPlan.js";
import { WebGpuDevice } from "../src/runtime/webgpu.js";
import { randomArray, rng } from "../tests/util/random.js";
import { type Row, median, printTable } from "./harness.js";

type A = JaxArray;
const matmul = (a: A, b: A) => np.matmul(a, b);
const chain = (v: A) => np.maximum(np.exp(v.mul(2).add(1).pow(2).neg()).mul(3).sub(0.5), 0);

/** What `jit(f, {device: "cpu"})` runs, lowered for the CPU target: a call including the result's readback. */
function cpuTimer(f: (...args: A[]) => A, args: A[], cpu: CpuDevice): () => unknown {
  const closed = makeJaxpr(f)(...args);
  const run = cpuExecutable(lowerJaxpr(closed, { target: "cpu" }), closed.consts, closed.outAvals, cpu);
  return () => run(args)[0]!.dataSync();
}

/** Times a jitted function on the WebGPU device's kernels directly: upload once, run and read back each time. */
async function gpuTimer(gpu: WebGpuDevice, f: (...args: A[]) => A, args: A[], { workgroupDots = false } = {}): Promise<() => Promise<unknown>> {
  const program = lowerJaxpr(makeJaxpr(f)(...args), { target: "webgpu", workgroupDots });
  const inputs = args.map((a) => gpu.upload(a.dataSync() as Float32Array, "f32"));
  const temps = program.temps.map((t) => gpu.allocate(t.length, t.type));
  const steps = program.steps.map((s) => ({ kernel: s.kernel, buffers: s.buffers.map((b) => (b.kind === "input" ? inputs : temps)[b.index]!) }));
  const out = program.outputs[0]!;
  if (out.kind !== "temp") throw new Error("benchmark output must be a kernel result");
  return async () => {
    gpu.run(steps);
    return gpu.read(temps[out.index]!);
  };
}

async function loweringRows(sizes: readonly number[]): Promise<Row[]> {
  const rows: Row[] = [];
  const next = rng(2);
  const [wasm, js] = [new CpuDevice(), new CpuDevice({ wasm: false })];
  const gpu = await WebGpuDevice.create();
  for (const n of sizes) {
    const [a, b] = [randomArray(next, [n, n]), randomArray(next, [n, n])];
    const rate = { amount: 2 * n ** 3, unit: "GFLOP/s" as const };
    const runs = n >= 1024 ? 3 : 5;
    rows.push({ name: `cpu wasm matmul ${n}³ f32`, medianMs: await median(cpuTimer(matmul, [a, b], wasm), { runs }), rate });
    if (n <= 512) rows.push({ name: `cpu javascript matmul ${n}³ f32`, medianMs: await median(cpuTimer(matmul, [a, b], js), { warmup: 1, runs: 3 }), rate });
    if (gpu) {
      const blocked = await median(await gpuTimer(gpu, matmul, [a, b]), { runs });
      rows.push({ name: `webgpu matmul ${n}³ f32`, medianMs: blocked, rate });
      const staged = await median(await gpuTimer(gpu, matmul, [a, b], { workgroupDots: true }), { runs });
      rows.push({ name: `webgpu matmul ${n}³ f32, staged in workgroup memory`, medianMs: staged, rate, comparison: { name: "register-blocked", medianMs: blocked } });
    }
  }
  const x = randomArray(next, [1 << 22]);
  rows.push({ name: "cpu wasm 8-op chain 4M f32", medianMs: await median(cpuTimer(chain, [x], wasm)) });
  rows.push({ name: "cpu javascript 8-op chain 4M f32", medianMs: await median(cpuTimer(chain, [x], js)) });
  if (gpu) rows.push({ name: "webgpu 8-op chain 4M f32", medianMs: await median(await gpuTimer(gpu, chain, [x])) });
  return rows;
}

const sizes = process.argv.slice(2).map(Number);
printTable(await loweringRows(sizes.length > 0 ? sizes : [256, 512, 1024]));
process.exit(0);
