/**
 * Control flow as primitives holding closed jaxprs, traced once (never unrolled): `cond` (and `switch`),
 * `while`, `scan`, with `foriLoop` on top (a scan when its bounds are JS numbers, as JAX does).
 * Constants the bodies close over become leading operands, and the jaxprs keep them as invars.
 */
import { ShapedArray } from "../../core/aval.js";
import { Array, arrayFromHost, scalarArray } from "../../core/array.js";
import type { DType } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError } from "../../core/errors.js";
import { allocHost } from "../../core/hostData.js";
import { type HostTensor, definePrimitive } from "../../core/primitive.js";
import { type TreeDef, flatten, unflatten } from "../../core/tree.js";
import { asArray } from "../../trace/args.js";
import { ClosedJaxpr, Jaxpr, Var, evalClosedJaxpr, constsAsInputs } from "../../trace/jaxpr.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind } from "../../trace/trace.js";

import { add, clamp, convertElementType, lt } from "./api.js";

const toArrays = (inputs: readonly HostTensor[], avals: readonly ShapedArray[]): Array[] =>
  inputs.map((t, i) => arrayFromHost(t.data, avals[i] ?? new ShapedArray(t.shape, t.dtype)));
const toHost = (xs: readonly Array[]): HostTensor[] => xs.map((x) => ({ shape: x.shape, dtype: x.dtype, data: x.dataSync() }));

/** Stages `f` (on pytrees) for the given flat avals; constants it closes over become leading invars. */
function traceBody(f: (...args: unknown[]) => unknown, inTree: TreeDef, avals: readonly ShapedArray[], name: string): { jaxpr: ClosedJaxpr; consts: Array[]; outTree: TreeDef } {
  let outTree: TreeDef | undefined;
  const closed = traceToJaxpr(
    (...flat) => {
      const [leaves, tree] = flatten(f(...(unflatten(inTree, flat) as unknown[])));
      outTree = tree;
      return leaves.map((x, i) => asArray(x, `${name}: output leaf ${i}`));
    },
    avals,
    name,
  );
  const jaxpr = constsAsInputs(closed);
  return { jaxpr, consts: [...closed.consts], outTree: outTree! };
}

const sameTypes = (a: readonly ShapedArray[], b: readonly ShapedArray[]): boolean => a.length === b.length && a.every((x, i) => x.equals(b[i]!));
const typesText = (avals: readonly ShapedArray[]): string => `(${avals.map(String).join(", ")})`;

// ---- cond / switch --------------------------------------------------------------------------

export interface CondParams {
  readonly branches: readonly ClosedJaxpr[];
}

export const condP = definePrimitive<CondParams>({
  name: "cond",
  multipleResults: true,
  abstractEval([index, ...operands], { branches }) {
    if (index!.ndim !== 0 || index!.dtype !== "int32") throw new DTypeError(`cond: the branch index must be an int32 scalar, got ${index!.toString()}`);
    for (const [i, b] of branches.entries()) {
      if (!sameTypes(b.inAvals, operands)) throw new ShapeError(`cond: branch ${i} takes ${typesText(b.inAvals)}, got operands ${typesText(operands)}`);
    }
    return branches[0]!.outAvals;
  },
  impl([index, ...operands], { branches }) {
    const i = Math.min(Math.max(index!.data[0]!, 0), branches.length - 1);
    const branch = branches[i]!;
    return toHost(evalClosedJaxpr(branch, toArrays(operands, branch.inAvals)));
  },
  formatParams: ({ branches }) => ({ branches }),
});

