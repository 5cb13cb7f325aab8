/**
 * The learned model: multinomial logistic regression, one weight per (feature, tier). Scoring a
 * conversation is a sparse dot product over its FeatureVector; the weights are trained offline by
 * `npm run classify:train` (scripts/classify-train.ts) and shipped in model-weights.ts as int16 with
 * one scale, and scored as int16 (training scores its folds and context turns with the same int16
 * weights, so what is cross-validated is what ships).
 */
import type { FeatureVector } from './features.ts';

export const TIER_COUNT = 4;

export interface ShippedModel {
  /** The FeatureOptions the weights were trained with: inference must extract the same features. */
  readonly options: {
    readonly hashBits: number;
    readonly bigrams: boolean;
    readonly charNgrams: boolean;
    readonly contextWords: number;
    readonly pasteEdge: number;
    readonly followUpChars: number;
  };
  /** int16 weight = round(w / scale). */
  readonly scale: number;
  /** The decision rule's cost of a tier two or more away from the right one (see decide); 1 when absent. */
  readonly farCost?: number;
  /** base64 of a little-endian Int16Array: feature-major, TIER_COUNT weights per feature. */
  readonly weights: string;
}

export class LinearModel {
  /**
   * weights[feature * TIER_COUNT + tier] × scale is a weight. They stay int16 in memory, as shipped: the
   * table (2^hashBits buckets × 4 tiers) is read at a random place for every word of a request, and half
   * the bytes is half the cache it takes from the rest of the request thread.
   */
  constructor(
    readonly weights: Int16Array,
    readonly scale: number,
  ) {}

  static decode(m: ShippedModel): LinearModel {
    const bytes = Buffer.from(m.weights, 'base64');
    // Copied into a buffer of its own: a Buffer may sit at an odd offset of a shared pool.
    const q = new Int16Array(bytes.byteLength >> 1);
    new Uint8Array(q.buffer).set(bytes.subarray(0, q.byteLength));
    return new LinearModel(q, m.scale);
  }

  /** Trained weights rounded to int16 with one scale, as they ship (training scores with these too). */
  static quantise(w: ArrayLike<number>): LinearModel {
    let max = 0;
    for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]!));
    const scale = max > 0 ? max / 32767 : 1;
    const q = new Int16Array(w.length);
    for (let i = 0; i < w.length; i++) q[i] = Math.round(w[i]! / scale);
    return new LinearModel(q, scale);
  }

  /** The shipped form: scale and the base64 of the little-endian int16 weights. */
  encode(): { scale: number; weights: string } {
    return { scale: this.scale, weights: Buffer.from(this.weights.buffer, this.weights.byteOffset, this.weights.byteLength).toString('base64') };
  }

  /** One weight, feature-major (index = feature × TIER_COUNT + tier). */
  weight(i: number): number {
    return this.weights[i]! * this.scale;
  }

  /** Tier probabilities (the softmax of the scores) into out[0..TIER_COUNT). */
  probabilities(fv: FeatureVector, out: Float64Array): void {
    this.scores(fv, out);
    softmax(out, out);
  }

  /** Per-tier scores (logits) of a feature vector into out[0..TIER_COUNT). */
  scores(fv: FeatureVector, out: Float64Array): void {
    const w = this.weights;
    const idx = fv.idx;
    const val = fv.val;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0, n = fv.n; k < n; k++) {
      const v = val[k]!;
      const j = idx[k]! << 2;
      s0 += w[j]! * v;
      s1 += w[j + 1]! * v;
      s2 += w[j + 2]! * v;
      s3 += w[j + 3]! * v;
    }
    // The one scale applies to every weight, so it multiplies the sums once instead of every term.
    const scale = this.scale;
    out[0] = s0 * scale;
    out[1] = s1 * scale;
    out[2] = s2 * scale;
    out[3] = s3 * scale;
  }
}

/** Softmax of scores[0..TIER_COUNT) into probs, in place safe. */
export function softmax(scores: Float64Array, probs: Float64Array): void {
  let max = scores[0]!;
  for (let k = 1; k < TIER_COUNT; k++) if (scores[k]! > max) max = scores[k]!;
  let sum = 0;
  for (let k = 0; k < TIER_COUNT; k++) sum += probs[k] = Math.exp(scores[k]! - max);
  for (let k = 0; k < TIER_COUNT; k++) probs[k] = probs[k]! / sum;
}

/**
 * The tier to answer from the tiers' probabilities: the one with the least expected cost, where the
 * right tier costs 0, a neighbour 1 and a tier two or more away `farCost`. With farCost 1 it is the most
 * probable tier; above 1 it leans to a middle tier when the model hesitates between far ones (SIMPLE or
 * REASONING for a short question with a number in it), trading a little exact accuracy for fewer
 * answers that miss by two tiers (within-one accuracy is a target of its own).
 */
export function decide(probs: Float64Array, farCost: number): number {
  let best = 0;
  let bestCost = Infinity;
  for (let t = 0; t < TIER_COUNT; t++) {
    let cost = 0;
    for (let k = 0; k < TIER_COUNT; k++) {
      const d = t > k ? t - k : k - t;
      if (d !== 0) cost += probs[k]! * (d === 1 ? 1 : farCost);
    }
    if (cost < bestCost) {
      bestCost = cost;
      best = t;
    }
  }
  return best;
}
