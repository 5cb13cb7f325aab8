import { describe, expect, it, vi } from 'vitest';
import { SharedTable } from '../../src/state/shared-table.ts';
import { QUOTA_FLOATS, QUOTA_INTS } from '../../src/state/quota-memory.ts';
import { MemoryQuota } from '../../src/state/quota-memory.ts';
import { windowOf, type Counter, type Period } from '../../src/state/quota.ts';

const c = (id: string, limit: number, period: Period = '1m'): Counter => ({ id, limit, period });
const T0 = Date.UTC(2024, 4, 15, 12, 0, 0); // a minute boundary

/** takePermits until the first refusal (bounded): how many were admitted. */
function drain(q: MemoryQuota, counters: Counter[], now: number, max = 100_000): number {
  let n = 0;
  while (n < max && q.takePermits(counters, now) === null) n++;
  return n;
}

describe('MemoryQuota permits', () => {
  it('admits exactly the limit in a window, then refuses with the counter', () => {
    const q = new MemoryQuota();
    const rpm = c('vk:a:rpm', 7);
    for (let i = 0; i < 7; i++) {
      expect(q.remaining(rpm, T0)).toBe(7 - i);
      expect(q.takePermits([rpm], T0 + i)).toBeNull();
    }
    expect(q.takePermits([rpm], T0 + 10)).toBe(rpm);
    expect(q.takePermits([rpm], T0 + 59_999)).toBe(rpm);
    expect(q.remaining(rpm, T0 + 20)).toBe(0);
  });

  it('is all-or-nothing: a refused request takes nothing from the counters before the full one', () => {
    const q = new MemoryQuota();
    const key = c('vk:a:rpm', 5);
    const team = c('team:t:rpm', 2);
    const cust = c('cust:x:rpm', 100);
    expect(q.takePermits([key, team, cust], T0)).toBeNull();
    expect(q.takePermits([key, team, cust], T0)).toBeNull();
    for (let i = 0; i < 4; i++) expect(q.takePermits([key, team, cust], T0)).toBe(team);
    expect(q.remaining(key, T0)).toBe(3);
    expect(q.remaining(team, T0)).toBe(0);
    expect(q.remaining(cust, T0)).toBe(98);
    // The key alone still has its 3.
    expect(drain(q, [key], T0)).toBe(3);
  });

  it('a counter listed twice needs two permits', () => {
    const q = new MemoryQuota();
    const x = c('x', 3);
    expect(q.takePermits([x, x], T0)).toBeNull();
    expect(q.takePermits([x, x], T0)).toBe(x);
    expect(q.remaining(x, T0)).toBe(1);
  });

  it('a limit of 0 refuses everything', () => {
    const q = new MemoryQuota();
    expect(q.takePermits([c('z', 0)], T0)).not.toBeNull();
  });

  it('a new window starts at zero; a clock stepping back stays in the current window', () => {
    const q = new MemoryQuota();
    const rpm = c('r', 3);
    expect(drain(q, [rpm], T0 + 30_000)).toBe(3);
    expect(drain(q, [rpm], T0 + 59_999)).toBe(0);
    expect(drain(q, [rpm], T0 + 60_000)).toBe(3);
    // Back into the previous minute: still the current window (no reopening).
    expect(drain(q, [rpm], T0 + 59_000)).toBe(0);
    expect(q.remaining(rpm, T0 + 50_000)).toBe(0);
    // Several windows later.
    expect(drain(q, [rpm], T0 + 10 * 60_000 + 5)).toBe(3);
  });

  it('a limit raised by a config reload (same id, new Counter) applies at once', () => {
    const q = new MemoryQuota();
    expect(drain(q, [c('r', 2)], T0)).toBe(2);
    expect(drain(q, [c('r', 5)], T0)).toBe(3);
  });

  it('monthly permits roll on the first of the month, UTC', () => {
    const q = new MemoryQuota();
    const m = c('m', 2, '1mo');
    const feb29 = Date.UTC(2024, 1, 29, 23, 59, 59, 999);
    expect(drain(q, [m], Date.UTC(2024, 1, 1))).toBe(2);
    expect(drain(q, [m], feb29)).toBe(0);
    expect(drain(q, [m], Date.UTC(2024, 2, 1))).toBe(2);
  });
});