function traceBranches(name: string, branches: readonly ((...args: unknown[]) => unknown)[], operands: unknown[]): { jaxprs: ClosedJaxpr[]; consts: Array[]; outTree: TreeDef; leaves: Array[] } {
  const [leaves, inTree] = flatten(operands);
  const arrays = leaves.map((x, i) => asArray(x, `${name}: operand leaf ${i}`));
  const traced = branches.map((b, i) => traceBody(b, inTree, arrays.map((a) => a.aval), `${name} branch ${i}`));
  const outTree = traced[0]!.outTree;
  traced.forEach((t, i) => {
    if (!t.outTree.equals(outTree)) throw new ShapeError(`${name}: branch ${i} returns ${t.outTree.toString()}, branch 0 returns ${outTree.toString()}`);
    const a = t.jaxpr.outAvals.map((x) => x.strongly());
    const b = traced[0]!.jaxpr.outAvals.map((x) => x.strongly());
    if (!sameTypes(a, b)) throw new ShapeError(`${name}: branch ${i} returns ${typesText(a)}, branch 0 returns ${typesText(b)}`);
  });
  // Every branch takes every branch's constants (each ignores the others'), then the operands.
  const consts = traced.flatMap((t) => t.consts);
  const jaxprs = traced.map((t, i) => {
    const before = traced.slice(0, i).flatMap((u) => u.consts.map((c) => c.aval));
    const after = traced.slice(i + 1).flatMap((u) => u.consts.map((c) => c.aval));
    return padInvars(t.jaxpr, t.consts.length, before, after);
  });
  return { jaxprs, consts, outTree, leaves: arrays };
}


/**
 * Branch `closed` (invars: its own `numConsts` constants, then the operands) as taking every branch's
 * constants: unused invars for the other branches' constants go before and after its own.
 */
function padInvars(closed: ClosedJaxpr, numConsts: number, before: readonly ShapedArray[], after: readonly ShapedArray[]): ClosedJaxpr {
  if (before.length === 0 && after.length === 0) return closed;
  const j = closed.jaxpr;
  const fresh = (avals: readonly ShapedArray[]): Var[] => avals.map((a) => new Var(a));
  const invars = [...fresh(before), ...j.invars.slice(0, numConsts), ...fresh(after), ...j.invars.slice(numConsts)];
  return new ClosedJaxpr(new Jaxpr([], invars, j.eqns, j.outvars), []);
}

/** `switch(index, branches, ...operands)`: `branches[clamp(index)](...operands)`, staged once per branch. */
export function switchCase(index: Array | number, branches: readonly ((...args: never[]) => unknown)[], ...operands: unknown[]): unknown {
  if (branches.length === 0) throw new ArgumentError("switch: at least one branch is required");
  const idx = index instanceof Array ? index : scalarArray(index, "int32", true);
  if (idx.ndim !== 0 || (idx.dtype !== "int32" && idx.dtype !== "bool")) throw new DTypeError(`switch: index must be an int32 scalar, got ${idx.aval.toString()}`);
  const fns = branches as unknown as ((...args: unknown[]) => unknown)[];
  const { jaxprs, consts, outTree, leaves } = traceBranches("switch", fns, operands);
  const clamped = clamp(0, convertElementType(idx, "int32"), branches.length - 1);
  const outs = bind(condP, [clamped, ...consts, ...leaves], { branches: jaxprs });
  return unflatten(outTree, outs);
}

/** `cond(pred, trueFun, falseFun, ...operands)`: stages both branches; a traced predicate selects on the device. */
export function cond(pred: Array | boolean, trueFun: (...args: never[]) => unknown, falseFun: (...args: never[]) => unknown, ...operands: unknown[]): unknown {
  const p = pred instanceof Array ? pred : scalarArray(pred, "bool");
  if (p.ndim !== 0) throw new ShapeError(`cond: pred must be a scalar, got ${p.aval.toString()} (use numpy.where for elementwise selection)`);
  const fns = [falseFun, trueFun] as unknown as ((...args: unknown[]) => unknown)[];
  const { jaxprs, consts, outTree, leaves } = traceBranches("cond", fns, operands);
  const index = convertElementType(p, "int32");
  const outs = bind(condP, [index, ...consts, ...leaves], { branches: jaxprs });
  return unflatten(outTree, outs);
}

// ---- while ----------------------------------------------------------------------------------

export interface WhileParams {
  readonly cond_jaxpr: ClosedJaxpr;
  readonly body_jaxpr: ClosedJaxpr;
  readonly cond_nconsts: number;
  readonly body_nconsts: number;
}

