import { join, resolve } from 'node:path';
import { describe, it, expect } from 'vitest';
import { Automaton } from '../../src/classify/automaton.ts';
import { Classifier, DEFAULT_BOUNDARIES, type Tier } from '../../src/classify/index.ts';
import { evaluate, loadLabeled } from '../../src/classify/evaluate.ts';
import { tierOf } from '../../src/classify/score.ts';

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

  it('rejects phrases without letters or with characters it cannot match', () => {
    expect(() => new Automaton([{ phrase: '```', tag: 0 }], 1)).toThrow(/no letters/);
    expect(() => new Automaton([{ phrase: 'класс', tag: 0 }], 1)).toThrow(/outside/);
  });
});

describe('Classifier tiers and score', () => {
  const c = new Classifier();

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

  it.each<[string, Tier]>([
    ['hi', 'SIMPLE'],
    ['thanks, that worked', 'SIMPLE'],
    ['What does CPU stand for?', 'SIMPLE'],
    ['Draft a polite message asking my neighbour to keep the music down after 10pm on weeknights.', 'MEDIUM'],
    [
      'Implement a thread-safe LRU cache in Go with TTL per entry, benchmarks and unit tests; explain the locking ' +
        'strategy, how eviction interacts with expiry, and what changes if we shard it across 16 mutexes.',
      'COMPLEX',
    ],
    ['Prove that there are infinitely many primes.', 'REASONING'],
  ])('classifies %j as %s', (text, tier) => {
    expect(c.classifyText(text).tier).toBe(tier);
  });

  it('rejects invalid options at construction', () => {
    expect(() => new Classifier({ weights: { code: -1 } })).toThrow(/code/);
    expect(() => new Classifier({ boundaries: { medium: 0.5, complex: 0.4 } })).toThrow(/boundaries/);
    expect(() => new Classifier({ extra: { code: ['!!!'] } })).toThrow(/no letters/);
    expect(() => new Classifier({ tuning: { tokenScale: 0 } })).toThrow(/tokenScale/);
    expect(() => new Classifier({ tuning: { contextShare: 2 } })).toThrow(/contextShare/);
    // An unset config field arrives as undefined and keeps the default.
    expect(new Classifier({ weights: { code: undefined }, boundaries: { medium: undefined } }).classifyText('hi').tier).toBe('SIMPLE');
  });
});

describe('Classifier forcing', () => {
  const proof = 'Prove that the sum of two odd numbers is even, and prove it again by induction on n.';

  it('forces REASONING on strong reasoning phrases, and reports it', () => {
    const r = new Classifier().classifyText(proof);
    expect(r).toMatchObject({ tier: 'REASONING', forced: true });
    // A forced score is lifted to the REASONING boundary, so score and tier agree.
    expect(r.score).toBe(DEFAULT_BOUNDARIES.reasoning);
  });

  it('does not force when strongReasoningForces is false', () => {
    const r = new Classifier({ strongReasoningForces: false }).classifyText(proof);
    expect(r.forced).toBe(false);
    expect(r.tier).not.toBe('REASONING');
  });

  it('forces a plain-language puzzle but not the same reasoning words in an engineering task', () => {
    const c = new Classifier();
    const puzzle = 'Ann is older than Ben but younger than Cy. Dee is older than Cy. Who is the second oldest, and can we be sure?';
    expect(c.classifyText(puzzle)).toMatchObject({ tier: 'REASONING', forced: true });
    const task =
      'Our Postgres replication lag is at least 30 seconds under load and the Kafka consumers must keep up; ' +
      'redesign the pipeline so the database and the queue never fall behind, with deploy and rollback steps.';
    expect(c.classifyText(task)).toMatchObject({ tier: 'COMPLEX', forced: false });
  });
});

