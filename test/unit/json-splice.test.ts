import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../../src/util/prng.ts';
import { removeTopLevelMember, replaceTopLevelValue } from '../../src/util/json-splice.ts';

function splice(body: string, value: unknown): string | null {
  const out = replaceTopLevelValue(Buffer.from(body, 'utf8'), 'model', JSON.stringify(value));
  return out === null ? null : out.toString('utf8');
}

/**
 * The differential property: the result parses to the original object with `model` replaced, and its
 * text is the input with exactly the old value's bytes swapped for the new value's bytes.
 */
function expectSpliced(body: string, value: unknown): string {
  const out = splice(body, value);
  expect(out, body).not.toBeNull();
  const result = out!;
  expect(JSON.parse(result)).toEqual({ ...(JSON.parse(body) as object), model: value });
  // Bytes outside the value are untouched: result = body[0, s) + new value + body[e, end), where
  // body[s, e) is the old model value. Try every placement of the new value consistent with that.
  const newText = JSON.stringify(value);
  const oldModel = (JSON.parse(body) as { model: unknown }).model;
  let placed = false;
  for (let s = result.indexOf(newText); s >= 0 && !placed; s = result.indexOf(newText, s + 1)) {
    const tail = result.slice(s + newText.length);
    const e = body.length - tail.length;
    if (e < s || !body.startsWith(result.slice(0, s)) || !body.endsWith(tail)) continue;
    try {
      placed = JSON.stringify(JSON.parse(body.slice(s, e))) === JSON.stringify(oldModel) && body.slice(s, e).trim() === body.slice(s, e);
    } catch {
      // not a whole value at this placement
    }
  }
  expect(placed, `${body}\n=> ${result}`).toBe(true);
  return result;
}

describe('replaceTopLevelValue: hand-written bodies', () => {
  const cases: Array<[string, string]> = [
    ['minified, model first', '{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}]}'],
    ['minified, model last', '{"messages":[{"role":"user","content":"hi"}],"stream":true,"model":"fast"}'],
    ['model in the middle', '{"temperature":0.2,"model":"groq/llama","max_tokens":10}'],
    ['only member', '{"model":"x"}'],
    [
      'pretty-printed',
      JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], model: 'openai/gpt-4o', stream: false }, null, 2),
    ],
    ['tabs and CRLF, whitespace around colons', '{\r\n\t"stream" :\ttrue ,\r\n\t"model"  :  "fast"\r\n\t,"n" : 1\r\n}'],
    ['leading and trailing whitespace', '  \n {"model":"fast","n":1}  \n'],
    [
      'nested "model" keys inside messages and tools come first',
      '{"messages":[{"role":"user","content":"x","model":"not-me"}],"tools":[{"function":{"parameters":{"model":{"type":"string"}}}}],"model":"openai/gpt-4o"}',
    ],
    ['escaped quotes and backslashes in earlier strings', String.raw`{"messages":[{"content":"she said \"model\": \"x\" \\"}],"path":"C:\\dir\\","model":"fast"}`],
    ['a string ending in an escaped backslash before model', String.raw`{"a":"\\","model":"fast","b":"\\\""}`],
    ['braces and brackets inside strings', '{"content":"{[}]\\"{","model":"fast","z":"]}"}'],
    ['unicode and emoji', '{"content":"héllo 👋 日本語 \\u00e9 \\ud83d\\ude00","model":"fast","after":"🚀"}'],
    ['the key "model" as a string value', '{"name":"model","x":["model"],"model":"fast"}'],
    ['similar key names', '{"models":["a"],"modelx":1,"_model":2,"model":"fast","model_":3}'],
    ['non-string model values', '{"model":null,"n":1}'],
    ['numeric model value', '{"model":12.5e3,"n":1}'],
    ['object model value', '{"model":{"name":"x","v":[1,{"a":"}"}]},"n":1}'],
    ['array model value', '{"model":[1,[2,[3]]],"n":1}'],
    ['booleans and nulls around model', '{"a":true,"b":false,"c":null,"model":"fast","d":[true,null]}'],
    ['empty containers', '{"a":{},"b":[],"model":"fast","c":""}'],
    ['escaped top-level keys that are not "model"', String.raw`{"mo\\del":1,"a\"b":2,"\u006dodels":3,"model":"fast","\u00e9":4}`],
  ];

  for (const [name, body] of cases) {
    it(name, () => {
      expectSpliced(body, 'gpt-4o-mini');
      expectSpliced(body, 'meta-llama/Llama-3.3-70B');
      expectSpliced(body, 'quote " and backslash \\ and 👋');
    });
  }

  it('keeps a 64-bit integer verbatim that JSON.parse would round', () => {
    const body = '{"seed":12345678901234567890,"model":"openai/gpt-4o","logit_bias":{"50256":-100},"big":-9007199254740993}';
    const out = expectSpliced(body, 'gpt-4o');
    expect(out).toBe('{"seed":12345678901234567890,"model":"gpt-4o","logit_bias":{"50256":-100},"big":-9007199254740993}');
    expect(JSON.stringify(JSON.parse(body))).not.toContain('12345678901234567890');
  });

  it('keeps number formatting and key order that re-serializing would change', () => {
    const body = '{ "z" : 1.0, "model" : "fast", "a" : 1e2, "m" : -0.0 }';
    expect(splice(body, 'gpt-4o')).toBe('{ "z" : 1.0, "model" : "gpt-4o", "a" : 1e2, "m" : -0.0 }');
  });

  it('handles a value longer and shorter than the original', () => {
    const body = '{"model":"x","n":1}';
    expect(splice(body, 'a-much-longer-model-name')).toBe('{"model":"a-much-longer-model-name","n":1}');
    expect(splice('{"model":"a-much-longer-model-name","n":1}', 'x')).toBe(body);
  });

  it('returns a new buffer and leaves the input untouched', () => {
    const input = Buffer.from('{"model":"openai/gpt-4o"}');
    const copy = Buffer.from(input);
    const out = replaceTopLevelValue(input, 'model', '"gpt-4o"');
    expect(out).not.toBeNull();
    expect(input.equals(copy)).toBe(true);
    expect(out!.toString()).toBe('{"model":"gpt-4o"}');
  });

  it('works for keys other than model', () => {
    const out = replaceTopLevelValue(Buffer.from('{"model":"m","stream":true}'), 'stream', 'false');
    expect(out?.toString()).toBe('{"model":"m","stream":false}');
  });
});

