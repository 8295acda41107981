/**
 * The user-facing transformations: jvp, linearize, vjp, grad, valueAndGrad, jacfwd, jacrev, hessian.
 * All come from the same rules: JVP rules per primitive, partial evaluation to split the linear part, and
 * transpose rules to run it backwards.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, scalarArray } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { ArgumentError, DTypeError, ShapeError, fmtShape } from "../core/errors.js";
import { type TreeDef, flatten, unflatten } from "../core/tree.js";
import { asArray } from "../trace/args.js";
import { type ClosedJaxpr, evalClosedJaxpr } from "../trace/jaxpr.js";
import { type MainTrace, newMain } from "../trace/trace.js";
import { JVPTrace, JVPTracer, type Tangent, UndefPrimal, Zero, instantiate, tangentAval, zerosLike } from "./ad.js";
import { vmap } from "../vmap/api.js";
import { basis } from "./jacobian.js";
import { PartialVal, partialEvalFlat } from "./partial.js";
import { backwardPass } from "./transpose.js";

type Fn = (...args: never[]) => unknown;
const call = (f: Fn, args: unknown[]): unknown => (f as unknown as (...a: unknown[]) => unknown)(...args);

/** Flat JVP: primals and tangents in, primals and tangents out (tangents may be symbolic zeros). */
export function jvpFlat(f: (...xs: Array[]) => Array[], primals: readonly Array[], tangents: readonly Tangent[], name: string): [Array[], Tangent[]] {
  return newMain(JVPTrace, null, name, (main: MainTrace) => {
    const trace = new JVPTrace(main);
    const inputs = primals.map((p, i) => new JVPTracer(trace, p, tangents[i]!));
    const outs = f(...inputs).map((x) => (x instanceof JVPTracer && x.trace.main === main ? x : trace.pure(x)));
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)];
  });
}

/** A pytree function as a flat one, recording the output structure. */
function flatten1(f: Fn, inTree: TreeDef, name: string): { fn: (...xs: Array[]) => Array[]; outTree: () => TreeDef } {
  let outTree: TreeDef | undefined;
  return {
    fn: (...xs) => {
      const [leaves, tree] = flatten(call(f, unflatten(inTree, xs) as unknown[]));
      outTree = tree;
      return leaves.map((x, i) => asArray(x, `${name}: output leaf ${i}`));
    },
    outTree: () => outTree!,
  };
}

const leavesOf = (tree: unknown, name: string): [Array[], TreeDef] => {
  const [leaves, def] = flatten(tree);
  return [leaves.map((x, i) => asArray(x, `${name}: leaf ${i}`)), def];
};

/** `jvp(f, primals, tangents)` → `[primalsOut, tangentsOut]` (pytrees like f's output). */
export function jvp(f: Fn, primals: readonly unknown[], tangents: readonly unknown[]): [unknown, unknown] {
  const name = f.name || "<lambda>";
  const [xs, inTree] = leavesOf(primals, "jvp: primals");
  const [ts, tTree] = leavesOf(tangents, "jvp: tangents");
  if (!tTree.equals(inTree)) throw new ShapeError(`jvp: primals ${inTree.toString()} and tangents ${tTree.toString()} must have the same structure`);
  ts.forEach((t, i) => {
    const want = tangentAval(xs[i]!.aval);
    if (isFloat(want.dtype) && !t.aval.strongly().equals(want)) {
      throw new ShapeError(`jvp: tangent ${i} has type ${t.aval.toString()}, but its primal has ${xs[i]!.aval.toString()}`);
    }
  });
  const { fn, outTree } = flatten1(f, inTree, name);
  const [outs, touts] = jvpFlat(fn, xs, ts.map((t, i) => (isFloat(xs[i]!.dtype) ? t : new Zero(tangentAval(xs[i]!.aval)))), name);
  return [unflatten(outTree(), outs), unflatten(outTree(), touts.map(instantiate))];
}

interface Linearized {
  primalsOut: Array[];
  outTree: TreeDef;
  inTree: TreeDef;
  inAvals: ShapedArray[];
  /** Linear jaxpr from the input tangents to the output tangents (zeros for outputs that depend on nothing). */
  linear: ClosedJaxpr;
  /** For each output: whether its tangent is symbolically zero (then the jaxpr has no output for it). */
  zeroOut: boolean[];
}

