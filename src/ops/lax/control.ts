/**
 * Control flow as primitives holding closed jaxprs, traced once (never unrolled): `cond` (and `switch`),
 * `while`, `scan`, with `foriLoop` on top (a scan when its bounds are JS numbers, as JAX does).
 * Constants the bodies close over become leading operands, and the jaxprs keep them as invars.
 */
import { ShapedArray } from "../../core/aval.js";
import { Array, ArrayImpl, arrayFromHost, scalarArray } from "../../core/array.js";
import { type DType, isFloat } from "../../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError } from "../../core/errors.js";
import { allocHost } from "../../core/hostData.js";
import { type HostTensor, definePrimitive } from "../../core/primitive.js";
import { type TreeDef, flatten, unflatten } from "../../core/tree.js";
import { asArray } from "../../trace/args.js";
import { ClosedJaxpr, Jaxpr, Var, evalClosedJaxpr, evalJaxpr } from "../../trace/jaxpr.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind } from "../../trace/trace.js";
import { UndefPrimal, Zero, defJvp, defTranspose, instantiate } from "../../vjp/ad.js";
import { jvpJaxpr } from "../../vjp/jvpJaxpr.js";
import { partialEvalJaxpr } from "../../vjp/partialJaxpr.js";
import { backwardPass } from "../../vjp/transpose.js";
import { type PartialEvalTracer, defPartialEval } from "../../vjp/partial.js";
import { addAnyP } from "./elementwise.js";
import * as lax from "./api.js";

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
  const j = closed.jaxpr;
  const jaxpr = new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []);
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


// ---- differentiation rules --------------------------------------------------------------------

const floats = (avals: readonly ShapedArray[]): boolean[] => avals.map((a) => isFloat(a.dtype));

defJvp(condP, ([index, ...operands], [, ...tangents], { branches }) => {
  const withTangent = floats(operands.map((o) => o.aval));
  const jvps = branches.map((b, i) => jvpJaxpr(b, withTangent, `cond branch ${i}`));
  const tin = tangents.filter((_, i) => withTangent[i]).map(instantiate);
  const outs = bind(condP, [index!, ...operands, ...tin], { branches: jvps.map((j) => j.jaxpr) });
  const m = branches[0]!.outAvals.length;
  const tangentOut = jvps[0]!.tangentOut;
  let k = m;
  return [outs.slice(0, m), outs.slice(0, m).map((o, i) => (tangentOut[i] ? outs[k++]! : new Zero(o.aval.strongly())))];
});

/**
 * Partial evaluation of cond (JAX's rule): with a concrete index the taken branch is evaluated inline.
 * Otherwise every branch is split into a known part, which also returns residuals, and an unknown part
 * that reads them; a known cond computes the known outputs and all branches' residuals (each branch gives
 * zeros for the others'), and an unknown cond is staged on the residuals and the unknown operands.
 */