describe('replaceTopLevelValue: returns null when it cannot (or must not) splice', () => {
  it.each([
    ['key absent', '{"messages":[],"stream":true}'],
    ['empty object', '{}'],
    ['empty object with whitespace', ' { \n } '],
    ['top level is an array', '[{"model":"fast"}]'],
    ['top level is a string', '"model"'],
    ['top level is a number', '42'],
    ['key only present nested', '{"messages":[{"role":"user","model":"fast"}],"options":{"model":"x"}}'],
    ['key only present as a string value', '{"name":"model"}'],
    ['key only spelled with escapes', String.raw`{"mod\u0065l":"fast"}`],
  ])('%s', (_name, body) => {
    expect(splice(body, 'gpt-4o')).toBeNull();
  });

  it('returns null when the key appears twice (JSON.parse keeps the last, an upstream parser may keep the first)', () => {
    const body = '{"model":"cheap","messages":[],"model":"fast"}';
    expect((JSON.parse(body) as { model: string }).model).toBe('fast');
    expect(splice(body, 'gpt-4o')).toBeNull();
  });

  it('returns null when the key is also written with escapes', () => {
    const body = '{"model":"cheap","mod\\u0065l":"fast"}';
    expect((JSON.parse(body) as { model: string }).model).toBe('fast');
    expect(splice(body, 'gpt-4o')).toBeNull();
  });
});

// ---- generated bodies -------------------------------------------------------------------------

const STRING_PIECES = ['a', 'model', ' ', '"', '\\', '\n', '\t', '{', '}', '[', ']', ':', ',', 'é', '👋', '日本', '\u0000', '\u2028', '/'];

function genString(rand: () => number): string {
  let s = '';
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) s += STRING_PIECES[Math.floor(rand() * STRING_PIECES.length)]!;
  return s;
}

