/**
 * Lowering rules of data-movement primitives. Each is a lazy index function: output coordinates map to the
 * operand's coordinates (and, for pad, dynamic_update_slice and concatenate, a choice of operand), so a chain
 * of them fuses into the loads of whatever consumes it. Every index an operand is read at is in its bounds.
 */
import { sizeOf } from "../../core/shape.js";
import type { JaxprEqn } from "../../trace/jaxpr.js";
import { ravelExpr, unravelExpr } from "../index.js";
import { type Expr, type ScalarType, binary, cast, select } from "../kernelIr.js";
import type { KernelContext, Value } from "../lower.js";
import { type Rule, allOf, asIndex, clampIndex, i32, lazy } from "./common.js";

function reshape(_eqn: JaxprEqn, [x]: Value[], outShape: readonly number[], outType: ScalarType): Value {
  return lazy(outShape, outType, false, (coords, ctx) => x!.at(unravelExpr(ravelExpr(coords, outShape), x!.shape), ctx));
}

const broadcastInDim: Rule = (eqn, [x], outShape, outType) => {
  const dims = (eqn.params as { broadcast_dimensions: readonly number[] }).broadcast_dimensions;
  return lazy(outShape, outType, false, (coords, ctx) => x!.at(dims.map((d, i) => (x!.shape[i] === 1 ? i32(0) : coords[d]!)), ctx));
};

const transpose: Rule = (eqn, [x], outShape, outType) => {
  const perm = (eqn.params as { permutation: readonly number[] }).permutation;
  return lazy(outShape, outType, false, (coords, ctx) => x!.at(perm.map((_, i) => coords[perm.indexOf(i)]!), ctx));
};

const rev: Rule = (eqn, [x], outShape, outType) => {
  const dims = (eqn.params as { dimensions: readonly number[] }).dimensions;
  return lazy(outShape, outType, false, (coords, ctx) => x!.at(coords.map((k, d) => (dims.includes(d) ? binary("sub", i32(outShape[d]! - 1), k) : k)), ctx));
};

const slice: Rule = (eqn, [x], outShape, outType) => {
  const { start_indices: start, strides } = eqn.params as { start_indices: readonly number[]; strides: readonly number[] | null };
  return lazy(outShape, outType, false, (coords, ctx) =>
    x!.at(coords.map((k, d) => binary("add", i32(start[d]!), strides && strides[d] !== 1 ? binary("mul", k, i32(strides[d]!)) : k)), ctx),
  );
};

const iota: Rule = (eqn, _inputs, outShape, outType) => {
  const dimension = (eqn.params as { dimension: number }).dimension;
  return lazy(outShape, outType, false, (coords) => cast(coords[dimension]!, outType));
};

/** pad: per axis, low/high padding (negative crops) and interior padding between elements. */
const pad: Rule = (eqn, [x, padValue], outShape, outType) => {
  const config = (eqn.params as { padding_config: readonly (readonly [number, number, number])[] }).padding_config;
  if (sizeOf(x!.shape) === 0) return lazy(outShape, outType, false, (_coords, ctx) => padValue!.at([], ctx));
  return lazy(outShape, outType, false, (coords, ctx) => {
    const inside: Expr[] = [];
    const source = coords.map((k, d) => {
      const [lo, hi, interior] = config[d]!;
      const n = x!.shape[d]!;
      const relative = lo === 0 ? k : binary("sub", k, i32(lo));
      if (lo > 0) inside.push(binary("ge", relative, i32(0)));
      if (interior === 0) {
        if (hi > 0) inside.push(binary("lt", relative, i32(n)));
        return lo > 0 || hi > 0 ? clampIndex(relative, 0, n - 1) : relative;
      }
      const step = i32(interior + 1);
      inside.push(binary("eq", binary("rem", relative, step), i32(0)));
      const index = binary("div", relative, step);
      if (hi > 0) inside.push(binary("lt", index, i32(n)));
      return clampIndex(index, 0, n - 1);
    });
    const value = x!.at(source, ctx);
    return inside.length === 0 ? value : select(allOf(inside), value, padValue!.at([], ctx));
  });
};

/** concatenate: the operand whose range along `dimension` holds the coordinate. */
const concatenate: Rule = (eqn, inputs, outShape, outType) => {
  const dimension = (eqn.params as { dimension: number }).dimension;
  const parts = inputs.filter((x) => x.shape[dimension]! > 0);
  return lazy(outShape, outType, false, (coords, ctx) => {
    const k = coords[dimension]!;
    let offset = outShape[dimension]!;
    let value: Expr | undefined;
    for (const x of [...parts].reverse()) {
      const n = x.shape[dimension]!;
      offset -= n;
      const own = x.at(
        coords.map((c, d) => (d === dimension ? clampIndex(binary("sub", k, i32(offset)), 0, n - 1) : c)),
        ctx,
      );
      value = value === undefined ? own : select(binary("lt", k, i32(offset + n)), own, value);
    }
    return value!;
  });
};

/** Start indices clamped so the window fits, as XLA's dynamic_slice and dynamic_update_slice do. */
const starts = (indices: Value[], shape: readonly number[], window: readonly number[], ctx: KernelContext): Expr[] =>
  indices.map((s, d) => clampIndex(asIndex(s.at([], ctx)), 0, shape[d]! - window[d]!));

const dynamicSlice: Rule = (eqn, [x, ...indices], outShape, outType) => {
  const sizes = (eqn.params as { slice_sizes: readonly number[] }).slice_sizes;
  return lazy(outShape, outType, false, (coords, ctx) => {
    const begin = starts(indices, x!.shape, sizes, ctx);
    return x!.at(coords.map((k, d) => binary("add", k, begin[d]!)), ctx);
  });
};

const dynamicUpdateSlice: Rule = (_eqn, [x, update, ...indices], outShape, outType) => {
  if (sizeOf(update!.shape) === 0) return x!;
  return lazy(outShape, outType, false, (coords, ctx) => {
    const begin = starts(indices, x!.shape, update!.shape, ctx);
    const relative = coords.map((k, d) => binary("sub", k, begin[d]!));
    const inside = allOf(relative.flatMap((r, d) => [binary("ge", r, i32(0)), binary("lt", r, i32(update!.shape[d]!))]));
    return select(inside, update!.at(relative.map((r, d) => clampIndex(r, 0, update!.shape[d]! - 1)), ctx), x!.at(coords, ctx));
  });
};

export const MOVEMENT_RULES: Record<string, Rule> = {
  broadcast_in_dim: broadcastInDim,
  reshape,
  squeeze: reshape,
  transpose,
  rev,
  slice,
  iota,
  pad,
  concatenate,
  dynamic_slice: dynamicSlice,
  dynamic_update_slice: dynamicUpdateSlice,
};
