/**
 * `quantized(backend, rule)`: a `GmmBackend` that quantizes gmm's and tgmm's operands by the rule and calls the
 * inner backend, with the quantized VJP of spec §D.2–D.3 (MaxText's megablox path with a qwix QtRule). It knows
 * nothing of the inner backend but its interface.
 *
 * Forward (gmm, `lhs [m,k]`, `rhs [G,k,n]`): lhs per row, rhs per output column shared across the groups (so the
 * backward can fold its scale), or, with `blockSize`, both in blocks along k (rhs per group). A backend that
 * declares the qtype in `quantizedOperands` receives the codes and the scales are applied to its result (block-wise,
 * one product per block of k, summed); any other receives the dequantized operands (on the kernel devices the
 * dequantization fuses into its kernel's loads). Either way the value is
 * `gmm(deq(Q(lhs)), deq(Q(rhs)))` up to accumulation order. Operands that are already `QArray`s are used as they
 * are (weights quantized once, for instance) and receive no gradient.
 *
 * Backward, the straight-through estimate through the quantizers, from the forward's quantized residuals only
 * (the unquantized operands are not kept, nothing is requantized):
 * - dlhs = gmm(dout · s_rhs, codes_rhs, transposeRhs flipped): rhs's scale, constant along k, folds into the
 *   gradient's columns (gathered per row when it is per group); drhs = tgmm(codes_lhsᵀ, dout · s_lhs).
 *   A scale that varies along the product's kept axis (blocks along k) cannot fold: that residual is dequantized.
 * - With `bwdQtype`, the gradient is quantized before each product: per row for dlhs, per column for drhs (their
 *   scales survive the contractions), or in blocks along each product's contraction axis with `blockSize`. Then
 *   the forward also quantizes each operand in the orientation its backward product contracts (dual
 *   quantization: lhs in blocks along m, rhs along n), from the unquantized values, and keeps only those: a
 *   block of rows may straddle a group boundary (dequantization is linear, so masking commutes with it), and
 *   with transposeRhs the rhs axes swap roles. Rows are padded with zeros to a whole block; padded rows are past
 *   every group.
 * - Gradients have the operands' original dtypes, never a qtype; existingOut's is dout on the inactive rows.
 * tgmm (`lhs [k,m]`, `rhs [m,n]`, contracting m) is the mirror image: lhs per k, rhs per n, or blocks along m.
 */
import type { Array } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ArgumentError, ShapeError, fmtShape } from "../core/errors.js";
import { QArray } from "../core/qarray.js";
import type { GmmBackend, GmmCall, TgmmCall } from "../ops/gmm/backend.js";
import { activeRows, localRowGroups, zeros } from "../ops/gmm/groups.js";
import { takeRows } from "../ops/lax/adUtil.js";
import * as lax from "../ops/lax/api.js";
import { customVjp } from "../vjp/custom.js";
import { dequantize, quantize } from "./quantize.js";
import { type QuantRule, type Quantization, type ResolvedRule, describeRule, resolveRule } from "./rule.js";

/** An operand: a value, or one already quantized. */
export type Operand = Array | QArray;

const dtypeOf = (x: Operand): DType => x.dtype;
/** The operand's values: a QArray dequantized, an Array as it is. */
export const deq = (x: Operand): Array => (x instanceof QArray ? dequantize(x) : x);
export const cast = (x: Array, dtype: DType): Array => (x.dtype === dtype ? x : lax.convertElementType(x, dtype));

/**
 * `x` quantized by `how` for a product contracting `axis`: per channel on `channels` (none when the rule is per
 * tensor) and, with a block size, in blocks along `axis`. Values without a quantization, and QArrays, pass.
 */
function quantizeFor(x: Operand, how: Quantization | undefined, rule: ResolvedRule, channels: number[], axis: number): Operand {
  if (x instanceof QArray || !how) return x;
  const tiledAxes = rule.blockSize ? { [axis]: rule.blockSize } : {};
  return quantize(x, { qtype: how.qtype, calibration: how.calibration, channelwiseAxes: rule.channelwise ? channels : [], tiledAxes });
}

