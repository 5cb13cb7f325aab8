/**
 * The cue automaton both classifiers scan with: the five vocabulary lists (plus a deployment's extra
 * phrases) compiled into one Aho–Corasick DFA, each list counting under its own tag, and standalone
 * numbers under NUMBER. Built once per classifier, at load.
 */
import { Automaton, type TaggedPhrase } from './automaton.ts';
import { CODE, NUMBER, SIMPLE, STRONG, TAG_COUNT, TASK, TECHNICAL, WEAK } from './score.ts';
import { VOCABULARY, type Vocabulary } from './vocabulary.ts';

const TAGS: Record<keyof Vocabulary, number> = {
  code: CODE, reasoningStrong: STRONG, reasoningWeak: WEAK, technical: TECHNICAL, simple: SIMPLE, task: TASK,
};

/** Phrases added to the default lists, by list. */
export type ExtraCues = Partial<Record<keyof Vocabulary, readonly string[]>>;

function cuePhrases(extra?: ExtraCues): TaggedPhrase[] {
  const phrases: TaggedPhrase[] = [];
  for (const key of Object.keys(TAGS) as (keyof Vocabulary)[]) {
    for (const phrase of [...VOCABULARY[key], ...(extra?.[key] ?? [])]) phrases.push({ phrase, tag: TAGS[key] });
  }
  return phrases;
}

export function cueAutomaton(extra?: ExtraCues): Automaton {
  return new Automaton(cuePhrases(extra), TAG_COUNT, NUMBER);
}

/** The list names by tag, for explain. */
export const LIST_OF_TAG: readonly string[] = (() => {
  const out: string[] = [];
  for (const [key, tag] of Object.entries(TAGS)) out[tag] = key;
  return out;
})();
