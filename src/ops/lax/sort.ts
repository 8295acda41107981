/**
 * `sort` (several operands sorted together by the first `num_keys`, stable) and `top_k`. Floats sort in
 * the total order XLA uses: -inf < ... < -0 < +0 < ... < inf < NaN.
 */
import { ShapedArray } from "../../core/aval.js";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors.js";
import { definePrimitive } from "../../core/primitive.js";
import { bind } from "../../trace/trace.js";
import { Zero, defJvp } from "../../vjp/ad.js";
import { takeAlong } from "./adUtil.js";
import * as lax from "./api.js";
import { defBatch } from "../../vmap/batching.js";
import { allAtFront, atFront, batchedAxis } from "./batchUtil.js";
import { sizeOf } from "../../core/shape.js";
import { checkAxes, tabulate } from "./util.js";

/** Total-order comparison of two values. */
export function compareTotal(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === 0 && b === 0) return (Object.is(a, -0) ? -1 : 0) - (Object.is(b, -0) ? -1 : 0);
  return 0;
}

/** Applies `fn` to each line of `shape` along `axis`: it receives the flat positions of the line. */
function forEachLine(shape: readonly number[], axis: number, fn: (positions: number[]) => void): void {
  const n = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) fn(Array.from({ length: n }, (_, k) => (o * n + k) * inner + j));
  }
}

export interface SortParams {
  readonly dimension: number;
  readonly is_stable: boolean;
  readonly num_keys: number;
}
export const sortP = definePrimitive<SortParams>({
  name: "sort",
  multipleResults: true,
  abstractEval(avals, { dimension, num_keys }) {
    if (avals.length === 0) throw new ShapeError("sort: at least one operand is required");
    for (const [i, a] of avals.entries()) {
      if (a.shape.join() !== avals[0]!.shape.join()) {
        throw new ShapeError(`sort: operands must have equal shapes, got operand 0 ${fmtShape(avals[0]!.shape)} and operand ${i} ${fmtShape(a.shape)}`);
      }
    }
    checkAxes("sort", [dimension], avals[0]!.ndim, "dimension");
    if (!(num_keys >= 1 && num_keys <= avals.length)) throw new ArgumentError(`sort: num_keys must be in 1..${avals.length}, got ${num_keys}`);
    return [...avals];
  },
  impl(inputs, { dimension, num_keys }) {
    const outs = inputs.map((t) => tabulate(t.shape, t.dtype, () => 0));
    const keys = inputs.slice(0, num_keys);
    forEachLine(inputs[0]!.shape, dimension, (positions) => {
      const order = positions.map((_, k) => k);
      order.sort((a, b) => {
        for (const key of keys) {
          const c = compareTotal(key.data[positions[a]!]!, key.data[positions[b]!]!);
          if (c !== 0) return c;
        }
        return a - b;
      });
      for (const [t, input] of inputs.entries()) {
        positions.forEach((p, k) => (outs[t]!.data[p] = input.data[positions[order[k]!]!]!));
      }
    });
    return outs;
  },
  formatParams: ({ dimension, is_stable, num_keys }) => ({ dimension: String(dimension), is_stable: is_stable ? "True" : "False", num_keys: String(num_keys) }),
});

export interface TopKParams {
  readonly k: number;
  readonly axis: number;
}
export const topKP = definePrimitive<TopKParams>({
  name: "top_k",
  multipleResults: true,
  abstractEval([x], { k, axis }) {
    if (x!.ndim === 0) throw new ShapeError("top_k: operand must have rank at least 1, got a scalar");
    checkAxes("top_k", [axis], x!.ndim, "axis");
    const n = x!.shape[axis]!;
    if (!Number.isInteger(k) || k < 0 || k > n) throw new ArgumentError(`top_k: k must be in 0..${n} (axis ${axis} of ${fmtShape(x!.shape)}), got ${k}`);
    const shape = x!.shape.map((d, i) => (i === axis ? k : d));
    return [new ShapedArray(shape, x!.dtype, x!.weakType), new ShapedArray(shape, "int32")];
  },
  impl([x], { k, axis }) {
    const shape = x!.shape.map((d, i) => (i === axis ? k : d));
    const values = tabulate(shape, x!.dtype, () => 0);
    const indices = tabulate(shape, "int32", () => 0);
    const outLines: number[][] = [];
    forEachLine(shape, axis, (positions) => outLines.push(positions));
    let line = 0;
    forEachLine(x!.shape, axis, (positions) => {
      const order = positions.map((_, j) => j);
      order.sort((a, b) => compareTotal(x!.data[positions[b]!]!, x!.data[positions[a]!]!) || a - b);
      outLines[line++]!.forEach((p, j) => {
        values.data[p] = x!.data[positions[order[j]!]!]!;
        indices.data[p] = order[j]!;
      });
    });
    return [values, indices];
  },
  formatParams: ({ k, axis }) => ({ axis: String(axis), k: String(k) }),
});

// ---- differentiation rules: outputs are permutations of the inputs --------------------------------

defJvp(sortP, (operands, tangents, params) => {
  const iota = lax.broadcastedIota("int32", operands[0]!.shape, params.dimension);
  const outs = bind(sortP, [...operands, iota], params);
  const perm = outs.pop()!;
  return [outs, tangents.map((t, i) => (t instanceof Zero ? new Zero(outs[i]!.aval.strongly()) : takeAlong(t, perm, params.dimension)))];
});
defJvp(topKP, ([x], [t], params) => {
  const [values, indices] = bind(topKP, [x!], params);
  return [[values!, indices!], [t instanceof Zero ? new Zero(values!.aval.strongly()) : takeAlong(t!, indices!, params.axis), new Zero(indices!.aval)]];
});

// ---- batching rules (vmap) ----------------------------------------------------------------------------

defBatch(sortP, (args, dims, params, size) => atFront(bind(sortP, allAtFront(args, dims, size), { ...params, dimension: params.dimension + 1 })));
defBatch(topKP, ([x], [d], params) => [bind(topKP, [x!], { ...params, axis: batchedAxis(params.axis, d!) }), [d!, d!]]);
