import { execFile, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';
import { Automaton, type WordSink } from '../../src/classify/automaton.ts';
import { ALPHABET_SIZE } from '../../src/classify/alphabet.ts';
import { Classifier, DEFAULT_BOUNDARIES, type Tier } from '../../src/classify/index.ts';
import { evaluate, loadLabeled, renameCues } from '../../src/classify/evaluate.ts';
import { DENSE_COUNT, FeatureExtractor, FeatureVector } from '../../src/classify/features.ts';
import { cueAutomaton } from '../../src/classify/cues.ts';
import { MODEL_WEIGHTS } from '../../src/classify/model-weights.ts';
import { LinearModel, decide } from '../../src/classify/model.ts';
import { tierOf } from '../../src/classify/score.ts';
import { TRAINING_FILES, cueWordHashes, examples } from '../../src/classify/train.ts';
import { VOCABULARY } from '../../src/classify/vocabulary.ts';

/** A design question and the answer offering a split: a follow-up to it inherits COMPLEX. */
const COMPLEX_TURNS = [
  { role: 'system', content: 'You are a senior backend engineer.' },
  {
    role: 'user',
    content:
      'Our notifications service is one 400-line module handling email, SMS and push, with retries, rate limiting ' +
      'and templating all mixed together. The tests need a real SMTP server and the database. How would you split it?',
  },
  {
    role: 'assistant',
    content:
      'I would split it into a Channel interface (email, SMS, push), a dispatcher with retries and backoff, a template ' +
      'renderer, and a repository for delivery state, injected so tests can use fakes instead of SMTP and the database.',
  },
];

const ROOT = resolve(import.meta.dirname, '../..');
const TRAIN_FILES = TRAINING_FILES.map((f) => join(ROOT, 'test/fixtures/classifier', f));

/** Counts per tag of `text` with phrases tagged 0, 1, 2, ... in order; numbers, if asked, under the last tag. */
function counts(phrases: string[], text: string, numbers = false): number[] {
  const tags = phrases.length + (numbers ? 1 : 0);
  const a = new Automaton(phrases.map((phrase, tag) => ({ phrase, tag })), tags, numbers ? phrases.length : -1);
  const acc = new Float64Array(tags);
  a.scan(text, 0, text.length, acc);
  return [...acc];
}

describe('Automaton', () => {
  it('matches whole words only', () => {
    expect(counts(['class'], 'class classic subclass class_ classes (class)')).toEqual([3]);
  });

  it('ignores ASCII case and Latin accents', () => {
    expect(counts(['class', 'für'], 'CLASS Class cLaSs FÜR fur Für')).toEqual([3, 3]);
  });

  it('matches multi-word phrases across any run of spaces, punctuation and newlines', () => {
    expect(counts(['step by step'], 'Step  by\nstep; step, by - step. stepby step')).toEqual([2]);
  });

  it('counts overlapping phrases and phrases inside phrases', () => {
    expect(counts(['step by step', 'by step', 'step'], 'step by step by step')).toEqual([2, 2, 3]);
    expect(counts(['prove', 'prove that'], 'Prove that it halts; prove it.')).toEqual([2, 1]);
  });

  it('counts a word once however many separators follow it', () => {
    expect(counts(['hi'], 'hi  \n\n  hi!!! ... hi')).toEqual([3]);
  });

  it('treats a hyphen inside a word as joining it', () => {
    expect(counts(['proof', 'tradeoff', 'email'], 'leak-proof, trade-off vs tradeoff, e-mail; proof - done')).toEqual([1, 2, 1]);
  });

  it('counts standalone numbers, not digits glued to letters', () => {
    expect(counts(['hi'], 'hi 3am x^2 = 45, 9:40, 2024-05-14 and 1st', true)).toEqual([1, 5]);
  });

  it('survives unicode: emoji, CJK, Cyrillic look-alikes, lone surrogates', () => {
    // Emoji and lone surrogates separate words; CJK and Cyrillic letters are word characters that match
    // nothing, so "日本語class" and "клаss" are single unknown words.
    expect(counts(['class', 'hi'], 'hi👋class 日本語class клаss \uD800class 👍')).toEqual([2, 1]);
    expect(counts(['class'], '日本語のテキスト')).toEqual([0]);
  });

  it('handles empty input and text without any match', () => {
    expect(counts(['class'], '')).toEqual([0]);
    expect(counts(['class'], '   \n\t ')).toEqual([0]);
  });

  it('agrees with a naive word-sequence count on random text', () => {
    const words = ['a', 'b', 'ab', 'ba', 'step', 'by', 'x1'];
    const phrases = ['a', 'ab', 'a b', 'b a b', 'step by step', 'by', 'x1 a'];
    const seps = [' ', '  ', ', ', '\n', '.', '!? '];
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let round = 0; round < 300; round++) {
      const seq = Array.from({ length: 1 + rand(30) }, () => words[rand(words.length)]!);
      const text = seq.map((w, i) => (i ? seps[rand(seps.length)] : '') + (rand(3) ? w : w.toUpperCase())).join('');
      const expected = phrases.map((p) => {
        const ws = p.split(' ');
        let n = 0;
        for (let i = 0; i + ws.length <= seq.length; i++) if (ws.every((w, j) => seq[i + j] === w)) n++;
        return n;
      });
      expect(counts(phrases, text)).toEqual(expected);
    }
  });

  it('scans a range without counting words the range cuts', () => {
    const a = new Automaton([{ phrase: 'class', tag: 0 }, { phrase: 'by step', tag: 1 }], 2);
    const text = 'subclass class classic step by step';
    const range = (from: number, to: number): number[] => {
      const acc = new Float64Array(2);
      a.scan(text, from, to, acc);
      return [...acc];
    };
    expect(range(0, text.length)).toEqual([1, 1]);
    expect(range(3, 8)).toEqual([0, 0]); // "class" inside "subclass"
    expect(range(9, 14)).toEqual([1, 0]); // exactly "class", followed by a space
    expect(range(15, 20)).toEqual([0, 0]); // "class" of "classic"
    expect(range(28, text.length)).toEqual([0, 1]);
  });

  it('scans texts longer than its tally chunk', () => {
    const text = 'bug '.repeat(5000);
    expect(counts(['bug'], text)).toEqual([5000]);
  });

  it('counts the same with a vocabulary too large for its 16-bit table', () => {
    // 12,000 filler phrases of 8 letters give more than 65,536 states, so the table is int32.
    let seed = 7;
    const letter = (): string => String.fromCharCode(97 + ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 26));
    const filler = Array.from({ length: 12000 }, () => Array.from({ length: 8 }, letter).join(''));
    const phrases = ['step by step', 'class', 'trade-off'];
    const small = new Automaton(phrases.map((phrase, tag) => ({ phrase, tag })), 4, 3);
    const big = new Automaton([...phrases.map((phrase, tag) => ({ phrase, tag })), ...filler.map((phrase) => ({ phrase, tag: 3 }))], 5, 4);
    expect(big.stateCount).toBeGreaterThan(65536);
    expect(big.tableBytes).toBe(big.stateCount * ALPHABET_SIZE * 4);
    expect(small.tableBytes).toBe(small.stateCount * ALPHABET_SIZE * 2);
    const text = `A trade-off, step by step: class 42, ${filler[0]} and ${filler[11999]} subclass ${filler[1]!.slice(0, 7)}`;
    const [a, b] = [new Float64Array(4), new Float64Array(5)];
    small.scan(text, 0, text.length, a);
    big.scan(text, 0, text.length, b);
    expect([...b.subarray(0, 3)]).toEqual([...a.subarray(0, 3)]);
    expect(b[4]).toBe(a[3]); // numbers
    expect(b[3]).toBe(2); // the two whole filler phrases; the cut one does not count
    expect(big.matches(text, 0, text.length).map((m) => m.phrase)).toEqual(['trade-off', 'step by step', 'class', '(number)', filler[0], filler[11999]]);
  });

  it('rejects phrases without letters or with characters it cannot match', () => {
    expect(() => new Automaton([{ phrase: '```', tag: 0 }], 1)).toThrow(/no letters/);
    expect(() => new Automaton([{ phrase: 'класс', tag: 0 }], 1)).toThrow(/outside/);
  });
});