function linearizeFlat(f: Fn, primals: readonly unknown[], name: string): Linearized {
  const [xs, inTree] = leavesOf(primals, `${name}: primals`);
  const { fn, outTree } = flatten1(f, inTree, name);
  const n = xs.length;
  const zeroOut: boolean[] = [];
  const jvpOfF = (...args: Array[]): Array[] => {
    const tangents = args.slice(n).map((t, i) => (isFloat(xs[i]!.dtype) ? t : new Zero(tangentAval(xs[i]!.aval))));
    const [outs, touts] = jvpFlat(fn, args.slice(0, n), tangents, name);
    touts.forEach((t, i) => (zeroOut[i] = t instanceof Zero));
    return [...outs, ...touts.filter((t): t is Array => !(t instanceof Zero))];
  };
  const pvals = [...xs.map((x) => PartialVal.known(x)), ...xs.map((x) => PartialVal.unknown(tangentAval(x.aval)))];
  const { outs, jaxpr } = partialEvalFlat(jvpOfF, pvals, name);
  const numOut = zeroOut.length;
  const primalsOut = outs.slice(0, numOut).map((p, i) => {
    if (!p.isKnown) throw new ArgumentError(`${name}: primal output ${i} depends on a tangent (a JVP rule mixes primal and tangent values)`);
    return p.known!;
  });
  return { primalsOut, outTree: outTree(), inTree, inAvals: xs.map((x) => x.aval), linear: jaxpr, zeroOut };
}

/** Runs the linear jaxpr on input tangents; symbolic-zero outputs are instantiated. */
function applyLinear(lin: Linearized, tangents: Array[]): Array[] {
  const outs = evalClosedJaxpr(lin.linear, tangents);
  let k = 0;
  return lin.zeroOut.map((z, i) => (z ? zerosLike(tangentAval(lin.primalsOut[i]!.aval)) : outs[k++]!));
}

/** `linearize(f, ...primals)` → `[primalsOut, fJvp]` where `fJvp(...tangents)` is the linear map (evaluated without re-running f). */
export function linearize(f: Fn, ...primals: unknown[]): [unknown, (...tangents: unknown[]) => unknown] {
  const name = f.name || "<lambda>";
  const lin = linearizeFlat(f, primals, name);
  const fJvp = (...tangents: unknown[]): unknown => {
    const [ts] = leavesOf(tangents, "linearize: tangents");
    if (ts.length !== lin.inAvals.length) throw new ArgumentError(`linearize: expected ${lin.inAvals.length} tangent leaves, got ${ts.length}`);
    return unflatten(lin.outTree, applyLinear(lin, ts));
  };
  return [unflatten(lin.outTree, lin.primalsOut), fJvp];
}

/**
 * `vjp(f, ...primals)` → `[primalsOut, vjpFn]`; `vjpFn(cotangent)` (a pytree like the output) returns one
 * cotangent per argument. Integer and bool arguments get zeros of their own shape and dtype (JAX's float0
 * zeros; wgjax has no float0 dtype).
 */
export function vjp(f: Fn, ...primals: unknown[]): [unknown, (cotangent: unknown) => unknown[]] {
  const name = f.name || "<lambda>";
  const lin = linearizeFlat(f, primals, name);
  const vjpFn = (cotangent: unknown): unknown[] => {
    const [cts, ctTree] = leavesOf(cotangent, "vjp: cotangent");
    if (!ctTree.equals(lin.outTree)) throw new ShapeError(`vjp: the cotangent has structure ${ctTree.toString()}, the output ${lin.outTree.toString()}`);
    cts.forEach((c, i) => {
      const want = tangentAval(lin.primalsOut[i]!.aval);
      if (!c.aval.strongly().equals(want)) throw new ShapeError(`vjp: cotangent ${i} has type ${c.aval.toString()}, the output has ${want.toString()}`);
    });
    const linearCts = cts.filter((_, i) => !lin.zeroOut[i]);
    const inCts = backwardPass(lin.linear.jaxpr, lin.linear.consts, lin.inAvals.map((a) => new UndefPrimal(tangentAval(a))), linearCts);
    const results = inCts.map((c, i) => (isFloat(lin.inAvals[i]!.dtype) ? instantiate(c) : zerosLike(lin.inAvals[i]!.strongly())));
    return unflatten(lin.inTree, results) as unknown[];
  };
  return [unflatten(lin.outTree, lin.primalsOut), vjpFn];
}

export interface GradOptions {
  /** Which positional arguments to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
  /** f returns `[value, aux]`; aux is returned alongside, not differentiated. */
  hasAux?: boolean;
  /** Allow integer arguments (their gradients are zeros); JAX raises otherwise. */
  allowInt?: boolean;
}

