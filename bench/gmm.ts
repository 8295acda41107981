/**
 * gmm on MoE-like shapes (m tokens·top-k rows, k = 512, n = 1024, g = 8 and 64 experts, balanced and skewed
 * group sizes) on a device's grouped-kernel backend (`cpu` on the cpu device, `wgsl` on webgpu), in GFLOP/s of
 * the 2·m·k·n useful work, beside: a dense dot_general of the same FLOPs ([m,k]·[k,n]) on the same device (the
 * goal is a ratio of at least 1/1.15 ≈ 0.87), the `ragged-dot` backend (G dense products and a selection; g = 8
 * only, as g = 64 is 64 times the work), and the best equivalent @jax-js/jax program: a loop of per-group
 * matmuls over the rows of each group (sizes known when it is traced, an advantage a masked dense product does
 * not need, at G times the FLOPs). Group sizes are a device array on our side, never read by the host.
 * tgmm (the weight gradient: [k, m]ᵀ-grouped by [m, n] into [g, k, n]) beside the dense [k, m]·[m, n] product.
 * Operands are put on the device, as a model's weights are: on the cpu device they live in its wasm heap and
 * their packed layout is kept (src/runtime/cpuHeap.ts). There, gmm with host operands (copied in and packed on
 * every call) is also timed, beside the dense product with host operands.
 */
import * as jjs from "@jax-js/jax";
import { type Array as JaxArray, devicePut, gmm, jit, numpy as np, tgmm } from "../src/index.js";
import { randomArray, rng } from "../tests/util/random.js";
import { type Row, median, readAndFree } from "./harness.js";

type A = JaxArray;
type J = jjs.Array;

const K = 512;
const N = 1024;

/** m rows over g groups: equal sizes, or Zipf-like (group j ∝ (j+1)^-1.5, each at least 1, the rest to group 0). */
export function groupSplit(m: number, g: number, skewed: boolean): number[] {
  if (!skewed) return Array.from({ length: g }, (_, j) => Math.floor(m / g) + (j < m % g ? 1 : 0));
  const weights = Array.from({ length: g }, (_, j) => (j + 1) ** -1.5);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((m * w) / total)));
  sizes[0]! += m - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

const toJ = (x: A, device: jjs.Device): J => jjs.numpy.array(x.dataSync() as Float32Array, { shape: [...x.shape], device });

/**
 * Rows for our `device` (its grouped backend) beside jax-js's `theirs`, with m rows; with `denseOnly`, only gmm
 * beside the dense product (for sizes at which the other comparisons take minutes on a software adapter).
 */
export async function gmmRows(device: "cpu" | "webgpu", theirs: "wasm" | "webgpu", m: number, { runs = 3, denseOnly = false } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const next = rng(11);
  const backend = device === "cpu" ? "cpu" : "wgsl";
  const flops = 2 * m * K * N;
  const timed = { warmup: 1, runs };
  const hostLhs = randomArray(next, [m, K]);
  const lhs = devicePut(hostLhs, device);
  const hostDense = randomArray(next, [K, N]);
  const dense = devicePut(hostDense, device);
  const denseProduct = jit((x: A, w: A) => np.matmul(x, w), { device });
  const denseMs = await median(() => readAndFree(denseProduct(lhs, dense)), timed);
  const lhsT = devicePut(np.transpose(hostLhs, [1, 0]), device);
  const grads = devicePut(randomArray(next, [m, N]), device);
  const denseTMs = denseOnly ? 0 : await median(() => readAndFree(denseProduct(lhsT, grads)), timed);
  const hostOperands = device === "cpu" && !denseOnly;
  const denseHostMs = hostOperands ? await median(() => readAndFree(denseProduct(hostLhs, hostDense)), timed) : 0;
  for (const g of [8, 64]) {
    const hostRhs = randomArray(next, [g, K, N]);
    const rhs = devicePut(hostRhs, device);
    const [jrhs, jlhs] = denseOnly ? [] : [toJ(hostRhs, theirs), toJ(hostLhs, theirs)];
    for (const skewed of [false, true]) {
      const split = groupSplit(m, g, skewed);
      const sizes = devicePut(np.array(split, { dtype: "int32" }), device);
      const label = `${device}: gmm ${m}×${K}×${N} g=${g} ${skewed ? "skewed" : "balanced"} (${backend} backend)`;
      const ours = jit((x: A, w: A, s: A) => gmm(x, w, s, { backend }), { device });
      const ms = await median(() => readAndFree(ours(lhs, rhs, sizes)), timed);
      const rate = { amount: flops, unit: "GFLOP/s" as const };
      rows.push({ name: `${label} vs dense`, medianMs: ms, rate, comparison: { name: `dense dot_general ${m}×${K}×${N}`, medianMs: denseMs } });
      if (hostOperands && !skewed) {
        const hostMs = await median(() => readAndFree(ours(hostLhs, hostRhs, sizes)), timed);
        rows.push({ name: `${label}, host operands vs dense`, medianMs: hostMs, rate, comparison: { name: `dense dot_general ${m}×${K}×${N}, host operands`, medianMs: denseHostMs } });
      }
      if (denseOnly) continue;
      const weightGrad = jit((x: A, y: A, s: A) => tgmm(x, y, s, { backend, numActualGroups: g }), { device });
      const tms = await median(() => readAndFree(weightGrad(lhsT, grads, sizes)), timed);
      rows.push({ name: label.replace("gmm", "tgmm") + " vs dense", medianMs: tms, rate, comparison: { name: `dense dot_general ${K}×${m}×${N}`, medianMs: denseTMs } });
      if (g === 8) {
        const ragged = jit((x: A, w: A, s: A) => gmm(x, w, s, { backend: "ragged-dot" }), { device });
        const rms = await median(() => readAndFree(ragged(lhs, rhs, sizes)), { warmup: 1, runs: 1 });
        rows.push({ name: `${label} vs ragged-dot`, medianMs: ms, rate, comparison: { name: "ragged-dot backend", medianMs: rms } });
      }
      const cuts = split.slice(0, -1).map((_, j) => split.slice(0, j + 1).reduce((a, b) => a + b, 0));
      const perGroup = jjs.jit((x: J, w: J) => {
        const parts = jjs.numpy.split(x, cuts, 0);
        const experts = jjs.numpy.unstack(w, 0);
        return jjs.numpy.concatenate(parts.map((p, j) => jjs.numpy.matmul(p, experts[j]!)), 0);
      });
      const jms = await median(async () => void (await perGroup(jlhs!.ref, jrhs!.ref).data()), timed);
      rows.push({ name: `${label} vs jax-js`, medianMs: ms, rate, comparison: { name: `jax-js ${theirs}: ${g} per-group matmuls`, medianMs: jms } });
      perGroup.dispose();
    }
    // Large operands go as soon as they are done with (jax-js arrays are freed only by dispose).
    for (const x of [rhs, jrhs, jlhs]) x?.dispose();
  }
  for (const x of [lhs, dense, lhsT, grads]) x.dispose();
  return rows;
}
