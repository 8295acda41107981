/**
 * Reductions (reduce_sum/max/min/prod/and/or, argmax/argmin) and cumulative sums. Float sums and products
 * accumulate in float64 and round once to the result dtype; integer ones wrap at every step as XLA's do.
 */
import { ShapedArray } from "../../core/aval.js";
import { type DType, dtypeInfo, intRange, isFloat, isInteger } from "../../core/dtype.js";
import { DTypeError, ShapeError, fmtShape } from "../../core/errors.js";
import { roundResult, wrapInt } from "../../core/hostData.js";
import type { Array } from "../../core/array.js";
import { type HostTensor, type Primitive, definePrimitive } from "../../core/primitive.js";
import { bind1 } from "../../trace/trace.js";
import { Zero, defJvp, defLinear, defNonDifferentiable, instantiate } from "../../vjp/ad.js";
import * as lax from "./api.js";
import { defBatch } from "../../vmap/batching.js";
import { batchedAxis } from "./batchUtil.js";
import { type Shape, sizeOf } from "../../core/shape.js";
import { checkAxes, checkDTypeKind, stridesOf, tabulate, tuple, unravel } from "./util.js";

export interface ReduceParams {
  readonly axes: readonly number[];
}

const keptShape = (shape: Shape, axes: readonly number[]): number[] => shape.filter((_, i) => !axes.includes(i));

/** For every input position, the flat position of its output (the input index with `axes` dropped). */
function outputPositions(shape: Shape, axes: readonly number[]): Int32Array {
  const outStrides = stridesOf(keptShape(shape, axes));
  const size = sizeOf(shape);
  const positions = new Int32Array(size);
  const index = new globalThis.Array<number>(shape.length);
  for (let i = 0; i < size; i++) {
    unravel(i, shape, index);
    let flat = 0;
    let k = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) flat += index[d]! * outStrides[k++]!;
    positions[i] = flat;
  }
  return positions;
}

function reduction(
  name: string,
  showsSharding: boolean,
  accepts: (d: DType) => boolean,
  expected: string,
  identity: (d: DType) => number,
  combine: (acc: number, v: number, d: DType) => number,
): Primitive<ReduceParams> {
  return definePrimitive<ReduceParams>({
    name,
    abstractEval([x], { axes }) {
      checkDTypeKind(name, x!, accepts, expected);
      checkAxes(name, axes, x!.ndim);
      return [new ShapedArray(keptShape(x!.shape, axes), x!.dtype, x!.weakType)];
    },
    impl([x], { axes }) {
      const { dtype, data } = x!;
      const outShape = keptShape(x!.shape, axes);
      const acc = new Float64Array(sizeOf(outShape)).fill(identity(dtype));
      const positions = outputPositions(x!.shape, axes);
      for (let i = 0; i < data.length; i++) acc[positions[i]!] = combine(acc[positions[i]!]!, data[i]!, dtype);
      return [tabulate(outShape, dtype, (i) => roundResult(acc[i]!, dtype))];
    },
    formatParams: ({ axes }) => (showsSharding ? { axes: tuple(axes), out_sharding: "None" } : { axes: tuple(axes) }),
  });
}

const nanAware = (pick: (a: number, b: number) => number) => (acc: number, v: number): number =>
  Number.isNaN(acc) || Number.isNaN(v) ? NaN : pick(acc, v);
const lowest = (d: DType): number => (isFloat(d) ? -Infinity : intRange(d)[0]);
const highest = (d: DType): number => (isFloat(d) ? Infinity : intRange(d)[1]);
const isNumeric = (d: DType): boolean => d !== "bool";

