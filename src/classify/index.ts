export { Classifier, DEFAULT_BOUNDARIES, DEFAULT_TUNING, DEFAULT_WEIGHTS } from './classifier.ts';
export type { Classification, ClassifierOptions, Explanation } from './classifier.ts';
export type { Boundaries, Dimension, Tier, Tuning, Weights } from './score.ts';
export { VOCABULARY, type Vocabulary } from './vocabulary.ts';
