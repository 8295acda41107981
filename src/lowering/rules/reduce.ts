/**
 * Lowering rules of reductions, arg-reductions and cumulative sums: pending loops that run in the kernel
 * consuming them (one invocation per output element), reading their operand through its index function.
 */
import { type DType, intRange, isInteger } from "../../core/dtype.js";
import { sizeOf } from "../../core/shape.js";
import { unravelExpr } from "../index.js";
import { type BinaryOp, type Expr, type ScalarType, type Stmt, binary, c, cast, lid, load, v, wid } from "../kernelIr.js";
import type { Value } from "../lower.js";
import { narrowOf } from "../packing.js";
import { type Rule, fresh, i32, lazy, withCoord } from "./common.js";

type Combiner = "add" | "mul" | "max" | "min" | "and" | "or";

/** The identity of a combiner on a dtype computed in `t` (the lowest value for max, the highest for min). */
function identity(op: Combiner, dtype: DType, t: ScalarType): Expr {
  const [lowest, highest] = isInteger(dtype) || dtype === "bool" ? intRange(dtype) : [-Infinity, Infinity];
  return c({ add: 0, mul: 1, max: lowest, min: highest, and: 1, or: 0 }[op], t);
}

/** The coordinates in an operand of `shape` of reduced element `flat` (over `axes`) of output element `coords`. */
function operandCoords(shape: readonly number[], axes: readonly number[], coords: readonly Expr[], flat: Expr): Expr[] {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const inner = unravelExpr(flat, axes.map((a) => shape[a]!));
  return shape.map((_, d) => (axes.includes(d) ? inner[axes.indexOf(d)]! : coords[kept.indexOf(d)]!));
}

/**
 * Invocations of a workgroup reduction, and when one is used: at least this many reduced elements into at most
 * this many outputs. On the software adapter (llvmpipe) it measured 1.2–1.4x faster than one invocation's loop
 * for 1–16 rows of 16k–60k elements, and slower from a few hundred rows on (their loops already run in parallel).
 */
const WORKGROUP = 64;
const WORKGROUP_MIN_REDUCED = 1024;
const WORKGROUP_MAX_OUTPUTS = 16;

/**
 * A reduction by workgroups, one per output element: each invocation combines a strided share of the reduced
 * elements (neighbouring invocations reading neighbouring elements), the shares meet in a workgroup buffer and
 * halving steps, each followed by a barrier, combine them; the first invocation stores the result.
 */
function workgroupReduction(x: Value, axes: readonly number[], op: BinaryOp, init: Expr, outShape: readonly number[], outType: ScalarType): Value {
  const reduced = sizeOf(axes.map((a) => x.shape[a]!));
  const [part, j, acc] = [fresh("part"), fresh("j"), fresh("acc")];
  const value = lazy(outShape, outType, true, (coords, ctx) => {
    ctx.emitOnce(part, () => {
      const shared = ctx.workgroupBuffer(outType, WORKGROUP);
      const r = binary("add", binary("mul", v(j, "i32"), i32(WORKGROUP)), lid);
      const combine: Stmt = { k: "assign", name: part, value: binary(op, v(part, outType), x.at(operandCoords(x.shape, axes, coords, r), ctx)) };
      const at = (index: Expr): Expr => load(shared, index, outType);
      const halving = Array.from({ length: Math.log2(WORKGROUP) }, (_, s) => WORKGROUP >> (s + 1)).flatMap((half): Stmt[] => [
        { k: "if", cond: binary("lt", lid, i32(half)), then: [{ k: "store", buffer: shared, index: lid, value: binary(op, at(lid), at(binary("add", lid, i32(half)))) }] },
        { k: "barrier" },
      ]);
      return [
        { k: "declare", name: part, init },
        { k: "for", name: j, start: i32(0), end: i32(Math.ceil(reduced / WORKGROUP)), body: [reduced % WORKGROUP === 0 ? combine : { k: "if", cond: binary("lt", r, i32(reduced)), then: [combine] }] },
        { k: "store", buffer: shared, index: lid, value: v(part, outType) },
        { k: "barrier" },
        ...halving,
        { k: "let", name: acc, value: at(i32(0)) },
      ];
    });
    return v(acc, outType);
  });
  const block = { grid: sizeOf(outShape) * WORKGROUP, workgroup: WORKGROUP, rows: 1, cols: 1, element: () => ({ coords: unravelExpr(wid, outShape), index: wid, valid: binary("eq", lid, i32(0)) }) };
  return { ...value, block };
}

