/**
 * The demo until the MoE model lands: fit a linear model to noisy data by gradient descent, with the
 * mean-squared-error gradient written out (autodiff arrives with `grad`). Run: npm run demo
 */
import { numpy as np, random } from "../src/index.js";

const [dataKey, noiseKey, initKey] = random.split(random.key(0), 3);
const samples = 256;
const features = 4;
const trueWeights = np.array([[2], [-1], [0.5], [3]]);
const trueBias = 0.7;

const x = random.normal(dataKey!, [samples, features]);
const y = np.add(np.matmul(x, trueWeights), trueBias).add(random.normal(noiseKey!, [samples, 1]).mul(0.1));

let w = random.normal(initKey!, [features, 1]).mul(0.01);
let b = np.zeros([1]);
const learningRate = 0.1;

const started = performance.now();
for (let step = 0; step <= 200; step++) {
  const error = np.matmul(x, w).add(b).sub(y);
  // d/dw mean(error²) = 2/n · xᵀ error, d/db = 2/n · Σ error
  const gradW = np.matmul(x.T, error).mul(2 / samples);
  const gradB = np.sum(error, { axis: 0 }).mul(2 / samples);
  w = w.sub(gradW.mul(learningRate));
  b = b.sub(gradB.mul(learningRate));
  if (step % 40 === 0) {
    const loss = await np.mean(error.mul(error)).item();
    console.log(`step ${String(step).padStart(3)}  loss ${Number(loss).toFixed(6)}`);
  }
}
console.log(`fitted weights ${Array.from(await w.data(), (v) => v.toFixed(3)).join(", ")}  (true 2, -1, 0.5, 3)`);
console.log(`fitted bias    ${(await b.data())[0]!.toFixed(3)}  (true ${trueBias})`);
console.log(`201 steps in ${(performance.now() - started).toFixed(0)} ms on the reference interpreter`);
