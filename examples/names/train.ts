/**
 * The training run of the names demo, as a function the CLI (main.ts) and the tests call: data, model, Adam
 * steps on random batches, the validation loss and the bigram baseline, a loss curve, and names sampled from the
 * trained model.
 */
import { type Array as A, devicePut, jit, numpy as np, type optim } from "../../src/index.js";
import type { QuantRule } from "../../src/quant/index.js";
import { type Dataset, END, type Examples, bigramLoss, examples, loadNames, seeded } from "./data.js";
import { DEFAULT_MODEL, type ModelConfig, type Params, forward, initParams, trainer } from "./model.js";

export interface TrainOptions {
  readonly device: string;
  readonly backend: string;
  readonly quantization: QuantRule | null;
  readonly steps: number;
  readonly seed: number;
  readonly batch?: number;
  /** Called every step with the step number (1-based), the batch loss and the tokens per second so far. */
  readonly onStep?: (step: number, loss: number, tokensPerSecond: number) => void;
}

export interface TrainResult {
  readonly model: ModelConfig;
  readonly params: Params;
  readonly dataset: Dataset;
  /** (step, batch loss) every few steps. */
  readonly curve: [number, number][];
  readonly trainLoss: number;
  readonly validLoss: number;
  readonly bigramLoss: number;
  readonly msPerStep: number;
}

const int32 = (values: Int32Array, shape: number[], device: string): A => devicePut(np.array(values, { dtype: "int32" }).reshape(shape), device) as A;

/** A batch of `size` examples drawn at random (with replacement). */
function batchOf(e: Examples, size: number, random: () => number, context: number, device: string): [A, A] {
  const contexts = new Int32Array(size * context);
  const targets = new Int32Array(size);
  for (let b = 0; b < size; b++) {
    const i = Math.floor(random() * e.count);
    contexts.set(e.contexts.subarray(i * context, (i + 1) * context), b * context);
    targets[b] = e.targets[i]!;
  }
  return [int32(contexts, [size, context], device), int32(targets, [size], device)];
}

/** The mean loss over all of `e`, in batches of `size` (the last one may repeat a few examples to fill it). */
async function fullLoss(evaluate: (p: Params, c: A, t: A) => A, p: Params, e: Examples, size: number, context: number, device: string): Promise<number> {
  let total = 0;
  for (let start = 0; start < e.count; start += size) {
    const idx = Int32Array.from({ length: size }, (_, b) => Math.min(start + b, e.count - 1));
    const contexts = new Int32Array(size * context);
    idx.forEach((i, b) => contexts.set(e.contexts.subarray(i * context, (i + 1) * context), b * context));
    const loss = (await evaluate(p, int32(contexts, [size, context], device), int32(Int32Array.from(idx, (i) => e.targets[i]!), [size], device)).data())[0]!;
    total += loss * Math.min(size, e.count - start);
  }
  return total / e.count;
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const dataset = loadNames(o.seed);
  const model: ModelConfig = { ...DEFAULT_MODEL, vocab: dataset.vocab.length };
  const batch = o.batch ?? 256;
  const [trainSet, validSet] = [examples(dataset.train, dataset.vocab, model.context), examples(dataset.valid, dataset.vocab, model.context)];
  const { step, evaluate, optimizer } = trainer(model, { backend: o.backend, quantization: o.quantization }, o.device);
  let params = devicePut(initParams(o.seed, model), o.device) as Params;
  let state = devicePut(optimizer.init(params), o.device) as optim.AdamState;
  const random = seeded(o.seed + 1);
  const curve: [number, number][] = [];
  const every = Math.max(1, Math.floor(o.steps / 100));
  const started = performance.now();
  let loss = NaN;
  for (let i = 1; i <= o.steps; i++) {
    const [contexts, targets] = batchOf(trainSet, batch, random, model.context, o.device);
    let ce: A;
    [params, state, ce] = step(params, state, contexts, targets);
    loss = (await ce.data())[0]!;
    if (i % every === 0 || i === 1) curve.push([i, loss]);
    o.onStep?.(i, loss, (i * batch) / ((performance.now() - started) / 1000));
  }
  const msPerStep = (performance.now() - started) / Math.max(1, o.steps);
  const trainLoss = await fullLoss(evaluate, params, trainSet, 1024, model.context, o.device);
  const validLoss = await fullLoss(evaluate, params, validSet, 1024, model.context, o.device);
  return { model, params, dataset, curve, trainLoss, validLoss, bigramLoss: bigramLoss(trainSet, validSet, model.vocab, model.context), msPerStep };
}

/** `count` names sampled from the model (temperature 1), each at most 20 characters. */
export async function sampleNames(r: TrainResult, routing: { backend: string; quantization: QuantRule | null }, device: string, count: number, seed: number): Promise<string[]> {
  const random = seeded(seed);
  const { context, vocab } = r.model;
  const names: string[] = [];
  const contexts = Array.from({ length: count }, () => new Array<number>(context).fill(0));
  const done = new Array<boolean>(count).fill(false);
  const text = new Array<string>(count).fill("");
  const predict = jit((p: Params, ids: A): A => forward(p, ids, r.model, routing)[0], { device });
  for (let position = 0; position < 20 && done.includes(false); position++) {
    const ids = devicePut(np.array(Int32Array.from(contexts.flat()), { dtype: "int32" }).reshape([count, context]), device) as A;
    const values = await predict(r.params, ids).data();
    for (let n = 0; n < count; n++) {
      if (done[n]) continue;
      const row = Array.from(values.subarray(n * vocab, (n + 1) * vocab));
      const top = Math.max(...row);
      const weights = row.map((v) => Math.exp(v - top));
      let u = random() * weights.reduce((a, b) => a + b, 0);
      let next = 0;
      while (u > weights[next]! && next < vocab - 1) u -= weights[next++]!;
      if (next === 0) done[n] = true;
      else text[n] += r.dataset.vocab[next];
      contexts[n] = [...contexts[n]!.slice(1), next];
    }
  }
  for (const t of text) names.push(t.length > 0 ? t[0]!.toUpperCase() + t.slice(1) : `(${END})`);
  return names;
}