export const reduceSumP = reduction("reduce_sum", true, isNumeric, "a numeric array", () => 0, (acc, v, d) =>
  isInteger(d) ? wrapInt(acc + v, d) : acc + v,
);
export const reduceProdP = reduction("reduce_prod", false, isNumeric, "a numeric array", () => 1, (acc, v, d) =>
  isInteger(d) ? wrapInt(dtypeInfo(d).bits === 32 ? Math.imul(acc, v) : acc * v, d) : acc * v,
);
export const reduceMaxP = reduction("reduce_max", false, () => true, "an array", lowest, nanAware(Math.max));
export const reduceMinP = reduction("reduce_min", false, () => true, "an array", highest, nanAware(Math.min));
export const reduceAndP = reduction("reduce_and", false, (d) => d === "bool", "a bool array", () => 1, (acc, v) => acc & v);
export const reduceOrP = reduction("reduce_or", false, (d) => d === "bool", "a bool array", () => 0, (acc, v) => acc | v);

export interface ArgReduceParams {
  readonly axes: readonly [number];
  readonly index_dtype: DType;
}

function argReduction(name: string, better: (v: number, best: number) => boolean): Primitive<ArgReduceParams> {
  return definePrimitive<ArgReduceParams>({
    name,
    abstractEval([x], { axes, index_dtype }) {
      checkAxes(name, axes, x!.ndim);
      if (axes.length !== 1) throw new ShapeError(`${name}: axes must name exactly one axis, got ${tuple(axes)}`);
      if (x!.shape[axes[0]] === 0) throw new ShapeError(`${name}: cannot reduce an empty axis ${axes[0]} of shape ${fmtShape(x!.shape)}`);
      if (!isInteger(index_dtype)) throw new DTypeError(`${name}: index_dtype must be an integer dtype, got ${index_dtype}`);
      return [new ShapedArray(keptShape(x!.shape, axes), index_dtype)];
    },
    impl([x], { axes, index_dtype }) {
      const axis = axes[0];
      const outShape = keptShape(x!.shape, axes);
      const best = new Float64Array(sizeOf(outShape));
      const bestIndex = new Int32Array(best.length).fill(-1);
      const positions = outputPositions(x!.shape, axes);
      const index = new globalThis.Array<number>(x!.shape.length);
      for (let i = 0; i < x!.data.length; i++) {
        const p = positions[i]!;
        const v = x!.data[i]!;
        // NaN wins and the first NaN stays, as numpy and JAX return the first NaN's index.
        const current = best[p]!;
        if (bestIndex[p] === -1 || (!Number.isNaN(current) && (Number.isNaN(v) || better(v, current)))) {
          best[p] = v;
          bestIndex[p] = unravel(i, x!.shape, index)[axis]!;
        }
      }
      return [tabulate(outShape, index_dtype, (i) => bestIndex[i]!)];
    },
    formatParams: ({ axes, index_dtype }) => ({ axes: tuple(axes), index_dtype }),
  });
}

export const argmaxP = argReduction("argmax", (v, best) => v > best);
export const argminP = argReduction("argmin", (v, best) => v < best);

export interface CumulativeParams {
  readonly axis: number;
  readonly reverse: boolean;
}

export const cumsumP = definePrimitive<CumulativeParams>({
  name: "cumsum",
  abstractEval([x], { axis }) {
    checkAxes("cumsum", [axis], x!.ndim, "axis");
    checkDTypeKind("cumsum", x!, isNumeric, "a numeric array");
    return [x!];
  },
  impl([x], { axis, reverse }) {
    return [cumulative(x!, axis, reverse)];
  },
  formatParams: ({ axis, reverse }) => ({ axis: String(axis), reverse: reverse ? "True" : "False" }),
});

function cumulative(x: HostTensor, axis: number, reverse: boolean): HostTensor {
  const { shape, dtype, data } = x;
  const n = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  const out = tabulate(shape, dtype, () => 0);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let acc = 0;
      for (let step = 0; step < n; step++) {
        const k = reverse ? n - 1 - step : step;
        const at = (o * n + k) * inner + j;
        acc = isInteger(dtype) ? wrapInt(acc + data[at]!, dtype) : acc + data[at]!;
        out.data[at] = roundResult(acc, dtype);
      }
    }
  }
  return out;
}

