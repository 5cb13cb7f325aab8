import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../../src/util/prng.ts';
import { fullJitterMs, retryAfterMs } from '../../src/upstream/backoff.ts';

const JUST_BELOW_ONE = 1 - Number.EPSILON / 2; // the largest double below 1

describe('fullJitterMs', () => {
  it('is 0 for r = 0 whatever the retry number', () => {
    for (const retry of [0, 1, 5, 30, 100]) expect(fullJitterMs(retry, 100, 10_000, 0)).toBe(0);
  });

  it('equals floor(r × min(cap, base × 2^retry))', () => {
    expect(fullJitterMs(0, 100, 10_000, 0.5)).toBe(50);
    expect(fullJitterMs(1, 100, 10_000, 0.5)).toBe(100);
    expect(fullJitterMs(3, 100, 10_000, 0.25)).toBe(200);
    expect(fullJitterMs(2, 100, 10_000, 0.999)).toBe(399);
    expect(fullJitterMs(0, 250, 10_000, 0.3)).toBe(75);
    // Capped: 100 × 2^7 = 12800 > 10000.
    expect(fullJitterMs(7, 100, 10_000, 0.5)).toBe(5000);
    const rand = mulberry32(42);
    for (let i = 0; i < 1000; i++) {
      const retry = Math.floor(rand() * 12);
      const r = rand();
      const ceiling = Math.min(5000, 50 * 2 ** retry);
      expect(fullJitterMs(retry, 50, 5000, r)).toBe(Math.floor(r * ceiling));
    }
  });

  it('stays in [0, min(cap, base × 2^retry)) for r in [0, 1)', () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 5000; i++) {
      const retry = Math.floor(rand() * 40);
      const base = 1 + Math.floor(rand() * 1000);
      const cap = 1 + Math.floor(rand() * 60_000);
      const r = i % 50 === 0 ? JUST_BELOW_ONE : rand();
      const ceiling = Math.min(cap, base * 2 ** retry);
      const ms = fullJitterMs(retry, base, cap, r);
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(ceiling);
    }
  });

  it('reaches just below the ceiling as r → 1', () => {
    expect(fullJitterMs(0, 100, 10_000, JUST_BELOW_ONE)).toBe(99);
    expect(fullJitterMs(2, 100, 10_000, JUST_BELOW_ONE)).toBe(399);
    expect(fullJitterMs(20, 100, 10_000, JUST_BELOW_ONE)).toBe(9999);
  });

  it('grows exponentially until the cap, then stays there', () => {
    const r = 0.5;
    const seen = Array.from({ length: 12 }, (_, retry) => fullJitterMs(retry, 100, 30_000, r));
    expect(seen).toEqual([50, 100, 200, 400, 800, 1600, 3200, 6400, 12_800, 15_000, 15_000, 15_000]);
  });

  it('is capped for large retry counts, including 100 and 1000 (no overflow, no NaN)', () => {
    for (const retry of [31, 50, 100, 1000, 1e6]) {
      const mid = fullJitterMs(retry, 100, 10_000, 0.5);
      const top = fullJitterMs(retry, 100, 10_000, JUST_BELOW_ONE);
      expect(Number.isNaN(mid)).toBe(false);
      expect(mid).toBe(5000);
      expect(top).toBe(9999);
    }
    // Even with a huge base, the cap holds.
    expect(fullJitterMs(100, 1e12, 10_000, 0.5)).toBe(5000);
  });

  it('uses Math.random by default: 10k draws average about half the ceiling, all in range', () => {
    const n = 10_000;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const ms = fullJitterMs(3, 100, 10_000); // ceiling 800
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(800);
      sum += ms;
    }
    // Uniform on {0..799}: mean 399.5, sd ≈ 231, standard error of the mean ≈ 2.3. ±20 is ~9 σ.
    expect(sum / n).toBeGreaterThan(379.5);
    expect(sum / n).toBeLessThan(419.5);
  });
});