describe('MemoryQuota past its table', () => {
  it('still counts a counter that finds no slot, and says once that such limits are per thread', () => {
    const q = new MemoryQuota(new SharedTable(1, QUOTA_INTS, QUOTA_FLOATS));
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(drain(q, [c('vk:a:rpm', 3)], T0)).toBe(3);
      expect(drain(q, [c('vk:b:rpm', 2)], T0)).toBe(2);
      expect(drain(q, [c('vk:c:rpm', 4)], T0)).toBe(4);
      const warnings = write.mock.calls.map((a) => String(a[0])).filter((l) => l.includes('counter table'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/full.*not exact/);
    } finally {
      write.mockRestore();
    }
  });
});

describe('MemoryQuota spend after a reset', () => {
  it("never goes below zero: the give-back of a reservation made before the reset leaves no headroom past the limit", async () => {
    const q = new MemoryQuota();
    const tpm = c('vk:r:tpm', 10_000);
    for (let i = 0; i < 8; i++) q.charge(tpm, 1_100, T0); // eight reservations in flight
    await q.reset(tpm.id);
    for (let i = 0; i < 8; i++) q.charge(tpm, 200 - 1_100, T0 + 5); // each settles at 200 tokens
    expect(q.spent(tpm, T0 + 5)).toBe(0);
  });
});

describe('MemoryQuota spend', () => {
  it('adds charges in the window and starts the next at zero', () => {
    const q = new MemoryQuota();
    const usd = c('team:t:usd:1d', 10, '1d');
    expect(q.spent(usd, T0)).toBe(0);
    q.charge(usd, 1.25, T0);
    q.charge(usd, 2.5, T0 + 1000);
    expect(q.spent(usd, T0 + 2000)).toBe(3.75);
    expect(q.spent(usd, Date.UTC(2024, 4, 15, 23, 59, 59, 999))).toBe(3.75);
    expect(q.spent(usd, Date.UTC(2024, 4, 16))).toBe(0);
    q.charge(usd, 4, Date.UTC(2024, 4, 16, 1));
    expect(q.spent(usd, Date.UTC(2024, 4, 16, 2))).toBe(4);
  });
});

describe('MemoryQuota reset', () => {
  it('zeroes the current window (permits and spend); unknown ids resolve', async () => {
    const q = new MemoryQuota();
    const rpm = c('r', 4);
    const tok = c('t', 1000);
    expect(drain(q, [rpm], T0)).toBe(4);
    q.charge(tok, 900, T0);
    await q.reset('r');
    await q.reset('t');
    await q.reset('never-seen');
    expect(q.remaining(rpm, T0)).toBe(4);
    expect(drain(q, [rpm], T0 + 1)).toBe(4);
    expect(q.spent(tok, T0)).toBe(0);
    expect(q.health()).toEqual({ kind: 'memory', connected: true, failOpenAdmits: 0, failClosedRefusals: 0, permitWaits: 0 });
    await q.close();
  });
});

