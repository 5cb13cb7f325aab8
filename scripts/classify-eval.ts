// `npm run classify:eval [-- --json] [-- --misses] [-- --heuristic] [-- --no-heldout] [-- --audited]`: accuracy of the
// complexity classifier, default options, on each labeled set:
//   the training files (TRAINING_FILES in src/classify/train.ts): the learned model was fitted on them,
//                                      so these figures are in-sample; `npm run classify:train -- --cv`
//                                      gives the cross-validated figure.
//   heldout.jsonl, heldout-2.jsonl, …  every heldout*.jsonl there, in number order: each written
//                                      independently, never used for training or tuning.
// --audited scores the held-out sets against their audited tiers (test/fixtures/classifier/audit/:
// where two blind annotators both gave another tier); without it, against the writers' own.
// --heuristic scores the earlier hand-tuned classifier instead. --misses lists misses of the training
// sets only: the held-out prompts are not for reading.
// --renamed-cues measures what phrases a deployment adds to the cue lists can do: every one-word cue
// in the held-out prompts is renamed to an invented word, and each set is scored three
// ways: as written, renamed with the default lists (the invented words unknown), and renamed with the
// invented words added to their lists (`classifier.vocabulary`).
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Classifier } from '../src/classify/index.ts';
import { VOCABULARY } from '../src/classify/vocabulary.ts';
import { evaluate, loadLabeled, renameCues, type Evaluation } from '../src/classify/evaluate.ts';
import { TIERS } from '../src/classify/score.ts';
import { TRAINING_FILES } from '../src/classify/train.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIR = 'test/fixtures/classifier';
const args = process.argv.slice(2);
const classifier = new Classifier({ model: args.includes('--heuristic') ? 'heuristic' : 'learned' });
const sets: { name: string; files: string[]; heldOut: boolean }[] = [
  ...TRAINING_FILES.map((f) => ({ name: `${f} (training)`, files: [f], heldOut: false })),
  ...heldOutFiles().map((f) => ({ name: `${f} (held out)`, files: [f], heldOut: true })),
].filter((s) => !(s.heldOut && args.includes('--no-heldout')));

/** heldout.jsonl, heldout-2.jsonl, heldout-3.jsonl, … as the directory has them, in number order. */
function heldOutFiles(): string[] {
  const HELDOUT = /^heldout(?:-(\d+))?\.jsonl$/;
  return readdirSync(join(ROOT, DIR))
    .flatMap((file) => {
      const m = HELDOUT.exec(file);
      return m === null ? [] : [{ file, n: Number(m[1] ?? 1) }];
    })
    .sort((x, y) => x.n - y.n)
    .map((x) => x.file);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const audited = args.includes('--audited');
const results = sets.map((s) => ({ ...s, ev: evaluate(classifier, s.files.flatMap((f) => loadLabeled(join(ROOT, DIR, f), audited && s.heldOut))) }));

if (args.includes('--renamed-cues')) {
  renamedCues();
} else if (args.includes('--json')) {
  const out = results.map(({ name, heldOut, ev: { misses, ...summary } }) => ({ name, tiers: TIERS, ...summary, misses: heldOut ? undefined : misses.map((m) => m.id) }));
  console.log(JSON.stringify({ model: classifier.model, sets: out }, null, 2));
} else {
  console.log(`model: ${classifier.model}${audited ? ', held-out sets scored against their audited tiers' : ''}`);
  for (const { name, heldOut, ev } of results) report(name, ev, args.includes('--misses') && !heldOut);
}

function report(name: string, ev: Evaluation, misses: boolean): void {
  console.log(`\n== ${name}: ${ev.total} items, exact tier ${pct(ev.exact)}, within one tier ${pct(ev.withinOne)}\n`);
  console.log('tier        precision  recall  support');
  for (const t of TIERS) {
    const r = ev.perTier[t];
    console.log(`${t.padEnd(10)}  ${pct(r.precision).padStart(9)}  ${pct(r.recall).padStart(6)}  ${String(r.support).padStart(7)}`);
  }
  console.log('\nexpected \\ got   ' + TIERS.map((t) => t.slice(0, 9).padStart(9)).join(' '));
  TIERS.forEach((t, i) => console.log(`${t.padEnd(16)} ${ev.confusion[i]!.map((n) => String(n).padStart(9)).join(' ')}`));
  if (misses) {
    console.log('\nmisses:');
    for (const m of ev.misses) console.log(`  ${m.id.padEnd(6)} ${m.kind.padEnd(20)} ${m.expected.padEnd(9)} → ${m.got.padEnd(9)} ${m.score.toFixed(3)}`);
  }
}


function renamedCues(): void {
  const renamed = renameCues(VOCABULARY);
  const configured = new Classifier({ model: classifier.model, extra: renamed.extra });
  console.log(`model: ${classifier.model}; ${renamed.count} one-word cues renamed in the held-out prompts`);
  console.log('set'.padEnd(30) + 'as written   renamed, default lists   renamed, words added to their lists   (exact / within one)');
  const pooled = new Float64Array(6);
  let n = 0;
  for (const { name, files, heldOut } of sets) {
    if (!heldOut) continue;
    const items = files.flatMap((f) => loadLabeled(join(ROOT, DIR, f), audited));
    const changed = items.map((it) => ({ ...it, messages: renamed.messages(it.messages) }));
    const evs = [evaluate(classifier, items), evaluate(classifier, changed), evaluate(configured, changed)];
    evs.forEach((ev, i) => {
      pooled[2 * i]! += ev.exact * ev.total;
      pooled[2 * i + 1]! += ev.withinOne * ev.total;
    });
    n += items.length;
    const cell = (ev: Evaluation): string => `${pct(ev.exact)} / ${pct(ev.withinOne)}`;
    console.log(`${name.replace(' (held out)', '').padEnd(30)}${cell(evs[0]!).padEnd(22)}${cell(evs[1]!).padEnd(25)}${cell(evs[2]!)}`);
  }
  const cell = (i: number): string => `${pct(pooled[2 * i]! / n)} / ${pct(pooled[2 * i + 1]! / n)}`;
  console.log(`${`pooled (${n})`.padEnd(30)}${cell(0).padEnd(22)}${cell(1).padEnd(25)}${cell(2)}`);
}

