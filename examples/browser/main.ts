/**
 * The browser example: the names demo's training run (examples/names/train.ts, the CLI's code) in the page, on
 * WebGPU when the browser offers it and on the CPU device otherwise, with the loss curve drawn live, the step
 * time, and names sampled at the end. `?steps=N` sets the number of steps (default 300). When the run ends,
 * `window.demo` holds its losses and names (the screenshot test reads it).
 */
import { initWebGpu } from "../../src/index.js";
import { sampleNames, train } from "../names/train.js";

/** What the page exposes as `window.demo` once its run ends. */
export interface DemoState {
  done: boolean;
  device: string;
  losses: number[];
  names: string[];
  error?: string;
}

const state: DemoState = { done: false, device: "", losses: [], names: [] };
(globalThis as { demo?: DemoState }).demo = state;

const element = (id: string): HTMLElement => document.getElementById(id)!;
const steps = Number(new URLSearchParams(location.search).get("steps") ?? 300);

/** The losses so far as a line chart: steps across, loss up the side, axes labelled. */
function draw(canvas: HTMLCanvasElement, losses: readonly number[], total: number): void {
  const g = canvas.getContext("2d")!;
  const [w, h, pad] = [canvas.width, canvas.height, 40];
  g.fillStyle = "#fff";
  g.fillRect(0, 0, w, h);
  g.strokeStyle = "#888";
  g.beginPath();
  g.moveTo(pad, pad / 2);
  g.lineTo(pad, h - pad);
  g.lineTo(w - pad / 2, h - pad);
  g.stroke();
  g.fillStyle = "#444";
  g.font = "12px sans-serif";
  g.fillText("training loss", pad + 6, pad / 2 + 10);
  g.fillText(`step ${total}`, w - pad - 30, h - pad + 16);
  if (losses.length < 2) return;
  const top = Math.max(...losses);
  const bottom = Math.min(...losses);
  const x = (i: number): number => pad + ((i + 1) / total) * (w - 1.5 * pad);
  const y = (l: number): number => pad / 2 + ((top - l) / Math.max(1e-6, top - bottom)) * (h - 1.5 * pad);
  g.fillText(top.toFixed(2), 4, y(top) + 4);
  g.fillText(bottom.toFixed(2), 4, y(bottom) + 4);
  g.strokeStyle = "#1f6feb";
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((l, i) => (i === 0 ? g.moveTo(x(i), y(l)) : g.lineTo(x(i), y(l))));
  g.stroke();
}

async function run(): Promise<void> {
  const gpu = await initWebGpu();
  const device = gpu ? "webgpu" : "cpu";
  const backend = gpu ? "wgsl" : "cpu";
  state.device = device;
  element("device").textContent = gpu ? `webgpu (${gpu || "adapter"}), the wgsl gmm backend` : "cpu (no WebGPU in this browser), the cpu gmm backend";
  const canvas = element("curve") as HTMLCanvasElement;
  const started = performance.now();
  const result = await train({
    device,
    backend,
    quantization: null,
    steps,
    seed: 0,
    onStep: (step, loss) => {
      state.losses.push(loss);
      const ms = (performance.now() - started) / step;
      element("status").textContent = `step ${step}/${steps}, loss ${loss.toFixed(3)}, ${ms.toFixed(1)} ms per step`;
      draw(canvas, state.losses, steps);
    },
  });
  element("summary").textContent =
    `${result.msPerStep.toFixed(1)} ms per step; validation loss ${result.validLoss.toFixed(3)} ` +
    `(the bigram baseline: ${result.bigramLoss.toFixed(3)}). Names sampled from the model:`;
  state.names = await sampleNames(result, { backend, quantization: null }, device, 20, 1);
  for (const name of state.names) element("names").append(Object.assign(document.createElement("li"), { textContent: name }));
  state.done = true;
}

run().catch((error: unknown) => {
  state.error = String(error);
  state.done = true;
  element("status").textContent = `failed: ${state.error}`;
});
