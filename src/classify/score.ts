/**
 * From match counts to a score and a tier. Pure arithmetic on small typed arrays, so the classifier can
 * keep its scratch space for the life of the process.
 */
export type Tier = 'SIMPLE' | 'MEDIUM' | 'COMPLEX' | 'REASONING';
/** The tiers in order: a tier's index is its place in the models' score vectors. */
export const TIERS: readonly Tier[] = ['SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING'];
export type Dimension = 'code' | 'reasoning' | 'technical' | 'tokens' | 'simple';

/** Counter slots filled by the automaton (tags) plus the text length; one Float64Array per text. */
export const CODE = 0;
export const STRONG = 1;
export const WEAK = 2;
export const TECHNICAL = 3;
export const SIMPLE = 4;
/** Words that ask for an explanation or a piece of writing; read by the learned model only. */
export const TASK = 5;
export const NUMBER = 6;
export const TAG_COUNT = 7;
export const CHARS = 7;
export const COUNTS_SIZE = 8;

/** Normalised dimensions, each in 0..1, in this order. */
export const D_CODE = 0;
export const D_REASONING = 1;
export const D_TECHNICAL = 2;
export const D_TOKENS = 3;
export const D_SIMPLE = 4;
export const DIM_COUNT = 5;

export interface Tuning {
  /** Matches that saturate a dimension: min(1, count / cap). */
  codeCap: number;
  technicalCap: number;
  simpleCap: number;
  /**
   * reasoning = min(1, strong / strongCap + min(1, (weak + numberValue · numbers) / weakCap)): one
   * strong phrase ("prove that") weighs as much as weakCap weak ones ("at least", "older").
   */
  strongCap: number;
  weakCap: number;
  /** A standalone number counts as this many weak matches: quantities suggest a calculation. */
  numberValue: number;
  /** Estimated tokens (chars / 4) at which the token dimension is 0.5: tokens / (tokens + tokenScale). */
  tokenScale: number;
  /** The simple dimension fades in long prompts: simple × (1 − simpleFade · tokens). */
  simpleFade: number;
  /** This many strong phrases force REASONING. */
  forceStrong: number;
  /**
   * "Plain reasoning" forces REASONING: a reasoning dimension of at least plainReasoning while code and
   * technical are both at most plainMaxDomain, in a prompt that scores at least MEDIUM. Puzzles and word
   * problems rarely say "prove"; engineering tasks say "why" and "at least" too, but come with code or
   * technical terms. Set plainReasoning above 1 to turn this off.
   */
  plainReasoning: number;
  plainMaxDomain: number;
  /** Characters at each end of a long message that may hold the question (see Classifier.scan). */
  pasteEdge: number;
  /** Share of the conversation's score a short last message inherits (0..1)... */
  contextShare: number;
  /** ...fading out linearly as the last message grows to this many characters. */
  followUpChars: number;
  /** Weights in the conversation context: system prompt, and assistant (or tool) turns, relative to user turns. */
  systemWeight: number;
  assistantWeight: number;
  /** Each earlier turn counts this much less than the one after it. */
  recencyDecay: number;
}

export type Weights = Record<Dimension, number>;
export interface Boundaries {
  medium: number;
  complex: number;
  reasoning: number;
}

/** Fills dims (DIM_COUNT slots) from counts (COUNTS_SIZE slots). */
export function normalise(counts: Float64Array, t: Tuning, dims: Float64Array): void {
  dims[D_CODE] = Math.min(1, counts[CODE]! / t.codeCap);
  const weak = counts[WEAK]! + t.numberValue * counts[NUMBER]!;
  dims[D_REASONING] = Math.min(1, counts[STRONG]! / t.strongCap + Math.min(1, weak / t.weakCap));
  dims[D_TECHNICAL] = Math.min(1, counts[TECHNICAL]! / t.technicalCap);
  const tokens = counts[CHARS]! / 4;
  dims[D_TOKENS] = tokens / (tokens + t.tokenScale);
  dims[D_SIMPLE] = Math.min(1, counts[SIMPLE]! / t.simpleCap) * (1 - t.simpleFade * dims[D_TOKENS]!);
}

/** The weighted sum of dimensions, clamped to [0, 1]; simple indicators subtract. */
export function weightedScore(dims: Float64Array, w: Weights): number {
  const s =
    w.code * dims[D_CODE]! +
    w.reasoning * dims[D_REASONING]! +
    w.technical * dims[D_TECHNICAL]! +
    w.tokens * dims[D_TOKENS]! -
    w.simple * dims[D_SIMPLE]!;
  return s < 0 ? 0 : s > 1 ? 1 : s;
}

export function tierOf(score: number, b: Boundaries): Tier {
  if (score >= b.reasoning) return 'REASONING';
  if (score >= b.complex) return 'COMPLEX';
  if (score >= b.medium) return 'MEDIUM';
  return 'SIMPLE';
}