defPartialEval(condP, (trace, [index, ...operands], { branches }) => {
  if (!index!.pval.isKnown) throw new ArgumentError("cond: the branch index cannot depend on a tangent");
  const known = index!.pval.known!;
  if (known instanceof ArrayImpl) {
    const i = Math.min(Math.max(known.dataSync()[0]!, 0), branches.length - 1);
    return evalClosedJaxpr(branches[i]!, operands) as PartialEvalTracer[];
  }
  const inUnknown = operands.map((t) => !t.pval.isKnown);
  const nOut = branches[0]!.outAvals.length;
  let outUnknown = new globalThis.Array<boolean>(nOut).fill(false);
  let splits = branches.map((b) => partialEvalJaxpr(b, inUnknown, outUnknown));
  for (const s of splits) outUnknown = outUnknown.map((u, k) => u || s.outUnknown[k]!);
  splits = branches.map((b) => partialEvalJaxpr(b, inUnknown, outUnknown));
  const residualAvals = splits.map((s) => s.known.outAvals.slice(s.known.outAvals.length - s.numResiduals));
  const allResiduals = residualAvals.flat();
  const knownOps = operands.filter((_, i) => !inUnknown[i]).map((t) => t.pval.known!);
  const knownBranches = splits.map((s, i) =>
    traceToJaxpr(
      (...xs) => {
        const outs = evalClosedJaxpr(s.known, xs);
        const before = residualAvals.slice(0, i).flat().map(zerosOf);
        const after = residualAvals.slice(i + 1).flat().map(zerosOf);
        return [...outs.slice(0, outs.length - s.numResiduals), ...before, ...outs.slice(outs.length - s.numResiduals), ...after];
      },
      knownOps.map((o) => o.aval),
      `cond branch ${i} (known)`,
    ),
  );
  const knownOuts = bind(condP, [known, ...knownOps], { branches: knownBranches });
  const nKnownOut = outUnknown.filter((u) => !u).length;
  const residuals = knownOuts.slice(nKnownOut);
  const unknownOps = operands.filter((_, i) => inUnknown[i]);
  let offset = 0;
  const unknownBranches = splits.map((s, i) => {
    const from = offset;
    offset += s.numResiduals;
    return traceToJaxpr(
      (...xs) => evalJaxpr(s.unknown, [], [...xs.slice(from, from + s.numResiduals), ...xs.slice(allResiduals.length)]),
      [...allResiduals, ...unknownOps.map((t) => t.aval)],
      `cond branch ${i} (unknown)`,
    );
  });
  const stagedInputs = [trace.pure(known), ...residuals.map((r) => trace.pure(r)), ...unknownOps];
  const staged = trace.stage(condP, stagedInputs, { branches: unknownBranches }, unknownBranches[0]!.outAvals);
  let [ik, iu] = [0, 0];
  return outUnknown.map((u) => (u ? staged[iu++]! : trace.pure(knownOuts[ik++]!)));
});

/** Transpose of cond: a cond over the branches run backwards (non-linear operands are read as they are). */
defTranspose(condP, (cotangents, [index, ...operands], { branches }) => {
  if (index instanceof UndefPrimal) throw new ArgumentError("cond: the branch index is not differentiable");
  const linear = operands.map((o) => o instanceof UndefPrimal);
  const values = operands.filter((o): o is Array => !(o instanceof UndefPrimal));
  const cts = cotangents.map((c) => instantiate(c));
  const transposed = branches.map((b, i) =>
    traceToJaxpr(
      (...xs) => {
        let k = 0;
        const args = operands.map((o) => (o instanceof UndefPrimal ? new UndefPrimal(o.aval.strongly()) : xs[k++]!));
        const inCts = backwardPass(b.jaxpr, b.consts, args, xs.slice(values.length));
        return inCts.filter((_, j) => linear[j]).map((c) => instantiate(c));
      },
      [...values.map((v) => v.aval), ...cts.map((c) => c.aval)],
      `cond branch ${i} (transposed)`,
    ),
  );
  const outs = bind(condP, [index!, ...values, ...cts], { branches: transposed });
  let k = 0;
  return [null, ...operands.map((o) => (o instanceof UndefPrimal ? outs[k++]! : null))];
});

