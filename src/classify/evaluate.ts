/**
 * Accuracy of a classifier on a labeled set (test/fixtures/classifier/prompts.jsonl). Shared by
 * `npm run classify:eval` and the regression test, so both report the same figures. Not on the
 * request path.
 */
import { readFileSync } from 'node:fs';
import type { Classifier } from './classifier.ts';
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
