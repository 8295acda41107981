/**
 * Batching rules (vmap) of the elementwise, movement, reduction, dot, sort and misc primitives. A rule keeps the
 * batch axis where it is when the primitive allows it, and otherwise moves it to the front; no rule loops over
 * examples.
 */
import type { Array } from "../../core/array.js";
import type { Primitive } from "../../core/primitive.js";
import { bind, bind1 } from "../../trace/trace.js";
import { type BatchDim, defBatch, defVectorized, moveBatchAxis } from "../../vmap/batching.js";
import * as lax from "./api.js";
import { checkP } from "./check.js";
import { dotGeneralP } from "./dot.js";
import * as ew from "./elementwise.js";
import * as misc from "./misc.js";
import * as mv from "./movement.js";
import * as red from "./reduce.js";
import * as srt from "./sort.js";

const range = (n: number): number[] => globalThis.Array.from({ length: n }, (_, i) => i);
/** A per-example axis as an axis of the value batched at `dim`. */
const batchedAxis = (axis: number, dim: number): number => (axis < dim ? axis : axis + 1);
const rankOf = (x: Array, dim: BatchDim): number => x.ndim - (dim === null ? 0 : 1);
/** Every operand batched at the front (broadcast if it was not). */
const allAtFront = (args: readonly Array[], dims: readonly BatchDim[], size: number): Array[] => args.map((x, i) => moveBatchAxis(x, dims[i]!, 0, size));
const atFront = (outs: readonly Array[]): [Array[], BatchDim[]] => [[...outs], outs.map(() => 0)];

// ---- elementwise -------------------------------------------------------------------------------

/**
 * n-ary elementwise primitives that accept scalars and unit axes beside full operands: operands batched at one
 * common axis keep it; otherwise the batch axis goes to the front and unbatched operands gain a unit axis there.
 */
function defBroadcasting(p: Primitive<never>): void {
  defBatch(p, (args, dims, params, size) => {
    const rank = Math.max(...args.map((x, i) => rankOf(x, dims[i]!)));
    const first = dims.find((d) => d !== null)!;
    const aligned = args.every((x, i) => (dims[i] === null ? x.ndim === 0 : dims[i] === first && x.ndim === rank + 1));
    if (aligned) {
      const outs = bind(p, args, params);
      return [outs, outs.map(() => first)];
    }
    const xs = args.map((x, i) => {
      const d = dims[i]!;
      if (d === null) return x.ndim === 0 ? x : lax.expandDims(x, [0]);
      const front = moveBatchAxis(x, d, 0, size);
      return x.ndim - 1 < rank ? lax.reshape(front, [size, ...new globalThis.Array<number>(rank).fill(1)]) : front;
    });
    const outs = bind(p, xs, params);
    return [outs, outs.map(() => 0)];
  });
}

/**
 * Elementwise primitives whose operands must have one shape, except operands listed in `scalarOk` that may be
 * scalars (clamp's bounds, select_n's predicate): everything batched at the front, full size.
 */
function defSameShape(p: Primitive<never>, scalarOk: readonly number[] = []): void {
  defBatch(p, (args, dims, params, size) => {
    const full = args.find((x, i) => rankOf(x, dims[i]!) > 0);
    const shape = full ? full.shape.filter((_, a) => a !== dims[args.indexOf(full)]) : [];
    const xs = args.map((x, i) => {
      const d = dims[i]!;
      if (d === null && x.ndim === 0 && scalarOk.includes(i)) return x;
      const front = moveBatchAxis(x, d, 0, size);
      return front.ndim === shape.length + 1 ? front : lax.broadcastInDim(front, [size, ...shape], [0]);
    });
    return atFront(bind(p, xs, params));
  });
}

const UNARY = [
  ...[ew.expP, ew.logP, ew.log1pP, ew.expm1P, ew.tanhP, ew.logisticP, ew.sinP, ew.cosP, ew.tanP, ew.asinP, ew.acosP, ew.atanP, ew.sinhP, ew.coshP],
  ...[ew.sqrtP, ew.rsqrtP, ew.erfP, ew.erfInvP, ew.floorP, ew.ceilP, ew.negP, ew.absP, ew.signP, ew.notP, ew.roundP, ew.isFiniteP, ew.integerPowP],
  ...[ew.convertElementTypeP, ew.bitcastConvertTypeP, misc.stopGradientP],
] as Primitive<unknown>[];
for (const p of UNARY) defVectorized(p);

const BINARY = [
  ...[ew.addP, ew.subP, ew.mulP, ew.divP, ew.remP, ew.maxP, ew.minP, ew.atan2P, ew.powP, ew.andP, ew.orP, ew.xorP],
  ...[ew.shiftLeftP, ew.shiftRightLogicalP, ew.shiftRightArithmeticP, ew.eqP, ew.neP, ew.ltP, ew.leP, ew.gtP, ew.geP],
];
for (const p of BINARY) defBroadcasting(p as Primitive<never>);
defSameShape(ew.addAnyP as Primitive<never>);
defSameShape(misc.threefry2x32P as Primitive<never>);
defSameShape(ew.clampP as Primitive<never>, [0, 2]);
defSameShape(ew.selectNP as Primitive<never>, [0]);

// ---- movement ---------------------------------------------------------------------------------

