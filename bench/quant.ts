/**
 * Quantized gmm (quant.quantized around a device's grouped backend: `cpu` on the cpu device, `wgsl` on webgpu)
 * against float32 gmm on the same backend, m × 512 × 1024 with g = 8 balanced groups: int8, int4 and e4m3fn,
 * per channel and block-wise (128). Two forms: weights quantized once beforehand (a QArray, as in inference; the
 * activations are quantized in each call) and both operands quantized in each call (as in a training step's
 * forward). Then (`residuals`, by default) the bytes the backward pass keeps: the residuals a vjp's pullback closes
 * over, measured from its jaxpr's constants, against those of the float32 gmm (the same on every device).
 */
import { type Array as JaxArray, devicePut, dtypeInfo, getGmmBackend, gmm, jit, makeJaxpr, numpy as np, quant, vjp } from "../src/index.js";
import { randomArray, rng } from "../tests/util/random.js";
import { groupSplit } from "./gmm.js";
import { type Row, median, readAndFree } from "./harness.js";

type A = JaxArray;

const [K, N, G] = [512, 1024, 8];
const QTYPES = ["int8", "int4", "float8_e4m3fn"] as const;
const MODES = [
  { name: "per-channel", blockSize: undefined },
  { name: "block 128", blockSize: 128 },
] as const;

/** Bytes of the arrays a pullback closes over: what the backward pass keeps (the forward run jitted on the cpu device). */
function residualBytes(f: (l: A, r: A) => A, lhs: A, rhs: A, dout: A): number {
  const [, pullback] = vjp(jit(f, { device: "cpu" }), lhs, rhs) as [A, (ct: A) => A[]];
  return makeJaxpr(pullback)(dout).consts.reduce((total, x) => total + x.size * dtypeInfo(x.dtype).itemsize, 0);
}

export async function quantRows(device: "cpu" | "webgpu", m: number, { runs = 3, residuals: measure = true } = {}): Promise<{ rows: Row[]; residuals: string[] }> {
  const next = rng(29);
  const name = device === "cpu" ? "cpu" : "wgsl";
  const backend = getGmmBackend(name);
  const timed = { warmup: 1, runs };
  const hostLhs = randomArray(next, [m, K]);
  const hostRhs = randomArray(next, [G, K, N]);
  const sizes = np.array(groupSplit(m, G, false), { dtype: "int32" });
  const [lhs, rhs, groupSizes] = [devicePut(hostLhs, device), devicePut(hostRhs, device), devicePut(sizes, device)];
  const plain = jit((x: A, w: A, s: A) => gmm(x, w, s, { backend: name }), { device });
  const f32Ms = await median(() => readAndFree(plain(lhs, rhs, groupSizes)), timed);
  const f32 = { name: `float32 gmm (${name} backend)`, medianMs: f32Ms };
  const rate = { amount: 2 * m * K * N, unit: "GFLOP/s" as const };
  const rows: Row[] = [];
  const dout = randomArray(next, [m, N]);
  const unquantized = measure ? residualBytes((l, r) => gmm(l, r, sizes, { backend: "cpu" }), hostLhs, hostRhs, dout) : 0;
  const residuals: string[] = measure ? [`float32 gmm: ${(unquantized / 2 ** 20).toFixed(2)} MiB`] : [];
  for (const qtype of QTYPES) {
    for (const { name: mode, blockSize } of MODES) {
      const label = `${device}: gmm ${m}×${K}×${N} g=${G} ${qtype} ${mode}`;
      const quantized = quant.quantized(backend, { actQtype: qtype, weightQtype: qtype, blockSize });
      const weightAxes = blockSize ? { channelwiseAxes: [0, 2], tiledAxes: { 1: blockSize } } : { channelwiseAxes: [2] };
      const weights = jit((w: A) => quant.quantize(w, { qtype, ...weightAxes }), { device })(rhs);
      const inference = jit((x: A, w: quant.QArray, s: A) => gmm(x, w, s, { backend: quantized }), { device });
      const ms = await median(() => readAndFree(inference(lhs, weights, groupSizes)), timed);
      rows.push({ name: `${label}, weights quantized beforehand`, medianMs: ms, rate, comparison: f32 });
      const training = jit((x: A, w: A, s: A) => gmm(x, w, s, { backend: quantized }), { device });
      const tms = await median(() => readAndFree(training(lhs, rhs, groupSizes)), timed);
      rows.push({ name: `${label}, both quantized per call`, medianMs: tms, rate, comparison: f32 });
      for (const bwdQtype of measure ? [undefined, qtype] : []) {
        const rule = { actQtype: qtype, weightQtype: qtype, bwdQtype, blockSize };
        const bytes = residualBytes((l, r) => gmm(l, r, sizes, { backend: quant.quantized(getGmmBackend("cpu"), rule) }), hostLhs, hostRhs, dout);
        residuals.push(`${qtype} ${mode}${bwdQtype ? `, bwdQtype ${bwdQtype}` : ""}: ${(bytes / 2 ** 20).toFixed(2)} MiB (${(bytes / unquantized).toFixed(3)} of float32's)`);
      }
    }
  }
  return { rows, residuals };
}
