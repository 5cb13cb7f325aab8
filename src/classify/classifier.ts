/**
 * The complexity classifier: a tier (SIMPLE / MEDIUM / COMPLEX / REASONING) and a score in [0, 1] for a
 * prompt or an OpenAI chat conversation, computed on the request path. Everything is built in the
 * constructor; a classification scans each message once into preallocated counters and allocates only
 * its result.
 */
import { Automaton, type TaggedPhrase } from './automaton.ts';
import { VOCABULARY, type Vocabulary } from './vocabulary.ts';
import {
  CHARS, CODE, COUNTS_SIZE, D_CODE, D_REASONING, D_SIMPLE, D_TECHNICAL, D_TOKENS, DIM_COUNT, NUMBER, SIMPLE, STRONG,
  TAG_COUNT, TASK, TECHNICAL, WEAK, normalise, tierOf, weightedScore,
  type Boundaries, type Dimension, type Tier, type Tuning, type Weights,
} from './score.ts';

export interface ClassifierOptions {
  /** Weight of each normalised dimension in the score; `simple` is subtracted. */
  weights?: Partial<Weights>;
  /** Lowest score of each tier above SIMPLE. */
  boundaries?: Partial<Boundaries>;
  /** Phrases added to the default vocabularies. */
  extra?: Partial<Record<keyof Vocabulary, readonly string[]>>;
  /** Whether enough strong reasoning phrases ("prove that", "step by step") force REASONING. */
  strongReasoningForces?: boolean;
  /** Caps, scales and conversation blending; the defaults are tuned on the labeled set. */
  tuning?: Partial<Tuning>;
}

export interface Classification {
  tier: Tier;
  score: number;
  /** The normalised dimensions (0..1) the score was computed from, for explain output. */
  dims: Record<Dimension, number>;
  /** True when strong reasoning phrases forced REASONING regardless of the score. */
  forced: boolean;
}

// Tuned with `npm run classify:eval` on test/fixtures/classifier (see results/classifier.md).
export const DEFAULT_WEIGHTS: Readonly<Weights> = { code: 0.3, reasoning: 0.25, technical: 0.25, tokens: 0.1, simple: 0.05 };
export const DEFAULT_BOUNDARIES: Readonly<Boundaries> = { medium: 0.15, complex: 0.35, reasoning: 0.6 };
export const DEFAULT_TUNING: Readonly<Tuning> = {
  codeCap: 3,
  technicalCap: 3,
  simpleCap: 2,
  strongCap: 2,
  weakCap: 2,
  weakShare: 0.5,
  taskCap: 2,
  taskShare: 0.3,
  numberValue: 0.5,
  tokenScale: 100,
  forceStrong: 2,
  pasteEdge: 600,
  pasteMiddleWeight: 0.25,
  pasteLengthWeight: 1,
  otherCharWeight: 2,
  assistantWeight: 1,
  simpleFade: 0,
  contextShare: 0.6,
  followUpChars: 120,
  systemWeight: 0.25,
  recencyDecay: 0.7,
};

const TAGS: Record<keyof Vocabulary, number> = {
  code: CODE, reasoningStrong: STRONG, reasoningWeak: WEAK, technical: TECHNICAL, simple: SIMPLE, task: TASK,
};

export class Classifier {
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
  private readonly lastDims = new Float64Array(DIM_COUNT);
  private readonly contextDims = new Float64Array(DIM_COUNT);

  constructor(opts: ClassifierOptions = {}) {
    this.weights = { ...DEFAULT_WEIGHTS, ...opts.weights };
    this.boundaries = { ...DEFAULT_BOUNDARIES, ...opts.boundaries };
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.forces = opts.strongReasoningForces ?? true;
    for (const [k, v] of Object.entries({ ...this.weights, ...this.boundaries, ...this.tuning })) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`classifier: ${k} must be a finite number ≥ 0, got ${v}`);
    }
    const b = this.boundaries;
    if (!(b.medium <= b.complex && b.complex <= b.reasoning)) throw new Error('classifier: boundaries must satisfy medium ≤ complex ≤ reasoning');

    const phrases: TaggedPhrase[] = [];
    for (const key of Object.keys(TAGS) as (keyof Vocabulary)[]) {
      for (const phrase of [...VOCABULARY[key], ...(opts.extra?.[key] ?? [])]) phrases.push({ phrase, tag: TAGS[key] });
    }
    this.automaton = new Automaton(phrases, TAG_COUNT, NUMBER);
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
    let lastIdx = list.length - 1;
    while (lastIdx >= 0 && roleOf(list[lastIdx]) !== 'user') lastIdx--;
    // No user message: classify whatever came last rather than nothing.
    if (lastIdx < 0) lastIdx = list.length - 1;
    if (lastIdx >= 0) this.scanContent(list[lastIdx], this.last, 1);

    let recency = 1;
    for (let i = lastIdx - 1; i >= 0; i--) {
      const role = roleOf(list[i]);
      if (role === 'system' || role === 'developer') {
        this.scanContent(list[i], this.context, t.systemWeight);
      } else {
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
    let score = weightedScore(dims, this.weights);
    const forced = this.forces && strongForced && score < this.boundaries.reasoning;
    if (forced) score = this.boundaries.reasoning;
    return {
      tier: tierOf(score, this.boundaries),
      score,
      dims: { code: dims[D_CODE]!, reasoning: dims[D_REASONING]!, technical: dims[D_TECHNICAL]!, tokens: dims[D_TOKENS]!, simple: dims[D_SIMPLE]! },
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
   * Counts one text. A long text is usually a paste with a short question before or after it: the
   * question is the first (last) paragraph if it ends (starts) within `pasteEdge` characters, else the
   * first (last) `pasteEdge` characters. Matches in the question count fully, matches in the paste
   * `pasteMiddleWeight`, and the paste adds `pasteLengthWeight` of its length to the token estimate:
   * a pasted log or file does not by itself make the request COMPLEX.
   */
  private scan(text: string, into: Float64Array): void {
    const t = this.tuning;
    const n = text.length;
    let head = n;
    let tail = n;
    if (n > 2 * t.pasteEdge) {
      const firstBreak = text.indexOf('\n\n');
      head = firstBreak >= 0 && firstBreak < t.pasteEdge ? firstBreak : t.pasteEdge;
      const lastBreak = text.lastIndexOf('\n\n');
      tail = lastBreak > n - t.pasteEdge ? lastBreak : n - t.pasteEdge;
    }
    const other = this.automaton.scan(text, into, head, tail, t.pasteMiddleWeight);
    // Tokens are estimated as chars / 4; a CJK or Cyrillic character is closer to one token each.
    const effective = head + (n - tail) + t.pasteLengthWeight * (tail - head) + t.otherCharWeight * other;
    into[CHARS] = into[CHARS]! + effective;
  }
}

function roleOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { role?: unknown }).role : undefined;
}
