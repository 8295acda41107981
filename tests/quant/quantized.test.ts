/**
 * quant.quantized(backend, rule) on every backend: the forward equals a fake-quant reference (quantize,
 * dequantize, a float64 gmm/tgmm) up to accumulation order; the gradients without bwdQtype equal the
 * straight-through estimate computed by hand from the dequantized operands; with bwdQtype they equal the hand
 * computation from the quantized gradient (dual quantization for block-wise rules), and stay within a documented
 * relative Frobenius error of the gradients without it. Per-channel and block-wise (128), int8, int4 and e4m3fn,
 * transposeRhs, a group boundary inside a block, rows padded to a whole block.
 */
import { describe, it } from "vitest";
import { getGmmBackend, quant } from "../../src/index.js";
import { BACKENDS, runOn } from "../ops/gmm/backends.js";
import {
  G, K, M, MODES, N, QTYPES, dout, expectProduct, fakeQuant, gmm64, host, lhs, lhsAxes, program, rhs, rhsAxes, rhsT, swapLast, tDout, tLhs, tRhs, tgmm64, tiles, transpose2,
} from "./quantizedCases.js";

describe.each(BACKENDS)("quantized(%s): forward = fake-quant reference, gradients = straight-through estimate", (name) => {
  describe.each(QTYPES)("%s", (qtype) => {
    it.each(MODES)("$name", async ({ blockSize }) => {
      const backend = quant.quantized(getGmmBackend(name), { actQtype: qtype, weightQtype: qtype, blockSize });
      for (const transposeRhs of [false, true]) {
        const r = transposeRhs ? rhsT : rhs;
        const [out, dl, dr, tout, tdl, tdr] = await runOn(name, program(backend, transposeRhs), lhs, r, dout, tLhs, tRhs, tDout);
        const ql = fakeQuant(lhs, { qtype, ...lhsAxes(blockSize) });
        const qr = fakeQuant(r, { qtype, ...rhsAxes(transposeRhs, blockSize) });
        expectProduct(out!, ...gmm64(ql, qr, transposeRhs), K);
        // Straight-through: dlhs = dout · deq(rhs)ᵀ, drhs = deq(lhs)ᵀ · dout.
        const qrKN = transposeRhs ? swapLast(qr, G, N, K) : qr;
        expectProduct(dl!, ...gmm64(host(dout), qrKN, true, N, K), N);
        const [drhs, drhsBound] = tgmm64(transpose2(ql, M, K), host(dout));
        expectProduct(dr!, transposeRhs ? swapLast(drhs, G, K, N) : drhs, transposeRhs ? swapLast(drhsBound, G, K, N) : drhsBound, M);
        if (transposeRhs) continue;
        // tgmm: lhs [k, m] per k (blocks along m), rhs [m, n] per n (blocks along m), rows padded to a whole block.
        const rows = blockSize ? 256 : M;
        const tql = fakeQuant(tLhs, { qtype, channelwiseAxes: [0], tiledAxes: tiles(1, blockSize) }, 1, rows);
        const tqr = fakeQuant(tRhs, { qtype, channelwiseAxes: [1], tiledAxes: tiles(0, blockSize) }, 0, rows);
        expectProduct(tout!, ...tgmm64(tql, tqr), M);
        // dlhs[a, r] = Σ_c tDout[g(r), a, c] · deq(rhs)[r, c]; drhs[r, c] = Σ_a deq(lhs)[a, r] · tDout[g(r), a, c].
        const [dlT, dlTBound] = gmm64(tqr, host(tDout), true, N, K);
        expectProduct(tdl!, transpose2(dlT, M, K), transpose2(dlTBound, M, K), N);
        expectProduct(tdr!, ...gmm64(transpose2(tql, K, M), host(tDout), false), K);
      }
    });
  });
});
