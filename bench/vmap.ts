/**
 * vmap: per-example gradients of a 2-layer MLP (jit(vmap(grad)), 64 examples, 256 → 512 → 10) against jax-js's
 * jit(vmap(grad)) on the same device and against a loop of jitted per-example gradients; and gmm with per-example
 * group sizes in the ragged batch mode (vmap of one gmm over 8 examples) against one gmm over all their rows
 * (the same FLOPs, no reordering) and against a loop of per-example gmm calls.
 */
import * as jjs from "@jax-js/jax";
import { type Array as A, devicePut, getGmmBackend, gmm, grad, jit, nn, numpy as np, vmap } from "../src/index.js";
import { randomArray, rng } from "../tests/util/random.js";
import { groupSplit } from "./gmm.js";
import { type Row, median, readAndFree } from "./harness.js";

type J = jjs.Array;
const jread = async (x: J | J[]): Promise<void> => void (await Promise.all((Array.isArray(x) ? x : [x]).map((a) => a.data())));
const toJ = (x: A, device: jjs.Device): J => jjs.numpy.array(x.dataSync() as Float32Array, { shape: [...x.shape], device });

const exampleLoss = (w1: A, w2: A, x: A, y: A): A => np.sum(nn.logSoftmax(np.matmul(nn.relu(np.matmul(x, w1)), w2)).mul(y)).neg();
const jexampleLoss = (w: [J, J], x: J, y: J): J => jjs.numpy.sum(jjs.nn.logSoftmax(jjs.numpy.matmul(jjs.nn.relu(jjs.numpy.matmul(x, w[0])), w[1]), -1).mul(y)).neg();

export async function vmapRows(device: "cpu" | "webgpu", theirs: jjs.Device, m: number): Promise<Row[]> {
  const next = rng(31);
  const rows: Row[] = [];
  const examples = 64;
  const [w1, w2] = [randomArray(next, [256, 512], "float32", 0.05), randomArray(next, [512, 10], "float32", 0.05)];
  const data = randomArray(next, [examples, 256]);
  const labels = nn.oneHot(np.array(Array.from({ length: examples }, (_, i) => i % 10), { dtype: "int32" }), 10);
  const [dw1, dw2, dx, dy] = devicePut([w1, w2, data, labels], device);
  const perExample = jit(vmap(grad(exampleLoss, { argnums: [0, 1] }), { inAxes: [null, null, 0, 0] }), { device });
  const ms = await median(() => readAndFree(perExample(dw1, dw2, dx, dy) as A[]));
  const label = `${device}: per-example MLP gradients, ${examples} examples`;
  const [jw1, jw2, jx, jy] = [toJ(w1, theirs), toJ(w2, theirs), toJ(data, theirs), toJ(labels, theirs)];
  const jperExample = jjs.jit(jjs.vmap(jjs.grad(jexampleLoss), [null, 0, 0]));
  const jms = await median(() => jread(jperExample([jw1.ref, jw2.ref], jx.ref, jy.ref) as unknown as J[]));
  rows.push({ name: `${label}: jit(vmap(grad))`, medianMs: ms, comparison: { name: `jax-js ${theirs} jit(vmap(grad))`, medianMs: jms } });
  const single = jit(grad(exampleLoss, { argnums: [0, 1] }), { device });
  const xs = Array.from({ length: examples }, (_, i) => devicePut(data.at(i), device));
  const ys = Array.from({ length: examples }, (_, i) => devicePut(labels.at(i), device));
  const loopMs = await median(() => readAndFree(xs.flatMap((x, i) => single(dw1, dw2, x, ys[i]!) as A[])), { warmup: 1, runs: 3 });
  rows.push({ name: `${label}: jit(vmap(grad))`, medianMs: ms, comparison: { name: `a loop of ${examples} jit(grad) calls`, medianMs: loopMs } });

  const [B, K, N, G] = [8, 512, 1024, 8];
  const backend = getGmmBackend(device === "cpu" ? "cpu" : "wgsl");
  const lhs = devicePut(randomArray(next, [B, m, K]), device);
  const rhs = devicePut(randomArray(next, [G, K, N]), device);
  const sizes = np.stack(Array.from({ length: B }, (_, b) => np.array(groupSplit(m, G, b % 2 === 1), { dtype: "int32" })), 0);
  const dsizes = devicePut(sizes, device);
  const rate = { amount: 2 * B * m * K * N, unit: "GFLOP/s" as const };
  const batched = jit(vmap((x: A, s: A, w: A) => gmm(x, w, s, { backend }), { inAxes: [0, 0, null] }), { device });
  const bms = await median(() => readAndFree(batched(lhs, dsizes, rhs)), { warmup: 1, runs: 3 });
  const glabel = `${device}: vmap(gmm) ${B} examples × ${m}×${K}×${N} g=${G}, per-example group sizes (${backend.name} backend)`;
  const whole = jit((x: A, s: A, w: A) => gmm(np.reshape(x, [B * m, K]), w, np.sum(s, { axis: 0 }), { backend }), { device });
  const wms = await median(() => readAndFree(whole(lhs, dsizes, rhs)), { warmup: 1, runs: 3 });
  rows.push({ name: glabel, medianMs: bms, rate, comparison: { name: `one gmm over all ${B * m} rows`, medianMs: wms } });
  const one = jit((x: A, s: A, w: A) => gmm(x, w, s, { backend }), { device });
  const parts = Array.from({ length: B }, (_, b) => [devicePut(lhs.at(b), device), devicePut(sizes.at(b), device)] as const);
  const lms = await median(() => readAndFree(parts.map(([x, s]) => one(x, s, rhs))), { warmup: 1, runs: 3 });
  rows.push({ name: glabel, medianMs: bms, rate, comparison: { name: `a loop of ${B} gmm calls`, medianMs: lms } });
  return rows;
}