/** A reduction as a pending loop: the consuming kernel declares the accumulator and loops over the reduced axes. */
function reduction(combiner: Combiner): Rule {
  return (eqn, [x], outShape, outType, options) => {
    const axes = (eqn.params as { axes: readonly number[] }).axes;
    // max/min of bools are or/and.
    const op: BinaryOp = outType === "bool" && combiner === "max" ? "or" : outType === "bool" && combiner === "min" ? "and" : combiner;
    const reducedShape = axes.map((a) => x!.shape[a]!);
    const dtype = eqn.outputs[0]!.aval.dtype;
    // A narrow dtype would round the workgroup's partial results.
    if (options.workgroupReductions && sizeOf(reducedShape) >= WORKGROUP_MIN_REDUCED && sizeOf(outShape) <= WORKGROUP_MAX_OUTPUTS && !narrowOf(dtype)) {
      return workgroupReduction(x!, axes, op, identity(combiner, dtype, outType), outShape, outType);
    }
    const acc = fresh("acc");
    const r = fresh("r");
    return lazy(outShape, outType, true, (coords, ctx) => {
      ctx.emitOnce(acc, () => {
        const inCoords = operandCoords(x!.shape, axes, coords, v(r, "i32"));
        return [
          { k: "declare", name: acc, init: identity(combiner, dtype, outType) },
          { k: "for", name: r, start: i32(0), end: i32(sizeOf(reducedShape)), body: [{ k: "assign", name: acc, value: binary(op, v(acc, outType), x!.at(inCoords, ctx)) }] },
        ];
      });
      return v(acc, outType);
    });
  };
}

/**
 * argmax/argmin: the first index of the extreme; a NaN beats every number and the first NaN stays
 * (numpy's and JAX's rule).
 */
function argReduction(order: "gt" | "lt"): Rule {
  return (eqn, [x], outShape, outType) => {
    const axis = (eqn.params as { axes: readonly [number] }).axes[0];
    const type = x!.type === "bool" ? "i32" : x!.type;
    const [best, index, value, r] = [fresh("best"), fresh("index"), fresh("value"), fresh("r")];
    return lazy(outShape, outType, true, (coords, ctx) => {
      ctx.emitOnce(best, () => {
        const at = (k: Expr): Expr => cast(x!.at([...coords.slice(0, axis), k, ...coords.slice(axis)], ctx), type);
        const [current, candidate] = [v(best, type), v(value, type)];
        let better = binary(order, candidate, current);
        if (type === "f32") {
          const isNaN = (e: Expr): Expr => binary("ne", e, e);
          better = binary("and", binary("eq", current, current), binary("or", isNaN(candidate), better));
        }
        const loop: Stmt[] = [
          { k: "let", name: value, value: at(v(r, "i32")) },
          { k: "if", cond: better, then: [{ k: "assign", name: best, value: candidate }, { k: "assign", name: index, value: v(r, "i32") }] },
        ];
        return [
          { k: "declare", name: best, init: at(i32(0)) },
          { k: "declare", name: index, init: i32(0) },
          { k: "for", name: r, start: i32(1), end: i32(x!.shape[axis]!), body: loop },
        ];
      });
      return cast(v(index, "i32"), outType);
    });
  };
}

/** cumsum: each output element sums its prefix (or suffix, reversed) along the axis. */
const cumsum: Rule = (eqn, [x], outShape, outType) => {
  const { axis, reverse } = eqn.params as { axis: number; reverse: boolean };
  const n = x!.shape[axis]!;
  const [acc, r] = [fresh("acc"), fresh("r")];
  return lazy(outShape, outType, true, (coords, ctx) => {
    ctx.emitOnce(acc, () => {
      const k = coords[axis]!;
      const [start, end] = reverse ? [k, i32(n)] : [i32(0), binary("add", k, i32(1))];
      const sum: Stmt = { k: "assign", name: acc, value: binary(outType === "bool" ? "or" : "add", v(acc, outType), x!.at(withCoord(coords, axis, v(r, "i32")), ctx)) };
      return [
        { k: "declare", name: acc, init: c(0, outType) },
        { k: "for", name: r, start, end, body: [sum], trips: n },
      ];
    });
    return v(acc, outType);
  });
};

export const REDUCTION_RULES: Record<string, Rule> = {
  reduce_sum: reduction("add"),
  reduce_prod: reduction("mul"),
  reduce_max: reduction("max"),
  reduce_min: reduction("min"),
  reduce_and: reduction("and"),
  reduce_or: reduction("or"),
  argmax: argReduction("gt"),
  argmin: argReduction("lt"),
  cumsum,
};
