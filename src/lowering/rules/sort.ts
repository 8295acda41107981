/**
 * Lowering rules of sort and top_k by ranking: one kernel counts, for every element, the elements of its line
 * that come before it (its rank, ties broken by position, so sorting is stable); a second finds, for every
 * output position, the element of that rank; the outputs read the operands there. O(n²) per line of n.
 * Floats are ordered as XLA's total order: -inf < ... < -0 < +0 < ... < inf < NaN (all NaNs equal).
 */
import { sizeOf } from "../../core/shape.js";
import { type Expr, type Stmt, binary, bitcast, cast, select, v } from "../kernelIr.js";
import type { Value } from "../lower.js";
import { type MultiRule, fresh, i32, lazy, withCoord } from "./common.js";

/** A key whose integer order is the total order of the value: for floats, sign-magnitude bits made two's complement. */
function sortKey(x: Expr): Expr {
  if (x.type === "bool") return cast(x, "i32");
  if (x.type !== "f32") return x;
  const bits = bitcast(x, "i32");
  const ordered = select(binary("lt", bits, i32(0)), binary("xor", bits, i32(0x7fffffff)), bits);
  return select(binary("ne", x, x), i32(0x7fc00000), ordered);
}

/**
 * The rank of each element along `axis` under the order of `keys` (lexicographic; `descending` reverses it),
 * ties broken by position.
 */
function ranks(keys: readonly Value[], axis: number, descending: boolean): Value {
  const [rank, r] = [fresh("rank"), fresh("r")];
  const shape = keys[0]!.shape;
  return lazy(shape, "i32", true, (coords, ctx) => {
    ctx.emitOnce(rank, () => {
      // Each element's keys are bound once: `let <prefix>_k<t> = key`.
      const bind = (prefix: string, at: Expr[]): { stmts: Stmt[]; keys: Expr[] } => {
        const values = keys.map((key) => sortKey(key.at(at, ctx)));
        const names = values.map((_, t) => `${prefix}_k${t}`);
        return { stmts: values.map((value, t) => ({ k: "let", name: names[t]!, value })), keys: values.map((value, t) => v(names[t]!, value.type)) };
      };
      const own = bind(rank, coords);
      const other = bind(r, withCoord(coords, axis, v(r, "i32")));
      let before: Expr = binary("lt", v(r, "i32"), coords[axis]!);
      for (let t = keys.length - 1; t >= 0; t--) {
        const [a, b] = [other.keys[t]!, own.keys[t]!];
        before = binary("or", binary(descending ? "gt" : "lt", a, b), binary("and", binary("eq", a, b), before));
      }
      return [
        ...own.stmts,
        { k: "declare", name: rank, init: i32(0) },
        {
          k: "for",
          name: r,
          start: i32(0),
          end: i32(shape[axis]!),
          body: [...other.stmts, { k: "if", cond: before, then: [{ k: "assign", name: rank, value: binary("add", v(rank, "i32"), i32(1)) }] }],
        },
      ];
    });
    return v(rank, "i32");
  });
}

/** For each position of `shape` along `axis`, the position along it of the element ranked there. */
function positionsOf(rank: Value, shape: readonly number[], axis: number): Value {
  const [position, r] = [fresh("position"), fresh("r")];
  return lazy(shape, "i32", true, (coords, ctx) => {
    ctx.emitOnce(position, () => [
      { k: "declare", name: position, init: i32(0) },
      {
        k: "for",
        name: r,
        start: i32(0),
        end: i32(rank.shape[axis]!),
        body: [{ k: "if", cond: binary("eq", rank.at(withCoord(coords, axis, v(r, "i32")), ctx), coords[axis]!), then: [{ k: "assign", name: position, value: v(r, "i32") }] }],
      },
    ]);
    return v(position, "i32");
  });
}

/** The operand read along `axis` at the positions `order` gives. */
const permuted = (x: Value, order: Value, axis: number): Value =>
  lazy(order.shape, x.type, false, (coords, ctx) => x.at(withCoord(coords, axis, order.at(coords, ctx)), ctx));

const sort: MultiRule = (eqn, inputs, _outs, materialize) => {
  const { dimension, num_keys } = eqn.params as { dimension: number; num_keys: number };
  if (inputs[0]!.shape[dimension]! <= 1 || sizeOf(inputs[0]!.shape) === 0) return inputs;
  const rank = materialize(ranks(inputs.slice(0, num_keys), dimension, false));
  const order = materialize(positionsOf(rank, rank.shape, dimension));
  return inputs.map((x) => permuted(x, order, dimension));
};

const topK: MultiRule = (eqn, [x], outs, materialize) => {
  const { axis } = eqn.params as { axis: number };
  const rank = materialize(ranks([x!], axis, true));
  const order = materialize(positionsOf(rank, outs[0]!.shape, axis));
  return [permuted(x!, order, axis), lazy(order.shape, outs[1]!.type, false, (coords, ctx) => cast(order.at(coords, ctx), outs[1]!.type))];
};

export const SORT_RULES: Record<string, MultiRule> = { sort, top_k: topK };
