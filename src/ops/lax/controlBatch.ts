/**
 * Batching rules (vmap) of cond, while and scan, as JAX's: a batched branch index runs every branch and selects
 * per example; a batched while predicate keeps looping while any example's holds and freezes the others' carry;
 * a carry is batched when its body makes it so (a fixed point over the body's batching).
 */
import { ClosedJaxpr, evalClosedJaxpr } from "../../trace/jaxpr.js";
import { traceToJaxpr } from "../../trace/stage.js";
import { bind } from "../../trace/trace.js";
import { type BatchDim, batchJaxpr, defBatch, moveBatchAxis } from "../../vmap/batching.js";
import * as lax from "./api.js";
import { condP, scanP, whileP } from "./control.js";

const orEach = (a: readonly boolean[], b: readonly boolean[]): boolean[] => a.map((x, i) => x || b[i]!);
const sameFlags = (a: readonly boolean[], b: readonly boolean[]): boolean => a.every((x, i) => x === b[i]);
const dimsOf = (batched: readonly boolean[]): BatchDim[] => batched.map((b) => (b ? 0 : null));

/**
 * Which carry values are batched: those batched on entry, and those the body makes batched, to a fixed point.
 * `bodyIn(carryBatched)` gives the body's input dims, `carryOut(outDims)` its carry outputs' dims.
 */
function carryFixedPoint(initial: readonly boolean[], body: ClosedJaxpr, bodyIn: (carry: readonly boolean[]) => BatchDim[], size: number, name: string): boolean[] {
  let carry = [...initial];
  for (;;) {
    const force = [...carry, ...new globalThis.Array<boolean>(body.outAvals.length - carry.length).fill(false)];
    const { outDims } = batchJaxpr(body, bodyIn(carry), size, force, name);
    const next = orEach(
      carry,
      outDims.slice(0, carry.length).map((d) => d !== null),
    );
    if (sameFlags(next, carry)) return carry;
    carry = next;
  }
}

defBatch(condP, ([index, ...operands], [dIndex, ...dims], { branches }, size) => {
  if (dIndex !== null) {
    // Every branch runs on every example; each example keeps its own branch's results.
    const outs = branches.map((b, i) => evalClosedJaxpr(batchJaxpr(b, dims, size, true, `cond branch ${i}`).jaxpr, operands));
    const which = lax.clamp(lax.convertElementType(0, "int32"), moveBatchAxis(index!, dIndex, 0, size), lax.convertElementType(branches.length - 1, "int32"));
    const selected = outs[0]!.map((o, k) => lax.selectN(lax.broadcastInDim(which, o.shape, [0]), ...outs.map((branch) => branch[k]!)));
    return [selected, selected.map(() => 0)];
  }
  let force = new globalThis.Array<boolean>(branches[0]!.outAvals.length).fill(false);
  for (const [i, b] of branches.entries()) force = orEach(force, batchJaxpr(b, dims, size, false, `cond branch ${i}`).outDims.map((d) => d !== null));
  const batched = branches.map((b, i) => batchJaxpr(b, dims, size, force, `cond branch ${i}`).jaxpr);
  return [bind(condP, [index!, ...operands], { branches: batched }), dimsOf(force)];
});

defBatch(whileP, (args, dims, params, size) => {
  const { cond_nconsts: nc, body_nconsts: nb, cond_jaxpr, body_jaxpr } = params;
  const [condConsts, bodyConsts, init] = [args.slice(0, nc), args.slice(nc, nc + nb), args.slice(nc + nb)];
  const [condDims, bodyDims, initDims] = [dims.slice(0, nc), dims.slice(nc, nc + nb), dims.slice(nc + nb)];
  let carryBatched = carryFixedPoint(
    initDims.map((d) => d !== null),
    body_jaxpr,
    (carry) => [...bodyDims, ...dimsOf(carry)],
    size,
    "while body",
  );
  const predBatched = batchJaxpr(cond_jaxpr, [...condDims, ...dimsOf(carryBatched)], size, false, "while cond").outDims[0] !== null;
  if (predBatched) carryBatched = carryBatched.map(() => true);
  const carryDims = dimsOf(carryBatched);
  const carry = init.map((x, i) => (carryBatched[i] ? moveBatchAxis(x, initDims[i]!, 0, size) : x));
  const condB = batchJaxpr(cond_jaxpr, [...condDims, ...carryDims], size, false, "while cond").jaxpr;
  const bodyB = batchJaxpr(body_jaxpr, [...bodyDims, ...carryDims], size, carryBatched, "while body").jaxpr;
  if (!predBatched) {
    const outs = bind(whileP, [...condConsts, ...bodyConsts, ...carry], { ...params, cond_jaxpr: condB, body_jaxpr: bodyB });
    return [outs, carryDims];
  }
  // Loop while any example's predicate holds; an example whose predicate fails keeps its carry.
  const condAvals = [...condConsts, ...carry].map((x) => x.aval);
  const anyCond = traceToJaxpr((...xs) => [lax.reduceOr(evalClosedJaxpr(condB, xs)[0]!, [0])], condAvals, "while cond (batched)");
  const selectBody = traceToJaxpr(
    (...xs) => {
      const [cc, bc, state] = [xs.slice(0, nc), xs.slice(nc, nc + nb), xs.slice(nc + nb)];
      const pred = evalClosedJaxpr(condB, [...cc, ...state])[0]!;
      return evalClosedJaxpr(bodyB, [...bc, ...state]).map((next, i) => lax.select(lax.broadcastInDim(pred, next.shape, [0]), next, state[i]!));
    },
    [...condConsts, ...bodyConsts, ...carry].map((x) => x.aval),
    "while body (batched)",
  );
  const outs = bind(whileP, [...condConsts, ...condConsts, ...bodyConsts, ...carry], { ...params, cond_jaxpr: anyCond, body_jaxpr: selectBody, body_nconsts: nc + nb });
  return [outs, carryDims];
});

defBatch(scanP, (args, dims, params, size) => {
  const { num_consts: nc, num_carry: ncarry, jaxpr } = params;
  const [consts, init, xs] = [args.slice(0, nc), args.slice(nc, nc + ncarry), args.slice(nc + ncarry)];
  const [constDims, initDims, xDims] = [dims.slice(0, nc), dims.slice(nc, nc + ncarry), dims.slice(nc + ncarry)];
  // A batched xs has its batch axis second, so each scanned slice has it first.
  const sliceDims = xDims.map((d) => (d === null ? null : 0));
  const xsB = xs.map((x, i) => (xDims[i] === null ? x : moveBatchAxis(x, xDims[i]!, 1, size)));
  const carryBatched = carryFixedPoint(
    initDims.map((d) => d !== null),
    jaxpr,
    (carry) => [...constDims, ...dimsOf(carry), ...sliceDims],
    size,
    "scan body",
  );
  const carryDims = dimsOf(carryBatched);
  const force = [...carryBatched, ...new globalThis.Array<boolean>(jaxpr.outAvals.length - ncarry).fill(false)];
  const { jaxpr: body, outDims } = batchJaxpr(jaxpr, [...constDims, ...carryDims, ...sliceDims], size, force, "scan body");
  const carry = init.map((x, i) => (carryBatched[i] ? moveBatchAxis(x, initDims[i]!, 0, size) : x));
  const outs = bind(scanP, [...consts, ...carry, ...xsB], { ...params, jaxpr: body });
  const yDims = outDims.slice(ncarry).map((d) => (d === null ? null : 1));
  return [outs, [...carryDims, ...yDims]];
});
