/**
 * The default classifier: the features of features.ts scored by the linear model of model.ts, whose
 * weights were trained offline on the labeled training set (scripts/classify-train.ts). The tier is
 * the most probable one; the score is the expected tier on a 0..1 scale (SIMPLE 0, MEDIUM 1/3,
 * COMPLEX 2/3, REASONING 1), so rules that compare complexity_score keep a meaning.
 */
import type { Automaton } from './automaton.ts';
import { LIST_OF_TAG } from './cues.ts';
import { FeatureExtractor, FeatureVector } from './features.ts';
import type { Classification } from './heuristic.ts';
import { LinearModel, TIER_COUNT, decide, type ShippedModel } from './model.ts';
import { CHARS, D_CODE, D_REASONING, D_SIMPLE, D_TECHNICAL, D_TOKENS, NUMBER, TAG_COUNT, TIERS, type Tier } from './score.ts';

/** Why a conversation got its tier: the answer of explain(). */
export interface Explanation {
  tier: Tier;
  /** Probability of each tier. */
  probabilities: Record<Tier, number>;
  /** Cue phrases found in the question of the last user message, by list (numbers counted apart). */
  cues: Record<string, string[]>;
  numbers: number;
  /** Characters of the last message read as its question, and of the paste around it (not read). */
  questionChars: number;
  pasteChars: number;
  /** How much a short follow-up leans on the earlier turns (0..1); 0 without earlier turns. */
  followUp: number;
  /** The heuristic dimensions of the question: length score, technical and code density, etc. */
  dims: Classification['dims'];
  /** The features that pushed most toward (positive) or away from (negative) the chosen tier. */
  topFeatures: { feature: string; value: number; contribution: number }[];
}

export class LearnedClassifier {
  private readonly extractor: FeatureExtractor;
  private readonly model: LinearModel;
  private readonly fv = new FeatureVector();
  private readonly scores = new Float64Array(TIER_COUNT);
  private readonly single = [{ role: 'user', content: '' }];
  private readonly farCost: number;

  constructor(automaton: Automaton, shipped: ShippedModel) {
    this.extractor = new FeatureExtractor(automaton, shipped.options);
    this.model = LinearModel.decode(shipped);
    this.farCost = shipped.farCost ?? 1;
    // A short follow-up reads its previous user turn's tier from this same model (see features.ts).
    const model = this.model;
    this.extractor.contextScorer = (fv, probs) => model.probabilities(fv, probs);
    const expected = this.extractor.dimension * TIER_COUNT;
    if (this.model.weights.length !== expected) throw new Error(`classifier: model has ${this.model.weights.length} weights, features need ${expected}`);
  }

  classifyText(text: string): Classification {
    this.single[0]!.content = typeof text === 'string' ? text : '';
    const r = this.classifyMessages(this.single);
    this.single[0]!.content = '';
    return r;
  }

  classifyMessages(messages: unknown): Classification {
    this.extractor.extract(messages, this.fv);
    return this.classification(this.fv);
  }

  /** The classification of features just extracted; leaves the tiers' probabilities in this.scores. */
  private classification(fv: FeatureVector): Classification {
    const s = this.scores;
    this.model.probabilities(fv, s);
    const best = decide(s, this.farCost);
    const d = this.extractor.dims;
    return {
      tier: TIERS[best]!,
      score: (s[1]! + 2 * s[2]! + 3 * s[3]!) / 3,
      dims: { code: d[D_CODE]!, reasoning: d[D_REASONING]!, technical: d[D_TECHNICAL]!, tokens: d[D_TOKENS]!, simple: d[D_SIMPLE]! },
      forced: false,
    };
  }

  /** The signals behind a classification, for POST /v1/route/explain. Slower: names every feature. */
  explain(messages: unknown, top = 12): Explanation {
    const fv = new FeatureVector();
    fv.names = [];
    this.extractor.extract(messages, fv);
    const c = this.classification(fv);
    const probabilities = {} as Record<Tier, number>;
    TIERS.forEach((tier, i) => (probabilities[tier] = round(this.scores[i]!)));
    const sig = this.extractor.signals;
    const t = TIERS.indexOf(c.tier);
    const model = this.model;
    // A feature's pull toward the chosen tier: its weight there minus its mean weight over the tiers.
    const byName = new Map<string, { value: number; contribution: number }>();
    for (let k = 0; k < fv.n; k++) {
      const j = fv.idx[k]! * TIER_COUNT;
      let mean = 0;
      for (let u = 0; u < TIER_COUNT; u++) mean += model.weight(j + u) / TIER_COUNT;
      const name = fv.names[k]!;
      const e = byName.get(name) ?? { value: 0, contribution: 0 };
      e.value += fv.val[k]!;
      e.contribution += fv.val[k]! * (model.weight(j + t) - mean);
      byName.set(name, e);
    }
    const topFeatures = [...byName]
      .map(([feature, e]) => ({ feature, value: round(e.value), contribution: round(e.contribution) }))
      .filter((f) => f.contribution !== 0)
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
      .slice(0, top);
    return {
      tier: c.tier,
      probabilities,
      cues: this.cuesOf(messages),
      numbers: sig.counts[NUMBER]!,
      questionChars: sig.counts[CHARS]!,
      pasteChars: sig.pasteChars,
      followUp: round(sig.shortness),
      dims: c.dims,
      topFeatures,
    };
  }

  /** The cue phrases in the question of the last user message (the part the counts came from). */
  private cuesOf(messages: unknown): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const { tag, phrase } of this.extractor.questionMatches(messages)) {
      if (tag >= TAG_COUNT || tag === NUMBER) continue;
      (out[LIST_OF_TAG[tag]!] ??= []).push(phrase);
    }
    return out;
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
