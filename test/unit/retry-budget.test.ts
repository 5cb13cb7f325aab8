import { describe, it, expect } from 'vitest';
import { RetryBudget } from '../../src/state/retry-budget.ts';

/** How many tryRetry() calls at `now` succeed before the first refusal (bounded). */
function drain(b: RetryBudget, now: number, limit = 10_000): number {
  let n = 0;
  while (n < limit && b.tryRetry(now)) n++;
  return n;
}

describe('RetryBudget', () => {
  it('ratio 0.2, no floor: 100 requests buy exactly 20 retries, then refusals', () => {
    const b = new RetryBudget(0.2, 0, 10_000);
    for (let i = 0; i < 100; i++) b.onRequest(1_000 + i);
    for (let i = 0; i < 20; i++) expect(b.tryRetry(1_200), `retry ${i + 1}`).toBe(true);
    expect(b.tryRetry(1_200)).toBe(false);
    expect(b.tryRetry(1_300)).toBe(false);
    expect(b.tryRetry(2_000)).toBe(false);
  });

  it('a refused retry is not charged: more requests reopen the budget by their share', () => {
    const b = new RetryBudget(0.2, 0, 10_000);
    for (let i = 0; i < 100; i++) b.onRequest(0);
    expect(drain(b, 0)).toBe(20);
    for (let i = 0; i < 5; i++) expect(b.tryRetry(0)).toBe(false);
    for (let i = 0; i < 10; i++) b.onRequest(500);
    expect(drain(b, 500)).toBe(2); // 110 × 0.2 = 22
  });

  it('grants the share without float noise (0.07 × 100 is 7.000000000000001 in binary)', () => {
    for (const [ratio, requests, expected] of [
      [0.07, 100, 7],
      [0.14, 100, 14],
      [0.1, 30, 3],
      [0.3, 10, 3],
      [0.7, 10, 7],
      [0.29, 100, 29],
    ] as const) {
      const b = new RetryBudget(ratio, 0, 10_000);
      for (let i = 0; i < requests; i++) b.onRequest(0);
      expect(drain(b, 0), `${ratio} × ${requests}`).toBe(expected);
    }
  });

  it('with no requests, grants minPerSecond × window seconds', () => {
    expect(drain(new RetryBudget(0.2, 3, 10_000), 0)).toBe(30);
    expect(drain(new RetryBudget(0.2, 1, 10_000), 5_000)).toBe(10);
    expect(drain(new RetryBudget(0.5, 2, 5_000), 0)).toBe(10);
    expect(drain(new RetryBudget(0, 0.5, 10_000), 0)).toBe(5);
  });

  it('takes the larger of the floor and the share', () => {
    const b = new RetryBudget(0.5, 1, 10_000); // floor 10
    for (let i = 0; i < 4; i++) b.onRequest(0); // share 2
    expect(drain(b, 0)).toBe(10);
    const c = new RetryBudget(0.5, 1, 10_000);
    for (let i = 0; i < 40; i++) c.onRequest(0); // share 20
    expect(drain(c, 0)).toBe(20);
  });

  it('ratio 0 and minPerSecond 0 refuse every retry', () => {
    const b = new RetryBudget(0, 0, 10_000);
    expect(b.tryRetry(0)).toBe(false);
    for (let i = 0; i < 1_000; i++) b.onRequest(i);
    expect(b.tryRetry(1_000)).toBe(false);
    expect(b.tryRetry(50_000)).toBe(false);
  });

  it('the window slides: after windowMs without traffic the counts start over', () => {
    const b = new RetryBudget(0.2, 0, 10_000);
    for (let i = 0; i < 100; i++) b.onRequest(1_000);
    expect(drain(b, 1_000)).toBe(20);
    // A window later the requests are gone, and with them the share.
    expect(b.tryRetry(11_000)).toBe(false);
    // New requests earn a share again, and the old retries do not count against it.
    for (let i = 0; i < 10; i++) b.onRequest(11_000);
    expect(drain(b, 11_000)).toBe(2);
  });

  it('retries charged a window ago no longer count against the floor', () => {
    const b = new RetryBudget(0, 1, 10_000); // floor 10
    expect(drain(b, 0)).toBe(10);
    expect(b.tryRetry(5_000)).toBe(false);
    expect(b.tryRetry(9_999)).toBe(false);
    expect(drain(b, 10_000)).toBe(10);
  });

  it('slides bucket by bucket: retries spent early free up as their bucket leaves the window', () => {
    const b = new RetryBudget(0, 1, 10_000); // 10 buckets of 1 s, floor 10
    for (let s = 0; s < 10; s++) expect(b.tryRetry(s * 1_000 + 100)).toBe(true);
    expect(b.tryRetry(9_900)).toBe(false);
    // At 10 s the t = 0.1 s bucket leaves the window: exactly one retry frees up.
    expect(drain(b, 10_100)).toBe(1);
    expect(drain(b, 11_100)).toBe(1);
  });

  it('requests older than the window stop earning retries', () => {
    const b = new RetryBudget(0.5, 0, 10_000);
    for (let i = 0; i < 10; i++) b.onRequest(0); // share 5, until they age out
    for (let i = 0; i < 10; i++) b.onRequest(6_000); // share 5 more
    expect(drain(b, 6_000)).toBe(10);
    // At 10 s the first ten requests are out: 10 requests → 5 retries, and 10 are already charged.
    expect(b.tryRetry(10_000)).toBe(false);
    // At 16 s everything is out.
    expect(b.tryRetry(16_000)).toBe(false);
    for (let i = 0; i < 4; i++) b.onRequest(16_000);
    expect(drain(b, 16_000)).toBe(2);
  });
});
