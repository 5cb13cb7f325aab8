// Token counts read from relayed bytes (formats/usage-scan.ts): LastNumbers reads several keys in one
// backward pass and must agree with numberAfter, one search per key, on every buffer.
import { describe, expect, it } from 'vitest';
import { LastNumbers, numberAfter } from '../../src/formats/usage-scan.ts';
import { readUsage } from '../../src/formats/openai/usage.ts';

const KEYS = ['"prompt_tokens"', '"completion_tokens"', '"cached_tokens"', '"cache_write_tokens"', '"input_tokens"'].map((k) => Buffer.from(k));
const scanner = new LastNumbers(KEYS, Buffer.from('_tokens"'));

describe('LastNumbers', () => {
  it('reads the last value of each key, -1 for an absent one', () => {
    const buf = Buffer.from('{"usage":{"prompt_tokens":5,"completion_tokens":7}} data: {"usage":{"prompt_tokens": 12, "completion_tokens":30,"prompt_tokens_details":{"cached_tokens":4}}}');
    expect([...scanner.scan(buf)]).toEqual([12, 30, 4, -1, -1]);
  });

  it('agrees with numberAfter on random buffers of keys, near-misses and noise', () => {
    // Deterministic pseudo-random pieces: each key, keys with a changed first letter, suffixes alone,
    // numbers with and without ':' and spaces, and quotes; the key at offset 0 and at the very end.
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const pieces = [...KEYS.map((k) => k.toString()), '"xrompt_tokens"', '_tokens"', '"tokens"', ':', ' ', '12', '0', '"', ',', '{', '}', 'x', '"_tokens"'];
    for (let t = 0; t < 2_000; t++) {
      const buf = Buffer.from(Array.from({ length: rnd(30) }, () => pieces[rnd(pieces.length)]).join(''));
      expect([...scanner.scan(buf)], buf.toString()).toEqual(KEYS.map((k) => numberAfter(buf, k)));
    }
  });

  it('refuses a key that does not end with the shared suffix', () => {
    expect(() => new LastNumbers([Buffer.from('"usage"')], Buffer.from('_tokens"'))).toThrow(/does not end with/);
  });
});

describe('readUsage (OpenAI and Responses usage)', () => {
  it('counts cache writes under either name, and reads input/output tokens when prompt_tokens is absent', () => {
    expect(readUsage(Buffer.from('{"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":3,"cache_write_tokens":4}}}'))).toEqual([10, 2, 3, 4]);
    expect(readUsage(Buffer.from('{"usage":{"prompt_tokens":10,"completion_tokens":2,"cache_creation_input_tokens":6}}'))).toEqual([10, 2, -1, 6]);
    expect(readUsage(Buffer.from('{"usage":{"input_tokens":8,"output_tokens":9,"input_tokens_details":{"cached_tokens":1}}}'))).toEqual([8, 9, 1, -1]);
    expect(readUsage(Buffer.from('{"choices":[]}'))).toEqual([-1, -1, -1, -1]);
  });
});