export const whileP = definePrimitive<WhileParams>({
  name: "while",
  multipleResults: true,
  abstractEval(avals, { body_jaxpr, cond_nconsts, body_nconsts }) {
    return avals.slice(cond_nconsts + body_nconsts).map((a, i) => new ShapedArray(a.shape, a.dtype, body_jaxpr.outAvals[i]?.weakType ?? a.weakType));
  },
  impl(inputs, { cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts }) {
    const arrays = toArrays(inputs, []);
    const condConsts = arrays.slice(0, cond_nconsts);
    const bodyConsts = arrays.slice(cond_nconsts, cond_nconsts + body_nconsts);
    let carry = arrays.slice(cond_nconsts + body_nconsts);
    while (evalClosedJaxpr(cond_jaxpr, [...condConsts, ...carry])[0]!.dataSync()[0]) {
      carry = evalClosedJaxpr(body_jaxpr, [...bodyConsts, ...carry]);
    }
    return toHost(carry);
  },
  formatParams: ({ body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts }) => ({ body_jaxpr, body_nconsts, cond_jaxpr, cond_nconsts }),
});

/** `whileLoop(condFun, bodyFun, init)`: repeats `body` while `cond(carry)` holds; the carry is any pytree. */
export function whileLoop<T>(condFun: (carry: T) => unknown, bodyFun: (carry: T) => T, init: T): T {
  const [leaves, argsTree] = flatten([init]);
  const tree = flatten(init)[1];
  const arrays = leaves.map((x, i) => asArray(x, `whileLoop: init leaf ${i}`));
  const avals = arrays.map((a) => a.aval);
  const c = traceBody(condFun as (...a: unknown[]) => unknown, argsTree, avals, "whileLoop cond");
  const condOut = c.jaxpr.outAvals;
  if (condOut.length !== 1 || condOut[0]!.dtype !== "bool" || condOut[0]!.ndim !== 0) {
    throw new DTypeError(`whileLoop: condFun must return a boolean scalar, got ${typesText(condOut)}`);
  }
  const b = traceBody(bodyFun as (...a: unknown[]) => unknown, argsTree, avals, "whileLoop body");
  const bodyOut = b.jaxpr.outAvals.map((a) => a.strongly());
  if (!b.outTree.equals(tree) || !sameTypes(bodyOut, avals.map((a) => a.strongly()))) {
    throw new ShapeError(`whileLoop: bodyFun must return the carry's structure and types ${typesText(avals)}, got ${typesText(bodyOut)}`);
  }
  const outs = bind(whileP, [...c.consts, ...b.consts, ...arrays], {
    cond_jaxpr: c.jaxpr,
    body_jaxpr: b.jaxpr,
    cond_nconsts: c.consts.length,
    body_nconsts: b.consts.length,
  });
  return unflatten(tree, outs) as T;
}

// ---- scan -----------------------------------------------------------------------------------

export interface ScanParams {
  readonly jaxpr: ClosedJaxpr;
  readonly length: number;
  readonly reverse: boolean;
  readonly num_consts: number;
  readonly num_carry: number;
  readonly unroll: number;
}

export const scanP = definePrimitive<ScanParams>({
  name: "scan",
  multipleResults: true,
  abstractEval(avals, { jaxpr, length, num_consts, num_carry }) {
    const carry = avals.slice(num_consts, num_consts + num_carry);
    const ys = jaxpr.outAvals.slice(num_carry).map((a) => new ShapedArray([length, ...a.shape], a.dtype, a.weakType));
    return [...carry, ...ys];
  },
  impl(inputs, { jaxpr, length, reverse, num_consts, num_carry }) {
    const arrays = toArrays(inputs, []);
    const consts = arrays.slice(0, num_consts);
    let carry = arrays.slice(num_consts, num_consts + num_carry);
    const xs = arrays.slice(num_consts + num_carry);
    const yAvals = jaxpr.outAvals.slice(num_carry);
    const ys = yAvals.map((a) => new Float64Array(length * a.size));
    for (let step = 0; step < length; step++) {
      const t = reverse ? length - 1 - step : step;
      const x = xs.map((a) => {
        const size = a.size / length;
        return arrayFromHost(a.dataSync().slice(t * size, (t + 1) * size), new ShapedArray(a.shape.slice(1), a.dtype));
      });
      const outs = evalClosedJaxpr(jaxpr, [...consts, ...carry, ...x]);
      carry = outs.slice(0, num_carry);
      outs.slice(num_carry).forEach((y, k) => ys[k]!.set(y.dataSync(), t * yAvals[k]!.size));
    }
    return [...toHost(carry), ...yAvals.map((a, k) => ({ shape: [length, ...a.shape], dtype: a.dtype, data: hostOf(a.dtype, ys[k]!) }))];
  },
  formatParams: ({ jaxpr, length, num_carry, num_consts, reverse, unroll }) => ({ jaxpr, length, num_carry, num_consts, reverse: reverse ? "True" : "False", unroll }),
});

