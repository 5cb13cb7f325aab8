// RedisQuota against a real redis-server: two instances play two replicas. The clock is injected (windows
// roll on demand), the I/O is real: background leases and flushes run between rounds on real event-loop
// turns. Assertions are on counts and states, never on timings.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisQuota, type RedisQuotaOptions } from '../../src/state/quota-redis.ts';
import { compilePlan } from '../../src/config/compile.ts';
import { validateConfig } from '../../src/config/load.ts';
import { SharedState } from '../../src/state/shared-state.ts';
import type { Counter } from '../../src/state/quota.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
let admin: Redis;
const open: RedisQuota[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};

/** A minute boundary 10 minutes ahead of the real clock, so keys' PEXPIREAT lies in the future. */
const T0 = Math.ceil(Date.now() / 60_000) * 60_000 + 10 * 60_000;
let fakeNow = T0;
let seq = 0;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(5);
  }
}

function quota(opts: Partial<RedisQuotaOptions> = {}): RedisQuota {
  const q = new RedisQuota({
    url: redis.url,
    onFailure: { permits: 'open', spend: 'closed' },
    flushMs: 50,
    reconnectMaxMs: 100,
    clock: () => fakeNow,
    ...opts,
  });
  open.push(q);
  return q;
}

/** A fresh counter id per test: tests never see each other's keys. */
const counter = (limit: number, period: Counter['period'] = '1m'): Counter => ({ id: `t${++seq}:${process.pid}`, limit, period });

/** What admission does: wait for what fetchPermits names, then take. */
async function admitOne(q: RedisQuota, counters: Counter[]): Promise<boolean> {
  const wait = q.fetchPermits(counters, fakeNow);
  if (wait !== null) await wait;
  return q.takePermits(counters, fakeNow) === null;
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  admin.on('error', () => {});
  await admin.connect();
  process.on('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close()));
  fakeNow = T0;
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  admin?.disconnect();
  await redis?.stop();
  expect(unhandled).toEqual([]);
});

/**
 * Steady load: `rounds` rounds spread over the window (the injected clock advances), each replica makes its
 * attempts interleaved with the other's, then a real pause lets leases come back. Returns admitted per replica.
 */
async function hammerWindow(qs: RedisQuota[], c: Counter, windowStart: number, rounds: number, perRound: number[]): Promise<number[]> {
  const admitted = qs.map(() => 0);
  const counters = [c];
  for (let r = 0; r < rounds; r++) {
    fakeNow = windowStart + Math.floor(((r + 0.5) * 60_000) / rounds);
    const most = Math.max(...perRound);
    for (let k = 0; k < most; k++) {
      for (let i = 0; i < qs.length; i++) {
        if (k < perRound[i]! && qs[i]!.takePermits(counters, fakeNow) === null) admitted[i]!++;
      }
    }
    await sleep(2);
  }
  return admitted;
}

