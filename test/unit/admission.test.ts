// Admission and settlement against the in-memory store: what a reservation charges, and where a
// give-back goes when the window it was charged in has ended.
import { describe, expect, it } from 'vitest';
import { admit, charge } from '../../src/governance/admission.ts';
import { Directory } from '../../src/governance/directory.ts';
import { MemoryQuota } from '../../src/state/quota-memory.ts';

const FAIL = { rateLimits: 'open', budgets: 'closed' } as const;
const directory = (): Directory =>
  new Directory({ customers: [], teams: [], virtualKeys: [{ id: 'k', digest: 'x', limits: { tokensPerMinute: 2000, budget: { usd: 10, period: '1mo' } }, source: 'config' }] });

describe('settling a reservation', () => {
  it('gives back what the reservation over-estimated, in the window it was charged in', () => {
    const key = directory().keys.get('k')!;
    const store = new MemoryQuota();
    const t = Date.UTC(2026, 0, 1, 12, 0, 10);
    admit(key, store, FAIL, t, { requests: null, tokens: null }, { tokens: 1500, usd: 2 });
    charge(key, store, 100 - 1500, 0.5 - 2, t + 5_000, t);
    expect(store.spent(key.limits.tpm!, t + 5_000)).toBe(100);
    expect(store.spent(key.limits.budget!, t + 5_000)).toBeCloseTo(0.5, 9);
  });

  it('drops the give-back once that window has ended, so the next one does not start below zero', () => {
    const key = directory().keys.get('k')!;
    const store = new MemoryQuota();
    const admitted = Date.UTC(2026, 0, 31, 23, 59, 59, 900);
    const settled = Date.UTC(2026, 1, 1, 0, 0, 0, 500); // the next minute, and the next month
    admit(key, store, FAIL, admitted, { requests: null, tokens: null }, { tokens: 1500, usd: 9.99 });
    charge(key, store, 100 - 1500, 0.01 - 9.99, settled, admitted);
    expect(store.spent(key.limits.tpm!, settled)).toBe(0);
    expect(store.spent(key.limits.budget!, settled)).toBe(0);
    // The new minute admits one 1,500-token reservation under its 2,000, not two.
    const take = (): boolean => {
      try {
        admit(key, store, FAIL, settled + 1, { requests: null, tokens: null }, { tokens: 1500, usd: 0 });
        return true;
      } catch {
        return false;
      }
    };
    expect([take(), take()]).toEqual([true, false]);
  });

  it('charges an answer that cost more than its reservation, even after the window has ended', () => {
    const key = directory().keys.get('k')!;
    const store = new MemoryQuota();
    const admitted = Date.UTC(2026, 0, 1, 12, 0, 59, 900);
    const settled = Date.UTC(2026, 0, 1, 12, 1, 0, 500);
    admit(key, store, FAIL, admitted, { requests: null, tokens: null }, { tokens: 100, usd: 0 });
    charge(key, store, 300 - 100, 0, settled, admitted);
    expect(store.spent(key.limits.tpm!, settled)).toBe(200);
  });
});

describe('a refused request says when to come back', () => {
  const rpmKey = (): ReturnType<Directory['keys']['get']> =>
    new Directory({ customers: [], teams: [], virtualKeys: [{ id: 'k', digest: 'x', limits: { requestsPerMinute: 3 }, source: 'config' }] }).keys.get('k');

  it("at the window's end when the limit is reached; in a moment when permits are left but not yet held (a shared store fetching them)", () => {
    const key = rpmKey()!;
    const t = Date.UTC(2026, 0, 1, 12, 0, 10);
    const refusal = (store: Parameters<typeof admit>[1]): { retryAfterMs: number | null; message: string } => {
      try {
        admit(key, store, FAIL, t, { requests: null, tokens: null }, { tokens: 0, usd: 0 });
      } catch (err) {
        return err as { retryAfterMs: number | null; message: string };
      }
      throw new Error('admitted');
    };
    const full = new MemoryQuota();
    for (let i = 0; i < 3; i++) admit(key, full, FAIL, t, { requests: null, tokens: null }, { tokens: 0, usd: 0 });
    expect(refusal(full).retryAfterMs).toBe(50_000);
    // A store that holds no permit yet while 3 are left in the window (RedisQuota before its lease returns).
    const fetching = { connected: true, takePermits: (c: readonly unknown[]) => c[0], remaining: () => 3, spent: () => 0 } as unknown as Parameters<typeof admit>[1];
    const r = refusal(fetching);
    expect(r.retryAfterMs).toBe(250);
    expect(r.message).toMatch(/being fetched/);
  });
});

