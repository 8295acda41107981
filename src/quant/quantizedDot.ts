/**
 * A quantized `dot_general`, with the same forward and backward semantics as the quantized gmm (quantized.ts):
 * each operand quantized per channel on the axes the product keeps (batch and free axes), or in blocks along its
 * one contracting axis; the value is the dot of the dequantized operands; the VJP is the straight-through
 * estimate from the quantized residuals, a per-channel scale folded into the gradient (its axes survive there),
 * the gradient quantized to bwdQtype per channel on the axes each backward product keeps. Block-wise, the
 * residuals are dequantized and the gradient is quantized per channel (no dual copies: a dot's backward
 * contraction axes may be several, and are not the forward's).
 */
import type { Array } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ArgumentError, ShapeError, fmtShape } from "../core/errors.js";
import { QArray } from "../core/qarray.js";
import * as lax from "../ops/lax/api.js";
import { type DotDimensionNumbers, freeAxes } from "../ops/lax/dot.js";
import { customVjp } from "../vjp/custom.js";
import { cast, deq } from "./quantized.js";
import { dequantize, quantize } from "./quantize.js";
import type { Quantization, ResolvedRule } from "./rule.js";

const range = (n: number): number[] => globalThis.Array.from({ length: n }, (_, i) => i);

/** x quantized for a product contracting `contracting`: per channel on the other axes, or in blocks along its contracting axis. */
function quantizeFor(x: Array, how: Quantization | undefined, rule: ResolvedRule, contracting: readonly number[]): Array | QArray {
  if (!how) return x;
  const channelwiseAxes = rule.channelwise ? freeAxes(x.ndim, contracting) : [];
  return quantize(x, { qtype: how.qtype, calibration: how.calibration, channelwiseAxes, tiledAxes: rule.blockSize ? { [contracting[0]!]: rule.blockSize } : {} });
}

/** The gradient quantized and dequantized by bwdQtype, per channel on every axis but `contracted`. */
function gradientFor(g: Array, rule: ResolvedRule, contracted: readonly number[]): Array {
  if (!rule.bwd) return g;
  const channelwiseAxes = rule.channelwise ? freeAxes(g.ndim, contracted) : [];
  return dequantize(quantize(g, { qtype: rule.bwd.qtype, calibration: rule.bwd.calibration, channelwiseAxes }));
}

/**
 * The cotangent of one operand `x` of a dot whose other operand is `y`: the dot of `g` and `y` over y's free
 * axes (`gAxes` in g), batched on the batch axes, transposed back to x's axis order.
 */
function operandCotangent(g: Array, y: Array, batch: readonly number[], yBatch: readonly number[], yFree: readonly number[], gAxes: readonly number[], xBatch: readonly number[], xFree: readonly number[], xContracting: readonly number[], yContracting: readonly number[], dtype: DType): Array {
  const gBatch = range(batch.length);
  const product = lax.dotGeneral(cast(g, y.dtype), y, [[[...gAxes], [...yFree]], [gBatch, [...yBatch]]], { preferredElementType: dtype });
  // product's axes: batch, g's remaining axes (x's free axes, in order), y's contracting axes in increasing order.
  const yRest = [...yContracting].sort((a, b) => a - b).map((a) => xContracting[yContracting.indexOf(a)]!);
  const order = [...xBatch, ...xFree, ...yRest];
  return lax.transpose(product, range(order.length).map((axis) => order.indexOf(axis)));
}

/** The scale of `q` (constant along `contracting`) as a factor of the gradient, whose axes `gDims` hold q's `kept` axes. */
function scaleFactor(q: QArray, kept: readonly number[], gDims: readonly number[], gShape: readonly number[], dtype: DType): Array {
  const scale = lax.reshape(lax.transpose(q.scale, [...kept, ...freeAxes(q.scale.ndim, kept)]), kept.map((a) => q.scale.shape[a]!));
  return lax.broadcastInDim(cast(scale, dtype), gShape, [...gDims]);
}

export function quantizedDotGeneral(lhs: Array, rhs: Array, dims: DotDimensionNumbers, preferred: DType | null, rule: ResolvedRule, who: string): Array {
  const [[lc, rc], [lb, rb]] = dims;
  const lFree = freeAxes(lhs.ndim, lc, lb);
  const rFree = freeAxes(rhs.ndim, rc, rb);
  if (rule.blockSize !== undefined) {
    if (lc.length !== 1) throw new ArgumentError(`${who}: block-wise quantization needs exactly one contracting axis, got ${lc.length}`);
    const dim = lhs.shape[lc[0]!]!;
    if (dim % rule.blockSize !== 0) throw new ShapeError(`${who}: rule.blockSize ${rule.blockSize} must divide the contracting dimension, got ${dim} (lhs is ${fmtShape(lhs.shape)})`);
  }
  const nb = lb.length;
  const gLhsFree = range(lFree.length).map((i) => nb + i);
  const gRhsFree = range(rFree.length).map((i) => nb + lFree.length + i);
  const forward = (l: Array, r: Array) => {
    const ql = quantizeFor(l, rule.act, rule, lc);
    const qr = quantizeFor(r, rule.weight, rule, rc);
    return { out: lax.dotGeneral(deq(ql), deq(qr), dims, { preferredElementType: preferred }), ql, qr };
  };
  const f = customVjp(function quantized_dot_general(l: Array, r: Array) {
    return forward(l, r).out;
  });
  f.defvjp(
    (l: Array, r: Array) => {
      const { out, ql, qr } = forward(l, r);
      return [out, { ql, qr }];
    },
    ({ ql, qr }: { ql: Array | QArray; qr: Array | QArray }, g: Array) => {
      const foldable = (q: Array | QArray, contracting: readonly number[]): q is QArray => q instanceof QArray && !q.zeroPoint && contracting.every((a) => q.scale.shape[a] === 1);
      const codes = (q: QArray): Array => lax.convertElementType(q.qvalue, q.dtype);
      // dlhs: contract g's rhs-free axes with the rhs's; its scale lives on rb and rFree, g's batch and rhs-free axes.
      let dl = g;
      let rOp: Array;
      if (foldable(qr, rc)) {
        dl = lax.mul(cast(g, qr.dtype), scaleFactor(qr, [...rb, ...rFree], [...range(nb), ...gRhsFree], g.shape, qr.dtype));
        rOp = codes(qr);
      } else rOp = deq(qr);
      const dlhs = operandCotangent(gradientFor(cast(dl, rOp.dtype), rule, gRhsFree), rOp, lb, rb, rFree, gRhsFree, lb, lFree, lc, rc, lhs.dtype);
      let dr = g;
      let lOp: Array;
      if (foldable(ql, lc)) {
        dr = lax.mul(cast(g, ql.dtype), scaleFactor(ql, [...lb, ...lFree], [...range(nb), ...gLhsFree], g.shape, ql.dtype));
        lOp = codes(ql);
      } else lOp = deq(ql);
      const drhs = operandCotangent(gradientFor(cast(dr, lOp.dtype), rule, gLhsFree), lOp, rb, lb, lFree, gLhsFree, rb, rFree, rc, lc, rhs.dtype);
      return [dlhs, drhs];
    },
  );
  return f(lhs, rhs);
}
