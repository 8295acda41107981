/**
 * Lowering rules of gather and scatter-add with XLA's general dimension numbers. gather is a lazy index
 * function (the indices are read where the operand is). scatter-add runs one invocation per output element
 * that loops over every scattered window and adds the updates landing on it: no atomics (WebGPU has none
 * for floats), deterministic, in the updates' order.
 */
import { type DType, intRange, isFloat, isUnsignedInt } from "../../core/dtype.js";
import { sizeOf } from "../../core/shape.js";
import { unravelExpr } from "../index.js";
import { type Expr, binary, c, select, unary, v } from "../kernelIr.js";
import type { KernelContext, Value } from "../lower.js";
import { type Rule, allOf, asIndex, clampIndex, fresh, i32, lazy } from "./common.js";

type Mode = "clip" | "fill" | "promise_in_bounds";

/** The fill of an out-of-bounds gather: NaN, the lowest signed or highest unsigned value, or true. */
const defaultFill = (dtype: DType): number => (isFloat(dtype) ? NaN : dtype === "bool" ? 1 : intRange(dtype)[isUnsignedInt(dtype) ? 1 : 0]);

/**
 * The start of the window a row of indices selects: entries of the index vector for `indexedDims`, the batch
 * coordinates for batching dims, 0 elsewhere. `outOfBounds` is true where a window would not fit.
 */
function windowStart(
  indices: Value,
  batch: readonly Expr[],
  operandShape: readonly number[],
  windowShape: readonly number[],
  indexedDims: readonly number[],
  batching: readonly (readonly [number, number])[],
  ctx: KernelContext,
): { start: Expr[]; clamped: Expr[]; outOfBounds: Expr } {
  const start: Expr[] = operandShape.map(() => i32(0));
  indexedDims.forEach((d, k) => (start[d] = asIndex(indices.at([...batch, i32(k)], ctx))));
  for (const [d, b] of batching) start[d] = batch[b]!;
  const dynamic = [...indexedDims, ...batching.map(([d]) => d)];
  const limit = (d: number): number => operandShape[d]! - windowShape[d]!;
  const clamped = start.map((s, d) => (dynamic.includes(d) ? clampIndex(s, 0, limit(d)) : s));
  const outside = dynamic.map((d) => binary("or", binary("lt", start[d]!, i32(0)), binary("gt", start[d]!, i32(limit(d)))));
  return { start, clamped, outOfBounds: outside.length === 0 ? c(0, "bool") : outside.reduce((a, b) => binary("or", a, b)) };
}

interface GatherParams {
  readonly dimension_numbers: {
    readonly offset_dims: readonly number[];
    readonly collapsed_slice_dims: readonly number[];
    readonly start_index_map: readonly number[];
    readonly operand_batching_dims: readonly number[];
    readonly start_indices_batching_dims: readonly number[];
  };
  readonly slice_sizes: readonly number[];
  readonly mode: Mode;
  readonly fill_value: number | null;
}

const gather: Rule = (eqn, [operand, indices], outShape, outType) => {
  const { dimension_numbers: dn, slice_sizes, mode, fill_value } = eqn.params as GatherParams;
  const batchAxes = outShape.map((_, i) => i).filter((i) => !dn.offset_dims.includes(i));
  const windowDims = slice_sizes.map((_, d) => d).filter((d) => !dn.collapsed_slice_dims.includes(d) && !dn.operand_batching_dims.includes(d));
  const batching = dn.operand_batching_dims.map((d, k) => [d, dn.start_indices_batching_dims[k]!] as const);
  return lazy(outShape, outType, false, (coords, ctx) => {
    const batch = batchAxes.map((a) => coords[a]!);
    const { clamped, outOfBounds } = windowStart(indices!, batch, operand!.shape, slice_sizes, dn.start_index_map, batching, ctx);
    const at = clamped.map((s, d) => (windowDims.includes(d) ? binary("add", s, coords[dn.offset_dims[windowDims.indexOf(d)]!]!) : s));
    const value = operand!.at(at, ctx);
    return mode === "fill" ? select(outOfBounds, c(fill_value ?? defaultFill(eqn.outputs[0]!.aval.dtype), outType), value) : value;
  });
};

interface ScatterParams {
  readonly dimension_numbers: {
    readonly update_window_dims: readonly number[];
    readonly inserted_window_dims: readonly number[];
    readonly scatter_dims_to_operand_dims: readonly number[];
    readonly operand_batching_dims: readonly number[];
    readonly scatter_indices_batching_dims: readonly number[];
  };
  readonly mode: Mode;
}

/** scatter-add: the operand plus every update whose window covers the element (clip clamps windows, fill drops them). */
const scatterAdd: Rule = (eqn, [operand, indices, updates], outShape, outType) => {
  const { dimension_numbers: dn, mode } = eqn.params as ScatterParams;
  const batchShape = indices!.shape.slice(0, -1);
  const updateBatchAxes = updates!.shape.map((_, i) => i).filter((i) => !dn.update_window_dims.includes(i));
  const windowDims = outShape.map((_, d) => d).filter((d) => !dn.inserted_window_dims.includes(d) && !dn.operand_batching_dims.includes(d));
  const windowShape = outShape.map((_, d) => (windowDims.includes(d) ? updates!.shape[dn.update_window_dims[windowDims.indexOf(d)]!]! : 1));
  const batching = dn.operand_batching_dims.map((d, k) => [d, dn.scatter_indices_batching_dims[k]!] as const);
  const [acc, r] = [fresh("acc"), fresh("r")];
  const combine = outType === "bool" ? "or" : "add";
  return lazy(outShape, outType, true, (coords, ctx) => {
    ctx.emitOnce(acc, () => {
      const batch = unravelExpr(v(r, "i32"), batchShape);
      const window = windowStart(indices!, batch, outShape, windowShape, dn.scatter_dims_to_operand_dims, batching, ctx);
      const start = mode === "clip" ? window.clamped : window.start;
      const offset = coords.map((k, d) => binary("sub", k, start[d]!));
      const covers = offset.flatMap((o, d) => (windowShape[d] === 1 ? [binary("eq", o, i32(0))] : [binary("ge", o, i32(0)), binary("lt", o, i32(windowShape[d]!))]));
      const updateCoords: Expr[] = [];
      updateBatchAxes.forEach((a, i) => (updateCoords[a] = batch[i]!));
      windowDims.forEach((d, k) => (updateCoords[dn.update_window_dims[k]!] = offset[d]!));
      const lands = mode === "clip" ? allOf(covers) : binary("and", unary("not", window.outOfBounds), allOf(covers));
      return [
        { k: "declare", name: acc, init: operand!.at(coords, ctx) },
        {
          k: "for",
          name: r,
          start: i32(0),
          end: i32(sizeOf(batchShape)),
          body: [{ k: "if", cond: lands, then: [{ k: "assign", name: acc, value: binary(combine, v(acc, outType), updates!.at(updateCoords, ctx)) }] }],
        },
      ];
    });
    return v(acc, outType);
  });
};

export const INDEXING_RULES: Record<string, Rule> = { gather, "scatter-add": scatterAdd };
