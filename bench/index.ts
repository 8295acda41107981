/**
 * `npm run bench`. Until the lowering lands, this measures the reference interpreter (the eager path)
 * against plain JavaScript loops doing the same work in the same process.
 */
import { numpy as np } from "../src/index.js";
import { type Row, median, printTable } from "./harness.js";
import { randomArray, rng } from "../tests/util/random.js";

function naiveMatmul(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
      c[i * n + j] = s;
    }
  return c;
}

function chainLoop(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let v = x[i]! * 2;
    v = v + 1;
    v = Math.exp(-v * v);
    v = v * 3 - 0.5;
    out[i] = Math.max(v, 0);
  }
  return out;
}

const rows: Row[] = [];
const next = rng(1);
for (const n of [64, 128]) {
  const a = randomArray(next, [n, n]);
  const b = randomArray(next, [n, n]);
  const ours = await median(() => np.matmul(a, b).dataSync());
  const loop = await median(() => naiveMatmul(a.dataSync() as Float32Array, b.dataSync() as Float32Array, n));
  rows.push({ name: `interpreter matmul ${n}³ f32`, medianMs: ours, rate: { amount: 2 * n ** 3, unit: "GFLOP/s" }, comparison: { name: "JS triple loop", medianMs: loop } });
}
const x = randomArray(next, [1 << 18]);
const chain = (v: ReturnType<typeof np.array>) => np.maximum(np.exp(v.mul(2).add(1).pow(2).neg()).mul(3).sub(0.5), 0);
const ours = await median(() => chain(x).dataSync());
const loop = await median(() => chainLoop(x.dataSync() as Float32Array));
rows.push({ name: "interpreter 8-op chain 256K f32", medianMs: ours, rate: { amount: 8 * (1 << 18), unit: "GB/s" }, comparison: { name: "JS loop", medianMs: loop } });
printTable(rows);