// ---- differentiation rules ------------------------------------------------------------------

defLinear(reduceSumP, (cts, [x], { axes }) => {
  const operand = x!.aval;
  const kept = operand.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return [lax.broadcastInDim(instantiate(cts[0]!), operand.shape, kept)];
});

/** reduce_max/min: the tangent of the extreme, averaged over ties (JAX's chooser rule). */
function chooserJvp(p: Primitive<ReduceParams>): void {
  defJvp(p, ([x], [t], params) => {
    const out = bind1(p, [x!], params);
    if (t instanceof Zero) return [[out], [new Zero(out.aval.strongly())]];
    const kept = x!.shape.map((_, i) => i).filter((i) => !params.axes.includes(i));
    const where = lax.convertElementType(lax.eq(x!, lax.broadcastInDim(out, x!.shape, kept)), t!.dtype);
    const counts = lax.reduceSum(where, params.axes);
    return [[out], [lax.div(lax.reduceSum(lax.mul(t!, where), params.axes), counts)]];
  });
}
chooserJvp(reduceMaxP);
chooserJvp(reduceMinP);

/**
 * reduce_prod: the product as a tree of pairwise products (padding odd lengths with 1), differentiated by
 * the product rule at every level, so zeros in the input need no division.
 */
defJvp(reduceProdP, ([x], [t], params) => {
  const out = bind1(reduceProdP, [x!], params);
  if (t instanceof Zero) return [[out], [new Zero(out.aval.strongly())]];
  const kept = x!.shape.map((_, i) => i).filter((i) => !params.axes.includes(i));
  const perm = [...kept, ...params.axes];
  const n = params.axes.reduce((s, a) => s * x!.shape[a]!, 1);
  const flat = (v: Array): Array => lax.reshape(lax.transpose(v, perm), [...kept.map((i) => x!.shape[i]!), n]);
  let [p, dp] = [flat(x!), flat(t!)];
  while (p.shape[p.ndim - 1]! > 1) {
    const len = p.shape[p.ndim - 1]!;
    if (len % 2 === 1) {
      const padding = p.shape.map((_, i) => [0, i === p.ndim - 1 ? 1 : 0, 0] as const);
      p = lax.pad(p, 1, padding);
      dp = lax.pad(dp, 0, padding);
    }
    const half = p.shape[p.ndim - 1]! / 2;
    const [a, b] = [lax.sliceInDim(p, 0, half, 1, -1), lax.sliceInDim(p, half, 2 * half, 1, -1)];
    const [da, db] = [lax.sliceInDim(dp, 0, half, 1, -1), lax.sliceInDim(dp, half, 2 * half, 1, -1)];
    [p, dp] = [lax.mul(a, b), lax.add(lax.mul(da, b), lax.mul(a, db))];
  }
  return [[out], [lax.reshape(dp, out.shape)]];
});

for (const p of [reduceAndP, reduceOrP, argmaxP, argminP] as Primitive<never>[]) defNonDifferentiable(p);

defLinear(cumsumP, (cts, _inputs, { axis, reverse }) => [lax.cumsum(instantiate(cts[0]!), axis, !reverse)]);

// ---- batching rules (vmap): the reduced axes move past the batch axis --------------------------------

for (const p of [reduceSumP, reduceProdP, reduceMaxP, reduceMinP, reduceAndP, reduceOrP, argmaxP, argminP] as Primitive<{ readonly axes: readonly number[] }>[]) {
  defBatch(p, ([x], [d], params) => {
    const axes = params.axes.map((a) => batchedAxis(a, d!));
    return [[bind1(p, [x!], { ...params, axes })], [d! - axes.filter((a) => a < d!).length]];
  });
}
defBatch(cumsumP, ([x], [d], params) => [[bind1(cumsumP, [x!], { ...params, axis: batchedAxis(params.axis, d!) })], [d!]]);