/** `x` padded with zeros along `axis` to `size`. */
function padTo(x: Array, axis: number, size: number): Array {
  const extra = size - x.shape[axis]!;
  return extra === 0 ? x : lax.pad(x, 0, x.shape.map((_, a) => [0, a === axis ? extra : 0, 0] as const));
}

const roundUp = (n: number, block: number): number => Math.ceil(n / block) * block;

/** The first `size` indices of `x` along `axis`. */
const takeFirst = (x: Array, axis: number, size: number): Array => (x.shape[axis] === size ? x : lax.sliceInDim(x, 0, size, 1, axis));

/** A QArray without zero point whose scale is per channel or per tensor on every axis but `free` ones (its dim or 1). */
const channelScaled = (x: Operand, free: number[] = []): x is QArray =>
  x instanceof QArray && !x.zeroPoint && x.scale.shape.every((s, a) => free.includes(a) || s === 1 || s === x.shape[a]);

/** A QArray whose scale is constant along `axes` and per channel elsewhere: its scale can move to the other operand. */
const foldable = (x: Operand, axes: number[]): x is QArray => channelScaled(x) && axes.every((a) => x.scale.shape[a] === 1);

/** The codes of a QArray as values of its dtype (its scale moved elsewhere). */
const codes = (q: QArray): Array => lax.convertElementType(q.qvalue, q.dtype);

function checkBlock(who: string, block: number, dim: number, what: string): void {
  if (dim % block !== 0) throw new ShapeError(`${who}: rule.blockSize ${block} must divide ${what}, got ${dim}`);
}

/** Scales of rhs `[1|G, 1, c]` (k axis removed) as `[m, n]`: one row per gmm row, gathered by its group when per group. */
function rowScales(scale: Array, groupSizes: Array, groupOffset: Array, m: number, n: number, dtype: DType): Array {
  const [groups, , columns] = scale.shape as [number, number, number];
  let rows = lax.reshape(cast(scale, dtype), [groups, columns]);
  if (groups > 1) {
    const index = lax.clamp(0, localRowGroups(groupSizes, groupOffset, m), groups - 1);
    rows = takeRows(rows, index);
  }
  return lax.broadcastInDim(rows, [m, n], [0, 1]);
}

/**
 * gmm on the codes (the inner backend contracts them natively, accumulating in f32), the scales applied to each
 * product — lhs's per row, rhs's per column (gathered per row when per group) — and the rows outside the call's
 * groups taken from existingOut (or 0) by a select. Scales constant along k make one product; scales in blocks
 * along k one product per block, each on its slice of the codes, summed.
 */
function productOnCodes(inner: GmmBackend, [ql, qr]: [QArray, QArray], kAxis: number, groupSizes: Array, call: GmmCall): Array {
  const [m, k] = ql.shape as [number, number];
  const [g] = qr.shape as [number];
  const n = qr.shape[3 - kAxis]!;
  const blocks = ql.scale.shape[1]!;
  const size = k / blocks;
  let total: Array | undefined;
  for (let j = 0; j < blocks; j++) {
    const part = (x: Array, axis: number, width: number): Array => (blocks === 1 ? x : lax.sliceInDim(x, j * width, (j + 1) * width, 1, axis));
    const product = inner.gmm(part(ql.qvalue, 1, size), part(qr.qvalue, kAxis, size), groupSizes, { ...call, existingOut: undefined, preferredElementType: "float32" });
    const lhsScale = part(ql.scale, 1, 1);
    const rhsScale = part(qr.scale, kAxis, 1);
    const rowScale = lax.broadcastInDim(lax.reshape(cast(lhsScale, "float32"), [lhsScale.shape[0]!]), [m, n], [0]);
    const columnScale = rowScales(kAxis === 2 ? lax.transpose(rhsScale, [0, 2, 1]) : rhsScale, groupSizes, call.groupOffset, m, n, "float32");
    const scaled = lax.mul(lax.mul(product, rowScale), columnScale);
    total = total ? lax.add(total, scaled) : scaled;
  }
  const active = lax.broadcastInDim(activeRows(groupSizes, call.groupOffset, g, m), [m, n], [0]);
  const rest = call.existingOut ? cast(call.existingOut, "float32") : zeros([m, n], "float32");
  return cast(lax.select(active, total!, rest), call.preferredElementType);
}