describe('RedisQuota permits (2 replicas, one Redis)', () => {
  it('N = 200/min hammered from both: never more than N per window, at least 90% of N', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const c = counter(200);
    const perWindow: number[] = [];
    for (let w = 0; w < 5; w++) {
      const start = T0 + w * 60_000;
      // 60 rounds x 3 + 3 attempts = 360 requests per window for 200 permits.
      const [x, y] = await hammerWindow([a, b], c, start, 60, [3, 3]);
      const total = x! + y!;
      perWindow.push(total);
      const used = Number(await admin.get(`mg:q:${c.id}:${start / 60_000}`));
      expect(used, `window ${w}: permits leased in Redis`).toBeLessThanOrEqual(200);
      expect(total, `window ${w}: admitted ${x} + ${y}`).toBeLessThanOrEqual(used);
      expect(total, `window ${w}`).toBeGreaterThanOrEqual(180);
      expect(x, 'each replica gets a share').toBeGreaterThan(40);
      expect(y, 'each replica gets a share').toBeGreaterThan(40);
    }
    console.log(`[quota-redis] even load, admitted per window of N=200: ${perWindow.join(', ')}`);
    expect(a.health().failOpenAdmits + b.health().failOpenAdmits).toBe(0);
  });

  it('blocks are sized for the lessees it is told of: a tenth of N at most is held unspent across all of them', async () => {
    // N = 900: B = floor(N / 15R), 30 for R = 2 and 10 for R = 6 (3 replicas of 2 request threads).
    for (const [replicas, block] of [[2, 30], [6, 10]] as const) {
      const q = quota({ replicas });
      expect(await q.whenReady()).toBe(true);
      const c = counter(900);
      expect(q.takePermits([c], fakeNow), 'the first request of a counter waits for its lease').not.toBeNull();
      await until('the first lease', () => q.takePermits([c], fakeNow) === null);
      expect(Number(await admin.get(`mg:q:${c.id}:${Math.floor(fakeNow / 60_000)}`))).toBe(block);
    }
  });

  it('a compiled plan sizes its blocks for store.replicas × the request threads (each thread leases on its own)', async () => {
    const config = validateConfig({ version: 1, providers: { p: { type: 'openai', baseUrl: 'http://127.0.0.1:9', keys: [{ name: 'k', value: 'v' }] } }, governance: { store: { redis: redis.url, replicas: 3 } } }, {});
    const plan = compilePlan(config, { shared: new SharedState(2) });
    const store = plan.governance.store;
    expect(store).toBeInstanceOf(RedisQuota);
    expect((store as RedisQuota).replicas).toBe(6);
    await store.close();
    await plan.close();
  });

  it('a reload plan closes the store it inherits only once committed: a failed reload leaves the running plan its store', async () => {
    const config = validateConfig({ version: 1, providers: { p: { type: 'openai', baseUrl: 'http://127.0.0.1:9', keys: [{ name: 'k', value: 'v' }] } }, governance: { store: { redis: redis.url } } }, {});
    const shared = new SharedState(1);
    const running = compilePlan(config, { shared });
    const store = running.governance.store as RedisQuota;
    expect(await store.whenReady()).toBe(true);
    const failed = compilePlan(config, { shared, previous: running });
    expect(failed.governance.store).toBe(store);
    await failed.close(); // as gateway.ts does when the new plan's governance cannot open
    expect(store.connected).toBe(true);
    const next = compilePlan(config, { shared, previous: running });
    next.commit();
    await running.close(); // the replaced plan retires: the store is no longer its own
    expect(store.connected).toBe(true);
    await next.close();
    expect(store.connected).toBe(false);
  });

  it('an uneven load (one replica goes idle mid-window) still admits >= 90% and never more than N', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const c = counter(200);
    const perWindow: number[] = [];
    for (let w = 0; w < 3; w++) {
      const start = T0 + w * 60_000;
      // Both busy for the first 20 s, then only `a` (at a rate that alone exceeds the rest of N).
      const first = await hammerWindow([a, b], c, start, 20, [3, 4]);
      const admitted = first[0]! + first[1]!;
      let rest = 0;
      for (let r = 20; r < 60; r++) {
        fakeNow = start + r * 1000 + 500;
        for (let k = 0; k < 8; k++) if (a.takePermits([c], fakeNow) === null) rest++;
        await sleep(2);
      }
      const total = admitted + rest;
      perWindow.push(total);
      expect(total).toBeLessThanOrEqual(200);
      expect(total).toBeGreaterThanOrEqual(180);
    }
    console.log(`[quota-redis] uneven load, admitted per window of N=200: ${perWindow.join(', ')}`);
  });

  it('a small limit (N = 10) admits exactly N across replicas: each request leases its own permit', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const c = counter(10); // block 10 / 30 < 2: small
    fakeNow = T0 + 1_000;
    // Never seen before, nothing leased: the first request waits for its permit and is admitted.
    expect(await admitOne(a, [c])).toBe(true);
    let admitted = 1;
    for (let r = 0; r < 10; r++) for (const q of [a, b]) if (await admitOne(q, [c])) admitted++;
    expect(admitted).toBe(10);
    expect(Number(await admin.get(`mg:q:${c.id}:${T0 / 60_000}`))).toBe(10);
    // Used up: refused, and the refusal says so (remaining 0: the window's end, not "in a moment").
    // (Whether Redis is asked again depends on the ticker: at most once a tick, tested below.)
    expect(await admitOne(a, [c])).toBe(false);
    expect(a.remaining(c, fakeNow)).toBe(0);
    expect(a.held(c, fakeNow) + b.held(c, fakeNow)).toBe(0);
    expect(Number(await admin.get(`mg:q:${c.id}:${T0 / 60_000}`))).toBe(10);
  });

  it('a small limit is not stranded by idle lessees: 8 request threads warmed, one client on one thread gets all N', async () => {
    // Eight stores told of 8 lessees are eight request threads of one replica. Blocks of 1 leased ahead
    // by each would have left the one busy thread N - 7 (3 of 10) while the idle seven held the rest.
    const threads = Array.from({ length: 8 }, () => quota({ replicas: 8 }));
    expect((await Promise.all(threads.map((q) => q.whenReady()))).every(Boolean)).toBe(true);
    const c = counter(10);
    fakeNow = T0 + 1_000;
    for (const q of threads) q.warm([c], [], fakeNow);
    await Promise.all(threads.map((q) => q.settle(1_000)));
    expect(threads.map((q) => q.held(c, fakeNow))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    let admitted = 0;
    for (let i = 0; i < 15; i++) if (await admitOne(threads[0]!, [c])) admitted++;
    expect(admitted).toBe(10);
    // Another thread now finds the window used up.
    expect(await admitOne(threads[5]!, [c])).toBe(false);
  });

  it("a small limit's remaining() learns what other lessees took (it leases nothing ahead to learn it from)", async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const c = counter(10);
    fakeNow = T0 + 1_000;
    for (let i = 0; i < 4; i++) expect(await admitOne(a, [c])).toBe(true);
    expect(a.remaining(c, fakeNow)).toBe(6);
    // b has taken none: it says 10 at first, then what the next flush reads.
    expect(b.remaining(c, fakeNow)).toBe(10);
    await until('b reads the count', () => b.remaining(c, fakeNow) === 6);
    expect(b.held(c, fakeNow)).toBe(0);
  });

  it('a burst on a small limit asks Redis for no more permits than the window can still grant', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(10);
    fakeNow = T0 + 1_000;
    const leases = a.stats().leases;
    // 50 requests at once on one thread: 10 leases go out, the other 40 wait for their answers.
    const results = await Promise.all(Array.from({ length: 50 }, () => admitOne(a, [c])));
    expect(results.filter(Boolean).length).toBe(10);
    expect(a.stats().leases - leases).toBe(10);
    expect(Number(await admin.get(`mg:q:${c.id}:${T0 / 60_000}`))).toBe(10);
  });

  it('an exhausted small limit is asked again once a tick has passed: it sees a reset whose message it missed', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(2);
    fakeNow = T0 + 1_000;
    expect(await admitOne(a, [c])).toBe(true);
    expect(await admitOne(a, [c])).toBe(true);
    expect(await admitOne(a, [c])).toBe(false);
    await admin.del(`mg:q:${c.id}:${T0 / 60_000}`); // a reset, without its pub/sub message
    // Refused requests are not asked of Redis again until a tick lets the next one ask.
    await until('asked again', () => a.fetchPermits([c], fakeNow) !== null);
    let admitted = 0;
    for (let i = 0; i < 3; i++) if (await admitOne(a, [c])) admitted++;
    expect(admitted).toBe(2);
  });

  it("a small limit's permit fetched and never spent goes back to Redis, and another thread admits with it", async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const c = counter(3);
    const key = `mg:q:${c.id}:${T0 / 60_000}`;
    fakeNow = T0 + 1_000;
    // A request on a waits for its permit, then its client leaves: the permit sits on a.
    await a.fetchPermits([c], fakeNow);
    expect(a.held(c, fakeNow)).toBe(1);
    expect(Number(await admin.get(key))).toBe(1);
    await until('given back', () => a.held(c, fakeNow) === 0);
    for (let i = 0; i < 100 && Number(await admin.get(key)) !== 0; i++) await sleep(5);
    expect(Number(await admin.get(key))).toBe(0);
    let admitted = 0;
    for (let i = 0; i < 4; i++) if (await admitOne(b, [c])) admitted++;
    expect(admitted).toBe(3);
  });

  it('a window that rolls during the wait: the permit of the old one is dropped, and a second fetch gets one of the new', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(5);
    fakeNow = T0 + 59_999;
    const first = a.fetchPermits([c], fakeNow);
    fakeNow = T0 + 60_000;
    await first;
    // What governance does after a wait: ask again when the permit is not there.
    const second = a.fetchPermits([c], fakeNow);
    expect(second).not.toBeNull();
    await second;
    expect(a.takePermits([c], fakeNow)).toBeNull();
    expect(Number(await admin.get(`mg:q:${c.id}:${T0 / 60_000 + 1}`))).toBe(1);
  });

  it('a request finding its block still on the way waits for it instead of being refused', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(300); // block 10: leased ahead, not per request
    fakeNow = T0 + 1_000;
    // Never seen (no warm): takePermits alone would refuse; admission waits for the lease it sends.
    const wait = a.fetchPermits([c], fakeNow);
    expect(wait).not.toBeNull();
    await wait;
    expect(a.takePermits([c], fakeNow)).toBeNull();
    expect(a.held(c, fakeNow)).toBe(9);
    // Holding permits: nothing to wait for.
    expect(a.fetchPermits([c], fakeNow)).toBeNull();
    expect(a.stats().leases).toBe(1);
  });

  it('warm() leases ahead so the first request is admitted (a small limit: not ahead); all-or-nothing gives permits back', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const big = counter(300);
    const one = counter(1);
    const two = counter(60); // block 2: the smallest leased ahead
    fakeNow = T0 + 5_000;
    a.warm([big, one, two], [], fakeNow);
    await until('blocks leased', () => a.held(big, fakeNow) === 10 && a.held(two, fakeNow) === 2);
    expect(a.held(one, fakeNow)).toBe(0);
    expect(a.takePermits([big, two], fakeNow)).toBeNull();
    // The small limit's permit comes with the request; the others are at hand.
    expect(await admitOne(a, [big, one])).toBe(true);
    const before = a.remaining(big, fakeNow);
    for (let i = 0; i < 5; i++) expect(await admitOne(a, [big, one])).toBe(false);
    expect(a.takePermits([big, one], fakeNow)).toBe(one);
    expect(a.remaining(big, fakeNow)).toBe(before);
    expect(a.remaining(one, fakeNow)).toBe(0);
  });

  it('prefetches the next window shortly before the end: the new window starts with permits', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(300); // block 10
    fakeNow = T0 + 30_000;
    a.warm([c], [], fakeNow);
    await until('first block', () => a.takePermits([c], fakeNow) === null);
    fakeNow = T0 + 59_000; // within the 2 s lead
    expect(a.takePermits([c], fakeNow)).toBeNull();
    const nextKey = `mg:q:${c.id}:${T0 / 60_000 + 1}`;
    for (let i = 0; i < 200 && (await admin.get(nextKey)) === null; i++) await sleep(5);
    expect(Number(await admin.get(nextKey))).toBe(10);
    await sleep(10); // the reply reaches the replica
    fakeNow = T0 + 60_000;
    expect(a.takePermits([c], fakeNow)).toBeNull(); // first request of the new window: admitted locally
  });

  it('a request at the start of a window whose prefetched block is still on its way waits for it', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(300); // block 10
    fakeNow = T0 + 30_000;
    a.warm([c], [], fakeNow);
    await until('first block', () => a.held(c, fakeNow) === 10);
    fakeNow = T0 + 59_000; // within the 2 s lead: this request sends the prefetch
    expect(a.takePermits([c], fakeNow)).toBeNull();
    fakeNow = T0 + 60_000; // the window rolls before the prefetch's answer is back
    const wait = a.fetchPermits([c], fakeNow);
    expect(wait).not.toBeNull();
    await wait;
    expect(a.takePermits([c], fakeNow)).toBeNull();
  });

  it('a counter used every few windows is kept leased: its first request of a later window is admitted', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const c = counter(60); // block 2
    fakeNow = T0 + 1_000;
    expect(a.takePermits([c], fakeNow)).toBe(c); // never used before: no block yet
    await until('block', () => a.held(c, fakeNow) > 0);
    expect(a.takePermits([c], fakeNow)).toBeNull();
    // Two and a half windows later, no request in between: the ticker rolled the window and leased.
    fakeNow = T0 + 150_000;
    await until('held in the new window', () => a.held(c, fakeNow) > 0);
    expect(a.takePermits([c], fakeNow)).toBeNull();
    expect(a.health().failOpenAdmits).toBe(0);
  });
});

