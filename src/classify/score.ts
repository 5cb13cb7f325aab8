/**
 * From match counts to a score and a tier. Pure arithmetic on small typed arrays, so the classifier can
 * keep its scratch space for the life of the process.
 */
export type Tier = 'SIMPLE' | 'MEDIUM' | 'COMPLEX' | 'REASONING';
export type Dimension = 'code' | 'reasoning' | 'technical' | 'tokens' | 'simple';

/** Counter slots filled by the automaton (tags) plus the text length; one Float64Array per text. */
export const CODE = 0;
export const STRONG = 1;
export const WEAK = 2;
export const TECHNICAL = 3;
export const SIMPLE = 4;
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
   * Reasoning = min(1, strong / strongCap + weakShare · min(1, weak / weakCap) + taskShare · min(1, task / taskCap)):
   * a request to explain or write lifts a look-up a little; analytical and quantitative language more;
   * only proofs, probability and puzzles ("strong") can saturate it.
   */
  strongCap: number;
  weakCap: number;
  weakShare: number;
  taskCap: number;
  taskShare: number;
  /** A number in the text counts as this many weak reasoning matches: quantities suggest a calculation. */
  numberValue: number;
  /** Estimated tokens (chars / 4) at which the token dimension is 0.5: tokens / (tokens + scale). */
  tokenScale: number;
  /** Strong phrases that force REASONING on their own. */
  forceStrong: number;
  /** Characters at each end of a long message whose matches count fully; the middle counts less. */
  pasteEdge: number;
  pasteMiddleWeight: number;
  /** Share of a paste's length that counts towards the token estimate. */
  pasteLengthWeight: number;
  /** Extra characters counted for each non-Latin letter in the token estimate. */
  otherCharWeight: number;
  /** Weight of assistant (and tool) turns relative to user turns in the context. */
  assistantWeight: number;
  /** How much a long prompt fades the simple dimension: simple × (1 − simpleFade · tokens). */
  simpleFade: number;
  /** Share of the conversation's score a short last message inherits (0..1)... */
  contextShare: number;
  /** ...fading out linearly as the last message grows to this many characters. */
  followUpChars: number;
  /** Weight of the system prompt's matches relative to earlier turns in the context. */
  systemWeight: number;
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
  dims[D_REASONING] = Math.min(
    1,
    counts[STRONG]! / t.strongCap +
      t.weakShare * Math.min(1, (counts[WEAK]! + t.numberValue * counts[NUMBER]!) / t.weakCap) +
      t.taskShare * Math.min(1, counts[TASK]! / t.taskCap),
  );
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
