/**
 * The demo until the MoE model lands: fit a small MLP to y = sin(3x) + noise with Adam, the gradient from
 * `valueAndGrad` and the whole update step traced once by `jit`, on the default device (the cpu kernels; with
 * `--webgpu`, the GPU). Run: npm run demo (or npm run demo -- --webgpu)
 */
import { type Array, closeWebGpu, defaultDevice, initWebGpu, jit, nn, numpy as np, random, tree, valueAndGrad } from "../src/index.js";

if (process.argv.includes("--webgpu") && !(await initWebGpu())) console.log("no WebGPU adapter found: running on the cpu device");

type Params = { w1: Array; b1: Array; w2: Array; b2: Array };

const [dataKey, noiseKey, k1, k2] = random.split(random.key(0), 4);
const x = random.uniform(dataKey!, [256, 1], { minval: -1, maxval: 1 });
const y = np.sin(x.mul(3)).add(random.normal(noiseKey!, [256, 1]).mul(0.05));

const hidden = 32;
let params: Params = {
  w1: random.normal(k1!, [1, hidden]).mul(2),
  b1: np.zeros([hidden]),
  w2: random.normal(k2!, [hidden, 1]).mul(1 / Math.sqrt(hidden)),
  b2: np.zeros([1]),
};

const predict = (p: Params, inputs: Array): Array => np.matmul(nn.silu(np.matmul(inputs, p.w1).add(p.b1)), p.w2).add(p.b2);
const loss = (p: Params, inputs: Array, targets: Array): Array => np.mean(predict(p, inputs).sub(targets).pow(2));

// Adam (β1 = 0.9, β2 = 0.999): the moment estimates are pytrees shaped like the parameters.
const learningRate = 0.02;
const zerosLikeTree = (p: Params): Params => tree.map((w: Array) => np.zerosLike(w), p) as Params;
let m = zerosLikeTree(params);
let v = zerosLikeTree(params);
const step = jit((p: Params, m: Params, v: Params, t: Array, inputs: Array, targets: Array) => {
  const [value, grads] = valueAndGrad(loss)(p, inputs, targets) as [Array, Params];
  const m2 = tree.map((a: Array, g: Array) => a.mul(0.9).add(g.mul(0.1)), m, grads) as Params;
  const v2 = tree.map((a: Array, g: Array) => a.mul(0.999).add(g.mul(g).mul(0.001)), v, grads) as Params;
  const correction1 = np.subtract(1, np.power(0.9, t));
  const correction2 = np.subtract(1, np.power(0.999, t));
  const update = (w: Array, a: Array, b: Array): Array => w.sub(a.div(correction1).mul(learningRate).div(np.sqrt(b.div(correction2)).add(1e-8)));
  return [tree.map(update, p, m2, v2) as Params, m2, v2, value] as const;
});

const started = performance.now();
for (let i = 0; i <= 300; i++) {
  const [next, m2, v2, value] = step(params, m, v, np.array(i + 1), x, y);
  [params, m, v] = [next, m2, v2];
  if (i % 50 === 0) console.log(`step ${String(i).padStart(3)}  loss ${Number(await value.item()).toFixed(5)}`);
}
const elapsed = performance.now() - started;
const probe = np.array([[-0.5], [0], [0.5]]);
const fitted = globalThis.Array.from(await predict(params, probe).data(), (v) => v.toFixed(3));
console.log(`f(-0.5, 0, 0.5) = ${fitted.join(", ")}  (sin(3x): ${[-1.5, 0, 1.5].map((v) => Math.sin(v).toFixed(3)).join(", ")})`);
console.log(`301 steps in ${elapsed.toFixed(0)} ms on the ${defaultDevice()} device (traced ${step.traceCount} time)`);
await closeWebGpu();