describe('RedisQuota spend', () => {
  it('spend charged on two replicas converges on both; a reader that does not charge sees it too', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const usd = counter(100, '1d');
    fakeNow = T0 + 1_000;
    a.charge(usd, 1.5, fakeNow);
    b.charge(usd, 2.25, fakeNow);
    expect(a.spent(usd, fakeNow)).toBe(1.5); // local pending counts at once
    await until('both see 3.75', () => a.spent(usd, fakeNow) === 3.75 && b.spent(usd, fakeNow) === 3.75);
    const key = `mg:q:${usd.id}:${Math.floor(fakeNow / 86_400_000)}`;
    expect(Number(await admin.get(key))).toBe(3.75);
    expect(await admin.pttl(key)).toBeGreaterThan(0);
    // b only reads from now on; a keeps charging.
    for (let i = 0; i < 4; i++) a.charge(usd, 0.25, fakeNow);
    await until('b sees a', () => b.spent(usd, fakeNow) === 4.75);
    // A third replica that never charged reads the shared total.
    const c = quota();
    expect(await c.whenReady()).toBe(true);
    c.spent(usd, fakeNow);
    await until('reader sees the total', () => c.spent(usd, fakeNow) === 4.75);
  });

  it('a spend counter not read lately is read before admission: a budget spent on one replica is seen on the other at once', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const usd = counter(1, '1d');
    fakeNow = T0 + 2_000;
    // b reads the counter once (0), then serves nothing of this key for a while.
    b.spent(usd, fakeNow);
    await sleep(150);
    // Read within the last two flush intervals: nothing to wait for.
    expect(b.staleSpend([usd], fakeNow)).toBeNull();
    expect(b.spent(usd, fakeNow)).toBe(0);
    // Meanwhile a spends the whole budget.
    a.charge(usd, 1, fakeNow);
    await until('a flushed', () => a.spent(usd, fakeNow) === 1 && a.stats().flushes > 0);
    await sleep(120);
    // A second later, b's view is old: it is read before b admits on it.
    fakeNow += 1_000;
    const wait = b.staleSpend([usd], fakeNow);
    expect(wait).not.toBeNull();
    await wait;
    expect(b.spent(usd, fakeNow)).toBe(1);
    expect(b.stats().spendReads).toBe(1);
    // Read just now: nothing to wait for.
    expect(b.staleSpend([usd], fakeNow)).toBeNull();
  });

  it("spend charged just before a window ends still reaches that window's key", async () => {
    const a = quota({ flushMs: 200 });
    expect(await a.whenReady()).toBe(true);
    const tpm = counter(1e6);
    fakeNow = T0 + 59_999;
    a.charge(tpm, 700, fakeNow);
    fakeNow = T0 + 60_000; // rolls before any flush ran
    a.charge(tpm, 5, fakeNow);
    expect(a.spent(tpm, fakeNow)).toBe(5);
    const k0 = `mg:q:${tpm.id}:${T0 / 60_000}`;
    const k1 = `mg:q:${tpm.id}:${T0 / 60_000 + 1}`;
    for (let i = 0; i < 200 && (await admin.get(k1)) === null; i++) await sleep(5);
    expect(Number(await admin.get(k0))).toBe(700);
    expect(Number(await admin.get(k1))).toBe(5);
  });

  it('settle() waits for the shared spend of the counters warm() names: a new replica does not start at 0', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const usd = counter(10, '1d');
    fakeNow = T0 + 1_000;
    a.charge(usd, 9.5, fakeNow);
    await until('a flushed', () => a.spent(usd, fakeNow) === 9.5 && a.stats().flushes > 0);
    await a.close();
    // A replica starting now, with a flush interval longer than the test: only settle() can read the total.
    const b = quota({ flushMs: 60_000 });
    b.warm([], [usd], fakeNow);
    await b.settle(3_000);
    expect(b.spent(usd, fakeNow)).toBe(9.5);
  });

  it('spend never goes below zero in Redis: give-backs of reservations made before a reset', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const tpm = counter(10_000);
    fakeNow = T0 + 7_000;
    for (let i = 0; i < 8; i++) a.charge(tpm, 1_100, fakeNow);
    await until('flushed', () => a.spent(tpm, fakeNow) === 8_800);
    const key = `mg:q:${tpm.id}:${Math.floor(fakeNow / 60_000)}`;
    await until('in Redis', () => true);
    await a.reset(tpm.id);
    for (let i = 0; i < 8; i++) a.charge(tpm, 200 - 1_100, fakeNow);
    let inRedis = Number.NaN;
    for (const end = Date.now() + 3_000; Date.now() < end && inRedis !== 0; await sleep(50)) inRedis = Number((await admin.get(key)) ?? Number.NaN);
    expect(inRedis).toBe(0);
  });

  it('close() flushes pending spend', async () => {
    const a = quota({ flushMs: 60_000 }); // no tick before close
    expect(await a.whenReady()).toBe(true);
    const tok = counter(1e9, '1h');
    fakeNow = T0 + 1_000;
    a.charge(tok, 1234, fakeNow);
    await a.close();
    expect(Number(await admin.get(`mg:q:${tok.id}:${Math.floor(fakeNow / 3_600_000)}`))).toBe(1234);
  });
});