describe('retryAfterMs', () => {
  const NOW = Date.parse('2025-01-15T12:00:00Z');

  it('reads delay-seconds', () => {
    expect(retryAfterMs('7', undefined, NOW)).toBe(7000);
    expect(retryAfterMs('0', undefined, NOW)).toBe(0);
    expect(retryAfterMs('1.5', undefined, NOW)).toBe(1500);
    expect(retryAfterMs('120', undefined, NOW)).toBe(120_000);
  });

  it('reads an HTTP-date relative to now', () => {
    expect(retryAfterMs('Wed, 15 Jan 2025 12:00:30 GMT', undefined, NOW)).toBe(30_000);
    expect(retryAfterMs('Wed, 15 Jan 2025 12:01:00 GMT', undefined, NOW)).toBe(60_000);
    expect(retryAfterMs('Wed, 15 Jan 2025 12:00:30 GMT', undefined, NOW + 10_000)).toBe(20_000);
    // The obsolete forms RFC 9110 still asks recipients to accept.
    expect(retryAfterMs('Wednesday, 15-Jan-25 12:00:30 GMT', undefined, NOW)).toBe(30_000);
    // asctime has no zone and V8 reads it as local time: only check that it is read at all.
    expect(retryAfterMs('Wed Jan 15 12:00:30 2025', undefined, NOW)).toEqual(expect.any(Number));
  });

  it('clamps an HTTP-date in the past (or exactly now) to 0', () => {
    expect(retryAfterMs('Wed, 15 Jan 2025 11:59:00 GMT', undefined, NOW)).toBe(0);
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', undefined, NOW)).toBe(0);
    expect(retryAfterMs('Wed, 15 Jan 2025 12:00:00 GMT', undefined, NOW)).toBe(0);
  });

  it('lets retry-after-ms win over Retry-After', () => {
    expect(retryAfterMs('7', '250', NOW)).toBe(250);
    expect(retryAfterMs('Wed, 15 Jan 2025 12:00:30 GMT', '1500', NOW)).toBe(1500);
    expect(retryAfterMs(undefined, '20', NOW)).toBe(20);
    expect(retryAfterMs(undefined, '0', NOW)).toBe(0);
    expect(retryAfterMs(undefined, '12.5', NOW)).toBe(12.5);
  });

  it('falls back to Retry-After when retry-after-ms is unreadable or negative', () => {
    expect(retryAfterMs('7', 'soon', NOW)).toBe(7000);
    expect(retryAfterMs('7', '-5', NOW)).toBe(7000);
    expect(retryAfterMs(undefined, 'soon', NOW)).toBeNull();
    expect(retryAfterMs(undefined, '-5', NOW)).toBeNull();
  });

  it('treats an empty or blank header as absent, not as 0', () => {
    // Number('') and Number(' ') are 0: a blank header must not read as "retry at once".
    expect(retryAfterMs('7', '', NOW)).toBe(7000);
    expect(retryAfterMs('7', '  ', NOW)).toBe(7000);
    expect(retryAfterMs(' ', undefined, NOW)).toBeNull();
    expect(retryAfterMs('', '', NOW)).toBeNull();
  });

  it('returns null for junk, including junk V8 Date.parse would accept as a date', () => {
    for (const junk of ['soon', 'abc', '7s', 'in 5 minutes', 'Infinity', 'NaN', 'retry later 10', 'junk 2', '1 2', 'tomorrow']) {
      expect(retryAfterMs(junk, undefined, NOW), junk).toBeNull();
    }
  });

  it('returns null when absent', () => {
    expect(retryAfterMs(undefined, undefined, NOW)).toBeNull();
    expect(retryAfterMs('', undefined, NOW)).toBeNull();
  });

  it('returns null for negative delay-seconds', () => {
    expect(retryAfterMs('-1', undefined, NOW)).toBeNull();
    expect(retryAfterMs('-0.5', undefined, NOW)).toBeNull();
    expect(retryAfterMs('-120', undefined, NOW)).toBeNull();
  });

  it('ignores repeated headers (arrays): ambiguous, so absent', () => {
    expect(retryAfterMs(['1', '2'], undefined, NOW)).toBeNull();
    expect(retryAfterMs('7', ['1', '2'], NOW)).toBe(7000);
  });
});