defJvp(whileP, (inputs, tangents, params) => {
  const { cond_nconsts: nc, body_nconsts: nb } = params;
  const bodyConsts = inputs.slice(nc, nc + nb);
  const carry = inputs.slice(nc + nb);
  const constsWith = floats(bodyConsts.map((c) => c.aval));
  const carryWith = floats(carry.map((c) => c.aval));
  const body = jvpJaxpr(params.body_jaxpr, [...constsWith, ...carryWith], "while body");
  // Lay the body out as (consts, const tangents, carry, carry tangents) → (carry, carry tangents).
  const b = body.jaxpr.jaxpr;
  const nConstT = constsWith.filter(Boolean).length;
  const primalIn = b.invars.slice(0, nb + carry.length);
  const tangentIn = b.invars.slice(nb + carry.length);
  const bodyJaxpr = new ClosedJaxpr(
    new Jaxpr(b.constvars, [...primalIn.slice(0, nb), ...tangentIn.slice(0, nConstT), ...primalIn.slice(nb), ...tangentIn.slice(nConstT)], b.eqns, b.outvars),
    body.jaxpr.consts,
  );
  const condIn = params.cond_jaxpr.jaxpr;
  const condJaxpr = new ClosedJaxpr(new Jaxpr([], [...condIn.invars, ...carry.filter((_, i) => carryWith[i]).map((c) => new Var(c.aval.strongly()))], condIn.eqns, condIn.outvars), []);
  const tConsts = tangents.slice(nc, nc + nb).filter((_, i) => constsWith[i]).map(instantiate);
  const tCarry = tangents.slice(nc + nb).filter((_, i) => carryWith[i]).map(instantiate);
  const outs = bind(whileP, [...inputs.slice(0, nc), ...bodyConsts, ...tConsts, ...carry, ...tCarry], {
    cond_jaxpr: condJaxpr,
    body_jaxpr: bodyJaxpr,
    cond_nconsts: nc,
    body_nconsts: nb + nConstT,
  });
  let k = carry.length;
  return [outs.slice(0, carry.length), carry.map((c, i) => (carryWith[i] ? outs[k++]! : new Zero(c.aval.strongly())))];
});

defPartialEval(whileP, () => {
  throw new ArgumentError(
    "Reverse-mode differentiation does not work for lax.whileLoop or lax.foriLoop with dynamic start/stop values. " +
      "Try using lax.scan, or using foriLoop with static (JS number) start/stop.",
  );
});

defJvp(scanP, (inputs, tangents, params) => {
  const { num_consts: nc, num_carry: ncar } = params;
  const withTangent = floats(inputs.map((x) => x.aval));
  const body = jvpJaxpr(params.jaxpr, withTangent, "scan body");
  const b = body.jaxpr.jaxpr;
  const n = inputs.length;
  const primalIn = b.invars.slice(0, n);
  const tangentIn = b.invars.slice(n);
  const count = (from: number, to: number): number => withTangent.slice(from, to).filter(Boolean).length;
  const [tc, tcar] = [count(0, nc), count(nc, nc + ncar)];
  const tangentOut = body.tangentOut;
  const outs = b.outvars;
  const m = params.jaxpr.outAvals.length;
  const carryTangentOut = tangentOut.slice(0, ncar).filter(Boolean).length;
  // The carry's tangents must be carried too: every float carry has one in and out.
  const jaxpr = new ClosedJaxpr(
    new Jaxpr(
      b.constvars,
      [...primalIn.slice(0, nc), ...tangentIn.slice(0, tc), ...primalIn.slice(nc, nc + ncar), ...tangentIn.slice(tc, tc + tcar), ...primalIn.slice(nc + ncar), ...tangentIn.slice(tc + tcar)],
      b.eqns,
      [...outs.slice(0, ncar), ...outs.slice(m, m + carryTangentOut), ...outs.slice(ncar, m), ...outs.slice(m + carryTangentOut)],
    ),
    body.jaxpr.consts,
  );
  const tIn = tangents.map((t, i) => (withTangent[i] ? instantiate(t) : null));
  const pick = (from: number, to: number): Array[] => tIn.slice(from, to).filter((t): t is Array => t !== null);
  const results = bind(scanP, [...inputs.slice(0, nc), ...pick(0, nc), ...inputs.slice(nc, nc + ncar), ...pick(nc, nc + ncar), ...inputs.slice(nc + ncar), ...pick(nc + ncar, n)], {
    ...params,
    jaxpr,
    num_consts: nc + tc,
    num_carry: ncar + tcar,
  });
  const carryOut = results.slice(0, ncar);
  const carryT = results.slice(ncar, ncar + tcar);
  const ys = results.slice(ncar + tcar, ncar + tcar + (m - ncar));
  const ysT = results.slice(ncar + tcar + (m - ncar));
  let [ic, iy] = [0, 0];
  const primalsOut = [...carryOut, ...ys];
  const tangentsOut = primalsOut.map((o, i) => {
    if (!tangentOut[i]) return new Zero(o.aval.strongly());
    return i < ncar ? carryT[ic++]! : ysT[iy++]!;
  });
  return [primalsOut, tangentsOut];
});

