/**
 * The hand-tuned scorer that was the classifier before the learned model (learned.ts): a weighted sum of
 * cue counts and length, cut at three boundaries, with forcing rules for REASONING. It is kept for
 * deployments that configure `weights` or `boundaries` (those only mean something here) and as the
 * baseline `npm run classify:eval -- --heuristic` reports. Everything is built in the constructor; a
 * classification scans each message once into preallocated counters and allocates only its result.
 */
import type { Automaton } from './automaton.ts';
import { cueAutomaton, type ExtraCues } from './cues.ts';
import { QuestionRange, findQuestion, lastUserIndex, roleOf } from './question.ts';
import {
  CHARS, COUNTS_SIZE, D_CODE, D_REASONING, D_SIMPLE, D_TECHNICAL, D_TOKENS, DIM_COUNT, STRONG, normalise, tierOf, weightedScore,
  type Boundaries, type Dimension, type Tier, type Tuning, type Weights,
} from './score.ts';

export interface ClassifierOptions {
  /** Weight of each normalised dimension in the score; `simple` is subtracted. */
  weights?: Partial<Weights>;
  /** Lowest score of each tier above SIMPLE. */
  boundaries?: Partial<Boundaries>;
  /** Phrases added to the default vocabularies. */
  extra?: ExtraCues;
  /**
   * Whether the forcing rules may decide REASONING: enough strong reasoning phrases ("prove that",
   * "step by step"), or reasoning language in a prompt without code or technical terms (see Tuning).
   * Off, REASONING needs a score at its boundary, which the default weights rarely reach.
   */
  strongReasoningForces?: boolean;
  /** Caps, scales and conversation blending; the defaults are tuned on the labeled set. */
  tuning?: Partial<Tuning>;
  /**
   * 'learned' (the default): the linear model of learned.ts. 'heuristic': the weighted score of this
   * file. Setting weights, boundaries or tuning without naming a model selects 'heuristic', since they
   * only apply to it.
   */
  model?: 'learned' | 'heuristic';
}

export interface Classification {
  tier: Tier;
  score: number;
  /** The normalised dimensions (0..1) the score was computed from, for explain output. */
  dims: Record<Dimension, number>;
  /**
   * Heuristic: true when a forcing rule decided REASONING (the score is then raised to the REASONING
   * boundary). The learned model forces nothing: always false.
   */
  forced: boolean;
}

// Tuned with `npm run classify:eval` on test/fixtures/classifier (see results/classifier.md for the
// measurements behind each value). The score is mostly the prompt's length: that set labels requests
// by the size of the task, and code or technical words move it little ("what does CPU stand for?" is
// SIMPLE, "python function to reverse a string" MEDIUM). REASONING is reached by the forcing rules.
export const DEFAULT_WEIGHTS: Readonly<Weights> = { code: 0.05, reasoning: 0.05, technical: 0.1, tokens: 0.55, simple: 0.2 };
export const DEFAULT_BOUNDARIES: Readonly<Boundaries> = { medium: 0.15, complex: 0.35, reasoning: 0.7 };
export const DEFAULT_TUNING: Readonly<Tuning> = {
  codeCap: 4,
  technicalCap: 6,
  simpleCap: 1,
  strongCap: 1,
  weakCap: 4,
  numberValue: 0.25,
  tokenScale: 25,
  simpleFade: 0.5,
  forceStrong: 2,
  plainReasoning: 0.3,
  plainMaxDomain: 0.2,
  pasteEdge: 600,
  contextShare: 0.8,
  followUpChars: 200,
  systemWeight: 0.25,
  assistantWeight: 0.5,
  recencyDecay: 0.7,
};

/** Tuning values that are fractions. */
const SHARES = ['simpleFade', 'contextShare'] as const;
/** Tuning values the scoring divides by. */
const DIVISORS = [
  'codeCap', 'technicalCap', 'simpleCap', 'strongCap', 'weakCap', 'tokenScale', 'followUpChars', 'pasteEdge',
] as const;

export class HeuristicClassifier {
  private readonly automaton: Automaton;
  private readonly weights: Weights;
  private readonly boundaries: Boundaries;
  private readonly tuning: Tuning;
  private readonly forces: boolean;
  // Scratch space reused by every call: counts of the last user message, of the earlier context, of
  // one context message, and the dimensions derived from them.
  private readonly last = new Float64Array(COUNTS_SIZE);
  private readonly context = new Float64Array(COUNTS_SIZE);
  private readonly one = new Float64Array(COUNTS_SIZE);
  private readonly q = new QuestionRange();
  private readonly lastDims = new Float64Array(DIM_COUNT);
  private readonly contextDims = new Float64Array(DIM_COUNT);