describe('Automaton.scanWords and matches', () => {
  const a = new Automaton([{ phrase: 'step by step', tag: 0 }, { phrase: 'class', tag: 1 }], 2);
  const text = 'Think step-by-step, then step by step: class classic Ünïcode 日本 e-mail 42x 7';

  it('counts exactly what scan counts', () => {
    const plain = new Float64Array(2);
    a.scan(text, 0, text.length, plain);
    const both = new Float64Array(2);
    const words: string[] = [];
    const sink: WordSink = { word: (t, s, e) => void words.push(t.slice(s, e)), letter: () => {} };
    a.scanWords(text, 0, text.length, both, sink, new Uint8Array(65536), new Float64Array(8));
    expect([...both]).toEqual([...plain]);
    // Words as the alphabet cuts them: a hyphen inside a word joins it, CJK letters are word letters.
    expect(words).toEqual(['Think', 'step-by-step', 'then', 'step', 'by', 'step', 'class', 'classic', 'Ünïcode', '日本', 'e-mail', '42x', '7']);
  });

  it('hashes a word the same whatever its case, accents or digits', () => {
    const hashes: number[] = [];
    const sink: WordSink = { word: (_t, _s, _e, h) => void hashes.push(h), letter: () => {} };
    for (const t of ['Café 12', 'CAFE 99']) a.scanWords(t, 0, t.length, new Float64Array(2), sink, new Uint8Array(65536), new Float64Array(8));
    expect(hashes[0]).toBe(hashes[2]);
    expect(hashes[1]).toBe(hashes[3]);
  });

  it('lists the phrases it matched, for explain', () => {
    expect(a.matches(text, 0, text.length).map((m) => m.phrase)).toEqual(['step by step', 'class']);
  });
});

