/**
 * The spread workgroup order of the grouped kernels on WebGPU (src/lowering/workgroupOrder.ts): every tile is
 * taken by exactly one invocation, and every contiguous run of workgroups (what a software adapter gives one
 * thread) takes tiles from the whole range. Run as raw kernels on the CPU renderers and on WebGPU.
 */
import { describe, expect, it } from "vitest";
import { type Kernel, binary, c, gid } from "../../src/lowering/kernelIr.js";
import { WORKGROUP_SIZE } from "../../src/lowering/wgsl.js";
import { spreadWorkgroups } from "../../src/lowering/workgroupOrder.js";
import { CpuDevice } from "../../src/runtime/cpu.js";
import { webgpuDevice } from "../util/webgpu.js";

const gpu = await webgpuDevice();

/** out[tile] = 1 + the invocation that took it. */
function orderKernel(tiles: number): { kernel: Kernel; grid: number } {
  const order = spreadWorkgroups("o", tiles);
  const store = { k: "store" as const, buffer: 0, index: order.index, value: binary("add", gid, c(1, "i32")) };
  const body = [...order.stmts, order.valid ? { k: "if" as const, cond: order.valid, then: [store] } : store];
  return { kernel: { name: "order", grid: order.grid, buffers: [{ type: "i32", access: "read_write" }], body }, grid: order.grid };
}

type Runner = (kernel: Kernel, length: number) => Promise<Int32Array>;
const cpu =
  (wasm: boolean): Runner =>
  async (kernel, length) => {
    const out = new Int32Array(length);
    new CpuDevice({ wasm }).run(kernel, [out]);
    return out;
  };
const onGpu: Runner = async (kernel, length) => {
  const out = gpu!.allocate(length, "i32");
  gpu!.run([{ kernel, buffers: [out] }]);
  return (await gpu!.read(out)) as Int32Array;
};
const runners: [string, Runner][] = [["wasm", cpu(true)], ["javascript", cpu(false)], ...(gpu ? [["webgpu", onGpu] as [string, Runner]] : [])];

describe.each(runners)("spread workgroup order on %s", (_name, run) => {
  it.each([1, 64, 65, 150, 64 * 5 + 7, 64 * 64 * 3 + 1])("%i tiles: each taken once, and every run of workgroups takes tiles from the whole range", async (tiles) => {
    const { kernel, grid } = orderKernel(tiles);
    const workgroups = grid / WORKGROUP_SIZE;
    expect(Number.isInteger(Math.log2(workgroups))).toBe(true);
    expect(workgroups).toBeLessThan(2 * Math.max(1, Math.ceil(tiles / WORKGROUP_SIZE)));
    const out = await run(kernel, tiles);
    const takers = Array.from(out, (x) => x - 1);
    // A bijection from the invocations with a tile onto the tiles.
    expect(takers.every((x) => x >= 0 && x < grid)).toBe(true);
    expect(new Set(takers).size).toBe(tiles);
    // Split the workgroups into 2 and 4 contiguous runs: each run's tiles are spread over each quarter of the range.
    for (const runs of workgroups >= 4 ? [2, 4] : []) {
      const perRun = grid / runs;
      for (let r = 0; r < runs; r++) {
        const quarters = [0, 0, 0, 0];
        takers.forEach((taker, tile) => {
          if (Math.floor(taker / perRun) === r) quarters[Math.floor((4 * tile) / tiles)]!++;
        });
        const total = quarters.reduce((a, b) => a + b, 0);
        for (const q of quarters) expect(q).toBeGreaterThanOrEqual(total / 4 - WORKGROUP_SIZE);
      }
    }
  });
});
