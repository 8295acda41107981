/**
 * `customVjp` and `customJvp`: functions with user-written derivatives. Each call is one primitive
 * (`custom_vjp_call`, `custom_jvp_call`) holding the primal jaxpr; differentiating a custom_vjp call runs
 * `fwd` and records a linear `custom_lin` equation whose transpose runs `bwd`, as in JAX.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, arrayFromHost } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { ArgumentError, ShapeError, WgjaxError } from "../core/errors.js";
import { type HostTensor, definePrimitive } from "../core/primitive.js";
import { type TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray } from "../trace/args.js";
import { ClosedJaxpr, evalClosedJaxpr, constsAsInputs } from "../trace/jaxpr.js";
import { traceFlat } from "../trace/stage.js";
import { Tracer, bind } from "../trace/trace.js";
import { type Tangent, UndefPrimal, Zero, defJvp, defTranspose, instantiate, tangentAval, zerosLike } from "./ad.js";

type Fn = (...args: never[]) => unknown;
const call = (f: Fn, args: unknown[]): unknown => (f as unknown as (...a: unknown[]) => unknown)(...args);
const fnName = (f: Fn): string => f.name || "<lambda>";

interface CallParams {
  readonly name: string;
  readonly call_jaxpr: ClosedJaxpr;
  readonly num_consts: number;
  /** Rebuilds the full argument list (static arguments in place) from the differentiable leaves. */
  readonly args: (leaves: readonly unknown[]) => unknown[];
  readonly out_tree: TreeDef;
}

interface CustomVjpParams extends CallParams {
  readonly fwd: Fn;
  readonly bwd: Fn;
  readonly nondiff: readonly unknown[];
  readonly diff_trees: readonly TreeDef[];
}

interface CustomJvpParams extends CallParams {
  readonly jvp: Fn;
}

/** Evaluates a call's primal jaxpr on host tensors (the reference implementation of the call primitives). */
const runCall = (inputs: readonly HostTensor[], jaxpr: ClosedJaxpr): HostTensor[] =>
  evalClosedJaxpr(jaxpr, inputs.map((t, i) => arrayFromHost(t.data, jaxpr.inAvals[i] ?? new ShapedArray(t.shape, t.dtype)))).map((x) => ({
    shape: x.shape,
    dtype: x.dtype,
    data: x.dataSync(),
  }));

export const customVjpCallP = definePrimitive<CustomVjpParams>({
  name: "custom_vjp_call",
  multipleResults: true,
  abstractEval: (_avals, { call_jaxpr }) => call_jaxpr.outAvals,
  impl: (inputs, { call_jaxpr }) => runCall(inputs, call_jaxpr),
  formatParams: ({ name, bwd, call_jaxpr, fwd }) => ({ name, bwd: fnName(bwd), call_jaxpr, fwd: fnName(fwd), symbolic_zeros: "False" }),
});

export const customJvpCallP = definePrimitive<CustomJvpParams>({
  name: "custom_jvp_call",
  multipleResults: true,
  abstractEval: (_avals, { call_jaxpr }) => call_jaxpr.outAvals,
  impl: (inputs, { call_jaxpr }) => runCall(inputs, call_jaxpr),
  formatParams: ({ name, call_jaxpr, jvp }) => ({ name, call_jaxpr, jvp: fnName(jvp), symbolic_zeros: "False" }),
});

interface CustomLinParams {
  readonly num_res: number;
  readonly res_tree: TreeDef;
  readonly out_avals: readonly ShapedArray[];
  readonly call: CustomVjpParams;
}

/** The linear stand-in for a custom_vjp call's tangent map: only its transpose (bwd) can be evaluated. */
export const customLinP = definePrimitive<CustomLinParams>({
  name: "custom_lin",
  multipleResults: true,
  abstractEval: (_avals, { out_avals }) => out_avals.map((a) => a.strongly()),
  impl() {
    throw new WgjaxError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
  },
  formatParams: ({ num_res, call }) => ({ bwd: fnName(call.bwd), num_res: String(num_res) }),
});

/** Traces the primal function once per call; constants it closes over become leading operands. */
function stageCall(f: Fn, argsOf: (leaves: readonly unknown[]) => unknown[], leaves: Array[], name: string): { jaxpr: ClosedJaxpr; consts: Array[]; outTree: TreeDef } {
  const body = (...flat: unknown[]): unknown => call(f, argsOf(flat));
  Object.defineProperty(body, "name", { value: name });
  const { closed, outTree } = traceFlat(body as Fn, leaves, name);
  const jaxpr = constsAsInputs(closed);
  return { jaxpr, consts: [...closed.consts], outTree };
}

