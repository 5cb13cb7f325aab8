/**
 * Offline training of the linear model (model.ts): multinomial logistic regression with L2, fitted by
 * full-batch Adam for a fixed number of steps from zero weights. No randomness, so the same examples
 * and options give the same weights bit for bit. Not on the request path.
 */
import { PUNCT } from './alphabet.ts';
import type { Automaton, WordSink } from './automaton.ts';
import { DENSE_COUNT, FeatureVector, type ContextScorer, type FeatureExtractor } from './features.ts';
import { LinearModel, TIER_COUNT, decide, softmax } from './model.ts';
import { COUNTS_SIZE, TIERS, type Tier } from './score.ts';

export interface Example {
  idx: Int32Array;
  val: Float64Array;
  /** Tier index in TIERS order. */
  y: number;
}

export interface TrainOptions {
  /** L2 penalty on the hashed weights (words, n-grams)... */
  l2: number;
  /** ...and on the dense ones (cues, length, context), bias excepted: they generalise, words memorise. */
  l2Dense: number;
  steps: number;
  learningRate: number;
  /**
   * Share of the target moved to the neighbouring tiers (label smoothing along the tier order), so that
   * a miss prefers a neighbour: within-one accuracy is a target of its own.
   */
  neighbourSmoothing: number;
  /** The decision rule's cost of a miss by two tiers or more (model.ts decide); 1: the most probable tier. */
  farCost: number;
  /**
   * Cue dropout: the share of cue-word occurrences whose own hashed features are left out of a training
   * example (each a deterministic draw). A model that sees "prove" only as a word learns its weight on
   * the word, and a phrase a deployment adds to reasoningStrong, which it never saw, then moves it
   * little; with the word hidden part of the time, the list's count has to carry weight of its own.
   */
  cueDropout: number;
}

/** The options the shipped weights were trained with, chosen by 5-fold cross-validation (results/classifier.md). */
/**
 * The training set, in test/fixtures/classifier/ (README there): the project's first labelled set and
 * the sets written for training since, each by an author who worked from the tier definitions alone.
 * heldout*.jsonl are never trained on.
 */
export const TRAINING_FILES: readonly string[] = ['prompts.jsonl', 'train-extra.jsonl', 'train-a.jsonl', 'train-b.jsonl', 'train-c.jsonl', 'train-d.jsonl', 'train-e.jsonl', 'train-f.jsonl', 'train-g.jsonl', 'train-h.jsonl', 'train-i.jsonl', 'train-j.jsonl', 'train-k.jsonl', 'train-l.jsonl', 'train-m.jsonl', 'train-n.jsonl', 'train-o.jsonl', 'train-p.jsonl', 'train-q.jsonl', 'train-r.jsonl', 'train-s.jsonl', 'train-t.jsonl', 'train-u.jsonl', 'train-v.jsonl', 'train-w.jsonl', 'train-x.jsonl', 'train-y.jsonl', 'train-z.jsonl', 'train-za.jsonl', 'train-zb.jsonl', 'train-zc.jsonl', 'train-zd.jsonl', 'train-ze.jsonl', 'train-zf.jsonl', 'train-zg.jsonl', 'train-zh.jsonl', 'train-zi.jsonl', 'train-zj.jsonl', 'train-zk.jsonl', 'train-zl.jsonl', 'train-zm.jsonl', 'train-zn.jsonl', 'train-zo.jsonl', 'train-zp.jsonl', 'train-zq.jsonl', 'train-zr.jsonl', 'train-zs.jsonl', 'train-zt.jsonl', 'train-zu.jsonl', 'train-zv.jsonl', 'train-zw.jsonl', 'train-zx.jsonl', 'train-zy.jsonl', 'train-zz.jsonl', 'train-zza.jsonl', 'train-zzb.jsonl', 'train-zzc.jsonl', 'train-zzd.jsonl', 'train-zze.jsonl', 'train-zzf.jsonl', 'train-zzg.jsonl', 'train-zzh.jsonl', 'train-zzi.jsonl', 'train-zzj.jsonl', 'train-zzk.jsonl', 'train-zzl.jsonl', 'train-zzm.jsonl', 'train-zzn.jsonl', 'train-zzo.jsonl', 'train-zzp.jsonl', 'train-zzq.jsonl', 'train-zzr.jsonl', 'train-zzs.jsonl', 'train-zzt.jsonl', 'train-zzu.jsonl'];