/**
 * Partial evaluation of scan: the body splits into a known scan (which also emits per-iteration residuals
 * as extra outputs) and an unknown scan that reads them as extra xs. A carry is unknown if its init is, or
 * if the body makes it depend on something unknown (a fixpoint).
 */
defPartialEval(scanP, (trace, tracers, params) => {
  const { num_consts: nc, num_carry: ncar } = params;
  const body = params.jaxpr;
  const unknown = tracers.map((t) => !t.pval.isKnown);
  let carryUnknown = unknown.slice(nc, nc + ncar);
  const nys = body.outAvals.length - ncar;
  let split;
  for (;;) {
    split = partialEvalJaxpr(body, [...unknown.slice(0, nc), ...carryUnknown, ...unknown.slice(nc + ncar)], [...carryUnknown, ...new globalThis.Array<boolean>(nys).fill(false)]);
    const out = split.outUnknown.slice(0, ncar);
    if (out.every((u, i) => u === carryUnknown[i])) break;
    carryUnknown = carryUnknown.map((u, i) => u || out[i]!);
  }
  const inUnknown = [...unknown.slice(0, nc), ...carryUnknown, ...unknown.slice(nc + ncar)];
  const yUnknown = split.outUnknown.slice(ncar);
  const known = (i: number): Array => tracers[i]!.pval.known!;
  const knownIdx = inUnknown.map((u, i) => (u ? -1 : i)).filter((i) => i >= 0);
  const count = (mask: boolean[], from: number, to: number, value: boolean): number => mask.slice(from, to).filter((u) => u === value).length;
  // The known scan: known consts, carries and xs; outputs known carries, known ys, then residuals as ys.
  const knownOuts = bind(scanP, knownIdx.map(known), {
    ...params,
    jaxpr: split.known,
    num_consts: count(inUnknown, 0, nc, false),
    num_carry: count(inUnknown, nc, nc + ncar, false),
  });
  const nKnownCarry = count(carryUnknown, 0, ncar, false);
  const nKnownYs = yUnknown.filter((u) => !u).length;
  const residuals = knownOuts.slice(nKnownCarry + nKnownYs);
  // The unknown scan: [unknown consts | unknown carries | residuals, unknown xs].
  const u = split.unknown;
  const nRes = split.numResiduals;
  const ukConsts = count(inUnknown, 0, nc, true);
  const ukCarry = count(inUnknown, nc, nc + ncar, true);
  const resVars = u.invars.slice(0, nRes);
  const rest = u.invars.slice(nRes);
  const unknownJaxpr = new ClosedJaxpr(new Jaxpr([], [...rest.slice(0, ukConsts + ukCarry), ...resVars, ...rest.slice(ukConsts + ukCarry)], u.eqns, u.outvars), []);
  const ukInputs = tracers.filter((_, i) => inUnknown[i]);
  const staged = trace.stage(
    scanP,
    [...ukInputs.slice(0, ukConsts + ukCarry), ...residuals.map((r) => trace.pure(r)), ...ukInputs.slice(ukConsts + ukCarry)],
    { ...params, jaxpr: unknownJaxpr, num_consts: ukConsts, num_carry: ukCarry },
    scanP.abstractEval(
      [...ukInputs.slice(0, ukConsts + ukCarry).map((t) => t.aval), ...residuals.map((r) => r.aval), ...ukInputs.slice(ukConsts + ukCarry).map((t) => t.aval)],
      { ...params, jaxpr: unknownJaxpr, num_consts: ukConsts, num_carry: ukCarry },
    ),
  );
  // Reassemble the outputs in order.
  let [ik, iu] = [0, 0];
  const outUnknown = [...carryUnknown, ...yUnknown];
  return outUnknown.map((isUnknown) => (isUnknown ? staged[iu++]! : trace.pure(knownOuts[ik++]!)));
});

/**
 * Transpose of a linear scan: a scan in the opposite direction whose carry holds the carry's cotangent and
 * the accumulated cotangents of the linear consts; non-linear consts and xs (residuals) are read as they were.
 */
