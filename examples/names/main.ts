/**
 * The main job: train a character-level language model with a mixture-of-experts block (8 experts, top-2) on
 * the ~7,900 distinct English first names of @stdlib's datasets, on WebGPU where an adapter is found, else on the
 * cpu device. Prints progress, a table of train and validation loss beside the bigram baseline, writes the loss
 * curve as SVG and samples twenty names.
 *
 *   npm run demo -- [--device cpu|webgpu] [--backend <gmm backend>] [--quant int8|int4|fp8|none]
 *                   [--steps N] [--seed N] [--out loss.svg] [--compare [--compare-steps N]]
 */
import { writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { closeWebGpu, gmmBackends, initWebGpu } from "../../src/index.js";
import type { QuantRule } from "../../src/quant/index.js";
import { type TrainResult, sampleNames, train } from "./train.js";

const QUANT: Record<string, QuantRule | null> = {
  none: null,
  int8: { actQtype: "int8", weightQtype: "int8" },
  int4: { actQtype: "int4", weightQtype: "int4" },
  fp8: { actQtype: "float8_e4m3fn", weightQtype: "float8_e4m3fn" },
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
  return value;
}

function integer(name: string, fallback: number): number {
  const text = option(name);
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return value;
}

const fmtTime = (s: number): string => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`);

/** A progress line, redrawn in place on a terminal, every tenth of the run otherwise. */
function progress(steps: number): (step: number, loss: number, tokensPerSecond: number) => void {
  const tty = process.stdout.isTTY;
  const started = performance.now();
  let last = 0;
  return (step, loss, tokensPerSecond) => {
    const now = performance.now();
    const final = step === steps;
    if (tty ? now - last < 100 && !final : step % Math.max(1, Math.floor(steps / 10)) !== 0 && !final) return;
    last = now;
    const filled = Math.round((step / steps) * 30);
    const left = ((now - started) / 1000 / step) * (steps - step);
    const line = `[${"#".repeat(filled)}${".".repeat(30 - filled)}] step ${step}/${steps}  loss ${loss.toFixed(3)}  ${Math.round(tokensPerSecond).toLocaleString("en")} tokens/s  ${fmtTime(left)} left`;
    process.stdout.write(tty ? `\r${line}${final ? "\n" : ""}` : `${line}\n`);
  };
}

/** The loss curve as an SVG line chart. */
function svg(curve: [number, number][], validLoss: number, bigram: number): string {
  const [w, h, pad] = [640, 360, 48];
  const maxStep = curve[curve.length - 1]![0];
  const losses = [...curve.map(([, l]) => l), validLoss, bigram];
  const [lo, hi] = [Math.min(...losses) * 0.95, Math.max(...losses) * 1.02];
  const x = (s: number): number => pad + ((s - 1) / Math.max(1, maxStep - 1)) * (w - 2 * pad);
  const y = (l: number): number => h - pad - ((l - lo) / (hi - lo)) * (h - 2 * pad);
  const points = curve.map(([s, l]) => `${x(s).toFixed(1)},${y(l).toFixed(1)}`).join(" ");
  const hline = (l: number, color: string, label: string): string =>
    `<line x1="${pad}" x2="${w - pad}" y1="${y(l).toFixed(1)}" y2="${y(l).toFixed(1)}" stroke="${color}" stroke-dasharray="4 3"/><text x="${w - pad - 4}" y="${(y(l) - 4).toFixed(1)}" text-anchor="end" font-size="12" fill="${color}">${label} ${l.toFixed(3)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="24" text-anchor="middle" font-size="15">MoE names model: training loss (nats per character)</text>`,
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="black"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="black"/>`,
    `<text x="${pad}" y="${h - pad + 18}" font-size="12">1</text><text x="${w - pad}" y="${h - pad + 18}" font-size="12" text-anchor="end">${maxStep} steps</text>`,
    `<text x="${pad - 6}" y="${y(hi) + 4}" font-size="12" text-anchor="end">${hi.toFixed(2)}</text><text x="${pad - 6}" y="${y(lo) + 4}" font-size="12" text-anchor="end">${lo.toFixed(2)}</text>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${points}"/>`,
    hline(validLoss, "#2ca02c", "validation"),
    hline(bigram, "#d62728", "bigram baseline"),
    "</svg>",
  ].join("\n");
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, k) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ") + (k === 0 ? `\n${widths.map((n) => "-".repeat(n)).join("  ")}` : "")).join("\n");
}

const adapter = option("device") === "cpu" ? undefined : await initWebGpu();
const device = option("device") ?? (adapter ? "webgpu" : "cpu");
if (device === "webgpu" && !adapter) throw new Error("--device webgpu: no WebGPU adapter found on this machine");
if (device !== "webgpu" && device !== "cpu") throw new Error(`--device must be cpu or webgpu, got ${device}`);
const backend = option("backend") ?? (device === "webgpu" ? "wgsl" : "cpu");
if (!gmmBackends().includes(backend)) throw new Error(`--backend must be one of ${gmmBackends().join(", ")}, got ${backend}`);
const quant = option("quant") ?? "none";
if (!(quant in QUANT)) throw new Error(`--quant must be one of ${Object.keys(QUANT).join(", ")}, got ${quant}`);
const seed = integer("seed", 0);
const steps = integer("steps", device === "webgpu" ? 600 : 5000);

console.log(`device: ${device}${adapter ? ` (${adapter})` : device === "cpu" ? " (the cpu kernels; no WebGPU adapter in use)" : ""}; gmm backend: ${backend}; quantization: ${quant}`);

if (process.argv.includes("--compare")) {
  const compareSteps = integer("compare-steps", 100);
  const rows = [["backend", "quantization", `train loss after ${compareSteps} steps`, "validation loss", "ms per step"]];
  for (const b of [backend, "ragged-dot"]) {
    for (const q of Object.keys(QUANT)) {
      const r = await train({ device, backend: b, quantization: QUANT[q]!, steps: compareSteps, seed });
      rows.push([b, q, r.trainLoss.toFixed(4), r.validLoss.toFixed(4), r.msPerStep.toFixed(1)]);
      console.log(`${b} ${q}: done`);
    }
  }
  console.log(`\n${table(rows)}`);
} else {
  const result: TrainResult = await train({ device, backend, quantization: QUANT[quant]!, steps, seed, onStep: progress(steps) });
  const { dataset } = result;
  console.log(`\n${dataset.train.length} training names, ${dataset.valid.length} validation names, ${dataset.vocab.length} symbols; ${result.msPerStep.toFixed(1)} ms per step`);
  console.log(
    table([
      ["", "loss (nats per character)"],
      ["train", result.trainLoss.toFixed(4)],
      ["validation", result.validLoss.toFixed(4)],
      ["bigram baseline (validation)", result.bigramLoss.toFixed(4)],
    ]),
  );
  console.log(result.validLoss < result.bigramLoss ? "the model beats the bigram baseline" : "the model does NOT beat the bigram baseline yet (train longer: --steps)");
  const out = resolve(option("out") ?? "names-loss.svg");
  writeFileSync(out, svg(result.curve, result.validLoss, result.bigramLoss));
  const shown = relative(process.cwd(), out);
  console.log(`loss curve written to ${shown.startsWith("..") ? out : shown}`);
  const names = await sampleNames(result, { backend, quantization: QUANT[quant]! }, device, 20, seed + 2);
  console.log(`twenty sampled names: ${names.join(", ")}`);
}
await closeWebGpu();
process.exit(0);