describe('a request admitted by the open policy while the store is down', () => {
  it('is counted once, however many spend limits it passed and however often they were read', () => {
    const key = new Directory({ customers: [], teams: [], virtualKeys: [{ id: 'k', digest: 'x', limits: { tokensPerMinute: 2000, budget: { usd: 10, period: '1mo' } }, source: 'config' }] }).keys.get('k')!;
    let counted = 0;
    const down = { connected: false, spent: () => 0, charge: () => {}, reserve: () => true, takePermits: () => null, remaining: () => 0, countFailOpen: () => counted++ } as unknown as Parameters<typeof admit>[1];
    admit(key, down, { rateLimits: 'open', budgets: 'open' }, Date.UTC(2026, 0, 1, 12), { requests: null, tokens: null }, { tokens: 100, usd: 0.01 });
    expect(counted).toBe(1);
  });
});

describe('the reservation is one step per level, and all levels or none', () => {
  const team = (): Directory =>
    new Directory({
      customers: [],
      teams: [{ id: 't', limits: { tokensPerMinute: 1_000_000, budget: { usd: 100, period: '1d' } }, source: 'config' }],
      virtualKeys: [{ id: 'k', digest: 'x', team: 't', limits: { tokensPerMinute: 1_000_000, budget: { usd: 100, period: '1d' }, requestsPerMinute: 1 }, source: 'config' }],
    });
  const t = Date.UTC(2026, 0, 1, 12, 0, 10);

  it("a level that refuses at the reservation (another thread reserved since the check) undoes the levels before it", () => {
    const key = team().keys.get('k')!;
    const memory = new MemoryQuota();
    const teamTpm = key.levels[1]!.tpm!;
    // The check passes; then the team's token limit refuses the reservation itself, as when another
    // thread's reservation landed in between.
    const racing = new Proxy(memory, {
      get: (m, p) => (p === 'reserve' ? (c: typeof teamTpm, amount: number, rule: 'fits' | 'unspent', now: number) => c !== teamTpm && m.reserve(c, amount, rule, now) : Reflect.get(m, p, m)),
    });
    expect(() => admit(key, racing, FAIL, t, { requests: null, tokens: null }, { tokens: 1500, usd: 2 })).toThrow(/tokens per minute of team t reached/);
    for (const l of key.levels) {
      expect(memory.spent(l.tpm!, t)).toBe(0);
      expect(memory.spent(l.budget!, t)).toBe(0);
    }
    expect(memory.remaining(key.permits[0]!, t)).toBe(1);
  });

  it('a request its rate limit refuses gives its reservation back', () => {
    const key = team().keys.get('k')!;
    const store = new MemoryQuota();
    admit(key, store, FAIL, t, { requests: null, tokens: null }, { tokens: 1500, usd: 2 });
    expect(() => admit(key, store, FAIL, t, { requests: null, tokens: null }, { tokens: 1500, usd: 2 })).toThrow(/1 requests per minute/);
    for (const l of key.levels) {
      expect(store.spent(l.tpm!, t)).toBe(1500);
      expect(store.spent(l.budget!, t)).toBeCloseTo(2, 9);
    }
  });
});