describe('Classifier messages', () => {
  const c = new Classifier();
  const complexTurns = [
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

  it('classifies the last user message', () => {
    const r = c.classifyMessages([
      { role: 'user', content: 'Prove that the square root of 2 is irrational.' },
      { role: 'assistant', content: 'Suppose it were rational...' },
      { role: 'user', content: 'thanks!' },
    ]);
    expect(r.tier).toBe('SIMPLE');
  });

  it('lets a short follow-up inherit the conversation, but not an acknowledgement', () => {
    expect(c.classifyText('do it').tier).toBe('SIMPLE');
    const doIt = c.classifyMessages([...complexTurns, { role: 'user', content: 'do it' }]);
    expect(doIt.tier).toBe('COMPLEX');
    const thanks = c.classifyMessages([...complexTurns, { role: 'user', content: 'perfect, thanks!' }]);
    expect(thanks.tier).toBe('SIMPLE');
  });

  it('gives a long last message its own tier whatever came before', () => {
    const note =
      'Write a friendly note to the team saying that Friday’s retro moves to Monday at 10, in the same room as ' +
      'usual, that lunch is on us this time, and that anyone who cannot make it should send their notes to Priya.';
    const own = c.classifyText(note);
    const after = c.classifyMessages([...complexTurns, { role: 'user', content: note }]);
    expect(after).toEqual(own);
  });

  it('does not read turns too old to weigh 1%', () => {
    const proof = { role: 'user', content: 'Prove that there are infinitely many primes, then prove it again by induction.' };
    const chat = Array.from({ length: 20 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'sounds good' }));
    const recent = c.classifyMessages([proof, { role: 'assistant', content: 'Sure.' }, { role: 'user', content: 'go on' }]);
    const old = c.classifyMessages([proof, ...chat, { role: 'user', content: 'go on' }]);
    expect(recent).toMatchObject({ tier: 'REASONING', forced: true });
    expect(old.tier).toBe('SIMPLE');
  });

  it('classifies the last user message even when an assistant message follows it', () => {
    const r = c.classifyMessages([
      { role: 'user', content: 'Prove that there are infinitely many primes.' },
      { role: 'assistant', content: 'Suppose there were finitely many' },
    ]);
    expect(r).toEqual(c.classifyText('Prove that there are infinitely many primes.'));
  });

  it('reads text parts of array content and ignores other parts', () => {
    const text = 'Prove that there are infinitely many primes.';
    const parts = c.classifyMessages([
      {
        role: 'user',
        content: [{ type: 'image_url', image_url: { url: 'data:...' } }, { type: 'text', text }],
      },
    ]);
    expect(parts).toEqual(c.classifyText(text));
  });

  it('never throws on malformed input', () => {
    const bad: unknown[] = [
      null, undefined, 42, 'hello', {}, [], [null], [42, 'x'], [{}], [{ role: 'user' }], [{ role: 'user', content: 5 }],
      [{ role: 'user', content: [null, 1, 'x', { type: 'text' }, { type: 'text', text: 7 }, { text: 'no type' }] }],
      [{ role: { nested: true }, content: { text: 'object content' } }],
      [{ role: 'assistant', content: 'only an assistant message' }],
    ];
    for (const m of bad) {
      const r = c.classifyMessages(m);
      expect(['SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING']).toContain(r.tier);
      expect(Number.isFinite(r.score)).toBe(true);
    }
    expect(c.classifyMessages(null)).toMatchObject({ tier: 'SIMPLE', score: 0, forced: false });
    // Not a string, from an untyped caller.
    expect(c.classifyText(undefined as unknown as string).tier).toBe('SIMPLE');
  });

  it('reads the question before a paste and ignores the paste', () => {
    const code = Array.from({ length: 60 }, (_, i) => `  const x${i} = await db.query(sql, [id]); // retry, cache, deadlock`).join('\n');
    const r = c.classifyText(`which line declares x7?\n\n${code}`);
    expect(r.dims.code).toBe(0);
    expect(r.dims.technical).toBe(0);
    expect(r.tier).toBe('SIMPLE');
  });

  it('does not let a long paste make a short look-up question COMPLEX', () => {
    const log = Array.from(
      { length: 40 },
      (_, i) => `2024-05-14T09:15:${String(i).padStart(2, '0')}Z INFO worker-${i % 3} job=charge latency_ms=${300 + i} retry=0 db=postgres`,
    ).join('\n');
    const r = c.classifyText(`${log}\n\nWhich worker handled the most jobs? quick answer`);
    expect(['SIMPLE', 'MEDIUM']).toContain(r.tier);
    const task = c.classifyText(`${log}\n\nFind the race condition in our retry logic that this log shows and fix it.`);
    expect(task.score).toBeGreaterThan(r.score);
  });
});

describe('Classifier vocabulary extension', () => {
  it('adds phrases from options.extra to their dimension', () => {
    const text = 'Tune the flux capacitor and the warp coil.';
    const base = new Classifier().classifyText(text);
    const extended = new Classifier({ extra: { technical: ['flux capacitor', 'warp coil'] } }).classifyText(text);
    expect(base.dims.technical).toBe(0);
    expect(extended.dims.technical).toBeGreaterThan(0);
  });

  it('lets extra strong phrases force REASONING', () => {
    const text = 'Beweisen Sie das bitte und zeigen Sie es per vollständiger Induktion.';
    const extended = new Classifier({ extra: { reasoningStrong: ['vollständiger induktion', 'zeigen sie'] } });
    expect(extended.classifyText(text)).toMatchObject({ tier: 'REASONING', forced: true });
  });
});

// Figures committed from `npm run classify:eval` (default options, test/fixtures/classifier/prompts.jsonl).
// The test allows 2 points of slack so that vocabulary edits can trade an item or two; a larger drop is a regression.
const COMMITTED_EXACT = 0.867;
const COMMITTED_WITHIN_ONE = 0.981;

describe('Classifier accuracy on the labeled set', () => {
  it('stays within 2 points of the committed accuracy', () => {
    const items = loadLabeled(join(resolve(import.meta.dirname, '../..'), 'test/fixtures/classifier/prompts.jsonl'));
    expect(items.length).toBeGreaterThanOrEqual(240);
    const ev = evaluate(new Classifier(), items);
    expect(ev.exact).toBeGreaterThanOrEqual(COMMITTED_EXACT - 0.02);
    expect(ev.withinOne).toBeGreaterThanOrEqual(COMMITTED_WITHIN_ONE - 0.02);
  });
});