describe('windowOf', () => {
  const iso = (t: number): string => new Date(t).toISOString();

  it('1m / 1h / 1d: aligned to UTC, end exclusive', () => {
    const t = Date.UTC(2024, 4, 15, 12, 34, 56, 789);
    expect(iso(windowOf('1m', t).end)).toBe('2024-05-15T12:35:00.000Z');
    expect(iso(windowOf('1h', t).end)).toBe('2024-05-15T13:00:00.000Z');
    expect(iso(windowOf('1d', t).end)).toBe('2024-05-16T00:00:00.000Z');
    for (const p of ['1m', '1h', '1d'] as const) {
      const w = windowOf(p, t);
      // The end belongs to the next window; end - 1 to this one.
      expect(windowOf(p, w.end).id).toBe(w.id + 1);
      expect(windowOf(p, w.end - 1).id).toBe(w.id);
    }
    expect(windowOf('1m', Date.UTC(2024, 4, 15, 12, 35)).id - windowOf('1m', t).id).toBe(1);
  });

  it('1w: ISO weeks, Monday 00:00 UTC to Monday 00:00 UTC', () => {
    // 2024-01-01 was a Monday.
    const mon = Date.UTC(2024, 0, 1);
    const w = windowOf('1w', mon);
    expect(iso(w.end)).toBe('2024-01-08T00:00:00.000Z');
    expect(windowOf('1w', mon - 1).id).toBe(w.id - 1); // Sunday 23:59:59.999 is the week before
    expect(iso(windowOf('1w', mon - 1).end)).toBe('2024-01-01T00:00:00.000Z');
    expect(windowOf('1w', Date.UTC(2024, 0, 7, 23, 59, 59, 999)).id).toBe(w.id); // Sunday: same week
    // Across a year end: ISO week 53 of 2020 runs Mon 2020-12-28 .. Sun 2021-01-03.
    const thu = windowOf('1w', Date.UTC(2020, 11, 31, 12));
    expect(windowOf('1w', Date.UTC(2020, 11, 28)).id).toBe(thu.id);
    expect(windowOf('1w', Date.UTC(2021, 0, 3, 23, 59)).id).toBe(thu.id);
    expect(iso(thu.end)).toBe('2021-01-04T00:00:00.000Z');
    expect(windowOf('1w', Date.UTC(2021, 0, 4)).id).toBe(thu.id + 1);
    // Every window is exactly 7 days and starts on a Monday.
    for (let k = 0; k < 60; k++) {
      const t = Date.UTC(2023, 0, 1) + k * 5 * 86_400_000 + 12_345;
      const end = windowOf('1w', t).end;
      expect(new Date(end).getUTCDay()).toBe(1);
      expect(end - t).toBeGreaterThan(0);
      expect(end - t).toBeLessThanOrEqual(7 * 86_400_000);
      expect(windowOf('1w', end).end - end).toBe(7 * 86_400_000);
    }
  });

  it('1mo: calendar months, month ends and leap years', () => {
    const endOf = (y: number, m: number, d: number): string => iso(windowOf('1mo', Date.UTC(y, m, d, 23, 59, 59, 999)).end);
    expect(endOf(2024, 0, 31)).toBe('2024-02-01T00:00:00.000Z');
    expect(endOf(2024, 1, 29)).toBe('2024-03-01T00:00:00.000Z'); // leap year: Feb 29 is February
    expect(endOf(2023, 1, 28)).toBe('2023-03-01T00:00:00.000Z');
    expect(windowOf('1mo', Date.UTC(2023, 1, 28, 23, 59, 59, 999)).id + 1).toBe(windowOf('1mo', Date.UTC(2023, 2, 1)).id);
    expect(endOf(2000, 1, 29)).toBe('2000-03-01T00:00:00.000Z'); // 2000: divisible by 400, leap
    expect(windowOf('1mo', Date.UTC(2100, 1, 28, 12)).end).toBe(Date.UTC(2100, 2, 1)); // 2100: not leap
    expect(endOf(2024, 3, 30)).toBe('2024-05-01T00:00:00.000Z'); // 30-day month
    expect(endOf(2024, 11, 31)).toBe('2025-01-01T00:00:00.000Z'); // year end
    expect(windowOf('1mo', Date.UTC(2025, 0, 1)).id).toBe(windowOf('1mo', Date.UTC(2024, 11, 31, 23, 59)).id + 1);
    // A month's windows are contiguous for a run of years.
    let prev = windowOf('1mo', Date.UTC(2023, 0, 1));
    for (let k = 0; k < 40; k++) {
      const next = windowOf('1mo', prev.end);
      expect(next.id).toBe(prev.id + 1);
      expect(new Date(next.end).getUTCDate()).toBe(1);
      expect(windowOf('1mo', next.end - 1).id).toBe(next.id);
      prev = next;
    }
  });
});