defBatch(mv.broadcastInDimP, ([x], [d], { shape, broadcast_dimensions }, size) => {
  const front = moveBatchAxis(x!, d!, 0, size);
  return atFront([lax.broadcastInDim(front, [size, ...shape], [0, ...broadcast_dimensions.map((a) => a + 1)])]);
});
defBatch(mv.reshapeP, ([x], [d], { new_sizes }, size) => atFront([lax.reshape(moveBatchAxis(x!, d!, 0, size), [size, ...new_sizes])]));
defBatch(mv.transposeP, ([x], [d], { permutation }, size) => atFront([lax.transpose(moveBatchAxis(x!, d!, 0, size), [0, ...permutation.map((a) => a + 1)])]));
defBatch(mv.squeezeP, ([x], [d], { dimensions }, size) => atFront([lax.squeeze(moveBatchAxis(x!, d!, 0, size), dimensions.map((a) => a + 1))]));
defBatch(mv.revP, ([x], [d], { dimensions }) => [[lax.rev(x!, dimensions.map((a) => batchedAxis(a, d!)))], [d!]]);
defBatch(mv.concatenateP, (args, dims, { dimension }, size) => atFront([lax.concatenate(allAtFront(args, dims, size), dimension + 1)]));
defBatch(mv.sliceP, ([x], [d], { start_indices, limit_indices, strides }) => {
  const at = (xs: readonly number[], v: number): number[] => [...xs.slice(0, d!), v, ...xs.slice(d!)];
  const size = x!.shape[d!]!;
  return [[lax.slice(x!, at(start_indices, 0), at(limit_indices, size), strides && at(strides, 1))], [d!]];
});

/** With a batched padding value, the padded positions are selected from it (JAX's rule). */
defBatch(mv.padP, ([x, value], [dx, dv], { padding_config }, size) => {
  const config = [[0, 0, 0] as const, ...padding_config];
  const operand = moveBatchAxis(x!, dx!, 0, size);
  if (dv === null) return atFront([lax.pad(operand, value!, config)]);
  const padded = lax.pad(operand, lax.convertElementType(0, x!.dtype), config);
  const inside = lax.pad(lax.broadcastInDim(lax.convertElementType(true, "bool"), operand.shape, []), lax.convertElementType(false, "bool"), config);
  const fill = lax.broadcastInDim(moveBatchAxis(value!, dv!, 0, size), padded.shape, [0]);
  return atFront([lax.select(inside, padded, fill)]);
});

// ---- reductions ----------------------------------------------------------------------------------

function defReduction(p: Primitive<{ readonly axes: readonly number[] }>): void {
  defBatch(p, ([x], [d], params) => {
    const axes = params.axes.map((a) => batchedAxis(a, d!));
    const out = d! - axes.filter((a) => a < d!).length;
    return [bind(p, [x!], { ...params, axes }), [out]];
  });
}
for (const p of [red.reduceSumP, red.reduceProdP, red.reduceMaxP, red.reduceMinP, red.reduceAndP, red.reduceOrP, red.argmaxP, red.argminP]) {
  defReduction(p as Primitive<{ readonly axes: readonly number[] }>);
}
defBatch(red.cumsumP, ([x], [d], params) => [[bind1(red.cumsumP, [x!], { ...params, axis: batchedAxis(params.axis, d!) })], [d!]]);

// ---- dot_general: a batch axis on both sides is a dot batch dim; on one side, a free dim ---------------

defBatch(dotGeneralP, ([lhs, rhs], [dl, dr], params) => {
  const [[lc, rc], [lb, rb]] = params.dimension_numbers;
  const shift = (axes: readonly number[], d: number): number[] => axes.map((a) => batchedAxis(a, d));
  if (dl !== null && dr !== null) {
    const numbers = [
      [shift(lc, dl), shift(rc, dr)],
      [
        [dl, ...shift(lb, dl)],
        [dr, ...shift(rb, dr)],
      ],
    ] as const;
    return [[bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: numbers })], [0]];
  }
  if (dl !== null) {
    const [c, b] = [shift(lc, dl), shift(lb, dl)];
    const free = range(lhs!.ndim).filter((a) => !c.includes(a) && !b.includes(a));
    const out = bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: [[c, rc], [b, rb]] });
    return [[out], [lb.length + free.indexOf(dl)]];
  }
  const [c, b] = [shift(rc, dr!), shift(rb, dr!)];
  const free = range(rhs!.ndim).filter((a) => !c.includes(a) && !b.includes(a));
  const lhsFree = lhs!.ndim - lc.length - lb.length;
  const out = bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: [[lc, c], [lb, b]] });
  return [[out], [lb.length + lhsFree + free.indexOf(dr!)]];
});

// ---- sort, top_k ------------------------------------------------------------------------------------

defBatch(srt.sortP, (args, dims, params, size) => atFront(bind(srt.sortP, allAtFront(args, dims, size), { ...params, dimension: params.dimension + 1 })));
defBatch(srt.topKP, ([x], [d], params) => [bind(srt.topKP, [x!], { ...params, axis: batchedAxis(params.axis, d!) }), [d!, d!]]);

// ---- check: each example's values are checked on their own -----------------------------------------

defBatch(checkP, ([x, subject], [dx, ds], params, size) => {
  if (ds === null) return [[bind1(checkP, [x!, subject!], params)], [dx!]];
  const examples = moveBatchAxis(subject!, ds, 0, size);
  return [[bind1(checkP, [x!, examples], { ...params, batch: (params.batch ?? 1) * size })], [dx!]];
});
