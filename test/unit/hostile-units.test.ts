// The pure pieces behind the hostile-input fixes (issue 9): the header-value guard, the redactor's
// prefix and cut rules, the JSON well-formedness check, the top-level duplicate-key count, the
// framer's event cap and the connection guard's hysteresis.
import { describe, expect, it } from 'vitest';
import { headerSafe, MAX_HEADER_VALUE } from '../../src/util/header-value.ts';
import { Redactor } from '../../src/util/redact.ts';
import { isWellFormedJson } from '../../src/util/json-check.ts';
import { countTopLevelKey } from '../../src/util/json-splice.ts';
import { SseFramer } from '../../src/util/sse-framer.ts';
import { ConnectionGuard, highMark, nextCheckMs } from '../../src/server/connection-guard.ts';
import { BufferBudget } from '../../src/state/buffer-budget.ts';

describe('headerSafe', () => {
  it('passes a visible-ASCII value through unchanged (the same string)', () => {
    const v = 'openai/gpt-4o#k1:200 > groq/llama-3.3-70b#k2:200';
    expect(headerSafe(v)).toBe(v);
  });

  it.each([
    ['x\r\nSet-Cookie: a=1', 'x%0D%0ASet-Cookie: a=1'],
    ['a\nb', 'a%0Ab'],
    ['nul\u0000', 'nul%00'],
    ['modèle', 'mod%C3%A8le'],
    ['100%\r', '100%25%0D'],
    ['lone \ud800', 'lone %EF%BF%BD'],
  ])('encodes %j so it cannot end a header line', (input, want) => {
    const out = headerSafe(input);
    expect(out).toBe(want);
    expect(out).not.toMatch(/[\r\n\0]/);
  });

  it('caps the length', () => {
    expect(headerSafe('a'.repeat(100_000))).toHaveLength(MAX_HEADER_VALUE);
    expect(headerSafe('\n'.repeat(100_000)).length).toBeLessThanOrEqual(MAX_HEADER_VALUE);
  });
});

describe('Redactor: prefixes, masked echoes and cuts', () => {
  const KEY = 'MGSECRETq8v2n5x7k1z3j6w9p4r0t2i1o';
  const r = new Redactor([KEY]);

  it('redacts a prefix of 8 characters or more with the rest of its token', () => {
    expect(r.redact(`key ${KEY.slice(0, 8)}*****${KEY.slice(-4)} is wrong`)).toBe('key [redacted] is wrong');
    expect(r.redact(`key ${KEY.slice(0, 12)}... is wrong`)).toBe('key [redacted] is wrong');
  });

  it('leaves shorter fragments alone (they are ordinary text)', () => {
    expect(r.redact('MGSECR is a word here')).toBe('MGSECR is a word here');
  });

  it('with cut, redacts a partial prefix at the very end of the text', () => {
    expect(r.redact(`message ${KEY.slice(0, 5)}`, true)).toBe('message [redacted]');
    expect(r.redact(`message ${KEY.slice(0, 5)}`, false)).toBe(`message ${KEY.slice(0, 5)}`);
  });

  it('redactValue and redactBytes return the input itself when it is clean', () => {
    const v = 'req_123';
    expect(r.redactValue(v)).toBe(v);
    const b = Buffer.from('{"ok":true}');
    expect(r.redactBytes(b)).toBe(b);
  });

  it('redactBytes redacts a key anywhere in a body, multi-byte text around it intact', () => {
    const out = r.redactBytes(Buffer.from(`{"a":"héllo ${KEY} wörld"}`)).toString();
    expect(out).toBe('{"a":"héllo [redacted] wörld"}');
  });

  it('redactBytes redacts a key a provider wrote with JSON escapes (\\uXXXX for every character, \\/ for its slashes)', () => {
    const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const body = Buffer.from(`{"error":{"message":"Incorrect API key provided: ${escaped}"}}`);
    const out = r.redactBytes(body).toString();
    expect(JSON.parse(out).error.message).toBe('Incorrect API key provided: [redacted]');
    const slashed = new Redactor(['mgprov-OPENAI-0123456789abcdef/ghijKLMN+opq']);
    const php = slashed.redactBytes(Buffer.from('{"message":"key mgprov-OPENAI-0123456789abcdef\\/ghijKLMN+opq refused"}')).toString();
    expect(JSON.parse(php).message).toBe('key [redacted] refused');
    // An escaped backslash before "u00…" is text, not an escape; other escapes are left as they are.
    const text = Buffer.from('{"a":"C:\\\\u0041 \\u003c\\n"}');
    expect(r.redactBytes(text)).toBe(text);
  });

  it('redacts every occurrence of a public key prefix in one pass, however many a model repeats', () => {
    const shared = new Redactor(['sk-proj-0123456789abcdefABCDEF']);
    const many = 'sk-proj- '.repeat(60_000);
    const out = shared.redactBytes(Buffer.from(JSON.stringify({ content: many }))).toString();
    expect(JSON.parse(out).content).toBe('[redacted] '.repeat(60_000));
  });

  it('does not treat a short header value (anthropic-version) as a secret: only what it is given', () => {
    expect(new Redactor(['2023-06-01'].filter((s) => s.length >= 12)).redact('on 2023-06-01')).toBe('on 2023-06-01');
  });
});