/** A gradient, quantized and dequantized by the rule's bwdQtype for a product contracting `axis` (channels: the rest). */
const gradientFor = (d: Array, rule: ResolvedRule, channels: number[], axis: number): Array => deq(quantizeFor(d, rule.bwd, rule, channels, axis));

/** Blocks of k shorter than this are dequantized instead: each block is a product of its own. */
const MIN_CODE_BLOCK = 32;

/** What the backward pass keeps: the operands as quantized for it, and the groups. */
interface Residuals {
  readonly l: Operand;
  readonly r: Operand;
  readonly sizes: Array;
  readonly offset: Array;
}

function quantizedGmm(inner: GmmBackend, rule: ResolvedRule, who: string) {
  return (lhs: Operand, rhs: Operand, groupSizes: Array, call: GmmCall): Array => {
    const [lhsType, rhsType] = [dtypeOf(lhs), dtypeOf(rhs)];
    const kAxis = call.transposeRhs ? 2 : 1;
    const nAxis = 3 - kAxis;
    const [m, k] = lhs.shape as [number, number];
    const n = rhs.shape[nAxis]!;
    const block = rule.blockSize;
    const dual = block !== undefined && rule.bwd !== undefined;
    if (block !== undefined) {
      checkBlock(who, block, k, `k (lhs [m, k] is ${fmtShape(lhs.shape)})`);
      if (dual) checkBlock(who, block, n, `n when bwdQtype is set (rhs is ${fmtShape(rhs.shape)})`);
    }
    /**
     * On codes, when the inner backend computes on this qtype's codes and the scales are constant along k, or
     * along blocks of k of one size for both (symmetric quantization: no zero point).
     */
    const onCodes = (ql: Operand, qr: Operand): [QArray, QArray] | undefined => {
      if (!channelScaled(ql, [1]) || !channelScaled(qr, [kAxis]) || ql.qtype !== qr.qtype || !inner.quantizedOperands?.includes(ql.qtype)) return undefined;
      const blocks = ql.scale.shape[1]!;
      return blocks === qr.scale.shape[kAxis] && (blocks === 1 || ql.shape[1]! / blocks >= MIN_CODE_BLOCK) ? [ql, qr] : undefined;
    };
    const forward = (l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) => {
      const ql = quantizeFor(l, rule.act, rule, [0], 1);
      const qr = quantizeFor(r, rule.weight, rule, block ? [0, nAxis] : [nAxis], kAxis);
      const codes = onCodes(ql, qr);
      const out = codes
        ? productOnCodes(inner, codes, kAxis, sizes, { ...call, groupOffset: offset, existingOut: existing[0] })
        : inner.gmm(deq(ql), deq(qr), sizes, { ...call, groupOffset: offset, existingOut: existing[0] });
      return { out, ql, qr };
    };
    const f = customVjp(function quantized_gmm(l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) {
      return forward(l, r, sizes, offset, existing).out;
    });
    f.defvjp(
      (l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) => {
        const { out, ql, qr } = forward(l, r, sizes, offset, existing);
        // Dual quantization: each operand in the orientation of its backward product, from the unquantized values.
        const lres = dual && !(l instanceof QArray) ? quantizeFor(padTo(l, 0, roundUp(m, block!)), rule.act, rule, [1], 0) : ql;
        const rres = dual && !(r instanceof QArray) ? quantizeFor(r, rule.weight, rule, [0, kAxis], nAxis) : qr;
        return [out, { l: lres, r: rres, sizes, offset }];
      },
      (res: Residuals, dout: Array) => {
        const { l, r, sizes, offset } = res;
        const g = r.shape[0]!;
        let dlhs: Array | null = null;
        let drhs: Array | null = null;
        if (!(lhs instanceof QArray)) {
          let d = dout;
          let rhsOp: Array;
          if (foldable(r, [kAxis])) {
            d = lax.mul(cast(dout, r.dtype), rowScales(call.transposeRhs ? lax.transpose(r.scale, [0, 2, 1]) : r.scale, sizes, offset, m, n, r.dtype));
            rhsOp = codes(r);
          } else rhsOp = deq(r);
          d = gradientFor(cast(d, rhsOp.dtype), rule, [0], 1);
          const tiling = call.dlhsTiling ?? call.tiling;
          dlhs = inner.gmm(d, rhsOp, sizes, { ...call, groupOffset: offset, existingOut: undefined, transposeRhs: !call.transposeRhs, preferredElementType: lhsType, tiling, dlhsTiling: call.tiling });
        }
        if (!(rhs instanceof QArray)) {
          let d = dout;
          let lhsOp: Array;
          if (foldable(l, [1])) {
            d = lax.mul(cast(dout, l.dtype), lax.broadcastInDim(lax.reshape(l.scale, [l.scale.shape[0]!]), [m, n], [0]));
            lhsOp = codes(l);
          } else lhsOp = deq(l);
          d = gradientFor(padTo(cast(d, lhsOp.dtype), 0, lhsOp.shape[0]!), rule, [1], 0);
          const grad = inner.tgmm(lax.transpose(lhsOp, [1, 0]), d, sizes, {
            groupOffset: offset,
            numActualGroups: g,
            preferredElementType: rhsType,
            tiling: call.drhsTiling ?? call.tiling,
          });
          drhs = call.transposeRhs ? lax.transpose(grad, [0, 2, 1]) : grad;
        }
        const rest = lax.broadcastInDim(activeRows(sizes, offset, g, m), [m, n], [0]);
        return [dlhs, drhs, null, null, call.existingOut ? [lax.select(rest, zeros([m, n], dout.dtype), dout)] : []];
      },
    );
    return f(lhs, rhs, groupSizes, call.groupOffset, call.existingOut ? [call.existingOut] : []);
  };
}

