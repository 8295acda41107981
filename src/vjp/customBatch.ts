/**
 * Batching rules (vmap) of `custom_vjp_call` and `custom_jvp_call`, as JAX's: the primal jaxpr is batched, and
 * the user's fwd/bwd (or jvp) rule is replaced by its vmap, so differentiating the batched call runs the
 * user's rule once on the whole batch. Arguments vmap did not map get cotangents summed over the batch.
 */
import type { Array } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";
import { TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray } from "../trace/args.js";
import { bind } from "../trace/trace.js";
import { type BatchDim, batchJaxpr, defBatch, moveBatchAxis, sumBatch, vmapFlat } from "../vmap/batching.js";
import { zerosLike } from "./ad.js";
import { customJvpCallP, customLinP, customVjpCallP } from "./custom.js";

type Fn = (...args: never[]) => unknown;
const call = (f: Fn, args: unknown[]): unknown => (f as unknown as (...a: unknown[]) => unknown)(...args);
const LEAF = new TreeDef("leaf");

/** The operands after the closed-over constants, batched at the front or not at all. */
function splitOperands(kind: string, name: string, args: readonly Array[], dims: readonly BatchDim[], numConsts: number, size: number) {
  if (dims.slice(0, numConsts).some((d) => d !== null)) {
    throw new ArgumentError(`${kind}(${name}) under vmap: the function closes over a batched value; pass that value as an argument instead`);
  }
  const leafDims = dims.slice(numConsts).map((d) => (d === null ? null : 0));
  const leaves = args.slice(numConsts).map((x, i) => (leafDims[i] === null ? x : moveBatchAxis(x, dims[numConsts + i]!, 0, size)));
  return { consts: args.slice(0, numConsts), leaves, leafDims };
}

const leavesOf = (tree: unknown, what: string): Array[] => flatten(tree)[0].map((x, i) => asArray(x, `${what} leaf ${i}`));

/** Runs `f` under vmap and returns its results batched at the front. */
function mappedAtFront(f: (...xs: Array[]) => Array[], vals: readonly Array[], dims: readonly BatchDim[], size: number, name: string): Array[] {
  const [outs, outDims] = vmapFlat(f, vals, dims, size, name);
  return outs.map((o, i) => moveBatchAxis(o, outDims[i]!, 0, size));
}

defBatch(customVjpCallP, (args, dims, params, size) => {
  const { name } = params;
  const { consts, leaves, leafDims } = splitOperands("customVjp", name, args, dims, params.num_consts, size);
  const inDims = [...consts.map(() => null), ...leafDims];
  const { jaxpr } = batchJaxpr(params.call_jaxpr, inDims, size, true, name);
  const numOut = params.call_jaxpr.outAvals.length;
  let resTree: TreeDef | undefined;
  let numRes = 0;
  const fwd = (...flat: Array[]): unknown => {
    const outs = mappedAtFront(
      (...ls) => {
        const result = call(params.fwd, params.args(ls));
        if (!globalThis.Array.isArray(result) || result.length !== 2) throw new ArgumentError(`customVjp(${name}): fwd must return [output, residuals]`);
        const [resLeaves, tree] = flatten(result[1]);
        resTree = tree;
        numRes = resLeaves.length;
        return [...leavesOf(result[0], `customVjp(${name}): fwd output`), ...resLeaves.map((x, i) => asArray(x, `customVjp(${name}): residual leaf ${i}`))];
      },
      flat,
      leafDims,
      size,
      name,
    );
    return [unflatten(params.out_tree, outs.slice(0, numOut)), outs.slice(numOut, numOut + numRes)];
  };
  const leafAvals = params.call_jaxpr.inAvals.slice(params.num_consts);
  const bwd = (res: Array[], ct: unknown): Array[] => {
    const cts = leavesOf(ct, `customVjp(${name}): cotangent`);
    const batched = mappedAtFront(
      (...xs) => {
        const result = call(params.bwd, [...params.nondiff, unflatten(resTree!, xs.slice(0, res.length)), unflatten(params.out_tree, xs.slice(res.length))]);
        if (!globalThis.Array.isArray(result) || result.length !== params.diff_trees.length) {
          throw new ArgumentError(`customVjp(${name}): bwd must return a list of ${params.diff_trees.length} cotangents (one per differentiable argument)`);
        }
        let offset = 0;
        return result.flatMap((r, k) => {
          const n = params.diff_trees[k]!.numLeaves;
          const avals = leafAvals.slice(offset, offset + n);
          offset += n;
          return r === null || r === undefined ? avals.map((a) => zerosLike(a.strongly())) : leavesOf(r, `customVjp(${name}): bwd cotangent ${k}`);
        });
      },
      [...res, ...cts],
      [...res.map(() => 0), ...cts.map(() => 0)],
      size,
      name,
    );
    return batched.map((c, i) => (leafDims[i] === null ? sumBatch(c, 0, size) : c));
  };
  Object.defineProperty(fwd, "name", { value: `vmap(${(params.fwd as Fn).name || "fwd"})` });
  Object.defineProperty(bwd, "name", { value: `vmap(${(params.bwd as Fn).name || "bwd"})` });
  const batchedParams = { ...params, call_jaxpr: jaxpr, args: (ls: readonly unknown[]) => [...ls], fwd, bwd, nondiff: [], diff_trees: leaves.map(() => LEAF) };
  const outs = bind(customVjpCallP, [...consts, ...leaves], batchedParams);
  return [outs, outs.map(() => 0)];
});

defBatch(customJvpCallP, (args, dims, params, size) => {
  const { name } = params;
  const { consts, leaves, leafDims } = splitOperands("customJvp", name, args, dims, params.num_consts, size);
  const { jaxpr } = batchJaxpr(params.call_jaxpr, [...consts.map(() => null), ...leafDims], size, true, name);
  const numOut = params.call_jaxpr.outAvals.length;
  const jvp = (primals: Array[], tangents: Array[]): unknown => {
    const outs = mappedAtFront(
      (...xs) => {
        const result = call(params.jvp, [params.args(xs.slice(0, primals.length)), params.args(xs.slice(primals.length))]);
        if (!globalThis.Array.isArray(result) || result.length !== 2) throw new ArgumentError(`customJvp(${name}): the rule must return [primalOut, tangentOut]`);
        return [...leavesOf(result[0], `customJvp(${name}): primal output`), ...leavesOf(result[1], `customJvp(${name}): tangent output`)];
      },
      [...primals, ...tangents],
      [...leafDims, ...leafDims],
      size,
      name,
    );
    return [unflatten(params.out_tree, outs.slice(0, numOut)), unflatten(params.out_tree, outs.slice(numOut))];
  };
  Object.defineProperty(jvp, "name", { value: `vmap(${(params.jvp as Fn).name || "jvp"})` });
  const outs = bind(customJvpCallP, [...consts, ...leaves], { ...params, call_jaxpr: jaxpr, args: (ls: readonly unknown[]) => [...ls], jvp });
  return [outs, outs.map(() => 0)];
});

/** custom_lin only exists to be transposed (vmap of a backward pass transposes it with batched values). */
defBatch(customLinP, () => {
  throw new ArgumentError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.");
});