function noTangentOnConsts(name: string, tangents: readonly Tangent[], numConsts: number): void {
  if (tangents.slice(0, numConsts).some((t) => !(t instanceof Zero))) {
    throw new ArgumentError(`${name}: the function closes over a value that is being differentiated; pass that value as an argument instead`);
  }
}

export interface CustomVjpFunction<F extends Fn> {
  (...args: Parameters<F>): ReturnType<F>;
  /** `fwd(...args)` returns `[out, residuals]`; `bwd(...nondiffArgs, residuals, cotangent)` one cotangent (or null) per differentiable argument. */
  defvjp(fwd: Fn, bwd: Fn): CustomVjpFunction<F>;
}

export function customVjp<F extends Fn>(f: F, options: { nondiffArgnums?: readonly number[] } = {}): CustomVjpFunction<F> {
  const name = fnName(f);
  const nondiffNums = [...(options.nondiffArgnums ?? [])];
  let rule: { fwd: Fn; bwd: Fn } | undefined;
  const wrapped = ((...args: unknown[]) => {
    if (!rule) throw new ArgumentError(`customVjp(${name}): call defvjp(fwd, bwd) before calling the function`);
    const nondiff = nondiffNums.map((i) => {
      if (!(i >= 0 && i < args.length)) throw new ArgumentError(`customVjp(${name}): nondiffArgnums entry ${i} is out of range for ${args.length} arguments`);
      if (flatten(args[i])[0].some((x) => x instanceof Tracer)) {
        throw new ArgumentError(`customVjp(${name}): argument ${i} is in nondiffArgnums but is a traced value; nondiff arguments must be static`);
      }
      return args[i];
    });
    const diffPositions = args.map((_, i) => i).filter((i) => !nondiffNums.includes(i));
    const flats = diffPositions.map((i) => flatten(args[i]));
    const trees = flats.map(([, t]) => t);
    const leaves = flats.flatMap(([ls], k) => ls.map((x, j) => asArray(x, `customVjp(${name}): argument ${diffPositions[k]} leaf ${j}`)));
    const argsOf = (flat: readonly unknown[]): unknown[] => {
      const full = [...args];
      let offset = 0;
      diffPositions.forEach((pos, k) => {
        const n = trees[k]!.numLeaves;
        full[pos] = unflatten(trees[k]!, flat.slice(offset, offset + n));
        offset += n;
      });
      return full;
    };
    const { jaxpr, consts, outTree } = stageCall(f, argsOf, leaves, name);
    const params: CustomVjpParams = { name, call_jaxpr: jaxpr, num_consts: consts.length, args: argsOf, out_tree: outTree, fwd: rule.fwd, bwd: rule.bwd, nondiff, diff_trees: trees };
    return unflatten(outTree, bind(customVjpCallP, [...consts, ...leaves], params));
  }) as unknown as CustomVjpFunction<F>;
  wrapped.defvjp = (fwd, bwd) => {
    rule = { fwd, bwd };
    return wrapped;
  };
  Object.defineProperty(wrapped, "name", { value: name });
  return wrapped;
}

defJvp(customVjpCallP, (primals, tangents, params) => {
  noTangentOnConsts(`customVjp(${params.name})`, tangents, params.num_consts);
  const leaves = primals.slice(params.num_consts);
  const result = call(params.fwd, params.args(leaves));
  if (!globalThis.Array.isArray(result) || result.length !== 2) throw new ArgumentError(`customVjp(${params.name}): fwd must return [output, residuals]`);
  const [outLeaves, tree] = flatten(result[0]);
  if (!tree.equals(params.out_tree)) throw new ShapeError(`customVjp(${params.name}): fwd's output has structure ${tree.toString()}, the function's ${params.out_tree.toString()}`);
  const outs = outLeaves.map((x, i) => asArray(x, `customVjp(${params.name}): fwd output leaf ${i}`));
  outs.forEach((o, i) => {
    const want = params.call_jaxpr.outAvals[i]!;
    if (!o.aval.strongly().equals(want.strongly())) throw new ShapeError(`customVjp(${params.name}): fwd output ${i} is ${o.aval.toString()}, the function gives ${want.toString()}`);
  });
  const [resLeaves, resTree] = flatten(result[1]);
  const res = resLeaves.map((x, i) => asArray(x, `customVjp(${params.name}): residual leaf ${i}`));
  const tin = tangents.slice(params.num_consts).map((t, i) => (t instanceof Zero ? zerosLike(tangentAval(leaves[i]!.aval)) : t));
  const touts = bind(customLinP, [...res, ...tin], { num_res: res.length, res_tree: resTree, out_avals: outs.map((o) => o.aval), call: params });
  return [outs, touts.map((t, i) => (isFloat(outs[i]!.dtype) ? t : new Zero(tangentAval(outs[i]!.aval))))];
});