describe('Classifier (learned model, the default)', () => {
  const c = new Classifier();

  it('uses the learned model unless heuristic options are set', () => {
    expect(c.model).toBe('learned');
    expect(new Classifier({ weights: { code: 0.1 } }).model).toBe('heuristic');
    expect(new Classifier({ boundaries: { medium: 0.2 } }).model).toBe('heuristic');
    expect(new Classifier({ model: 'heuristic' }).model).toBe('heuristic');
    // An unset config field arrives as undefined and selects nothing.
    expect(new Classifier({ weights: { code: undefined }, boundaries: { medium: undefined } }).model).toBe('learned');
  });

  it.each<[string, Tier]>([
    ['hi', 'SIMPLE'],
    ['thanks, that worked', 'SIMPLE'],
    ['What does CPU stand for?', 'SIMPLE'],
    // Cue words in a look-up do not make it a proof.
    ['Who proved the four colour theorem?', 'SIMPLE'],
    ['Wie viele Einwohner hat München?', 'SIMPLE'],
    ['Draft a polite message asking my neighbour to keep the music down after 10pm on weeknights.', 'MEDIUM'],
    ['Explain how a hash map handles collisions.', 'MEDIUM'],
    // One stray cue in a routine request does not force REASONING.
    ['Explain step by step how to make pancakes.', 'MEDIUM'],
    [
      'Implement a thread-safe LRU cache in Go with TTL per entry, benchmarks and unit tests; explain the locking ' +
        'strategy, how eviction interacts with expiry, and what changes if we shard it across 16 mutexes.',
      'COMPLEX',
    ],
    ['Plan the migration of our billing tables to a new schema step by step, with a backfill, dual writes and a rollback plan.', 'COMPLEX'],
    [
      'Our Postgres replication lag is at least 30 seconds under load and the Kafka consumers must keep up; ' +
        'redesign the pipeline so the database and the queue never fall behind, with deploy and rollback steps.',
      'COMPLEX',
    ],
    ['Prove that there are infinitely many primes.', 'REASONING'],
    // Reasoning without cue words: a comparison of two quantities, a word problem, a logic puzzle.
    ['Which is larger, 2^60 or 3^40?', 'REASONING'],
    ['A cyclist rides 30 km at 15 km/h and comes back at 10 km/h. What was her average speed?', 'REASONING'],
    ['Ann is older than Ben but younger than Cy. Dee is older than Cy. Who is the second oldest, and can we be sure?', 'REASONING'],
  ])('classifies %j as %s', (text, tier) => {
    expect(c.classifyText(text).tier).toBe(tier);
  });

  it('scores the expected tier on 0..1 and reports the cue dimensions', () => {
    const r = c.classifyText('Prove that there are infinitely many primes.');
    expect(r.score).toBeGreaterThan(0.67);
    expect(r.score).toBeLessThanOrEqual(1);
    expect(r.forced).toBe(false);
    expect(r.dims.reasoning).toBeGreaterThan(0);
    expect(c.classifyText('hi').score).toBeLessThan(0.2);
  });

  it('classifies the last user message, with the earlier turns as context', () => {
    const r = c.classifyMessages([
      { role: 'user', content: 'Prove that the square root of 2 is irrational.' },
      { role: 'assistant', content: 'Suppose it were rational...' },
      { role: 'user', content: 'thanks!' },
    ]);
    expect(r.tier).toBe('SIMPLE');
  });


  it('lets a short follow-up take the conversation\'s tier, but not an acknowledgement', () => {
    for (const f of ['do it', 'go ahead']) expect(c.classifyMessages([...COMPLEX_TURNS, { role: 'user', content: f }]).tier).toBe('COMPLEX');
    expect(c.classifyMessages([...COMPLEX_TURNS, { role: 'user', content: 'perfect, thanks!' }]).tier).toBe('SIMPLE');
  });

  it('gives a long last message exactly its own classification whatever came before', () => {
    const note =
      'Write a friendly note to the team saying that Friday’s retro moves to Monday at 10, in the same room as ' +
      'usual, that lunch is on us this time, and that anyone who cannot make it should send their notes to Priya.';
    expect(c.classifyMessages([...COMPLEX_TURNS, { role: 'user', content: note }])).toEqual(c.classifyText(note));
  });

  it('classifies the last user message even when an assistant message follows it, and reads text parts', () => {
    const text = 'Prove that there are infinitely many primes.';
    expect(c.classifyMessages([{ role: 'user', content: text }, { role: 'assistant', content: 'Suppose' }])).toEqual(c.classifyText(text));
    const parts = c.classifyMessages([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:...' } }, { type: 'text', text }] }]);
    expect(parts).toEqual(c.classifyText(text));
  });

  it('never throws on malformed input', () => {
    const bad: unknown[] = [
      null, undefined, 42, 'hello', {}, [], [null], [42, 'x'], [{}], [{ role: 'user' }], [{ role: 'user', content: 5 }],
      [{ role: 'user', content: [null, 1, 'x', { type: 'text' }, { type: 'text', text: 7 }, { text: 'no type' }] }],
      [{ role: { nested: true }, content: { text: 'object content' } }],
      [{ role: 'assistant', content: 'only an assistant message' }],
      [{ role: 'user', content: '日本語'.repeat(5000) }],
    ];
    for (const m of bad) {
      const r = c.classifyMessages(m);
      expect(['SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING']).toContain(r.tier);
      expect(Number.isFinite(r.score)).toBe(true);
      expect(c.explain(m)).not.toBeNull();
    }
    expect(c.classifyMessages(null).tier).toBe('SIMPLE');
    expect(c.classifyText(undefined as unknown as string).tier).toBe('SIMPLE');
  });

  describe('pastes: the question decides', () => {
    const code = Array.from({ length: 60 }, (_, i) => `  const x${i} = await db.query(sql, [id]); // retry, cache, deadlock`).join('\n');
    const log = Array.from(
      { length: 40 },
      (_, i) => `2024-05-14T09:15:${String(i).padStart(2, '0')}Z INFO worker-${i % 3} job=charge latency_ms=${300 + i} retry=0 db=postgres`,
    ).join('\n');

    it('reads the question above a paste, not the paste', () => {
      for (const q of ['which line declares x7?', 'what language is this?']) {
        const r = c.classifyText(`${q}\n\n${code}`);
        expect(r.dims.code).toBe(0);
        expect(r.tier).toBe('SIMPLE');
      }
    });

    it('reads the question below a paste, and a task about the paste is a task', () => {
      expect(c.classifyText(`${log}\n\nWhich worker handled the most jobs? quick answer`).tier).toBe('SIMPLE');
      expect(c.classifyText(`${code}\n\nrefactor this into a repository with retries and tests, and fix the deadlock`).tier).toBe('COMPLEX');
    });

    it('says how much was read as the question and how much as paste', () => {
      const e = c.explain([{ role: 'user', content: `what language is this?\n\n${code}` }])!;
      expect(e.questionChars).toBe('what language is this?'.length);
      expect(e.pasteChars).toBeGreaterThan(3000);
    });
  });

  it('adds extra cue phrases from options to their list', () => {
    const text = 'Tune the flux capacitor and the warp coil.';
    expect(new Classifier().classifyText(text).dims.technical).toBe(0);
    const extended = new Classifier({ extra: { technical: ['flux capacitor', 'warp coil'] } });
    expect(extended.classifyText(text).dims.technical).toBeGreaterThan(0);
    expect(extended.explain([{ role: 'user', content: text }])!.cues.technical).toEqual(['flux capacitor', 'warp coil']);
  });

  it('gives words added to a cue list the weight of their list: renamed cues, configured, score nearly as written', () => {
    // Every one-word cue of the held-out prompts renamed to an invented word (renameCues): with the
    // default lists the model has lost them; with the invented words added to their lists it has only
    // the lists' counts to go on. v22 (cue dropout 0.75): 94.2% exact as written, 90.5% renamed, 93.7%
    // renamed and configured; v21, trained without dropout, got back to 93.2% of its 94.6%.
    const dir = join(ROOT, 'test/fixtures/classifier');
    const items = readdirSync(dir).filter((f) => /^heldout(-\d+)?\.jsonl$/.test(f)).flatMap((f) => loadLabeled(join(dir, f)));
    expect(items.length).toBeGreaterThan(2000);
    const renamed = renameCues(VOCABULARY);
    const changed = items.map((it) => ({ ...it, messages: renamed.messages(it.messages) }));
    const asWritten = evaluate(c, items).exact;
    const unknown = evaluate(c, changed).exact;
    const configured = evaluate(new Classifier({ extra: renamed.extra }), changed).exact;
    expect(unknown).toBeLessThan(asWritten - 0.02);
    expect(configured).toBeGreaterThan(unknown + 0.02);
    expect(configured).toBeGreaterThan(asWritten - 0.01);
  });
});

describe('Classifier.explain', () => {
  const c = new Classifier();

  it('shows the cues, sizes, per-tier probabilities and the features that decided', () => {
    const e = c.explain([{ role: 'user', content: 'Prove by induction that 1 + 2 + ... + n = n(n+1)/2.' }])!;
    expect(e.tier).toBe('REASONING');
    expect(e.cues.reasoningStrong).toEqual(expect.arrayContaining(['prove', 'by induction']));
    expect(e.numbers).toBeGreaterThan(0);
    const p = Object.values(e.probabilities);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    expect(e.probabilities.REASONING).toBe(Math.max(...p));
    expect(e.topFeatures.length).toBeGreaterThan(3);
    expect(e.topFeatures.some((f) => f.feature === 'cues: reasoning (strong)' && f.contribution > 0)).toBe(true);
    expect(e.topFeatures.some((f) => f.feature.startsWith('word "'))).toBe(true);
  });

  it('agrees with classifyMessages, and reports a follow-up', () => {
    const m = [
      { role: 'user', content: 'Refactor our 3,000-line checkout module into payment, tax and shipping services with tests.' },
      { role: 'assistant', content: 'Here is a plan: extract PaymentGateway, TaxCalculator and ShippingQuoter... shall I write it?' },
      { role: 'user', content: 'yes do it' },
    ];
    const e = c.explain(m)!;
    expect(e.tier).toBe(c.classifyMessages(m).tier);
    expect(e.followUp).toBeGreaterThan(0.8);
    // What decided it includes the conversation before the short reply (which signals weigh most is the model's choice).
    expect(e.topFeatures.some((f) => (f.feature.startsWith('follow-up') || f.feature.startsWith('context')) && f.contribution > 0)).toBe(true);
  });

  it('is null for the heuristic, whose dims are its signals', () => {
    expect(new Classifier({ model: 'heuristic' }).explain([{ role: 'user', content: 'hi' }])).toBeNull();
  });
});

describe('the decision rule', () => {
  it('answers the most probable tier at farCost 1, and leans to a neighbour when a miss by two costs more', () => {
    const p = Float64Array.from([0.35, 0.3, 0.05, 0.3]);
    expect(decide(p, 1)).toBe(0);
    expect(decide(p, 3)).toBe(1);
    // REASONING is the most probable, but COMPLEX is two tiers from SIMPLE only (0.1), REASONING from SIMPLE and MEDIUM (0.3).
    expect(decide(Float64Array.from([0.1, 0.2, 0.3, 0.4]), 1)).toBe(3);
    expect(decide(Float64Array.from([0.1, 0.2, 0.3, 0.4]), 2)).toBe(2);
  });
});

describe('FeatureExtractor', () => {
  const ex = new FeatureExtractor(cueAutomaton(), MODEL_WEIGHTS.options);

  /** Sum of squares of the hashed entries (indices past the dense features) of one message. */
  function hashedMass(text: string): { mass: number; entries: number } {
    const fv = new FeatureVector();
    ex.extract([{ role: 'user', content: text }], fv);
    let mass = 0;
    let entries = 0;
    for (let k = 0; k < fv.n; k++) {
      if (fv.idx[k]! < DENSE_COUNT) continue;
      mass += fv.val[k]! ** 2;
      entries++;
    }
    return { mass, entries };
  }

  it('leaves out, in training with cue dropout, the own features of that share of cue words, the same each time', () => {
    const automaton = cueAutomaton();
    const cueWords = cueWordHashes(automaton, Object.values(VOCABULARY).flat());
    const training = new FeatureExtractor(automaton, MODEL_WEIGHTS.options);
    const prove = 'prove blarg, prove florp, and prove snib: prove';
    const item = (id: string, content: string) => ({ id, tier: 'REASONING' as Tier, messages: [{ role: 'user', content }] });
    const hashedOf = (e: { idx: Int32Array; val: Float64Array }): number => [...e.idx].filter((i) => i >= DENSE_COUNT).length;
    const denseOf = (e: { idx: Int32Array; val: Float64Array }): string => JSON.stringify([...e.idx].flatMap((i, k) => (i < DENSE_COUNT ? [[i, e.val[k]]] : [])));
    const [none] = examples(training, [item('a', prove)]);
    const [all] = examples(training, [item('a', prove)], 1, cueWords);
    // Four "prove" (one also the first word): without dropout each adds its word, and the first its first
    // word; with all of them hidden the other words remain, and the cue counts do not move.
    expect(hashedOf(none!) - hashedOf(all!)).toBe(5);
    expect(denseOf(all!)).toBe(denseOf(none!));
    // At 0.5, some of many occurrences are hidden, by draws seeded by the id: the same id, the same draws.
    const many = Array.from({ length: 40 }, () => 'prove').join(' and ');
    const [half] = examples(training, [item('b', many)], 0.5, cueWords);
    const [again] = examples(training, [item('b', many)], 0.5, cueWords);
    const [other] = examples(training, [item('c', many)], 0.5, cueWords);
    const [full] = examples(training, [item('b', many)]);
    const hidden = hashedOf(full!) - hashedOf(half!);
    expect(hidden).toBeGreaterThan(8);
    expect(hidden).toBeLessThan(32);
    expect([...again!.idx]).toEqual([...half!.idx]);
    expect([...other!.idx]).not.toEqual([...half!.idx]);
    // And the extractor on the request path is left without a mask.
    expect(training.wordMask).toBeNull();
  });

  it('weighs the hashed features of a question alike in every script, however its words are cut', () => {
    // Each unit (a word, or a letter outside a–z) adds at most two hashed entries, plus the first word and
    // first two words, and each entry weighs 1/√units: the sum of squares stays near 1 whatever the script.
    // Counting words alone (Chinese has one per run between punctuation) gave these four 1.1, 11, 17 and
    // 25: the character n-grams of the last three outweighed every dense feature.
    const texts = [
      'Why does my sourdough rise well one week and not the next, with the same recipe?',
      'Почему моя закваска хорошо поднимается одну неделю и плохо следующую, с тем же рецептом?',
      '为什么我的酸面包这周发得很好，下周却发不起来？配方完全一样，温度也差不多。',
      'なぜ同じレシピなのに、今週はパンがよく膨らんで、来週は膨らまないのでしょうか？',
    ];
    for (const text of texts) {
      const { mass, entries } = hashedMass(text);
      expect(entries).toBeGreaterThan(10);
      expect(mass).toBeGreaterThan(0.5);
      expect(mass).toBeLessThan(2.5);
    }
  });
});

describe('LinearModel (int16 weights with one scale)', () => {
  const w = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7) * (i % 7 === 0 ? 3 : 0.2));

  it('keeps every weight within half a step of the trained one, and ships what it scores', () => {
    const m = LinearModel.quantise(w);
    for (let i = 0; i < w.length; i++) expect(Math.abs(m.weight(i) - w[i]!)).toBeLessThanOrEqual(m.scale / 2 + 1e-12);
    // The largest weight is exactly ±32767 steps, so the scale is as fine as int16 allows.
    expect(Math.max(...m.weights.map(Math.abs))).toBe(32767);
    const shipped = m.encode();
    const back = LinearModel.decode({ options: { hashBits: 1, bigrams: false, charNgrams: false, contextWords: 0, pasteEdge: 0, followUpChars: 0 }, ...shipped });
    expect(back.scale).toBe(m.scale);
    expect([...back.weights]).toEqual([...m.weights]);
  });

  it('scores the sparse dot product of the quantised weights, repeated indices adding up', () => {
    const m = LinearModel.quantise(w);
    const fv = new FeatureVector();
    fv.add(0, 1);
    fv.add(3, 0.5);
    fv.add(3, 0.25);
    fv.add(7, -2);
    const out = new Float64Array(4);
    m.scores(fv, out);
    for (let t = 0; t < 4; t++) {
      const expected = m.weight(t) + 0.75 * m.weight(12 + t) - 2 * m.weight(28 + t);
      expect(out[t]).toBeCloseTo(expected, 9);
    }
  });
});