describe('isWellFormedJson', () => {
  it.each(['{}', '[]', '{"a":1}', ' {"a":[1,2,{"b":null}],"c":"x\\"y"} ', '0', '-0.5e+3', '"s"', 'true', 'false', 'null', '[[[]]]', '{"a":{}}', '{"a":"\\\\"}'])('accepts %s', (s) => {
    expect(isWellFormedJson(Buffer.from(s))).toBe(true);
  });

  it.each(['{this is not json}', '', '   ', '{', '{"a":}', '{"a":1,}', '[1,]', '{"a" 1}', '[1 2]', '01', '1.', '-', 'tru', '{"a":1}x', '{}{}', '"abc', '[}', '{]', '{"a":1]', '<html>', '{1:2}', 'nul'])('refuses %j', (s) => {
    expect(isWellFormedJson(Buffer.from(s))).toBe(false);
  });

  it('handles nesting 100k deep without recursion', () => {
    expect(isWellFormedJson(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)))).toBe(true);
    expect(isWellFormedJson(Buffer.from('['.repeat(100_000) + ']'.repeat(99_999)))).toBe(false);
  });

  it('agrees with JSON.parse on values and on their truncations', () => {
    const values = [{ a: [1, 2.5, -3e-7, 'x"y\\z', null, true, false, { b: {} }] }, [[], {}, ''], 'plain', 12345, { usage: { prompt_tokens: 3 } }];
    for (const v of values) {
      const text = JSON.stringify(v, null, 1);
      expect(isWellFormedJson(Buffer.from(text))).toBe(true);
      for (let n = 0; n < text.length; n++) {
        const cut = text.slice(0, n);
        let parses = true;
        try {
          JSON.parse(cut);
        } catch {
          parses = false;
        }
        expect(isWellFormedJson(Buffer.from(cut)), JSON.stringify(cut)).toBe(parses);
      }
    }
  });
});

describe('countTopLevelKey', () => {
  const key = Buffer.from('model');
  const needle = Buffer.from('"model"');
  const count = (s: string) => countTopLevelKey(Buffer.from(s), key, needle);
  it.each([
    ['{"model":"a","messages":[]}', 1],
    ['{"messages":[]}', 0],
    ['{"model":"a","x":{"model":"b"}}', 1],
    ['{"role":"model","model":"a"}', 1],
    ['{"model":"a","model":"b"}', 2],
    ['{"mod\\u0065l":"a","model":"b"}', 2],
    ['{"x":"\\u00e9","model":"b"}', 1],
  ])('%s → %i', (body, n) => {
    expect(count(body)).toBe(n);
  });
});

describe('SseFramer: pending grows by each chunk once (linear), and reports its size for the cap', () => {
  it('keeps every byte of an event with no boundary, and releases them whole at the boundary', () => {
    const f = new SseFramer();
    const part = Buffer.alloc(1000, 0x61);
    for (let i = 1; i <= 200; i++) {
      expect(f.push(part)).toBeNull();
      expect(f.pending).toBe(i * 1000);
    }
    const out = f.push(Buffer.from('\n\n'));
    expect(out?.length).toBe(200_002);
    expect(f.pending).toBe(0);
  });

  it('finds a boundary split between the held bytes and the next chunk, in every position', () => {
    for (const boundary of ['\n\n', '\r\n\r\n']) {
      for (let k = 1; k < boundary.length; k++) {
        const f = new SseFramer();
        expect(f.push(Buffer.from(`data: a${boundary.slice(0, k)}`))).toBeNull();
        expect(f.push(Buffer.from(`${boundary.slice(k)}data: b`))?.toString()).toBe(`data: a${boundary}`);
        expect(f.pending).toBe('data: b'.length);
      }
    }
  });
});

describe('BufferBudget', () => {
  it('refuses a claim past its limit and takes nothing for it', () => {
    const b = new BufferBudget(100);
    expect(b.take(60)).toBe(true);
    expect(b.take(50)).toBe(false);
    expect(b.bytes).toBe(60);
    b.give(60);
    expect(b.take(100)).toBe(true);
  });
});

describe('ConnectionGuard', () => {
  function setup(high: number) {
    let n = 0;
    const calls: string[] = [];
    let answer: ((ok: boolean) => void) | null = null;
    const g = new ConnectionGuard({ pause: () => calls.push('pause'), resume: (done) => (calls.push('resume'), (answer = done)) }, high, () => n);
    return { g, calls, set: (v: number) => (n = v), answer: (ok: boolean) => answer!(ok) };
  }

  it('pauses at the high mark, resumes at 80% of it, not in between', () => {
    const { g, calls, set, answer } = setup(100);
    set(99);
    g.check();
    expect(g.paused).toBe(false);
    set(100);
    g.check();
    expect(calls).toEqual(['pause']);
    set(90);
    g.check();
    expect(calls).toEqual(['pause']);
    set(80);
    g.check();
    g.check(); // one resume at a time
    expect(calls).toEqual(['pause', 'resume']);
    answer(false); // the port could not be taken: still paused, tried again next time
    expect(g.paused).toBe(true);
    g.check();
    answer(true);
    expect(g.paused).toBe(false);
    expect(g.pauses).toBe(1);
  });

  it('counts less often with room to spare, never so rarely that 50 opens a millisecond could pass the mark', () => {
    expect(nextCheckMs(19_000, 1_000, false, 10)).toBe(360);
    expect(nextCheckMs(1_000_000, 10, false, 10)).toBe(1000);
    expect(nextCheckMs(768, 600, false, 10)).toBe(10);
    expect(nextCheckMs(19_000, 18_990, false, 10)).toBe(10);
    expect(nextCheckMs(19_000, 1_000, true, 10)).toBe(10);
  });

  it('leaves a reserve below the fd limit by default, and takes the configured mark when set', () => {
    expect(highMark(20_000, undefined)).toBe(19_000);
    expect(highMark(1024, undefined)).toBe(768);
    expect(highMark(Infinity, undefined)).toBe(Infinity);
    expect(highMark(20_000, 5_000)).toBe(5_000);
  });
});
