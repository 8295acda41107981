/**
 * A character-level language model with a mixture-of-experts feed-forward block: the embeddings of the previous
 * `context` characters, concatenated and projected to `dModel` (tanh), plus the MoE block on that (a residual),
 * then logits over the vocabulary. The loss is the mean cross-entropy plus a small multiple of the MoE's
 * load-balancing loss; a training step is `jit(valueAndGrad(loss))` and Adam's update, traced once.
 */
import { type Array, type GmmBackend, type Jitted, jit, lax, moe, nn, numpy as np, optim, random, valueAndGrad } from "../../src/index.js";
import type { QuantRule } from "../../src/quant/index.js";

export interface ModelConfig {
  readonly vocab: number;
  readonly context: number;
  readonly embed: number;
  readonly dModel: number;
  readonly hidden: number;
  readonly experts: number;
  readonly topK: number;
}

export const DEFAULT_MODEL: Omit<ModelConfig, "vocab"> = { context: 4, embed: 16, dModel: 64, hidden: 64, experts: 8, topK: 2 };

export interface Params {
  readonly embed: Array;
  readonly project: Array;
  readonly bias: Array;
  readonly moe: moe.MoeParams;
  readonly out: Array;
  readonly outBias: Array;
}

export function initParams(seed: number, c: ModelConfig): Params {
  const keys = random.split(random.key(seed), 7);
  const k = (i: number): Array => lax.reshape(lax.sliceInDim(keys, i, i + 1, 1, 0), [2]);
  const scaled = (i: number, shape: number[], fanIn: number): Array => lax.mul(random.normal(k(i), shape), 1 / Math.sqrt(fanIn));
  return {
    embed: scaled(0, [c.vocab, c.embed], 1),
    project: scaled(1, [c.context * c.embed, c.dModel], c.context * c.embed),
    bias: np.zeros([c.dModel]),
    moe: {
      gate: lax.mul(scaled(2, [c.dModel, c.experts], c.dModel), 0.1),
      w0: scaled(3, [c.experts, c.dModel, c.hidden], c.dModel),
      w1: scaled(4, [c.experts, c.dModel, c.hidden], c.dModel),
      wo: lax.mul(scaled(5, [c.experts, c.hidden, c.dModel], c.hidden), 0.5),
    },
    out: scaled(6, [c.dModel, c.vocab], c.dModel),
    outBias: np.zeros([c.vocab]),
  };
}

export interface Routing {
  readonly backend: string | GmmBackend;
  readonly quantization?: QuantRule | null;
}

const matmul = (a: Array, b: Array): Array => lax.dotGeneral(a, b, [[[a.ndim - 1], [0]], [[], []]]);

/** Logits `[B, vocab]` for contexts `[B, context]` of token ids, and the MoE's load-balancing loss. */
export function forward(p: Params, contexts: Array, c: ModelConfig, routing: Routing): [Array, Array] {
  const batch = contexts.shape[0]!;
  const embedded = lax.reshape(np.take(p.embed, contexts, { axis: 0 }), [batch, c.context * c.embed]);
  const h = np.tanh(np.add(matmul(embedded, p.project), p.bias));
  const { out, auxLoss } = moe.moeLayer(p.moe, h, { numExperts: c.experts, topK: c.topK, backend: routing.backend, quantization: routing.quantization });
  return [np.add(matmul(lax.add(h, out), p.out), p.outBias), auxLoss];
}

/** Mean cross-entropy of the targets, in nats per token. */
export function crossEntropy(logits: Array, targets: Array, vocab: number): Array {
  return np.mean(lax.neg(np.sum(lax.mul(nn.logSoftmax(logits, -1), nn.oneHot(targets, vocab)), { axis: -1 })));
}

const AUX_WEIGHT = 0.01;

export interface Trainer {
  /** One Adam step on a batch: the new parameters and state, and the batch's cross-entropy. */
  readonly step: Jitted<(p: Params, s: optim.AdamState, contexts: Array, targets: Array) => [Params, optim.AdamState, Array]>;
  /** The cross-entropy of a batch (no update). */
  readonly evaluate: Jitted<(p: Params, contexts: Array, targets: Array) => Array>;
  readonly optimizer: optim.Optimizer<optim.AdamState>;
}

export function trainer(c: ModelConfig, routing: Routing, device: string, learningRate = 0.01): Trainer {
  const optimizer = optim.adam(learningRate);
  const loss = (p: Params, contexts: Array, targets: Array): [Array, Array] => {
    const [logits, aux] = forward(p, contexts, c, routing);
    const ce = crossEntropy(logits, targets, c.vocab);
    return [lax.add(ce, lax.mul(aux, AUX_WEIGHT)), ce];
  };
  const step = jit(
    (p: Params, s: optim.AdamState, contexts: Array, targets: Array): [Params, optim.AdamState, Array] => {
      const [[, ce], grads] = valueAndGrad(loss, { hasAux: true })(p, contexts, targets) as [[Array, Array], Params];
      const [next, state] = optimizer.update(grads, s, p);
      return [next as Params, state, ce];
    },
    { device },
  );
  const evaluate = jit((p: Params, contexts: Array, targets: Array): Array => crossEntropy(forward(p, contexts, c, routing)[0], targets, c.vocab), { device });
  return { step, evaluate, optimizer };
}
