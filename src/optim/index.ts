/**
 * `optim`: gradient-descent optimizers as pure functions over pytrees of parameters (optax's shape): `init(params)`
 * gives the optimizer state, `update(grads, state, params)` the new parameters and state. Nothing is mutated and
 * every quantity is an Array (the step count too), so a whole training step, update included, runs under `jit`.
 */
import type { Array } from "../core/array.js";
import { ArgumentError } from "../core/errors.js";
import { map } from "../core/tree.js";
import * as lax from "../ops/lax/api.js";

export interface Optimizer<S> {
  init(params: unknown): S;
  /** The updated parameters (the same pytree structure) and state. */
  update(grads: unknown, state: S, params: unknown): [unknown, S];
}

const each = (fn: (...xs: Array[]) => Array, tree: unknown, ...rest: unknown[]): unknown => map(fn as (...xs: never[]) => unknown, tree, ...rest);
const zerosLike = (x: Array): Array => lax.broadcast(lax.convertElementType(0, x.dtype), x.shape);

function checkRate(name: string, learningRate: number): void {
  if (!(typeof learningRate === "number" && learningRate > 0 && Number.isFinite(learningRate))) throw new ArgumentError(`${name}: learningRate must be a positive number, got ${learningRate}`);
}

export interface SgdState {
  /** The velocity of each parameter (zeros without momentum). */
  readonly velocity: unknown;
}

/** Stochastic gradient descent: p ← p − lr·v with v ← momentum·v + g (plain descent with momentum 0). */
export function sgd(learningRate: number, { momentum = 0 }: { momentum?: number } = {}): Optimizer<SgdState> {
  checkRate("sgd", learningRate);
  if (!(momentum >= 0 && momentum < 1)) throw new ArgumentError(`sgd: momentum must lie in [0, 1), got ${momentum}`);
  return {
    init: (params) => ({ velocity: each(zerosLike, params) }),
    update(grads, state, params) {
      const velocity = each((v, g) => (momentum === 0 ? g : lax.add(lax.mul(v, momentum), g)), state.velocity, grads);
      return [each((p, v) => lax.sub(p, lax.mul(v, learningRate)), params, velocity), { velocity }];
    },
  };
}

export interface AdamState {
  /** Steps taken so far (int32 scalar). */
  readonly count: Array;
  readonly mu: unknown;
  readonly nu: unknown;
}

/** Adam (Kingma & Ba), with bias correction, as optax's `adam`. */
export function adam(learningRate: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8 }: { b1?: number; b2?: number; eps?: number } = {}): Optimizer<AdamState> {
  checkRate("adam", learningRate);
  for (const [name, b] of [["b1", b1], ["b2", b2]] as const) if (!(b >= 0 && b < 1)) throw new ArgumentError(`adam: ${name} must lie in [0, 1), got ${b}`);
  return {
    init: (params) => ({ count: lax.convertElementType(0, "int32"), mu: each(zerosLike, params), nu: each(zerosLike, params) }),
    update(grads, state, params) {
      const count = lax.add(state.count, 1);
      const t = lax.convertElementType(count, "float32");
      const mu = each((m, g) => lax.add(lax.mul(m, b1), lax.mul(g, 1 - b1)), state.mu, grads);
      const nu = each((v, g) => lax.add(lax.mul(v, b2), lax.mul(lax.square(g), 1 - b2)), state.nu, grads);
      const correction1 = lax.sub(1, lax.pow(lax.convertElementType(b1, "float32"), t));
      const correction2 = lax.sub(1, lax.pow(lax.convertElementType(b2, "float32"), t));
      const step = (p: Array, m: Array, v: Array): Array => {
        const mHat = lax.div(m, lax.convertElementType(correction1, m.dtype));
        const vHat = lax.div(v, lax.convertElementType(correction2, v.dtype));
        return lax.sub(p, lax.mul(lax.div(mHat, lax.add(lax.sqrt(vHat), eps)), learningRate));
      };
      return [each(step, params, mu, nu), { count, mu, nu }];
    },
  };
}
