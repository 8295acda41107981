/**
 * Token routing for a mixture-of-experts layer (spec §H, MaxText's `sparse_matmul` pipeline): gate logits →
 * softmax over the top-k logits of each token (optionally renormalized), a load-balancing auxiliary loss, and
 * the permutation that sorts the T·K (token, choice) rows by expert — stable, so ties keep token order — with
 * the group sizes of the sorted rows. Sorting and unsorting are gathers whose VJPs are gathers by the inverse
 * permutation (MaxText's `_sort_activations`), not scatter-adds.
 */
import type { Array } from "../../core/array.js";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors.js";
import { customVjp } from "../../vjp/custom.js";
import * as lax from "../lax/api.js";
import * as nn from "../nn/index.js";
import * as np from "../numpy/index.js";

export interface Routing {
  /** [T, K] routing weights of each token's chosen experts (float32). */
  readonly weights: Array;
  /** [T, K] int32: the chosen experts, best first. */
  readonly experts: Array;
  /** [T·K] int32: row r of the expert-sorted order is (token, choice) row perm[r] of the flattened [T, K]. */
  readonly perm: Array;
  /** [E] int32: rows per expert in the sorted order (they sum to T·K: no token is dropped). */
  readonly groupSizes: Array;
  /** The load-balancing loss E · Σ_e f_e · P_e (f_e: fraction of the T·K assignments to e; P_e: mean router probability), 1 when balanced. */
  readonly auxLoss: Array;
}

/** Routes tokens by their gate logits `[T, E]` to `topK` experts each. */
export function route(logits: Array, topK: number, { normalize = false }: { normalize?: boolean } = {}): Routing {
  if (logits.ndim !== 2) throw new ShapeError(`route: logits must be [tokens, experts], got shape ${fmtShape(logits.shape)}`);
  const [tokens, experts] = logits.shape as [number, number];
  if (!Number.isInteger(topK) || topK < 1 || topK > experts) throw new ArgumentError(`route: topK must be an integer in [1, ${experts}] (the number of experts), got ${topK}`);
  const gate = logits.dtype === "float64" ? logits : lax.convertElementType(logits, "float32");
  const [top, chosen] = lax.topK(gate, topK);
  let weights = nn.softmax(top, -1);
  if (normalize) weights = lax.div(weights, np.sum(weights, { axis: -1, keepdims: true }));
  const flat = lax.reshape(chosen, [tokens * topK]);
  const perm = np.argsort(flat);
  const groupSizes = np.bincount(flat, { length: experts });
  const fraction = lax.div(lax.convertElementType(groupSizes, gate.dtype), tokens * topK);
  const meanProbability = np.mean(nn.softmax(gate, -1), { axis: 0 });
  const auxLoss = lax.mul(np.sum(lax.mul(lax.stopGradient(fraction), meanProbability)), experts);
  return { weights, experts: chosen, perm, groupSizes, auxLoss };
}

/** Rows of `x` at `indices`, differentiated as a gather by `inverse` (the inverse permutation), not a scatter-add. */
const sortRows = customVjp(function sort_activations(rows: Array, indices: Array, _inverse: Array) {
  return np.take(rows, indices, { axis: 0 });
}).defvjp(
  (rows: Array, indices: Array, inverse: Array) => [np.take(rows, indices, { axis: 0 }), inverse],
  (inverse: Array, g: Array) => [np.take(g, inverse, { axis: 0 }), null, null],
);

const permuteRows = (x: Array, indices: Array, inverse: Array): Array => sortRows(x, indices, inverse) as Array;

/** `x [T, D]` repeated K times per token and sorted by expert: `[T·K, D]`, row r holding token perm[r] / K. */
export function permute(x: Array, perm: Array, topK: number): Array {
  const [tokens, width] = x.shape as [number, number];
  const repeated = lax.reshape(lax.broadcastInDim(x, [tokens, topK, width], [0, 2]), [tokens * topK, width]);
  return permuteRows(repeated, perm, np.argsort(perm));
}

/** The expert outputs `y [T·K, D]` back in (token, choice) order, combined with the routing weights: `[T, D]`. */
export function unpermute(y: Array, perm: Array, weights: Array): Array {
  const [tokens, topK] = weights.shape as [number, number];
  const width = y.shape[1]!;
  const unsorted = lax.reshape(permuteRows(y, np.argsort(perm), perm), [tokens, topK, width]);
  return lax.reduceSum(lax.mul(unsorted, lax.broadcastInDim(lax.convertElementType(weights, y.dtype), [tokens, topK, width], [0, 1])), [1]);
}