defTranspose(scanP, (cotangents, inputs, params) => {
  const { num_consts: nc, num_carry: ncar, length, reverse } = params;
  const body = params.jaxpr;
  // The body is linear in every carry, even one whose initial value is a known constant (a zero tangent).
  const linear = inputs.map((x, i) => x instanceof UndefPrimal || (i >= nc && i < nc + ncar));
  const avals = body.inAvals;
  const constIdx = avals.map((_, i) => i).slice(0, nc);
  const xsIdx = avals.map((_, i) => i).slice(nc + ncar);
  const linConsts = constIdx.filter((i) => linear[i]);
  const nonLinConsts = constIdx.filter((i) => !linear[i]);
  const linXs = xsIdx.filter((i) => linear[i]);
  const nonLinXs = xsIdx.filter((i) => !linear[i]);
  const ys = body.outAvals.slice(ncar);
  const cts = cotangents.map((c, i) => (c instanceof Zero ? zerosOf(i < ncar ? avals[nc + i]! : new ShapedArray([length, ...ys[i - ncar]!.shape], ys[i - ncar]!.dtype)) : c));
  // Body of the transposed scan: (non-linear consts | const-ct accumulators, carry cts | non-linear xs, y cts).
  const inAvals = [
    ...nonLinConsts.map((i) => avals[i]!),
    ...linConsts.map((i) => avals[i]!.strongly()),
    ...avals.slice(nc, nc + ncar).map((a) => a.strongly()),
    ...nonLinXs.map((i) => avals[i]!),
    ...ys.map((a) => a.strongly()),
  ];
  const transposedBody = traceToJaxpr(
    (...args) => {
      let k = 0;
      const take = (n: number): Array[] => args.slice(k, (k += n));
      const nlc = take(nonLinConsts.length);
      const acc = take(linConsts.length);
      const ctCarry = take(ncar);
      const nlx = take(nonLinXs.length);
      const ctY = take(ys.length);
      const bodyArgs = avals.map((a, i) => {
        if (!linear[i]) return i < nc ? nlc[nonLinConsts.indexOf(i)]! : nlx[nonLinXs.indexOf(i)]!;
        return new UndefPrimal(a.strongly());
      });
      const ctIn = backwardPass(body.jaxpr, body.consts, bodyArgs, [...ctCarry, ...ctY]);
      const materialise = (i: number): Array => instantiate(ctIn[i]!);
      return [...linConsts.map((i, j) => bind(addAnyP, [acc[j]!, materialise(i)], {})[0]!), ...avals.slice(nc, nc + ncar).map((_, j) => materialise(nc + j)), ...linXs.map(materialise)];
    },
    inAvals,
    "scan transpose",
  );
  const j = transposedBody.jaxpr;
  const jaxpr = new ClosedJaxpr(new Jaxpr([], [...j.constvars, ...j.invars], j.eqns, j.outvars), []);
  const outs = bind(
    scanP,
    [
      ...transposedBody.consts,
      ...nonLinConsts.map((i) => inputs[i] as Array),
      ...linConsts.map((i) => zerosOf(inputs[i]!.aval.strongly())),
      ...cts.slice(0, ncar).map((c) => instantiate(c)),
      ...nonLinXs.map((i) => inputs[i] as Array),
      ...cts.slice(ncar).map((c) => instantiate(c)),
    ],
    {
      ...params,
      jaxpr,
      reverse: !reverse,
      num_consts: transposedBody.consts.length + nonLinConsts.length,
      num_carry: linConsts.length + ncar,
    },
  );
  const result: (Array | null)[] = inputs.map(() => null);
  linConsts.forEach((i, j) => (result[i] = outs[j]!));
  for (let c = 0; c < ncar; c++) if (inputs[nc + c] instanceof UndefPrimal) result[nc + c] = outs[linConsts.length + c]!;
  linXs.forEach((i, j) => (result[i] = outs[linConsts.length + ncar + j]!));
  return result;
});

const zerosOf = (aval: ShapedArray): Array => lax.broadcastInDim(lax.convertElementType(0, aval.dtype), aval.shape, []);
