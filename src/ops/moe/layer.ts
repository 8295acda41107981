/**
 * The mixture-of-experts feed-forward layer (spec §H): route each token to its top-k experts, sort the (token,
 * choice) rows by expert, three grouped matmuls (`w0` and `w1` with SwiGLU between, then `wo`) on the backend
 * `sparseMatmul` picks, unsort and combine with the routing weights. `sparseMatmul` is the one place that picks
 * a backend and wraps it with quantization — two lines, no branch per backend. `denseMoeLayer` computes the
 * same layer with a dense per-expert loop of dot_general and masks: the reference the sparse one is tested
 * against.
 */
import type { Array } from "../../core/array.js";
import { ArgumentError, ShapeError, fmtShape } from "../../core/errors.js";
import { type QuantRule, quantized } from "../../quant/index.js";
import { type GmmBackend, type Tiling, getGmmBackend, gmm } from "../gmm/index.js";
import * as lax from "../lax/api.js";
import * as nn from "../nn/index.js";
import { permute, route, unpermute } from "./routing.js";

export interface MoeConfig {
  readonly numExperts: number;
  /** Experts per token. */
  readonly topK: number;
  /** The gmm backend: a registered name or a backend object; "reference" by default. */
  readonly backend?: string | GmmBackend;
  /** Quantization of the expert products (`quant.quantized`'s rule); none by default. */
  readonly quantization?: QuantRule | null;
  readonly tiling?: Tiling;
  /** The sorted rows are padded with zeros to a multiple of this (the gmm's row tile); 1 by default. */
  readonly rowTile?: number;
  /** Renormalize the top-k routing weights to sum to 1 (they are a softmax over the top-k logits already). */
  readonly normalizeTopK?: boolean;
}

/** `gate [D, E]`, `w0`, `w1 [E, D, F]`, `wo [E, F, D]`. */
export interface MoeParams {
  readonly gate: Array;
  readonly w0: Array;
  readonly w1: Array;
  readonly wo: Array;
}

export interface MoeOutput {
  /** [T, D] */
  readonly out: Array;
  /** The load-balancing loss (see route). */
  readonly auxLoss: Array;
}

/** The gmm backend of a layer: the configured one, quantized when the config says so. */
export function sparseMatmul(config: Pick<MoeConfig, "backend" | "quantization">): GmmBackend {
  const backend = typeof config.backend === "object" ? config.backend : getGmmBackend(config.backend ?? "reference");
  return config.quantization ? quantized(backend, config.quantization) : backend;
}

function checkShapes(params: MoeParams, x: Array, config: MoeConfig): [number, number] {
  if (x.ndim !== 2) throw new ShapeError(`moeLayer: x must be [tokens, dModel], got shape ${fmtShape(x.shape)}`);
  const [, d] = x.shape as [number, number];
  const e = config.numExperts;
  const f = params.w0.shape[2]!;
  const expect = (name: string, got: readonly number[], want: number[]): void => {
    if (got.length !== want.length || got.some((s, i) => s !== want[i])) throw new ShapeError(`moeLayer: params.${name} must have shape ${fmtShape(want)}, got ${fmtShape(got)}`);
  };
  expect("gate", params.gate.shape, [d, e]);
  expect("w0", params.w0.shape, [e, d, f]);
  expect("w1", params.w1.shape, [e, d, f]);
  expect("wo", params.wo.shape, [e, f, d]);
  if (!Number.isInteger(config.rowTile ?? 1) || (config.rowTile ?? 1) < 1) throw new ArgumentError(`moeLayer: rowTile must be a positive integer, got ${config.rowTile}`);
  return [d, e];
}

const matmul = (a: Array, b: Array): Array => lax.dotGeneral(a, b, [[[a.ndim - 1], [0]], [[], []]]);

/** The sparse layer: tokens sorted by expert through three grouped matmuls. */
export function moeLayer(params: MoeParams, x: Array, config: MoeConfig): MoeOutput {
  checkShapes(params, x, config);
  const tokens = x.shape[0]!;
  const backend = sparseMatmul(config);
  const { weights, perm, groupSizes, auxLoss } = route(matmul(x, params.gate), config.topK, { normalize: config.normalizeTopK });
  const rows = tokens * config.topK;
  const tile = config.rowTile ?? 1;
  const padded = Math.ceil(rows / tile) * tile;
  let sorted = permute(x, perm, config.topK);
  if (padded > rows) sorted = lax.pad(sorted, 0, [[0, padded - rows, 0], [0, 0, 0]]);
  const options = { backend, tiling: config.tiling };
  const h = lax.mul(nn.silu(gmm(sorted, params.w0, groupSizes, options)), gmm(sorted, params.w1, groupSizes, options));
  const y = gmm(h, params.wo, groupSizes, options);
  const out = unpermute(padded > rows ? lax.sliceInDim(y, 0, rows, 1, 0) : y, perm, weights);
  return { out: lax.convertElementType(out, x.dtype), auxLoss };
}

/** The same layer, densely: every expert on every token, each token's output the routing-weighted sum of its experts'. */
export function denseMoeLayer(params: MoeParams, x: Array, config: MoeConfig): MoeOutput {
  const [, e] = checkShapes(params, x, config);
  const tokens = x.shape[0]!;
  const { weights, experts, auxLoss } = route(matmul(x, params.gate), config.topK, { normalize: config.normalizeTopK });
  let out: Array | undefined;
  for (let expert = 0; expert < e; expert++) {
    const pick = (w: Array): Array => lax.reshape(lax.sliceInDim(w, expert, expert + 1, 1, 0), w.shape.slice(1));
    const h = lax.mul(nn.silu(matmul(x, pick(params.w0))), matmul(x, pick(params.w1)));
    const y = matmul(h, pick(params.wo));
    // The token's weight for this expert: its routing weight where it chose the expert, else 0.
    const chosen = lax.convertElementType(lax.eq(experts, expert), weights.dtype);
    const coefficient = lax.reduceSum(lax.mul(weights, chosen), [1]);
    const term = lax.mul(y, lax.broadcastInDim(lax.convertElementType(coefficient, y.dtype), [tokens, y.shape[1]!], [0]));
    out = out ? lax.add(out, term) : term;
  }
  return { out: lax.convertElementType(out!, x.dtype), auxLoss };
}
