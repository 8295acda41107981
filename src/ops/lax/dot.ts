/**
 * `dot_general` with any contracting and batch dimensions. The result's axes are (batch, lhs free, rhs free),
 * as in XLA. The reference implementation accumulates floats in float64 and rounds once per element.
 */
import { ShapedArray } from "../../core/aval.js";
import { type DType, dtypeInfo, isInteger } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { roundResult, wrapInt } from "../../core/hostData.js";
import type { Array as JaxArray } from "../../core/array.js";
import { definePrimitive } from "../../core/primitive.js";
import { bind1 } from "../../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defTranspose, instantiate } from "../../vjp/ad.js";
import * as lax from "./api.js";
import { defBatch } from "../../vmap/batching.js";
import { batchedAxis, range } from "./batchUtil.js";
import { addTangentTerms } from "./elementwise.js";
import { type Shape, sizeOf } from "../../core/shape.js";
import { checkAxes, stridesOf, tabulate, tuple, unravel } from "./util.js";

/** ((lhs contracting, rhs contracting), (lhs batch, rhs batch)), as `lax.dot_general` takes them. */
export type DotDimensionNumbers = readonly [
  readonly [readonly number[], readonly number[]],
  readonly [readonly number[], readonly number[]],
];

export interface DotGeneralParams {
  readonly dimension_numbers: DotDimensionNumbers;
  readonly preferred_element_type: DType | null;
}

/** The axes of a rank-`rank` operand in none of `used` (a dot's free axes), in order. */
export const freeAxes = (rank: number, ...used: (readonly number[])[]): number[] =>
  Array.from({ length: rank }, (_, i) => i).filter((i) => !used.some((u) => u.includes(i)));

function dotShape(lhs: Shape, rhs: Shape, [[lc, rc], [lb, rb]]: DotDimensionNumbers): number[] {
  return [
    ...lb.map((d) => lhs[d]!),
    ...freeAxes(lhs.length, lc, lb).map((d) => lhs[d]!),
    ...freeAxes(rhs.length, rc, rb).map((d) => rhs[d]!),
  ];
}

export const dotGeneralP = definePrimitive<DotGeneralParams>({
  name: "dot_general",
  abstractEval([lhs, rhs], { dimension_numbers, preferred_element_type }) {
    const [[lc, rc], [lb, rb]] = dimension_numbers;
    checkAxes("dot_general", [...lc, ...lb], lhs!.ndim, "lhs contracting and batch dimensions");
    checkAxes("dot_general", [...rc, ...rb], rhs!.ndim, "rhs contracting and batch dimensions");
    const mismatch = (a: readonly number[], b: readonly number[], what: string): void => {
      if (a.length !== b.length || a.some((d, i) => lhs!.shape[d] !== rhs!.shape[b[i]!])) {
        throw new ShapeError(
          `dot_general: ${what} dimensions must have equal sizes, got lhs ${fmtShape(lhs!.shape)} dims ${tuple(a)} and rhs ${fmtShape(rhs!.shape)} dims ${tuple(b)}`,
        );
      }
    };
    mismatch(lc, rc, "contracting");
    mismatch(lb, rb, "batch");
    if (lhs!.dtype !== rhs!.dtype) {
      throw new DTypeError(`dot_general: lhs and rhs must have equal dtypes, got lhs ${lhs!.dtype} and rhs ${rhs!.dtype}`);
    }
    const dtype = preferred_element_type ?? lhs!.dtype;
    return [new ShapedArray(dotShape(lhs!.shape, rhs!.shape, dimension_numbers), dtype, lhs!.weakType && rhs!.weakType)];
  },
  impl([lhs, rhs], { dimension_numbers, preferred_element_type }) {
    const [[lc, rc], [lb, rb]] = dimension_numbers;
    const dtype = preferred_element_type ?? lhs!.dtype;
    const outShape = dotShape(lhs!.shape, rhs!.shape, dimension_numbers);
    const ls = stridesOf(lhs!.shape);
    const rs = stridesOf(rhs!.shape);
    const lf = freeAxes(lhs!.shape.length, lc, lb);
    const rf = freeAxes(rhs!.shape.length, rc, rb);
    // Offsets of every contracting position in each operand.
    const contractShape = lc.map((d) => lhs!.shape[d]!);
    const k = sizeOf(contractShape);
    const lhsK = new Float64Array(k);
    const rhsK = new Float64Array(k);
    const ci = new globalThis.Array<number>(lc.length);
    for (let t = 0; t < k; t++) {
      unravel(t, contractShape, ci);
      lhsK[t] = lc.reduce((o, d, j) => o + ci[j]! * ls[d]!, 0);
      rhsK[t] = rc.reduce((o, d, j) => o + ci[j]! * rs[d]!, 0);
    }
    const integer = isInteger(dtype);
    const exactMul = integer && dtypeInfo(dtype).bits === 32;
    const oi = new globalThis.Array<number>(outShape.length);
    const ld = lhs!.data;
    const rd = rhs!.data;
    return [
      tabulate(outShape, dtype, (i) => {
        unravel(i, outShape, oi);
        let lo = 0;
        let ro = 0;
        let p = 0;
        for (let j = 0; j < lb.length; j++, p++) {
          lo += oi[p]! * ls[lb[j]!]!;
          ro += oi[p]! * rs[rb[j]!]!;
        }
        for (const d of lf) lo += oi[p++]! * ls[d]!;
        for (const d of rf) ro += oi[p++]! * rs[d]!;
        let acc = 0;
        for (let t = 0; t < k; t++) {
          const a = ld[lo + lhsK[t]!]!;
          const b = rd[ro + rhsK[t]!]!;
          acc = integer ? wrapInt(acc + (exactMul ? Math.imul(a, b) : a * b), dtype) : acc + a * b;
        }
        return roundResult(acc, dtype);
      }),
    ];
  },
  formatParams: ({ dimension_numbers: [[lc, rc], [lb, rb]], preferred_element_type }) => ({
    dimension_numbers: `(([${lc.join(", ")}], [${rc.join(", ")}]), ([${lb.join(", ")}], [${rb.join(", ")}]))`,
    ...(preferred_element_type ? { preferred_element_type } : {}),
  }),
});