/** `valueAndGrad(f, options)(...args)` → `[value, grad]` (`[[value, aux], grad]` with hasAux). */
export function valueAndGrad(f: Fn, options: GradOptions = {}): (...args: unknown[]) => [unknown, unknown] {
  const name = f.name || "<lambda>";
  const argnums = options.argnums ?? 0;
  const nums = typeof argnums === "number" ? [argnums] : [...argnums];
  return (...args: unknown[]) => {
    for (const i of nums) {
      if (!(i >= 0 && i < args.length)) throw new ArgumentError(`grad(${name}): argnums ${i} is out of range for ${args.length} positional arguments`);
      if (!options.allowInt) {
        for (const leaf of flatten(args[i])[0]) {
          const a = asArray(leaf, `grad(${name}): argument ${i}`);
          if (!isFloat(a.dtype)) {
            throw new DTypeError(
              `grad requires real-valued inputs (input dtype that is a floating dtype), but got ${a.dtype} for argument ${i}. ` +
                "If you want to use integer- or bool-valued inputs, use vjp or set allowInt to true.",
            );
          }
        }
      }
    }
    // With aux, f's [value, aux] are both outputs of the VJP (so aux comes out concrete); aux gets zero cotangents.
    const wrt = (...diff: unknown[]): unknown => {
      const full = [...args];
      nums.forEach((n, k) => (full[n] = diff[k]));
      const out = call(f, full);
      if (options.hasAux && (!globalThis.Array.isArray(out) || out.length !== 2)) throw new ArgumentError(`grad(${name}) with hasAux: f must return [value, aux]`);
      return options.hasAux ? out : [out, null];
    };
    Object.defineProperty(wrt, "name", { value: name });
    const [outs, pullback] = vjp(wrt, ...nums.map((n) => args[n]));
    const [value, aux] = outs as [unknown, unknown];
    if (!(value instanceof Array) || value.ndim !== 0) {
      const shape = value instanceof Array ? fmtShape(value.shape) : typeof value;
      throw new ShapeError(`Gradient only defined for scalar-output functions. Output had shape: ${shape}`);
    }
    if (!isFloat(value.dtype)) {
      throw new DTypeError(`grad requires real-valued outputs (output dtype that is a floating dtype), but got ${value.dtype}. For differentiation of non-differentiable functions use vjp`);
    }
    const [auxLeaves, auxTree] = flatten(aux);
    const auxZeros = unflatten(auxTree, auxLeaves.map((leaf) => zerosLike(asArray(leaf, `grad(${name}): aux`).aval.strongly())));
    const grads = pullback([scalarArray(1, value.dtype), auxZeros]);
    const g = typeof argnums === "number" ? grads[0] : grads;
    return [options.hasAux ? [value, aux] : value, g];
  };
}

/** `grad(f, options)(...args)`: the gradient of a scalar function (with aux: `[grad, aux]`). */
export function grad(f: Fn, options: GradOptions = {}): (...args: unknown[]) => unknown {
  const vg = valueAndGrad(f, options);
  return (...args) => {
    const [value, g] = vg(...args);
    return options.hasAux ? [g, (value as unknown[])[1]] : g;
  };
}


/** Forward-mode Jacobian of a single-array function: shape out.shape + in.shape (JAX's: vmap of jvp over the basis). */
export function jacfwd(f: Fn, options: { argnums?: number } = {}): (...args: unknown[]) => Array {
  const argnum = options.argnums ?? 0;
  return (...args) => {
    const x = asArray(args[argnum], "jacfwd: argument");
    const pushforward = (t: Array): Array => {
      const tangents = args.map((a, i) => (i === argnum ? t : zerosLike(asArray(a, "jacfwd: argument").aval.strongly())));
      return asArray(jvp(f, args.map((a, i) => (i === argnum ? x : a)), tangents)[1], "jacfwd: output");
    };
    const columns = vmap(pushforward, { outAxes: -1 })(basis(x, "jacfwd"));
    return columns.reshape([...columns.shape.slice(0, -1), ...x.shape]);
  };
}

/** Reverse-mode Jacobian of a single-array function: shape out.shape + in.shape (JAX's: vmap of the VJP over the basis). */
export function jacrev(f: Fn, options: { argnums?: number } = {}): (...args: unknown[]) => Array {
  const argnum = options.argnums ?? 0;
  return (...args) => {
    const wrt = (x: unknown): unknown => call(f, args.map((a, i) => (i === argnum ? x : a)));
    const [y, pullback] = vjp(wrt as Fn, args[argnum]);
    const out = asArray(y, "jacrev: output");
    const rows = vmap((ct: Array) => asArray(pullback(ct)[0], "jacrev: gradient"))(basis(out, "jacrev"));
    return rows.reshape([...out.shape, ...rows.shape.slice(1)]);
  };
}

/** The Hessian: jacfwd of jacrev. */
export const hessian = (f: Fn, options: { argnums?: number } = {}): ((...args: unknown[]) => Array) => jacfwd(jacrev(f, options), options);
