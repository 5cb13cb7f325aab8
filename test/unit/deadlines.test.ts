// The request deadlines of attempts in flight on one timer (upstream/deadlines.ts): each fires once,
// in order, at its time; one removed never fires; work started from a deadline is queued too.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, type Expiring } from '../../src/upstream/deadlines.ts';

beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
afterEach(() => void vi.useRealTimers());

function entry(name: string, fired: string[], then?: () => void): Expiring {
  return { expiresAt: 0, heapIndex: -1, onDeadline: () => (fired.push(name), then?.()) };
}

describe('DeadlineQueue', () => {
  it('fires each deadline once, in expiry order, not before its time', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const now = performance.now();
    for (const [name, ms] of [['c', 300], ['a', 100], ['d', 400], ['b', 200]] as const) q.add(entry(name, fired), now + ms, now);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(101);
    expect(fired).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(['a', 'b', 'c', 'd']);
    expect(q.size).toBe(0);
  });

  it('never fires a removed entry, whatever its place in the heap; removing twice is harmless', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const now = performance.now();
    const xs = Array.from({ length: 50 }, (_, i) => entry(`e${i}`, fired));
    xs.forEach((x, i) => q.add(x, now + 10 + ((i * 37) % 50) * 10, now));
    const removed = new Set([0, 3, 17, 25, 49, 12]);
    for (const i of removed) q.remove(xs[i]!);
    q.remove(xs[3]!);
    expect(xs[3]!.heapIndex).toBe(-1);
    vi.advanceTimersByTime(1_000);
    expect(new Set(fired)).toEqual(new Set(xs.map((_, i) => `e${i}`).filter((_, i) => !removed.has(i))));
    expect(fired.length).toBe(50 - removed.size);
    // In expiry order.
    const at = (n: string): number => ((Number(n.slice(1)) * 37) % 50) * 10;
    expect(fired.map(at)).toEqual([...fired.map(at)].sort((a, b) => a - b));
  });

  it('moves its timer earlier when an earlier deadline arrives', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const now = performance.now();
    q.add(entry('late', fired), now + 5_000, now);
    q.add(entry('early', fired), now + 50, now);
    vi.advanceTimersByTime(60);
    expect(fired).toEqual(['early']);
  });

  it('queues a deadline added by another one firing (a retry after a timeout)', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const now = performance.now();
    const retry = entry('retry', fired);
    q.add(entry('first', fired, () => q.add(retry, performance.now() + 100, performance.now())), now + 100, now);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual(['first']);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['first', 'retry']);
  });
});
