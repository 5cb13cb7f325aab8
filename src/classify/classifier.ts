/**
 * The complexity classifier: a tier (SIMPLE / MEDIUM / COMPLEX / REASONING) and a score in [0, 1] for a
 * prompt or an OpenAI chat conversation, computed on the request path. Only the last user message's
 * question decides the tier; earlier turns are context for a short follow-up.
 *
 * Two scorers share the cue automaton (cues.ts):
 * - learned.ts, the default: a linear model over cue counts, length, hashed words and character
 *   n-grams, trained offline (`npm run classify:train`) and shipped as weights;
 * - heuristic.ts: the earlier hand-tuned weighted score, used when a deployment sets `weights`,
 *   `boundaries` or `tuning` (they mean nothing to the learned model) or asks for model 'heuristic'.
 * Everything is built in the constructor.
 */
import { cueAutomaton } from './cues.ts';
import { HeuristicClassifier, type Classification, type ClassifierOptions } from './heuristic.ts';
import { LearnedClassifier, type Explanation } from './learned.ts';
import { MODEL_WEIGHTS } from './model-weights.ts';

export { DEFAULT_BOUNDARIES, DEFAULT_TUNING, DEFAULT_WEIGHTS } from './heuristic.ts';
export type { Classification, ClassifierOptions } from './heuristic.ts';
export type { Explanation } from './learned.ts';

export class Classifier {
  /** Which scorer classifies: 'learned' or 'heuristic'. */
  readonly model: 'learned' | 'heuristic';
  private readonly scorer: LearnedClassifier | HeuristicClassifier;

  constructor(opts: ClassifierOptions = {}) {
    const tuned = [opts.weights, opts.boundaries, opts.tuning].some((o) => o !== undefined && Object.values(o).some((v) => v !== undefined));
    this.model = opts.model ?? (tuned ? 'heuristic' : 'learned');
    // The heuristic validates every option, so a bad value fails at load whichever model runs.
    const automaton = cueAutomaton(opts.extra);
    const heuristic = new HeuristicClassifier(opts, automaton);
    this.scorer = this.model === 'learned' ? new LearnedClassifier(automaton, MODEL_WEIGHTS) : heuristic;
  }

  classifyText(text: string): Classification {
    return this.scorer.classifyText(text);
  }

  /**
   * Classifies the last user message in the context of the conversation. Never throws: anything that
   * is not a chat message with text content is skipped.
   */
  classifyMessages(messages: unknown): Classification {
    return this.scorer.classifyMessages(messages);
  }

  /** The signals that decided the tier (learned model only; null for the heuristic, whose dims say it all). */
  explain(messages: unknown): Explanation | null {
    return this.scorer instanceof LearnedClassifier ? this.scorer.explain(messages) : null;
  }
}