// ---- differentiation rules: dot_general is bilinear ---------------------------------------------

/** Consecutive ranges of the given lengths: [[0..a), [a..a+b), ...]. */
function rangesLike(...lengths: number[]): number[][] {
  let start = 0;
  return lengths.map((n) => {
    const r = Array.from({ length: n }, (_, i) => start + i);
    start += n;
    return r;
  });
}

/** The cotangent of lhs given the output cotangent `g` (JAX's _dot_general_transpose_lhs). */
function transposeLhs(g: JaxArray, lhs: ShapedArray, rhs: JaxArray, [[lc, rc], [lb, rb]]: DotDimensionNumbers, swapAns = false): JaxArray {
  const lKept = freeAxes(lhs.ndim, lc, lb);
  const rKept = freeAxes(rhs.ndim, rc, rb);
  const [ansBatch, ansY] = swapAns ? (([b, y]) => [b!, y!])(rangesLike(lb.length, rKept.length, lKept.length)) : (([b, , y]) => [b!, y!])(rangesLike(lb.length, lKept.length, rKept.length));
  const lcSortedByRc = [...rc.keys()].sort((a, b) => rc[a]! - rc[b]!).map((i) => lc[i]!);
  const order = [...lb, ...lKept, ...lcSortedByRc];
  const outAxes = order.map((_, i) => i).sort((a, b) => order[a]! - order[b]!);
  const product = lax.dotGeneral(lax.convertElementType(g, rhs.dtype), rhs, [[ansY, rKept], [ansBatch, rb]], { preferredElementType: lhs.dtype });
  return lax.transpose(product, outAxes);
}

defJvp(dotGeneralP, ([lhs, rhs], [tl, tr], params) => {
  const out = bind1(dotGeneralP, [lhs!, rhs!], params);
  let tangent: Tangent = new Zero(out.aval.strongly());
  if (!(tl instanceof Zero)) tangent = bind1(dotGeneralP, [tl!, rhs!], params);
  if (!(tr instanceof Zero)) {
    const term = bind1(dotGeneralP, [lhs!, tr!], params);
    tangent = addTangentTerms(tangent, term);
  }
  return [[out], [tangent]];
});
defTranspose(dotGeneralP, ([ct], [lhs, rhs], { dimension_numbers }) => {
  const g = instantiate(ct!);
  if (lhs instanceof UndefPrimal && rhs instanceof UndefPrimal) throw new ArgumentError("dot_general: transpose of a product of two linear values");
  if (lhs instanceof UndefPrimal) return [transposeLhs(g, lhs.aval, rhs as JaxArray, dimension_numbers), null];
  const [[lc, rc], [lb, rb]] = dimension_numbers;
  return [null, transposeLhs(g, (rhs as UndefPrimal).aval, lhs as JaxArray, [[rc, lc], [rb, lb]], true)];
});

// ---- batching rule (vmap): a batch axis on both sides is a dot batch dim; on one side, a free dim ---------

defBatch(dotGeneralP, ([lhs, rhs], [dl, dr], params) => {
  const [[lc, rc], [lb, rb]] = params.dimension_numbers;
  const shift = (axes: readonly number[], d: number): number[] => axes.map((a) => batchedAxis(a, d));
  const freeOf = (rank: number, ...used: number[][]): number[] => range(rank).filter((a) => !used.some((u) => u.includes(a)));
  if (dl !== null && dr !== null) {
    const numbers: DotDimensionNumbers = [
      [shift(lc, dl), shift(rc, dr)],
      [
        [dl, ...shift(lb, dl)],
        [dr, ...shift(rb, dr)],
      ],
    ];
    return [[bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: numbers })], [0]];
  }
  if (dl !== null) {
    const [c, b] = [shift(lc, dl), shift(lb, dl)];
    const out = bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: [[c, rc], [b, rb]] });
    return [[out], [lb.length + freeOf(lhs!.ndim, c, b).indexOf(dl)]];
  }
  const [c, b] = [shift(rc, dr!), shift(rb, dr!)];
  const lhsFree = lhs!.ndim - lc.length - lb.length;
  const out = bind1(dotGeneralP, [lhs!, rhs!], { ...params, dimension_numbers: [[lc, c], [lb, b]] });
  return [[out], [lb.length + lhsFree + freeOf(rhs!.ndim, c, b).indexOf(dr!)]];
});
