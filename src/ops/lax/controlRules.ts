/**
 * Differentiation rules of the control-flow primitives: JVPs of cond, while and scan; partial evaluation of
 * cond and scan into known and linear parts (and JAX's error for reverse mode through while); transposes
 * of cond and scan.
 */
import { ShapedArray } from "../../core/aval.js";
import { type Array, ArrayImpl } from "../../core/array.js";
import { isFloat } from "../../core/dtype.js";
import { ArgumentError } from "../../core/errors.js";
import { ClosedJaxpr, Jaxpr, Var, evalClosedJaxpr, evalJaxpr, constsAsInputs } from "../../trace/jaxpr.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind } from "../../trace/trace.js";
import { UndefPrimal, Zero, defJvp, defTranspose, instantiate } from "../../vjp/ad.js";
import { jvpJaxpr } from "../../vjp/jvpJaxpr.js";
import { type PartialEvalTracer, defPartialEval } from "../../vjp/partial.js";
import { partialEvalJaxpr } from "../../vjp/partialJaxpr.js";
import { backwardPass } from "../../vjp/transpose.js";
import * as lax from "./api.js";
import { condP, scanP, whileP } from "./control.js";
import { addAnyP } from "./elementwise.js";

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
  const jaxpr = constsAsInputs(transposedBody);
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