function hostOf(dtype: DType, values: Float64Array): HostTensor["data"] {
  const out = allocHost(dtype, values.length);
  out.set(values);
  return out;
}

export interface ScanOptions {
  length?: number;
  reverse?: boolean;
  unroll?: number;
}

/**
 * `scan(f, init, xs, {length, reverse})`: `f(carry, x) → [carry, y]` over the leading axis of `xs` (any
 * pytree, or null with `length`); returns `[carry, ys]` with the ys stacked.
 */
export function scan<C, X, Y>(f: (carry: C, x: X) => [C, Y], init: C, xs: X | null, options: ScanOptions = {}): [C, Y] {
  const [carryLeaves, carryTree] = flatten(init);
  const carry = carryLeaves.map((x, i) => asArray(x, `scan: init leaf ${i}`));
  const [xLeaves] = flatten(xs);
  const xArrays = xLeaves.map((x, i) => asArray(x, `scan: xs leaf ${i}`));
  const lengths = new Set(xArrays.map((x) => x.shape[0]));
  if (xArrays.some((x) => x.ndim === 0)) throw new ShapeError("scan: every xs leaf needs a leading axis to scan over");
  if (options.length !== undefined) lengths.add(options.length);
  if (lengths.size !== 1) {
    throw new ShapeError(`scan: the leading axes of xs (and length) must agree, got ${[...lengths].join(", ")}${lengths.size === 0 ? " (pass length when xs is null)" : ""}`);
  }
  const length = [...lengths][0]!;
  const xAvals = xArrays.map((x) => new ShapedArray(x.shape.slice(1), x.dtype, x.weakType));
  const inTree = flatten([init, xs])[1];
  let yTree: TreeDef | undefined;
  const body = (c: unknown, x: unknown): unknown => {
    const out = (f as unknown as (c: unknown, x: unknown) => unknown)(c, x);
    if (!globalThis.Array.isArray(out) || out.length !== 2) throw new ArgumentError("scan: f must return [carry, y]");
    yTree = flatten(out[1])[1];
    return out;
  };
  const t = traceBody(body, inTree, [...carry.map((a) => a.aval), ...xAvals], "scan body");
  const outCarry = t.jaxpr.outAvals.slice(0, carry.length).map((a) => a.strongly());
  if (!sameTypes(outCarry, carry.map((a) => a.aval.strongly()))) {
    throw new ShapeError(`scan: f must return a carry of the init's types ${typesText(carry.map((a) => a.aval))}, got ${typesText(outCarry)}`);
  }
  const outs = bind(scanP, [...t.consts, ...carry, ...xArrays], {
    jaxpr: t.jaxpr,
    length,
    reverse: options.reverse ?? false,
    num_consts: t.consts.length,
    num_carry: carry.length,
    unroll: options.unroll ?? 1,
  });
  const finalCarry = unflatten(carryTree, outs.slice(0, carry.length)) as C;
  const ys = unflatten(yTree!, outs.slice(carry.length)) as Y;
  return [finalCarry, ys];
}

/**
 * `foriLoop(lower, upper, body, init)`: `body(i, carry)` for i in [lower, upper). With JS-number bounds it is a
 * scan (so it can be reverse-differentiated, as in JAX); with traced bounds a while loop.
 */
export function foriLoop<T>(lower: number | Array, upper: number | Array, bodyFun: (i: Array, carry: T) => T, init: T): T {
  if (typeof lower === "number" && typeof upper === "number") {
    const start = scalarArray(lower, "int32", true);
    const [[, result]] = scan(
      ([i, carry]: [Array, T]) => [[add(i, 1), bodyFun(i, carry)], null] as [[Array, T], null],
      [start, init] as [Array, T],
      null,
      { length: Math.max(0, upper - lower) },
    );
    return result;
  }
  const lo = asArray(lower, "foriLoop: lower");
  const hi = asArray(upper, "foriLoop: upper");
  const [, , result] = whileLoop(
    ([i, h]: [Array, Array, T]) => lt(i, h),
    ([i, h, carry]: [Array, Array, T]) => [add(i, 1), h, bodyFun(i, carry)] as [Array, Array, T],
    [lo, hi, init] as [Array, Array, T],
  );
  return result;
}
