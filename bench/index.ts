/**
 * `npm run bench`: wgjax beside @jax-js/jax in one process (see compare.ts), on the CPU (our CPU device against
 * jax-js's wasm backend) and on WebGPU (both on the same adapter) when one is found. Medians after warm-up;
 * the machines are shared and noisy, so the ratios are what to compare.
 */
import * as jjs from "@jax-js/jax";
import { closeWebGpu, initWebGpu, setDefaultDevice } from "../src/index.js";
import { compareRows } from "./compare.js";
import { printTable } from "./harness.js";
import { shareWebGpuWithJaxJs } from "./sharedAdapter.js";

const small = process.argv.includes("--quick");
const options = small ? { sizes: [256], chainSize: 1 << 20 } : {};

await shareWebGpuWithJaxJs();
const theirs = await jjs.init("wasm", "webgpu");
const ours = await initWebGpu();
// Inputs are made on the host and put on each device explicitly.
setDefaultDevice("cpu");

console.log("CPU: wgjax cpu device vs jax-js wasm");
printTable(await compareRows("cpu", "wasm", options));
if (ours && theirs.includes("webgpu")) {
  console.log(`\nWebGPU (${ours}): wgjax vs jax-js, same adapter`);
  printTable(await compareRows("webgpu", "webgpu", options));
} else {
  console.log(`\nWebGPU rows not run: ${ours ? "jax-js found no WebGPU backend" : "no WebGPU adapter on this machine"}`);
}
await closeWebGpu();
process.exit(0);
