/**
 * wgjax against @jax-js/jax on the same programs in one process: for each pair of backends (our WebGPU device
 * and jax-js's webgpu backend on the same adapter; our CPU device and jax-js's wasm backend), f32 matmul
 * 256³/512³/1024³, an 8-op elementwise chain on 4M floats, the per-call overhead of a cached jit of a tiny
 * function, and one value-and-grad step of a 2-layer MLP (128×256 → 512 → 10). Inputs are put on the device
 * first on both sides; every timed call includes reading the result back to the host.
 */
import * as jjs from "@jax-js/jax";
import { type Array as JaxArray, devicePut, jit, nn, numpy as np, valueAndGrad } from "../src/index.js";
import { randomArray, rng } from "../tests/util/random.js";
import { type Row, median, readAndFree } from "./harness.js";

type A = JaxArray;
type J = jjs.Array;

const chain = (v: A) => np.maximum(np.exp(v.mul(2).add(1).mul(v).neg()).mul(3).sub(0.5), 0);
const jchain = (v: J) => jjs.numpy.maximum(jjs.numpy.exp(v.ref.mul(2).add(1).mul(v).neg()).mul(3).sub(0.5), 0);

const mlpLoss = (w1: A, w2: A, x: A, y: A) => np.mean(np.sum(nn.logSoftmax(np.matmul(nn.relu(np.matmul(x, w1)), w2)).mul(y), { axis: 1 }).neg());
const jmlpLoss = (w1: J, w2: J, x: J, y: J) =>
  jjs.numpy.mean(jjs.numpy.sum(jjs.nn.logSoftmax(jjs.numpy.matmul(jjs.nn.relu(jjs.numpy.matmul(x, w1)), w2), -1).mul(y), 1).neg());

const jread = async (outs: unknown): Promise<void> => {
  for (const x of [outs].flat(3) as J[]) await x.data();
};

const toJ = (x: A, device: jjs.Device): J => jjs.numpy.array(x.dataSync() as Float32Array, { shape: [...x.shape], device });

/** Rows for our `device` beside jax-js's `theirs`. */
export async function compareRows(device: "cpu" | "webgpu", theirs: "wasm" | "webgpu", { sizes = [256, 512, 1024], chainSize = 1 << 22 } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const next = rng(3);
  const label = `${device} (jax-js ${theirs})`;
  const comparison = `jax-js ${theirs}`;

  for (const n of sizes) {
    const [ha, hb] = [randomArray(next, [n, n]), randomArray(next, [n, n])];
    const [a, b] = devicePut([ha, hb], device);
    const ours = jit((x: A, y: A) => np.matmul(x, y), { device });
    const them = jjs.jit((x: J, y: J) => jjs.numpy.matmul(x, y));
    const [ja, jb] = [toJ(ha, theirs), toJ(hb, theirs)];
    const ms = await median(() => readAndFree(ours(a, b)), { runs: n >= 1024 ? 3 : 5 });
    const jms = await median(() => jread(them(ja.ref, jb.ref)), { runs: n >= 1024 ? 3 : 5 });
    rows.push({ name: `${label}: matmul ${n}³ f32`, medianMs: ms, rate: { amount: 2 * n ** 3, unit: "GFLOP/s" }, comparison: { name: comparison, medianMs: jms } });
    // jax-js arrays are freed only by dispose.
    for (const x of [a, b, ja, jb, them]) x.dispose();
  }

  const hostX = randomArray(next, [chainSize]);
  const jx = toJ(hostX, theirs);
  const x = devicePut(hostX, device);
  const ours = jit(chain, { device });
  const them = jjs.jit(jchain);
  const ms = await median(() => readAndFree(ours(x)));
  const jms = await median(() => jread(them(jx.ref)));
  rows.push({ name: `${label}: 8-op chain ${chainSize / (1 << 20)}M f32`, medianMs: ms, rate: { amount: 8 * chainSize, unit: "GB/s" }, comparison: { name: comparison, medianMs: jms } });

  const hostTiny = randomArray(next, [4]);
  const jtiny = toJ(hostTiny, theirs);
  const tiny = devicePut(hostTiny, device);
  const oursTiny = jit((v: A) => v.add(1), { device });
  const themTiny = jjs.jit((v: J) => v.add(1));
  const tms = await median(() => readAndFree(oursTiny(tiny)), { warmup: 20, runs: 201 });
  const jtms = await median(() => jread(themTiny(jtiny.ref)), { warmup: 20, runs: 201 });
  rows.push({ name: `${label}: cached jit call of x+1`, medianMs: tms, unit: "µs", comparison: { name: comparison, medianMs: jtms } });

  const params = [randomArray(next, [256, 512], "float32", 0.05), randomArray(next, [512, 10], "float32", 0.05)];
  const batch = randomArray(next, [128, 256]);
  const labels = nn.oneHot(np.array(Array.from({ length: 128 }, (_, i) => i % 10), { dtype: "int32" }), 10);
  const step = jit(valueAndGrad(mlpLoss, { argnums: [0, 1] }), { device });
  const jstep = jjs.jit(jjs.valueAndGrad((w: [J, J], xx: J, yy: J) => jmlpLoss(w[0], w[1], xx, yy)));
  const [jw1, jw2, jb, jl] = [toJ(params[0]!, theirs), toJ(params[1]!, theirs), toJ(batch, theirs), toJ(labels, theirs)];
  const [dw1, dw2, dbatch, dlabels] = devicePut([params[0]!, params[1]!, batch, labels], device);
  const sms = await median(() => readAndFree(step(dw1, dw2, dbatch, dlabels)));
  const jsms = await median(() => jread(jstep([jw1.ref, jw2.ref], jb.ref, jl.ref)));
  rows.push({ name: `${label}: MLP value-and-grad step`, medianMs: sms, comparison: { name: comparison, medianMs: jsms } });
  return rows;
}