describe('the learned model and its training', () => {
  // The child process below fits twice (all the set, and four fifths of it): 35 s here at 24,234 prompts,
  // about twice that in CI beside other files; it grows with the training set. (Five folds took 100 s.)
  const TRAINING_TIMEOUT = 180_000;
  const items = TRAIN_FILES.flatMap((f) => loadLabeled(f));

  // The training script itself, as a child process (plain Node runs its loops about 4× faster than this
  // file's transformed modules): it fits on the training files and cross-validates, and reports. Started
  // by the first test that needs it, so a run filtered to other tests (-t) does not pay for it, and
  // killed after the tests, so an interrupted run does not leave it computing for a minute.
  type Verified = { items: number; weightsMatch: boolean; cv: { exact: number; withinOne: number; recall: number[] } };
  let child: ChildProcess | undefined;
  let verified: Promise<Verified> | undefined;
  const verify = (): Promise<Verified> =>
    (verified ??= new Promise<Verified>((done, fail) => {
      child = execFile(process.execPath, ['--import', 'tsx', 'scripts/classify-train.ts', '--verify'], { cwd: ROOT, maxBuffer: 1 << 20 }, (err, out) =>
        err ? fail(err) : done(JSON.parse(out) as Verified),
      );
    }));
  afterAll(() => void child?.kill());

  it('ships the weights the training script produces from the training set (regenerate: npm run classify:train)', async () => {
    const v = await verify();
    expect(v.items).toBe(items.length);
    expect(v.weightsMatch).toBe(true);
  }, TRAINING_TIMEOUT);

  it('holds its cross-validated accuracy on the training set (one fold of five, scored by a model fitted on the other four)', async () => {
    const { cv } = await verify();
    // That fold: 92.7% exact, 98.2% within one (v22, 24,234 prompts); all five folds: 92.9 / 98.1
    // (results/classifier.md, `npm run classify:train -- --cv`). Floors leave room for added training prompts.
    expect(cv.exact).toBeGreaterThanOrEqual(0.86);
    expect(cv.withinOne).toBeGreaterThanOrEqual(0.93);
    for (const r of cv.recall) expect(r).toBeGreaterThanOrEqual(0.8);
  }, TRAINING_TIMEOUT);

  it("reads a held-out item's audited tier only when asked, and every audited tier is another valid one", () => {
    const file = join(ROOT, 'test/fixtures/classifier/heldout.jsonl');
    const asWritten = loadLabeled(file);
    const audited = loadLabeled(file, true);
    const moved = asWritten.filter((it) => it.audited !== undefined);
    expect(moved.length).toBeGreaterThan(0);
    for (const it of moved) expect(['SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING']).toContain(it.audited);
    for (const it of moved) expect(it.audited).not.toBe(it.tier);
    expect(audited.map((it) => it.tier)).toEqual(asWritten.map((it) => it.audited ?? it.tier));
  });

  it('has training files that parse, with unique ids, valid tiers and a user message last', () => {
    const ids = new Set<string>();
    for (const it of items) {
      expect(ids.has(it.id)).toBe(false);
      ids.add(it.id);
      expect(['SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING']).toContain(it.tier);
      expect((it.messages.at(-1) as { role: string }).role).toBe('user');
    }
  });
});