describe('RedisQuota reset', () => {
  it('reset on one replica reaches the other: permits and spend start over', async () => {
    const a = quota();
    const b = quota();
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const rpm = counter(60); // block 2
    const usd = counter(10, '1mo');
    fakeNow = T0 + 1_000;
    let admitted = 0;
    for (let r = 0; r < 120; r++) {
      for (const q of [a, b]) if (q.takePermits([rpm], fakeNow) === null) admitted++;
      await sleep(2);
    }
    expect(admitted).toBeLessThanOrEqual(60);
    expect(admitted).toBeGreaterThanOrEqual(54);
    a.charge(usd, 4, fakeNow);
    b.charge(usd, 5, fakeNow);
    await until('spend shared', () => a.spent(usd, fakeNow) === 9 && b.spent(usd, fakeNow) === 9);
    expect(b.takePermits([rpm], fakeNow)).toBe(rpm);

    const before = b.stats().resetsReceived;
    await a.reset(rpm.id);
    await a.reset(usd.id);
    // The key was deleted; a lease b had in flight (its refusal above asked for one) may have made it again, with one block.
    expect(Number((await admin.get(`mg:q:${rpm.id}:${T0 / 60_000}`)) ?? '0')).toBeLessThanOrEqual(2);
    await until('b got both resets', () => b.stats().resetsReceived === before + 2);
    expect(a.spent(usd, fakeNow)).toBe(0);
    expect(b.spent(usd, fakeNow)).toBe(0);
    // b leases again and admits.
    let after = 0;
    for (let r = 0; r < 40 && after < 5; r++) {
      if (b.takePermits([rpm], fakeNow) === null) after++;
      await sleep(2);
    }
    expect(after).toBe(5);
    expect(a.stats().resetsReceived).toBe(0); // its own message is not applied twice
  });

  it('a reset whose message was missed is still noticed by the next lease (used went down)', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const rpm = counter(60); // block 2
    fakeNow = T0 + 2_000;
    let n = 0;
    for (let r = 0; r < 120; r++) {
      if (a.takePermits([rpm], fakeNow) === null) n++;
      await sleep(2);
    }
    expect(n).toBeGreaterThanOrEqual(57);
    expect(a.takePermits([rpm], fakeNow)).toBe(rpm);
    await admin.del(`mg:q:${rpm.id}:${T0 / 60_000}`); // no pub/sub message
    let again = 0;
    for (let r = 0; r < 60 && again < 10; r++) {
      if (a.takePermits([rpm], fakeNow) === null) again++;
      await sleep(2);
    }
    expect(again).toBe(10);
  });
});

