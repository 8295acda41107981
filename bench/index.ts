/**
 * `npm run bench`: wgjax beside @jax-js/jax in one process (see compare.ts), on the CPU (our CPU device against
 * jax-js's wasm backend) and on WebGPU (both on the same adapter) when one is found, then gmm on MoE-like shapes
 * (gmm.ts), quantized gmm against float32 gmm (quant.ts) and vmap: per-example gradients and gmm in the ragged
 * batch mode (vmap.ts). Medians after warm-up; the machines are shared and
 * noisy, so the ratios are what to compare.
 */
import { spawnSync } from "node:child_process";
import * as jjs from "@jax-js/jax";
import { closeWebGpu, initWebGpu, setDefaultDevice } from "../src/index.js";
import { compareRows } from "./compare.js";
import { gmmRows } from "./gmm.js";
import { printTable } from "./harness.js";
import { quantRows } from "./quant.js";
import { shareWebGpuWithJaxJs } from "./sharedAdapter.js";
import { vmapRows } from "./vmap.js";

const small = process.argv.includes("--quick");
const options = small ? { sizes: [256], chainSize: 1 << 20 } : {};
/**
 * `--gmm`: only the gmm rows (with the quantized ones); `--quant`: only the quantized ones; `--vmap`: only the vmap
 * ones. Their rows m per device (scaled down on the software GPU, and by --quick).
 */
const vmapOnly = process.argv.includes("--vmap");
const quantOnly = process.argv.includes("--quant");
const gmmOnly = quantOnly || vmapOnly || process.argv.includes("--gmm");
const gmmM = small ? { cpu: 512, webgpu: 256 } : { cpu: 4096, webgpu: 1024 };

/**
 * Each section runs in a process of its own (this script again, with `--section`): the CPU device's wasm heap only
 * grows, and the GPU pool keeps buffers, so one section's sizes would otherwise weigh on the next. The rows of a
 * section, and their ratios, share a process.
 */
const sectionArg = process.argv.indexOf("--section");
if (sectionArg < 0) {
  const sections = vmapOnly ? ["vmap"] : quantOnly ? ["quant"] : gmmOnly ? ["gmm", "quant"] : ["compare", "gmm", "quant", "vmap"];
  let failed = false;
  for (const section of sections) {
    const run = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), "--section", section], { stdio: "inherit" });
    if (run.status !== 0) {
      console.error(`bench section ${section} failed (${run.signal ?? `exit code ${run.status}`})`);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
}
const section = process.argv[sectionArg + 1];

await shareWebGpuWithJaxJs();
const theirs = await jjs.init("wasm", "webgpu");
const ours = await initWebGpu();
// Inputs are made on the host and put on each device explicitly.
setDefaultDevice("cpu");

const webgpu = ours && theirs.includes("webgpu");
if (section === "compare") {
  console.log("CPU: wgjax cpu device vs jax-js wasm");
  printTable(await compareRows("cpu", "wasm", options));
  if (webgpu) {
    console.log(`\nWebGPU (${ours}): wgjax vs jax-js, same adapter`);
    printTable(await compareRows("webgpu", "webgpu", options));
  } else {
    console.log(`\nWebGPU rows not run: ${ours ? "jax-js found no WebGPU backend" : "no WebGPU adapter on this machine"}`);
  }
}
if (section === "gmm") {
  console.log(`\ngmm, MoE-like shapes: cpu backend on the cpu device (m = ${gmmM.cpu}), beside dense, ragged-dot and jax-js wasm`);
  printTable(await gmmRows("cpu", "wasm", gmmM.cpu));
  if (webgpu) {
    console.log(`\ngmm on WebGPU (${ours}): wgsl backend, m = ${gmmM.webgpu} (the software adapter runs 4096 rows for minutes), beside dense, ragged-dot and jax-js webgpu`);
    printTable(await gmmRows("webgpu", "webgpu", gmmM.webgpu));
    if (!small) {
      console.log(`\ngmm on WebGPU at the MoE shape's m = 4096, beside dense only (the other comparisons take minutes there)`);
      printTable(await gmmRows("webgpu", "webgpu", 4096, { denseOnly: true }));
    }
  }
}
for (const device of section === "quant" ? (["cpu", ...(ours ? ["webgpu" as const] : [])] as const) : []) {
  console.log(`\nquantized gmm (quant.quantized around the ${device === "cpu" ? "cpu" : "wgsl"} backend) against float32 gmm on the same backend, m = ${gmmM[device]}`);
  const { rows, residuals } = await quantRows(device, gmmM[device], { residuals: device === "cpu" });
  printTable(rows);
  if (residuals.length > 0) console.log(`bytes the backward pass keeps (the residuals a vjp's pullback closes over), m = ${gmmM[device]}:\n  ${residuals.join("\n  ")}`);
}
const vmapM = small ? { cpu: 128, webgpu: 64 } : { cpu: 512, webgpu: 128 };
if (section === "vmap") {
  console.log(`\nvmap on the cpu device (jax-js wasm beside it)`);
  printTable(await vmapRows("cpu", "wasm", vmapM.cpu));
  if (webgpu) {
    console.log(`\nvmap on WebGPU (${ours}), jax-js on the same adapter; gmm rows m = ${vmapM.webgpu} per example`);
    printTable(await vmapRows("webgpu", "webgpu", vmapM.webgpu));
  }
}
await closeWebGpu();
process.exit(0);