export const TRAINING: TrainOptions = { l2: 3e-6, l2Dense: 1e-3, steps: 400, learningRate: 0.05, neighbourSmoothing: 0, farCost: 2.5, cueDropout: 0.75 };

type Labeled = { id?: string; tier: Tier; messages: unknown[] };

/**
 * Features of labeled conversations, copied out of the extractor's scratch vector. With dropout > 0,
 * that share of the occurrences of the one-word cues in `cueWords` add no hashed feature (cueDropout
 * above); the draws are seeded by each item's id, so the same items give the same examples.
 */
export function examples(extractor: FeatureExtractor, items: readonly Labeled[], dropout = 0, cueWords: ReadonlySet<number> = EMPTY): Example[] {
  const fv = new FeatureVector();
  let state = 0;
  const draw = (): number => {
    // mulberry32: a small, well-mixed 32-bit generator.
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  if (dropout > 0) extractor.wordMask = (h) => cueWords.has(h) && draw() < dropout;
  try {
    return items.map((it, i) => {
      state = hashOf(it.id ?? String(i));
      extractor.extract(it.messages, fv);
      return { idx: fv.idx.slice(0, fv.n), val: fv.val.slice(0, fv.n), y: TIERS.indexOf(it.tier) };
    });
  } finally {
    extractor.wordMask = null;
  }
}

const EMPTY: ReadonlySet<number> = new Set();

/**
 * The word hashes (as the automaton's scanWords computes them) of the one-word phrases of the cue lists
 * an automaton was built from: the words cue dropout hides.
 */
export function cueWordHashes(automaton: Automaton, phrases: readonly string[]): Set<number> {
  const out = new Set<number>();
  const words: number[] = [];
  const sink: WordSink = { word: (_t, _s, _e, h) => void words.push(h), letter: () => {} };
  const acc = new Float64Array(COUNTS_SIZE);
  const marks = new Float64Array(7);
  for (const phrase of phrases) {
    words.length = 0;
    automaton.scanWords(phrase, 0, phrase.length, acc, sink, PUNCT, marks);
    if (words.length === 1) out.add(words[0]!);
  }
  return out;
}

export function train(data: readonly Example[], dimension: number, opts: TrainOptions = TRAINING): Float64Array {
  const denseEnd = DENSE_COUNT * TIER_COUNT;
  const P = dimension * TIER_COUNT;
  const w = new Float64Array(P);
  const g = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const s = new Float64Array(TIER_COUNT);
  const target = new Float64Array(TIER_COUNT);
  const n = data.length;
  const b1 = 0.9;
  const b2 = 0.999;
  for (let step = 1; step <= opts.steps; step++) {
    g.fill(0);
    for (const ex of data) {
      // The four tiers unrolled (TIER_COUNT is 4): this loop is nearly all of the training time.
      const idx = ex.idx;
      const val = ex.val;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < idx.length; k++) {
        const j = idx[k]! << 2;
        const x = val[k]!;
        s0 += w[j]! * x;
        s1 += w[j + 1]! * x;
        s2 += w[j + 2]! * x;
        s3 += w[j + 3]! * x;
      }
      s[0] = s0;
      s[1] = s1;
      s[2] = s2;
      s[3] = s3;
      softmax(s, s);
      smoothTarget(ex.y, opts.neighbourSmoothing, target);
      const d0 = (s[0]! - target[0]!) / n;
      const d1 = (s[1]! - target[1]!) / n;
      const d2 = (s[2]! - target[2]!) / n;
      const d3 = (s[3]! - target[3]!) / n;
      for (let k = 0; k < idx.length; k++) {
        const j = idx[k]! << 2;
        const x = val[k]!;
        g[j] = g[j]! + d0 * x;
        g[j + 1] = g[j + 1]! + d1 * x;
        g[j + 2] = g[j + 2]! + d2 * x;
        g[j + 3] = g[j + 3]! + d3 * x;
      }
    }
    const lr = (opts.learningRate * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
    for (let i = 0; i < P; i++) {
      // The bias row (feature 0) is not penalised. Untouched weights stay exactly zero.
      const grad = g[i]! + (i < TIER_COUNT ? 0 : (i < denseEnd ? opts.l2Dense : opts.l2) * w[i]!);
      if (grad === 0 && m[i] === 0) continue;
      m[i] = b1 * m[i]! + (1 - b1) * grad;
      v[i] = b2 * v[i]! + (1 - b2) * grad * grad;
      w[i] = w[i]! - (lr * m[i]!) / (Math.sqrt(v[i]!) + 1e-8);
    }
  }
  return w;
}

function smoothTarget(y: number, share: number, out: Float64Array): void {
  out.fill(0);
  const left = y > 0;
  const right = y < TIER_COUNT - 1;
  const each = left && right ? share / 2 : share;
  out[y] = 1 - (left || right ? share : 0);
  if (left) out[y - 1] = each;
  if (right) out[y + 1] = each;
}

/** Tier index predicted for each example by weights w. */
export function predict(w: Float64Array, data: readonly Example[], farCost = 1): number[] {
  const model = LinearModel.quantise(w);
  const fv = new FeatureVector();
  const s = new Float64Array(TIER_COUNT);
  return data.map((ex) => {
    fv.idx.set(ex.idx);
    fv.val.set(ex.val);
    fv.n = ex.idx.length;
    model.probabilities(fv, s);
    return decide(s, farCost);
  });
}

/** A context scorer (features.ts) from trained weights. */
export function scorerOf(w: Float64Array): ContextScorer {
  const model = LinearModel.quantise(w);
  return (fv, probs) => model.probabilities(fv, probs);
}

/**
 * Trains in two rounds: the first without the follow-up-to-tier features, the second with them filled
 * in by the first round's model. Leaves the extractor scoring context with the returned weights, as
 * the shipped classifier does.
 */
export function fit(extractor: FeatureExtractor, items: readonly Labeled[], opts: TrainOptions, cueWords: ReadonlySet<number> = EMPTY): Float64Array {
  extractor.contextScorer = null;
  const first = train(examples(extractor, items, opts.cueDropout, cueWords), extractor.dimension, opts);
  extractor.contextScorer = scorerOf(first);
  const w = train(examples(extractor, items, opts.cueDropout, cueWords), extractor.dimension, opts);
  extractor.contextScorer = scorerOf(w);
  return w;
}

export interface Accuracy {
  exact: number;
  withinOne: number;
  /** Recall per tier, in TIERS order. */
  recall: number[];
  /** confusion[expected][predicted]. */
  confusion: number[][];
}

export interface CrossValidation extends Accuracy {
  /**
   * The same folds scored with every one-word cue's own hashed features hidden, as if each cue word
   * were one the model never saw: what a phrase a deployment adds to a list can do. Null without
   * cue words.
   */
  unseenCues: Accuracy | null;
}

/** The fold of an item, from its id, so folds do not depend on file order. */
export function foldOf(id: string, folds: number): number {
  return hashOf(id) % folds;
}

/** FNV-1a of a string, unsigned. */
function hashOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** k-fold cross-validation: each fold is scored by a model fitted on the other folds. */
export function crossValidate(
  extractor: FeatureExtractor,
  items: readonly { id: string; tier: Tier; messages: unknown[] }[],
  opts: TrainOptions,
  folds = 5,
  /** Score only the first this many folds (a quicker check: the unit test scores one). */
  scored = folds,
  /** The one-word cues (cueWordHashes): hidden at opts.cueDropout in training, and all of them for unseenCues. */
  cueWords: ReadonlySet<number> = EMPTY,
): CrossValidation {
  const confusion = TIERS.map(() => TIERS.map(() => 0));
  const unseen = TIERS.map(() => TIERS.map(() => 0));
  for (let k = 0; k < scored; k++) {
    const w = fit(extractor, items.filter((it) => foldOf(it.id, folds) !== k), opts, cueWords);
    const held = items.filter((it) => foldOf(it.id, folds) === k);
    const test = examples(extractor, held);
    predict(w, test, opts.farCost).forEach((got, i) => confusion[test[i]!.y]![got]!++);
    if (cueWords.size === 0) continue;
    const hidden = examples(extractor, held, 1, cueWords);
    predict(w, hidden, opts.farCost).forEach((got, i) => unseen[hidden[i]!.y]![got]!++);
  }
  return { ...accuracy(confusion), unseenCues: cueWords.size === 0 ? null : accuracy(unseen) };
}

/** Exact and within-one accuracy and recall per tier, from a confusion matrix. */
export function accuracy(confusion: number[][]): Accuracy {
  let exact = 0;
  let withinOne = 0;
  confusion.forEach((row, e) =>
    row.forEach((c, g) => {
      if (e === g) exact += c;
      if (Math.abs(e - g) <= 1) withinOne += c;
    }),
  );
  const n = confusion.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  const recall = confusion.map((row, e) => row[e]! / Math.max(1, row.reduce((a, b) => a + b, 0)));
  return { exact: exact / n, withinOne: withinOne / n, recall, confusion };
}
