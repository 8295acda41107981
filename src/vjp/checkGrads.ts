/**
 * `checkGrads`: compares JVPs and VJPs of a function against central finite differences, in float64 on the
 * reference interpreter, like `jax.test_util.check_grads`. Users call it in their own tests.
 */
import { ShapedArray } from "../core/aval.js";
import { Array, arrayFromHost } from "../core/array.js";
import { isFloat } from "../core/dtype.js";
import { WgjaxError } from "../core/errors.js";
import { flatten, unflatten } from "../core/tree.js";
import { asArray } from "../trace/args.js";
import { jvp, vjp } from "./api.js";

export interface CheckGradsOptions {
  /** Highest derivative order to check (1 or more). */
  order?: number;
  modes?: readonly ("fwd" | "rev")[];
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random tangent and cotangent directions. */
  seed?: number;
}

export class GradientCheckError extends WgjaxError {}

type Fn = (...args: never[]) => unknown;
const call = (f: Fn, args: unknown[]): unknown => (f as unknown as (...a: unknown[]) => unknown)(...args);

/** Deterministic normal samples (mulberry32 + Box–Muller). */
function sampler(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const toFloat64 = (tree: unknown): unknown => {
  const [leaves, def] = flatten(tree);
  return unflatten(def, leaves.map((x) => (x instanceof Array && isFloat(x.dtype) ? x.astype("float64") : x)));
};

/** A random tree like `tree` (float leaves only; others get zeros of their dtype). */
function randomLike(tree: unknown, next: () => number): unknown {
  const [leaves, def] = flatten(tree);
  return unflatten(
    def,
    leaves.map((x) => {
      const a = asArray(x, "checkGrads");
      const data = new Float64Array(a.size);
      if (isFloat(a.dtype)) for (let i = 0; i < data.length; i++) data[i] = next();
      return arrayFromHost(data, new ShapedArray(a.shape, "float64")).astype(isFloat(a.dtype) ? "float64" : a.dtype);
    }),
  );
}

const floatLeaves = (tree: unknown): Array[] => flatten(tree)[0].map((x) => asArray(x, "checkGrads")).filter((a) => isFloat(a.dtype));
const axpy = (alpha: number, x: unknown, y: unknown): unknown => {
  const [xs, def] = flatten(x);
  const [ys] = flatten(y);
  return unflatten(def, xs.map((v, i) => (v instanceof Array && isFloat(v.dtype) ? (ys[i] as Array).mul(alpha).add(v) : v)));
};
const vdot = (x: unknown, y: unknown): number => {
  const xs = floatLeaves(x);
  const ys = floatLeaves(y);
  return xs.reduce((s, a, i) => s + Number(a.mul(ys[i]!).sum()), 0);
};

function compare(what: string, actual: unknown, expected: unknown, atol: number, rtol: number): void {
  const a = floatLeaves(actual);
  const e = floatLeaves(expected);
  let worst: { leaf: number; index: number; got: number; want: number; excess: number } | undefined;
  a.forEach((leaf, k) => {
    const got = leaf.dataSync();
    const want = e[k]!.dataSync();
    for (let i = 0; i < got.length; i++) {
      const err = Math.abs(got[i]! - want[i]!);
      const allowed = atol + rtol * Math.abs(want[i]!);
      const excess = Number.isNaN(err) ? Infinity : err - allowed;
      if (excess > 0 && (!worst || excess > worst.excess)) worst = { leaf: k, index: i, got: got[i]!, want: want[i]!, excess };
    }
  });
  if (worst) {
    throw new GradientCheckError(
      `checkGrads: ${what} differs from finite differences at output leaf ${worst.leaf}, element ${worst.index}: ` +
        `got ${worst.got}, expected ${worst.want} (|difference| ${Math.abs(worst.got - worst.want)}, tolerance atol ${atol} + rtol ${rtol}·|expected|)`,
    );
  }
}

/** Checks first (and with `order` 2, second) derivatives of `f` at `args` in forward and/or reverse mode. */
export function checkGrads(f: Fn, args: readonly unknown[], options: CheckGradsOptions = {}): void {
  const order = options.order ?? 2;
  const modes = options.modes ?? ["fwd", "rev"];
  const eps = options.eps ?? 1e-4;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-5;
  const next = sampler(options.seed ?? 0);
  const x = toFloat64([...args]) as unknown[];
  const t = randomLike(x, next) as unknown[];
  const fd = (): unknown => {
    const plus = call(f, axpy(eps, x, t) as unknown[]);
    const minus = call(f, axpy(-eps, x, t) as unknown[]);
    return scaleDifference(plus, minus, 1 / (2 * eps));
  };
  if (modes.includes("fwd")) {
    const [, tangentOut] = jvp(f, x, t);
    compare("the JVP", tangentOut, fd(), atol, rtol);
  }
  if (modes.includes("rev")) {
    const [out, pullback] = vjp(f, ...x);
    const c = randomLike(out, next);
    const ct = pullback(c);
    const lhs = vdot(t, ct);
    const rhs = vdot(fd(), c);
    if (!(Math.abs(lhs - rhs) <= atol + rtol * Math.abs(rhs))) {
      throw new GradientCheckError(`checkGrads: the VJP does not match finite differences: <t, vjp(c)> = ${lhs}, <jvp_fd(t), c> = ${rhs} (tolerance atol ${atol} + rtol ${rtol}·|expected|)`);
    }
  }
  if (order > 1) {
    const rest = { ...options, order: order - 1, seed: (options.seed ?? 0) + 1 };
    if (modes.includes("fwd")) checkGrads(((...xs: unknown[]) => jvp(f, xs, t)[1]) as Fn, x, rest);
    if (modes.includes("rev")) {
      const c = randomLike(call(f, x), next);
      checkGrads(((...xs: unknown[]) => vjp(f, ...xs)[1](c)) as Fn, x, rest);
    }
  }
}

function scaleDifference(plus: unknown, minus: unknown, scale: number): unknown {
  const [ps, def] = flatten(plus);
  const [ms] = flatten(minus);
  return unflatten(def, ps.map((p, i) => (p instanceof Array && isFloat(p.dtype) ? p.sub(ms[i] as Array).mul(scale) : p)));
}
