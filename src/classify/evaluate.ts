/**
 * Accuracy of a classifier on a labeled set (test/fixtures/classifier/prompts.jsonl). Shared by
 * `npm run classify:eval` and the regression test, so both report the same figures. Not on the
 * request path.
 */
import { readFileSync } from 'node:fs';
import type { Classifier } from './classifier.ts';
import type { ExtraCues } from './cues.ts';
import type { Vocabulary } from './vocabulary.ts';
import { TIERS, type Tier } from './score.ts';

export interface LabeledItem {
  id: string;
  tier: Tier;
  /** A held-out item's tier by the label audit when two blind annotators both gave another (test/fixtures/classifier/audit/). */
  audited?: Tier;
  kind: string;
  messages: unknown[];
}

export interface Evaluation {
  total: number;
  /** Share of items classified in their own tier / in their tier or a neighbouring one. */
  exact: number;
  withinOne: number;
  perTier: Record<Tier, { precision: number; recall: number; support: number }>;
  /** confusion[expected][predicted], rows and columns in TIERS order. */
  confusion: number[][];
  misses: { id: string; kind: string; expected: Tier; got: Tier; score: number }[];
}

/** A labelled set; `audited`: each item's tier is its audited one where the audit changed it. */
export function loadLabeled(path: string, audited = false): LabeledItem[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const item = JSON.parse(line) as LabeledItem;
      return audited && item.audited !== undefined ? { ...item, tier: item.audited } : item;
    });
}

export function evaluate(classifier: Classifier, items: readonly LabeledItem[]): Evaluation {
  const confusion = TIERS.map(() => TIERS.map(() => 0));
  const misses: Evaluation['misses'] = [];
  let exact = 0;
  let withinOne = 0;
  for (const item of items) {
    const got = classifier.classifyMessages(item.messages);
    const e = TIERS.indexOf(item.tier);
    const g = TIERS.indexOf(got.tier);
    confusion[e]![g]!++;
    if (e === g) exact++;
    else misses.push({ id: item.id, kind: item.kind, expected: item.tier, got: got.tier, score: got.score });
    if (Math.abs(e - g) <= 1) withinOne++;
  }
  const perTier = {} as Evaluation['perTier'];
  TIERS.forEach((tier, i) => {
    const hit = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[i]!, 0);
    perTier[tier] = { precision: predicted ? hit / predicted : 0, recall: support ? hit / support : 0, support };
  });
  const total = items.length;
  return { total, exact: total ? exact / total : 0, withinOne: total ? withinOne / total : 0, perTier, confusion, misses };
}

/** Words as the automaton cuts them: letters and digits, a hyphen inside joining two. */
const WORD = /[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu;

/** A word as the automaton compares it: lower case, accents stripped. */
function fold(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

export interface RenamedCues {
  /** One-word cues renamed. */
  count: number;
  /** A conversation with every one-word cue of its text replaced by its invented word. */
  messages(messages: unknown[]): unknown[];
  /** The lists' phrases with the invented words, as a deployment's `classifier.vocabulary` would add them. */
  extra: ExtraCues;
}

/**
 * What phrases a deployment adds to the cue lists can do (`classify:eval --renamed-cues` and a unit
 * test): every one-word cue gets an invented a–z word ("prove" → "zq…vx"), the same wherever it
 * appears, so a model that learned the real word's own weight knows nothing of its stand-in; scored
 * with the stand-ins added to their lists, only the lists' counts can bring the cue back. One-word
 * phrases only: renaming the words of "prove that" would rename every "that"; a longer phrase is
 * renamed where it holds a one-word cue ("prove that" → "zq… that").
 */
export function renameCues(vocabulary: Vocabulary): RenamedCues {
  const renamed = new Map<string, string>();
  const invent = (i: number): string => {
    let s = '';
    for (let n = i + 26 * 26; n > 0; n = Math.floor(n / 26)) s += String.fromCharCode(97 + (n % 26));
    return `zq${s}vx`;
  };
  const lists = Object.keys(vocabulary) as (keyof Vocabulary)[];
  for (const list of lists) {
    for (const phrase of vocabulary[list]) {
      const words = phrase.match(WORD) ?? [];
      if (words.length === 1 && !renamed.has(fold(words[0]!))) renamed.set(fold(words[0]!), invent(renamed.size));
    }
  }
  const rename = (text: string): string => text.replace(WORD, (w) => renamed.get(fold(w)) ?? w);
  return {
    count: renamed.size,
    extra: Object.fromEntries(lists.map((list) => [list, vocabulary[list].map(rename)])),
    messages: (messages) =>
      messages.map((m) => {
        const { content } = m as { content: unknown };
        if (typeof content === 'string') return { ...(m as object), content: rename(content) };
        if (!Array.isArray(content)) return m;
        return { ...(m as object), content: content.map((p: { type?: string; text?: string }) => (p.type === 'text' && typeof p.text === 'string' ? { ...p, text: rename(p.text) } : p)) };
      }),
  };
}
