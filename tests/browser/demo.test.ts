/** The names demo's training code (the CLI's) in the page: steps on the WebGPU device lower the loss, and it samples names. */
import { expect, it } from "vitest";
import { sampleNames, train } from "../../examples/names/train.js";

it("trains the MoE names model for a few steps on webgpu (wgsl backend) and samples names", async () => {
  const losses: number[] = [];
  const result = await train({ device: "webgpu", backend: "wgsl", quantization: null, steps: 6, seed: 3, batch: 64, onStep: (_step, loss) => losses.push(loss) });
  expect(losses).toHaveLength(6);
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[0]!).toBeGreaterThan(2.5);
  expect(result.validLoss).toBeLessThan(losses[0]!);
  const names = await sampleNames(result, { backend: "wgsl", quantization: null }, "webgpu", 5, 1);
  expect(names).toHaveLength(5);
  // An empty name (the end token first) prints as "(.)".
  expect(names.every((n) => n === "(.)" || (n.length <= 20 && [...n.toLowerCase()].every((ch) => result.dataset.vocab.includes(ch))))).toBe(true);
}, 300_000);