function quantizedTgmm(inner: GmmBackend, rule: ResolvedRule, who: string) {
  return (lhs: Operand, rhs: Operand, groupSizes: Array, call: TgmmCall): Array => {
    const [lhsType, rhsType] = [dtypeOf(lhs), dtypeOf(rhs)];
    const [k, m] = lhs.shape as [number, number];
    const n = rhs.shape[1]!;
    const block = rule.blockSize;
    const dual = block !== undefined && rule.bwd !== undefined;
    // Blocks along m: rows padded to a whole block (past every group), unless an operand comes quantized.
    const given = lhs instanceof QArray || rhs instanceof QArray;
    const rows = block && !given ? roundUp(m, block) : m;
    if (block && given && ((rule.act && !(lhs instanceof QArray)) || (rule.weight && !(rhs instanceof QArray)))) {
      checkBlock(who, block, m, `m when an operand is given quantized (lhs [k, m] is ${fmtShape(lhs.shape)})`);
    }
    if (dual) {
      checkBlock(who, block!, k, `k when bwdQtype is set (lhs [k, m] is ${fmtShape(lhs.shape)})`);
      checkBlock(who, block!, n, `n when bwdQtype is set (rhs [m, n] is ${fmtShape(rhs.shape)})`);
    }
    const padded = (x: Operand, axis: number): Operand => (x instanceof QArray ? x : padTo(x, axis, rows));
    const forward = (l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) => {
      const ql = quantizeFor(padded(l, 1), rule.act, rule, [0], 1);
      const qr = quantizeFor(padded(r, 0), rule.weight, rule, [1], 0);
      const out = inner.tgmm(deq(ql), deq(qr), sizes, { ...call, groupOffset: offset, existingOut: existing[0] });
      return { out, ql, qr };
    };
    const f = customVjp(function quantized_tgmm(l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) {
      return forward(l, r, sizes, offset, existing).out;
    });
    f.defvjp(
      (l: Operand, r: Operand, sizes: Array, offset: Array, existing: Array[]) => {
        const { out, ql, qr } = forward(l, r, sizes, offset, existing);
        const lres = dual && !(l instanceof QArray) ? quantizeFor(l, rule.act, rule, [1], 0) : ql;
        const rres = dual && !(r instanceof QArray) ? quantizeFor(r, rule.weight, rule, [0], 1) : qr;
        return [out, { l: lres, r: rres, sizes, offset }];
      },
      (res: Residuals, dout: Array) => {
        const { l, r, sizes, offset } = res;
        const common = { groupOffset: offset, existingOut: undefined, tiling: call.tiling };
        let dlhs: Array | null = null;
        let drhs: Array | null = null;
        if (!(lhs instanceof QArray)) {
          // dlhs[a, row] = Σ_c dout[group(row), a, c] · rhs[row, c]: a gmm of rhs by dout read as [G, n, k] transposed.
          let d = dout;
          let rhsOp: Array;
          if (foldable(r, [0])) {
            d = lax.mul(cast(dout, r.dtype), lax.broadcastInDim(lax.reshape(r.scale, [r.scale.shape[1]!]), dout.shape, [2]));
            rhsOp = codes(r);
          } else rhsOp = deq(r);
          d = gradientFor(cast(d, rhsOp.dtype), rule, [0, 1], 2);
          const product = inner.gmm(rhsOp, d, sizes, { ...common, transposeRhs: true, preferredElementType: lhsType });
          dlhs = lax.transpose(takeFirst(product, 0, m), [1, 0]);
        }
        if (!(rhs instanceof QArray)) {
          // drhs[row, c] = Σ_a lhs[a, row] · dout[group(row), a, c].
          let d = dout;
          let lhsOp: Array;
          if (foldable(l, [1])) {
            d = lax.mul(cast(dout, l.dtype), lax.broadcastInDim(lax.reshape(l.scale, [l.scale.shape[0]!]), dout.shape, [1]));
            lhsOp = codes(l);
          } else lhsOp = deq(l);
          d = gradientFor(cast(d, lhsOp.dtype), rule, [0, 2], 1);
          drhs = takeFirst(inner.gmm(lax.transpose(lhsOp, [1, 0]), d, sizes, { ...common, transposeRhs: false, preferredElementType: rhsType }), 0, m);
        }
        return [dlhs, drhs, null, null, call.existingOut ? [dout] : []];
      },
    );
    return f(lhs, rhs, groupSizes, call.groupOffset, call.existingOut ? [call.existingOut] : []);
  };
}

/** A quantized backend: its gmm and tgmm also take operands already quantized. */
export interface QuantizedBackend extends GmmBackend {
  gmm(lhs: Operand, rhs: Operand, groupSizes: Array, call: GmmCall): Array;
  tgmm(lhs: Operand, rhs: Operand, groupSizes: Array, call: TgmmCall): Array;
}

/** `backend` with its operands quantized by `rule`, and the quantized VJP (see the file's comment). */
export function quantized(backend: GmmBackend, rule: QuantRule): QuantizedBackend {
  if (typeof backend !== "object" || backend === null || typeof backend.gmm !== "function" || typeof backend.tgmm !== "function") {
    throw new ArgumentError(`quantized: backend must be a GmmBackend (getGmmBackend(name)), got ${backend === null ? "null" : typeof backend}`);
  }
  const name = `quantized(${backend.name})`;
  const resolved = resolveRule(rule, name);
  return {
    name: `${backend.name}+quantized(${describeRule(resolved)})`,
    composite: true,
    gmm: quantizedGmm(backend, resolved, `${name} gmm`),
    tgmm: quantizedTgmm(backend, resolved, `${name} tgmm`),
    supports: backend.supports ? (request) => backend.supports!(request) : undefined,
  };
}