defTranspose(customLinP, (cotangents, inputs, { num_res, res_tree, out_avals, call: params }) => {
  const name = `customVjp(${params.name})`;
  const res = unflatten(res_tree, inputs.slice(0, num_res));
  const ct = unflatten(params.out_tree, cotangents.map((c, i) => (c instanceof Zero ? zerosLike(out_avals[i]!.strongly()) : c)));
  const result = call(params.bwd, [...params.nondiff, res, ct]);
  const expected = params.diff_trees.length;
  if (!globalThis.Array.isArray(result) || result.length !== expected) {
    const got = globalThis.Array.isArray(result) ? `${result.length} cotangents` : typeof result;
    throw new ShapeError(`${name}: bwd must return a list of ${expected} cotangents (one per differentiable argument), got ${got}`);
  }
  const linear = inputs.slice(num_res) as UndefPrimal[];
  const cts: Tangent[] = [];
  let offset = 0;
  result.forEach((r, k) => {
    const tree = params.diff_trees[k]!;
    const avals = linear.slice(offset, offset + tree.numLeaves).map((u) => u.aval);
    offset += tree.numLeaves;
    if (r === null || r === undefined) {
      avals.forEach((a) => cts.push(new Zero(a)));
      return;
    }
    const [leaves, t] = flatten(r);
    if (!t.equals(tree)) throw new ShapeError(`${name}: bwd's cotangent ${k} has structure ${t.toString()}, its argument ${tree.toString()}`);
    leaves.forEach((leaf, j) => {
      const c = asArray(leaf, `${name}: bwd cotangent ${k}`);
      if (!c.aval.strongly().equals(avals[j]!)) throw new ShapeError(`${name}: bwd's cotangent ${k} is ${c.aval.toString()}, but argument ${k} is ${avals[j]!.toString()}`);
      cts.push(c);
    });
  });
  return [...inputs.slice(0, num_res).map(() => null), ...cts];
});

export interface CustomJvpFunction<F extends Fn> {
  (...args: Parameters<F>): ReturnType<F>;
  /** `rule(primals, tangents)` (lists of the arguments) returns `[primalOut, tangentOut]`. */
  defjvp(rule: Fn): CustomJvpFunction<F>;
}

export function customJvp<F extends Fn>(f: F): CustomJvpFunction<F> {
  const name = fnName(f);
  let rule: Fn | undefined;
  const wrapped = ((...args: unknown[]) => {
    if (!rule) throw new ArgumentError(`customJvp(${name}): call defjvp(rule) before calling the function`);
    const [flat, tree] = flatten(args);
    const leaves = flat.map((x, i) => asArray(x, `customJvp(${name}): argument leaf ${i}`));
    const argsOf = (l: readonly unknown[]): unknown[] => unflatten(tree, l) as unknown[];
    const { jaxpr, consts, outTree } = stageCall(f, argsOf, leaves, name);
    return unflatten(outTree, bind(customJvpCallP, [...consts, ...leaves], { name, call_jaxpr: jaxpr, num_consts: consts.length, args: argsOf, out_tree: outTree, jvp: rule }));
  }) as unknown as CustomJvpFunction<F>;
  wrapped.defjvp = (r) => {
    rule = r;
    return wrapped;
  };
  Object.defineProperty(wrapped, "name", { value: name });
  return wrapped;
}

defJvp(customJvpCallP, (primals, tangents, params) => {
  noTangentOnConsts(`customJvp(${params.name})`, tangents, params.num_consts);
  const leaves = primals.slice(params.num_consts);
  const tleaves = tangents.slice(params.num_consts).map((t, i) => (t instanceof Zero ? zerosLike(tangentAval(leaves[i]!.aval)) : instantiate(t)));
  const result = call(params.jvp, [params.args(leaves), params.args(tleaves)]);
  if (!globalThis.Array.isArray(result) || result.length !== 2) throw new ArgumentError(`customJvp(${params.name}): the rule must return [primalOut, tangentOut]`);
  const [outs, outTree] = flatten(result[0]);
  const [touts, tTree] = flatten(result[1]);
  if (!outTree.equals(params.out_tree) || !tTree.equals(params.out_tree)) {
    throw new ShapeError(`customJvp(${params.name}): the rule's outputs have structures ${outTree.toString()} and ${tTree.toString()}, the function's ${params.out_tree.toString()}`);
  }
  const primalOut = outs.map((x, i) => asArray(x, `customJvp(${params.name}): primal output ${i}`));
  const tangentOut = touts.map((x, i) => {
    const t = asArray(x, `customJvp(${params.name}): tangent output ${i}`);
    if (!t.aval.strongly().equals(primalOut[i]!.aval.strongly())) throw new ShapeError(`customJvp(${params.name}): tangent output ${i} is ${t.aval.toString()}, the primal ${primalOut[i]!.aval.toString()}`);
    return t;
  });
  return [primalOut, tangentOut];
});