  constructor(opts: ClassifierOptions = {}, automaton?: Automaton) {
    this.weights = withDefaults(DEFAULT_WEIGHTS, opts.weights);
    this.boundaries = withDefaults(DEFAULT_BOUNDARIES, opts.boundaries);
    this.tuning = withDefaults(DEFAULT_TUNING, opts.tuning);
    this.forces = opts.strongReasoningForces ?? true;
    for (const [k, v] of Object.entries({ ...this.weights, ...this.boundaries, ...this.tuning })) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`classifier: ${k} must be a finite number ≥ 0, got ${v}`);
    }
    for (const k of DIVISORS) if (!(this.tuning[k] > 0)) throw new Error(`classifier: ${k} must be > 0`);
    for (const k of SHARES) if (this.tuning[k] > 1) throw new Error(`classifier: ${k} must be ≤ 1`);
    const b = this.boundaries;
    if (!(b.medium <= b.complex && b.complex <= b.reasoning)) throw new Error('classifier: boundaries must satisfy medium ≤ complex ≤ reasoning');

    this.automaton = automaton ?? cueAutomaton(opts.extra);
  }

  classifyText(text: string): Classification {
    this.last.fill(0);
    if (typeof text === 'string') this.scan(text, this.last);
    normalise(this.last, this.tuning, this.lastDims);
    return this.result(this.lastDims, this.last[STRONG]! >= this.tuning.forceStrong);
  }

  /**
   * Classifies the last user message in the context of the conversation. Never throws: anything that
   * is not a chat message with text content is skipped.
   */
  classifyMessages(messages: unknown): Classification {
    const t = this.tuning;
    this.last.fill(0);
    this.context.fill(0);
    const list = Array.isArray(messages) ? (messages as unknown[]) : [];
    const lastIdx = lastUserIndex(list);
    if (lastIdx >= 0) this.scanContent(list[lastIdx], this.last, 1);

    // Turns that would weigh under 1% are not read, so a long conversation costs about as much as a
    // short one (13 turns back at the default decay); system prompts are read wherever they are.
    let recency = 1;
    for (let i = lastIdx - 1; i >= 0; i--) {
      const role = roleOf(list[i]);
      if (role === 'system' || role === 'developer') {
        this.scanContent(list[i], this.context, t.systemWeight);
      } else if (recency >= 0.01) {
        this.scanContent(list[i], this.context, role === 'user' ? recency : recency * t.assistantWeight);
        recency *= t.recencyDecay;
      }
    }

    const last = this.last;
    normalise(last, t, this.lastDims);
    const lastScore = weightedScore(this.lastDims, this.weights);
    const lastForced = last[STRONG]! >= t.forceStrong;
    if (this.context[CHARS] === 0) return this.result(this.lastDims, lastForced);

    // A short follow-up ("do it", "why?", "now make it async") needs what the conversation needed;
    // a short acknowledgement ("thanks!", "ok shorter") does not, hence the simple dimension gates it.
    const shortness = Math.max(0, 1 - last[CHARS]! / t.followUpChars);
    const inherit = t.contextShare * shortness * (1 - this.lastDims[D_SIMPLE]!);
    normalise(this.context, t, this.contextDims);
    const contextScore = weightedScore(this.contextDims, this.weights);
    const contextForced = inherit >= t.contextShare / 2 && this.context[STRONG]! >= t.forceStrong;
    if (inherit === 0 || contextScore <= lastScore) return this.result(this.lastDims, lastForced || contextForced);
    const dims = this.lastDims;
    for (let d = 0; d < DIM_COUNT; d++) dims[d] = dims[d]! + inherit * (this.contextDims[d]! - dims[d]!);
    return this.result(dims, lastForced || contextForced);
  }

  private result(dims: Float64Array, strongForced: boolean): Classification {
    const t = this.tuning;
    let score = weightedScore(dims, this.weights);
    const plain =
      score >= this.boundaries.medium &&
      dims[D_REASONING]! >= t.plainReasoning &&
      Math.max(dims[D_CODE]!, dims[D_TECHNICAL]!) <= t.plainMaxDomain;
    const forced = this.forces && (strongForced || plain) && score < this.boundaries.reasoning;
    if (forced) score = this.boundaries.reasoning;
    return {
      tier: tierOf(score, this.boundaries),
      score,
      dims: {
        code: dims[D_CODE]!,
        reasoning: dims[D_REASONING]!,
        technical: dims[D_TECHNICAL]!,
        tokens: dims[D_TOKENS]!,
        simple: dims[D_SIMPLE]!,
      },
      forced,
    };
  }

  /** Adds a message's text parts to `into`, scaled by weight. */
  private scanContent(message: unknown, into: Float64Array, weight: number): void {
    if (typeof message !== 'object' || message === null) return;
    const content = (message as { content?: unknown }).content;
    const one = this.one;
    one.fill(0);
    if (typeof content === 'string') {
      this.scan(content, one);
    } else if (Array.isArray(content)) {
      for (const part of content as unknown[]) {
        if (typeof part !== 'object' || part === null) continue;
        const { type, text } = part as { type?: unknown; text?: unknown };
        if (type === 'text' && typeof text === 'string') this.scan(text, one);
      }
    }
    for (let k = 0; k < COUNTS_SIZE; k++) into[k] = into[k]! + weight * one[k]!;
  }

  /**
   * Counts one text: only its question (findQuestion, question.ts, without the learned model's choice
   * between two paragraph ends). The paste's words and length are left out: on the labeled set,
   * counting them at any weight did not help (results/classifier.md), and leaving them out bounds the
   * cost of a message at about 2 × pasteEdge characters however large the paste.
   */
  private scan(text: string, into: Float64Array): void {
    const q = this.q;
    findQuestion(text, this.tuning.pasteEdge, false, q);
    if (q.h1 > q.h0) this.automaton.scan(text, q.h0, q.h1, into);
    if (q.t1 > q.t0) this.automaton.scan(text, q.t0, q.t1, into);
    into[CHARS] = into[CHARS]! + (q.h1 - q.h0) + (q.t1 - q.t0);
  }
}

/** defaults overridden by the values `given` sets; a key present but undefined (an unset config field) keeps its default. */
function withDefaults<T extends object>(defaults: Readonly<T>, given: Partial<T> | undefined): T {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
