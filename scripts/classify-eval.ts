// `npm run classify:eval [-- --json] [-- --misses]`: accuracy of the complexity classifier, with its
// default options, on the labeled set in test/fixtures/classifier/prompts.jsonl.
import { join, resolve } from 'node:path';
import { Classifier } from '../src/classify/index.ts';
import { TIERS, evaluate, loadLabeled } from '../src/classify/evaluate.ts';

const ROOT = resolve(import.meta.dirname, '..');
const items = loadLabeled(join(ROOT, 'test/fixtures/classifier/prompts.jsonl'));
const ev = evaluate(new Classifier(), items);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

if (process.argv.includes('--json')) {
  const { misses, ...summary } = ev;
  console.log(JSON.stringify({ tiers: TIERS, ...summary, misses: misses.map((m) => m.id) }, null, 2));
} else {
  console.log(`${ev.total} items: exact tier ${pct(ev.exact)}, within one tier ${pct(ev.withinOne)}\n`);
  console.log('tier        precision  recall  support');
  for (const t of TIERS) {
    const r = ev.perTier[t];
    console.log(`${t.padEnd(10)}  ${pct(r.precision).padStart(9)}  ${pct(r.recall).padStart(6)}  ${String(r.support).padStart(7)}`);
  }
  console.log('\nexpected \\ got   ' + TIERS.map((t) => t.slice(0, 9).padStart(9)).join(' '));
  TIERS.forEach((t, i) => console.log(`${t.padEnd(16)} ${ev.confusion[i]!.map((n) => String(n).padStart(9)).join(' ')}`));
  if (process.argv.includes('--misses')) {
    console.log('\nmisses:');
    for (const m of ev.misses) console.log(`  ${m.id.padEnd(6)} ${m.kind.padEnd(20)} ${m.expected.padEnd(9)} → ${m.got.padEnd(9)} ${m.score.toFixed(3)}`);
  }
}