describe('Classifier (heuristic scorer)', () => {
  const c = new Classifier({ model: 'heuristic' });

  it('maps scores to tiers at the boundaries, lower bound inclusive', () => {
    const b = { medium: 0.15, complex: 0.35, reasoning: 0.6 };
    expect([0, 0.149, 0.15, 0.349, 0.35, 0.599, 0.6, 1].map((x) => tierOf(x, b))).toEqual([
      'SIMPLE', 'SIMPLE', 'MEDIUM', 'MEDIUM', 'COMPLEX', 'COMPLEX', 'REASONING', 'REASONING',
    ]);
  });

  it('moves a prompt between tiers when the boundaries move', () => {
    const text = 'Explain how a hash map handles collisions.';
    const r = c.classifyText(text);
    expect(r.tier).toBe('MEDIUM');
    expect(new Classifier({ boundaries: { medium: r.score + 0.01 } }).classifyText(text).tier).toBe('SIMPLE');
    expect(new Classifier({ boundaries: { complex: r.score - 0.01 } }).classifyText(text).tier).toBe('COMPLEX');
  });

  it('scores the weighted sum of its dimensions, clamped to [0, 1]', () => {
    const w = { code: 0.3, reasoning: 0.25, technical: 0.25, tokens: 0.1, simple: 0.05 };
    const r = new Classifier({ weights: w, strongReasoningForces: false }).classifyText(
      'Refactor this TypeScript class: the database migration deadlocks under concurrency. Why?',
    );
    const d = r.dims;
    const sum = w.code * d.code + w.reasoning * d.reasoning + w.technical * d.technical + w.tokens * d.tokens - w.simple * d.simple;
    expect(r.score).toBeCloseTo(Math.min(1, Math.max(0, sum)), 12);
    for (const v of Object.values(d)) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('rejects invalid options at construction, whichever model runs', () => {
    for (const model of ['learned', 'heuristic'] as const) {
      expect(() => new Classifier({ model, weights: { code: -1 } })).toThrow(/code/);
      expect(() => new Classifier({ model, boundaries: { medium: 0.5, complex: 0.4 } })).toThrow(/boundaries/);
      expect(() => new Classifier({ model, extra: { code: ['!!!'] } })).toThrow(/no letters/);
      expect(() => new Classifier({ model, tuning: { tokenScale: 0 } })).toThrow(/tokenScale/);
      expect(() => new Classifier({ model, tuning: { contextShare: 2 } })).toThrow(/contextShare/);
    }
  });

  const proof = 'Prove that the sum of two odd numbers is even, and prove it again by induction on n.';

  it('forces REASONING on strong reasoning phrases, and reports it', () => {
    const r = c.classifyText(proof);
    expect(r).toMatchObject({ tier: 'REASONING', forced: true });
    expect(r.score).toBe(DEFAULT_BOUNDARIES.reasoning);
    const off = new Classifier({ model: 'heuristic', strongReasoningForces: false }).classifyText(proof);
    expect(off.forced).toBe(false);
    expect(off.tier).not.toBe('REASONING');
  });

  it('lets a short follow-up inherit the conversation, but not an acknowledgement', () => {
    expect(c.classifyText('do it').tier).toBe('SIMPLE');
    expect(c.classifyMessages([...COMPLEX_TURNS, { role: 'user', content: 'do it' }]).tier).toBe('COMPLEX');
    expect(c.classifyMessages([...COMPLEX_TURNS, { role: 'user', content: 'perfect, thanks!' }]).tier).toBe('SIMPLE');
  });
});