/** Random JSON text (not a JS value, so number spellings and whitespace survive as written). */
function genValue(rand: () => number, depth: number, ws: () => string): string {
  const kind = Math.floor(rand() * (depth > 3 ? 5 : 7));
  switch (kind) {
    case 0:
      return JSON.stringify(genString(rand));
    case 1: {
      const spellings = ['0', '-1', '3.14', '1e10', '-2.5E-3', '12345678901234567890', '1.0', '-0'];
      return spellings[Math.floor(rand() * spellings.length)]!;
    }
    case 2:
      return ['true', 'false', 'null'][Math.floor(rand() * 3)]!;
    case 3:
      return JSON.stringify(String.fromCodePoint(0x1f600 + Math.floor(rand() * 50)) + genString(rand));
    case 4:
      return `"${'x'.repeat(Math.floor(rand() * 20))}"`;
    case 5: {
      const n = Math.floor(rand() * 4);
      const items = Array.from({ length: n }, () => ws() + genValue(rand, depth + 1, ws) + ws());
      return `[${items.join(',')}]`;
    }
    default:
      return genObject(rand, depth + 1, ws, rand() < 0.5);
  }
}

function genObject(rand: () => number, depth: number, ws: () => string, withModel: boolean, modelText?: string): string {
  const n = Math.floor(rand() * 5);
  const keys = new Set<string>();
  while (keys.size < n) {
    const k = ['messages', 'stream', 'temperature', 'seed', 'tools', 'modelx', 'mode', 'n', 'user', genString(rand)][Math.floor(rand() * 10)]!;
    if (k !== 'model') keys.add(k);
  }
  const members = [...keys].map((k) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${genValue(rand, depth, ws)}${ws()}`);
  if (withModel) {
    const at = Math.floor(rand() * (members.length + 1));
    members.splice(at, 0, `${ws()}"model"${ws()}:${ws()}${modelText ?? genValue(rand, depth, ws)}${ws()}`);
  }
  return `{${members.join(',')}${members.length === 0 ? ws() : ''}}`;
}

describe('replaceTopLevelValue: generated bodies (seeded)', () => {
  const rand = mulberry32(0xc0ffee);
  const wsChoices = ['', '', '', ' ', '\n', '\r\n  ', '\t'];
  const ws = () => wsChoices[Math.floor(rand() * wsChoices.length)]!;
  const newValues: unknown[] = ['gpt-4o', 'meta-llama/Llama-3.3-70B', 'a"b\\c', '👋', '', null, 7, { nested: ['model'] }];

  it('splices the top-level model of 3000 random objects and changes nothing else', () => {
    // The template marks the model value with \u0001, which JSON text can only contain escaped, so
    // the exact expected output is the template with the new value in that place.
    const MARK = '\u0001';
    for (let i = 0; i < 3000; i++) {
      const template = genObject(rand, 0, ws, true, MARK);
      const oldText = rand() < 0.7 ? JSON.stringify(`provider/${genString(rand)}`) : genValue(rand, 1, ws);
      const body = template.replace(MARK, oldText);
      expect(() => JSON.parse(body), body).not.toThrow();
      const value = newValues[i % newValues.length];
      expectSpliced(body, value);
      expect(splice(body, value)).toBe(template.replace(MARK, JSON.stringify(value)));
    }
  });

  it('returns null for 500 random objects that carry the model key twice', () => {
    for (let i = 0; i < 500; i++) {
      const once = genObject(rand, 0, ws, true, JSON.stringify('routed'));
      const body = `{"model":"smuggled",${once.slice(1)}`;
      expect((JSON.parse(body) as { model: string }).model).toBe('routed');
      expect(splice(body, 'gpt-4o'), body).toBeNull();
    }
  });

  it('returns null for 1000 random objects without a top-level model', () => {
    for (let i = 0; i < 1000; i++) {
      // Nested values may well contain "model" keys (genObject adds them with probability 1/2).
      const body = genObject(rand, 0, ws, false);
      expect(() => JSON.parse(body), body).not.toThrow();
      expect(splice(body, 'gpt-4o'), body).toBeNull();
    }
  });
});

describe('removeTopLevelMember', () => {
  function remove(body: string, key = 'fallbacks'): string | null {
    const out = removeTopLevelMember(Buffer.from(body, 'utf8'), key);
    return out === null ? null : out.toString('utf8');
  }

  function without(body: string, key: string): unknown {
    const o = JSON.parse(body) as Record<string, unknown>;
    delete o[key];
    return o;
  }

  /**
   * The differential property: the result parses to the object without `key`, and its bytes are the
   * input's with one contiguous run taken out: the member itself plus only whitespace and at most one
   * comma around it. `member` is the member's text ("key": value) when the caller knows it.
   */
  function expectRemoved(body: string, key: string, member?: { start: number; end: number }): string {
    const out = remove(body, key);
    expect(out, body).not.toBeNull();
    const result = out!;
    expect(() => JSON.parse(result), result).not.toThrow();
    expect(JSON.parse(result), `${body}\n=> ${result}`).toEqual(without(body, key));
    const d = body.length - result.length;
    expect(d).toBeGreaterThan(0);
    let ok = false;
    for (let s = 0; s + d <= body.length && !ok; s++) {
      const e = s + d;
      if (body.slice(0, s) !== result.slice(0, s) || body.slice(e) !== result.slice(s)) continue;
      if (member === undefined) {
        ok = true;
        continue;
      }
      if (s > member.start || e < member.end) continue;
      const around = (body.slice(s, member.start) + body.slice(member.end, e)).replace(/[ \t\r\n]/g, '');
      ok = around === '' || around === ',';
    }
    expect(ok, `${body}\n=> ${result}`).toBe(true);
    return result;
  }

  /** Locates `"key"…value` in a hand-written body by a unique marker text. */
  function span(body: string, memberText: string): { start: number; end: number } {
    const start = body.indexOf(memberText);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(body.indexOf(memberText, start + 1)).toBe(-1);
    return { start, end: start + memberText.length };
  }

  it('removes the first member', () => {
    const body = '{"fallbacks":["a","b"],"model":"m","n":1}';
    expect(expectRemoved(body, 'fallbacks', span(body, '"fallbacks":["a","b"]'))).toBe('{"model":"m","n":1}');
  });

  it('removes a middle member', () => {
    const body = '{"model":"m","fallbacks":["a","b"],"n":1}';
    expect(expectRemoved(body, 'fallbacks', span(body, '"fallbacks":["a","b"]'))).toBe('{"model":"m","n":1}');
  });

  it('removes the last member, and the comma before it', () => {
    const body = '{"model":"m","n":1,"fallbacks":["a","b"]}';
    expect(expectRemoved(body, 'fallbacks', span(body, '"fallbacks":["a","b"]'))).toBe('{"model":"m","n":1}');
  });

  it('removes the only member', () => {
    expect(expectRemoved('{"fallbacks":["a"]}', 'fallbacks')).toBe('{}');
    expect(expectRemoved(' { "fallbacks" : [ "a" ] } ', 'fallbacks')).toBe(' { } ');
    expect(JSON.parse(remove('{\n  "fallbacks": []\n}')!)).toEqual({});
  });

  it('keeps the bytes of other members verbatim (a 64-bit integer JSON.parse would round)', () => {
    const body = '{"seed":12345678901234567890,"fallbacks":["x"],"big":-9007199254740993,"t":1.0,"e":1E2}';
    expect(expectRemoved(body, 'fallbacks', span(body, '"fallbacks":["x"]'))).toBe('{"seed":12345678901234567890,"big":-9007199254740993,"t":1.0,"e":1E2}');
    const last = '{"seed":12345678901234567890,"fallbacks":["x"]}';
    expect(remove(last)).toBe('{"seed":12345678901234567890}');
  });

  it('handles pretty-printed bodies', () => {
    const obj = { model: 'm', messages: [{ role: 'user', content: 'hi, "fallbacks": [] }' }], fallbacks: ['a', 'b'], stream: true };
    for (const indent of [2, 4, '\t']) {
      const body = JSON.stringify(obj, null, indent);
      const out = expectRemoved(body, 'fallbacks');
      expect(out).toBe(JSON.stringify({ model: 'm', messages: obj.messages, stream: true }, null, indent));
      // first, last and only member too
      for (const o of [{ fallbacks: [1], a: 1 }, { a: 1, fallbacks: [1] }, { fallbacks: [1] }]) expectRemoved(JSON.stringify(o, null, indent), 'fallbacks');
    }
    // CRLF and whitespace around colons and commas
    expectRemoved('{\r\n\t"a" : 1 ,\r\n\t"fallbacks"  :  [ 1 ]\r\n\t, "b" : 2\r\n}', 'fallbacks');
    expectRemoved('{\r\n\t"a" : 1 ,\r\n\t"fallbacks"  :  [ 1 ]  \r\n}', 'fallbacks');
  });

  it('handles minified bodies with awkward strings and values', () => {
    for (const body of [
      String.raw`{"a":"\\","fallbacks":{"x":"}\"]"},"b":"\\\""}`,
      '{"a":"{[,","fallbacks":null,"b":"]}"}',
      '{"a":[],"fallbacks":"fallbacks","b":{}}',
      '{"fallbacks":1e-7,"a":true}',
      '{"a":false,"fallbacks":"👋 日本"}',
      '{"fallbacks":[{"fallbacks":[]}],"a":{"fallbacks":1}}',
    ]) {
      expectRemoved(body, 'fallbacks');
    }
  });

  it('works for any key, leaving similar names alone', () => {
    const body = '{"models":1,"model":"m","modelx":2,"_model":3}';
    expect(expectRemoved(body, 'model', span(body, '"model":"m"'))).toBe('{"models":1,"modelx":2,"_model":3}');
  });

  it('returns a new buffer and leaves the input untouched', () => {
    const input = Buffer.from('{"model":"m","fallbacks":["a"]}');
    const copy = Buffer.from(input);
    const out = removeTopLevelMember(input, 'fallbacks');
    expect(out?.toString()).toBe('{"model":"m"}');
    expect(input.equals(copy)).toBe(true);
  });

  it.each([
    ['key absent', '{"model":"m","n":1}'],
    ['empty object', '{}'],
    ['key only nested', '{"model":"m","messages":[{"fallbacks":["a"]}],"o":{"fallbacks":1}}'],
    ['key only as a string value', '{"model":"fallbacks"}'],
    ['key spelled with escapes', String.raw`{"fallb\u0061cks":["a"]}`],
    ['top level is an array', '[{"fallbacks":["a"]}]'],
  ])('returns null: %s', (_name, body) => {
    expect(remove(body)).toBeNull();
  });

  it('returns null for a duplicate key, escaped or not', () => {
    expect(remove('{"fallbacks":["a"],"model":"m","fallbacks":["b"]}')).toBeNull();
    expect(remove(String.raw`{"fallbacks":["a"],"fallb\u0061cks":["b"]}`)).toBeNull();
  });

  describe('generated bodies (seeded)', () => {
    const rand = mulberry32(0xfa11bac);
    const wsChoices = ['', '', '', ' ', '\n', '\r\n  ', '\t'];
    const ws = () => wsChoices[Math.floor(rand() * wsChoices.length)]!;
    const MARK = '\u0002'; // JSON text holds control characters only escaped: a unique placeholder

    /** An object whose top-level "model" member is the placeholder, and that member's text. */
    function generate(): { body: string; member: { start: number; end: number }; others: number } {
      const n = Math.floor(rand() * 5);
      const keys = new Set<string>();
      while (keys.size < n) {
        const k = ['messages', 'stream', 'temperature', 'seed', 'tools', 'modelx', 'mode', 'n', 'user', genString(rand)][Math.floor(rand() * 10)]!;
        if (k !== 'model') keys.add(k);
      }
      const members = [...keys].map((k) => `${ws()}${JSON.stringify(k)}${ws()}:${ws()}${genValue(rand, 0, ws)}${ws()}`);
      members.splice(Math.floor(rand() * (members.length + 1)), 0, `${ws()}${MARK}${ws()}`);
      const template = `${ws()}{${members.join(',')}}${ws()}`;
      const memberText = `"model"${ws()}:${ws()}${genValue(rand, 1, ws)}`;
      const start = template.indexOf(MARK);
      return { body: template.replace(MARK, memberText), member: { start, end: start + memberText.length }, others: n };
    }

    it('removes the top-level member of 3000 random objects and changes nothing else', () => {
      for (let i = 0; i < 3000; i++) {
        const { body, member, others } = generate();
        expect(() => JSON.parse(body), body).not.toThrow();
        const out = expectRemoved(body, 'model', member);
        // Exactly the member and one joining comma go (none when it was the only member).
        const commas = (s: string) => s.length - s.replaceAll(',', '').length;
        const removedCommas = commas(body) - commas(out) - commas(body.slice(member.start, member.end));
        expect(removedCommas, body).toBe(others === 0 ? 0 : 1);
      }
    });

    it('returns null for 500 random objects that carry the key twice', () => {
      for (let i = 0; i < 500; i++) {
        const { body } = generate();
        const twice = body.replace('{', '{"model":"smuggled",');
        expect(() => JSON.parse(twice), twice).not.toThrow();
        expect(remove(twice, 'model'), twice).toBeNull();
      }
    });

    it('returns null for 1000 random objects without a top-level key', () => {
      for (let i = 0; i < 1000; i++) {
        const body = genObject(rand, 0, ws, false);
        expect(remove(body, 'model'), body).toBeNull();
      }
    });
  });
});