describe('RedisQuota failure policy', () => {
  it('Redis stopped mid-load: policies apply, connected goes false, no crash; restarted: leases and flushes resume', async () => {
    const errors: string[] = [];
    // a: the lead's default (permits open, spend closed); b: the opposite.
    const a = quota({ onFailure: { permits: 'open', spend: 'closed' }, onError: (e) => errors.push(e.message) });
    const b = quota({ onFailure: { permits: 'closed', spend: 'open' } });
    expect(await Promise.all([a.whenReady(), b.whenReady()])).toEqual([true, true]);
    const rpm = counter(1000);
    const usd = counter(10, '1d');
    fakeNow = T0 + 1_000;
    for (let r = 0; r < 10; r++) {
      for (const q of [a, b]) for (let k = 0; k < 5; k++) q.takePermits([rpm], fakeNow);
      await sleep(2);
    }
    a.charge(usd, 2, fakeNow);
    b.charge(usd, 1, fakeNow);
    await until('spend shared', () => a.spent(usd, fakeNow) === 3 && b.spent(usd, fakeNow) === 3);

    await redis.stop();
    try {
      await until('both see the outage', () => !a.health().connected && !b.health().connected);
      // Mid-load: keep hammering until the local blocks are gone.
      let aAdmitted = 0;
      let bAdmitted = 0;
      for (let r = 0; r < 20; r++) {
        for (let k = 0; k < 10; k++) {
          if (a.takePermits([rpm], fakeNow) === null) aAdmitted++;
          if (b.takePermits([rpm], fakeNow) === null) bAdmitted++;
        }
        await sleep(2);
      }
      expect(aAdmitted).toBe(200); // open: every request admitted (local block first, then by policy)
      expect(a.health().failOpenAdmits).toBeGreaterThan(150);
      expect(bAdmitted).toBeLessThanOrEqual(33 + 16); // closed: only what was left of its block (<= B + L)
      expect(b.health().failClosedRefusals).toBeGreaterThan(150);
      expect(b.health().failOpenAdmits).toBe(0);
      // Spend: a (closed) reports the limit as reached; b (open) reports what it knows.
      a.charge(usd, 0.5, fakeNow);
      expect(a.spent(usd, fakeNow)).toBeGreaterThanOrEqual(10);
      expect(a.health().failClosedRefusals).toBeGreaterThan(0);
      expect(b.spent(usd, fakeNow)).toBe(3);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await redis.restart(); // empty Redis, no script loaded
    }
    await until('both reconnected', () => a.health().connected && b.health().connected);
    // Flushes resume: the 0.5 charged during the outage reaches the (new, empty) Redis.
    const key = `mg:q:${usd.id}:${Math.floor(fakeNow / 86_400_000)}`;
    await until('pending spend flushed', () => a.spent(usd, fakeNow) === 0.5);
    expect(Number(await admin.get(key))).toBe(0.5);
    // Leases resume on b (closed): it admits again.
    let resumed = 0;
    for (let r = 0; r < 40 && resumed < 20; r++) {
      for (let k = 0; k < 5; k++) if (b.takePermits([rpm], fakeNow) === null) resumed++;
      await sleep(2);
    }
    expect(resumed).toBeGreaterThanOrEqual(20);
    expect(Number(await admin.get(`mg:q:${rpm.id}:${T0 / 60_000}`))).toBeGreaterThan(0);
    // Pub/sub is back too (ioredis resubscribed): a reset on a reaches b.
    for (let i = 0; i < 400; i++) {
      const [, subscribers] = (await admin.pubsub('NUMSUB', 'mg:q:reset')) as [string, number];
      if (subscribers >= 2) break;
      await sleep(5);
    }
    const received = b.stats().resetsReceived;
    await a.reset(usd.id);
    await until('b got the reset', () => b.stats().resetsReceived === received + 1);
    expect(await admin.exists(key)).toBe(0);
  });

  it('NOSCRIPT (script cache flushed) falls back to EVAL and keeps leasing', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const rpm = counter(600); // block 20
    fakeNow = T0 + 3_000;
    a.warm([rpm], [], fakeNow);
    await until('leased', () => a.held(rpm, fakeNow) === 20);
    await admin.script('FLUSH');
    const fallbacks = a.stats().evalFallbacks;
    let admitted = 0;
    for (let r = 0; r < 20; r++) {
      for (let k = 0; k < 10; k++) if (a.takePermits([rpm], fakeNow) === null) admitted++;
      await sleep(2);
    }
    expect(a.stats().evalFallbacks).toBeGreaterThan(fallbacks);
    expect(admitted).toBeGreaterThan(100);
    expect(a.health().connected).toBe(true);
  });

  it('an unresponsive Redis (SIGSTOP): command timeouts mark it unreachable, then it recovers', async () => {
    const a = quota({ commandTimeoutMs: 200, onFailure: { permits: 'closed', spend: 'closed' } });
    expect(await a.whenReady()).toBe(true);
    const rpm = counter(150); // block 5
    const usd = counter(5, '1d');
    fakeNow = T0 + 4_000;
    a.warm([rpm], [], fakeNow);
    await until('leased', () => a.held(rpm, fakeNow) === 5);
    redis.pause();
    try {
      a.charge(usd, 1, fakeNow);
      let refusedByPolicy = false;
      await until('timeouts noticed', () => {
        // Keep taking: local permits run out, refills time out.
        a.takePermits([rpm], fakeNow);
        refusedByPolicy = a.health().failClosedRefusals > 0;
        return !a.health().connected;
      });
      expect(a.spent(usd, fakeNow)).toBe(5);
      await until('policy refusals', () => a.takePermits([rpm], fakeNow) !== null && a.health().failClosedRefusals > 0);
      expect(refusedByPolicy || a.health().failClosedRefusals > 0).toBe(true);
    } finally {
      redis.resume();
    }
    await until('recovered', () => a.health().connected, 5_000);
    let admitted = 0;
    for (let r = 0; r < 40 && admitted < 5; r++) {
      if (a.takePermits([rpm], fakeNow) === null) admitted++;
      await sleep(2);
    }
    expect(admitted).toBe(5);
  });

  it('recovers from a stall when only small limits are in use (they send nothing ahead): the ticker probes', async () => {
    const a = quota({ commandTimeoutMs: 200 });
    expect(await a.whenReady()).toBe(true);
    const c = counter(10);
    fakeNow = T0 + 4_000;
    expect(await admitOne(a, [c])).toBe(true);
    redis.pause();
    try {
      // The request's lease times out: Redis is marked unreachable and the open policy admits.
      expect(await admitOne(a, [c])).toBe(true);
      expect(a.health().connected).toBe(false);
      expect(a.health().failOpenAdmits).toBe(1);
    } finally {
      redis.resume();
    }
    await until('recovered', () => a.health().connected, 5_000);
    // Counted in Redis again: the 8 left of the window, then refusals.
    let admitted = 0;
    for (let i = 0; i < 12; i++) if (await admitOne(a, [c])) admitted++;
    expect(admitted).toBeLessThanOrEqual(9);
    expect(admitted).toBeGreaterThanOrEqual(8);
    expect(a.health().failOpenAdmits).toBe(1);
  });

  it('a Redis that answers but refuses writes (READONLY after a failover) is unreachable: onFailure applies, then it recovers', async () => {
    const a = quota({ onFailure: { permits: 'open', spend: 'closed' } });
    expect(await a.whenReady()).toBe(true);
    const rpm = counter(150); // block 5
    fakeNow = T0 + 5_000;
    a.warm([rpm], [], fakeNow);
    await until('leased', () => a.held(rpm, fakeNow) === 5);
    // A replica of nothing: it still answers, and refuses every write with READONLY.
    await admin.replicaof('127.0.0.1', '1');
    try {
      let admitted = 0;
      await until('writes refused noticed', () => {
        if (a.takePermits([rpm], fakeNow) === null) admitted++;
        return !a.health().connected;
      });
      // Rate limits open: admitted past the 5 leased ones, none refused as over the limit.
      for (let k = 0; k < 20; k++) if (a.takePermits([rpm], fakeNow) === null) admitted++;
      expect(admitted).toBeGreaterThan(5);
      expect(a.health().failOpenAdmits).toBeGreaterThan(0);
    } finally {
      await admin.replicaof('NO', 'ONE');
    }
    await until('recovered', () => a.health().connected, 8_000);
  });

  it('reads that still succeed while writes are refused (NOREPLICAS) do not end the failure: a small limit and a budget are read every tick', async () => {
    const a = quota({ onFailure: { permits: 'closed', spend: 'closed' } });
    expect(await a.whenReady()).toBe(true);
    const small = counter(10);
    const usd = counter(5, '1d');
    fakeNow = T0 + 5_000;
    expect(await admitOne(a, [small])).toBe(true);
    // Writes need a replica that is not there: refused with NOREPLICAS; reads still answered.
    await admin.config('SET', 'min-replicas-to-write', '1');
    try {
      // A lease is refused: unreachable.
      await a.fetchPermits([small], fakeNow);
      expect(a.health().connected).toBe(false);
      // GETs of the small limit's count and of the budget go out with every flush and succeed; the
      // store stays unreachable (before, each successful read said it was back, between failed writes).
      let connectedSeen = 0;
      for (let i = 0; i < 30; i++) {
        a.remaining(small, fakeNow);
        a.spent(usd, fakeNow);
        if (a.health().connected) connectedSeen++;
        await sleep(20);
      }
      expect(connectedSeen).toBe(0);
    } finally {
      await admin.config('SET', 'min-replicas-to-write', '0');
    }
    // Writable again: the ticker's probe says so.
    await until('recovered', () => a.health().connected, 8_000);
  });

  it('spend charged through a stall (SIGSTOP) reaches Redis once: a timed-out batch is sent again as it was, never added twice', async () => {
    const a = quota({ commandTimeoutMs: 150 });
    expect(await a.whenReady()).toBe(true);
    const usd = counter(1_000_000, '1d');
    fakeNow = T0 + 6_000;
    const key = `mg:q:${usd.id}:${Math.floor(fakeNow / 86_400_000)}`;
    let charged = 0;
    const chargeFor = async (ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
        a.charge(usd, 1, fakeNow);
        charged += 1;
      }
    };
    await chargeFor(200);
    redis.pause();
    try {
      // Flushes time out while Redis holds them all, then it runs every one.
      await chargeFor(2_000);
    } finally {
      redis.resume();
    }
    await chargeFor(200);
    let inRedis = 0;
    for (const end = Date.now() + 8_000; Date.now() < end && inRedis !== charged; await sleep(50)) inRedis = Number(await admin.get(key));
    await sleep(500);
    expect(Number(await admin.get(key))).toBe(charged);
    expect(a.spent(usd, fakeNow)).toBe(charged);
  });

  it('close() with Redis down returns (bounded) and never throws', async () => {
    const a = quota();
    expect(await a.whenReady()).toBe(true);
    const usd = counter(10, '1d');
    a.charge(usd, 1, fakeNow);
    await redis.stop();
    try {
      await until('down', () => !a.health().connected);
      await expect(a.reset(usd.id)).rejects.toBeInstanceOf(Error);
      await a.close();
    } finally {
      await redis.restart();
      await sleep(20);
      await until('admin back', () => admin.status === 'ready');
    }
  });
});
