// The shared QuotaStore: counters in Redis, shared by every replica. takePermits / remaining / spent /
// charge are synchronous and read local state only; a 100 ms ticker and the completions of background
// Redis calls keep that state fresh. A request waits for Redis only for a permit its thread lacks
// (fetchPermits: a small limit's, or a block on its way).
//
// ── Permits: leases ─────────────────────────────────────────────────────────────────────────────────────
// Redis key mg:q:<counter id>:<window id> counts the permits leased out for that window by all replicas.
// A replica leases a block with the Lua script of quota-redis.lua.ts (EVALSHA; EVAL on NOSCRIPT), which
// grants min(want, limit - used) atomically. Requests spend the local block.
//
//   block     B = max(1, floor(N / (15 R)))      N = the counter's limit, R = `replicas`: the lessees, i.e.
//                                                  store.replicas × request threads (config/compile.ts)
//   refill    when the local block is at or below L = floor(B / 2), ask for the next B in the background
//             (at most one lease per counter and window in flight; a request finding 0 local permits while
//             it is in flight waits for it: see wait)
//   prefetch  from `prefetchLeadMs` (2 s) before the window's end, lease the next window's first block, so a
//             window does not start with every replica empty (at most one prefetch in flight)
//   exhausted a grant smaller than asked means the window is used up: refuse locally until it ends. A
//             refused counter is re-asked at most once per tick (it sees a reset or a raised limit).
//   warm      a permit counter used in the last `keepWarmMs` (1 h) stays leased: the ticker rolls its window
//             and leases/prefetches even without requests, so a key used every few minutes does not find
//             an empty block at the start of every window. warm() leases the first block at config load.
//   wait      a request that finds no local permit while the window has some left (its block is on its way:
//             the first request of a counter, a refill outrun by a burst) waits for the lease in flight
//             (fetchPermits, one round trip) instead of being refused; requests beyond what the block
//             brings are refused with a short Retry-After, as before.
//   small     a limit whose block would be 1 (N < 30 R) is not leased ahead at all: each request leases its
//             own permit (fetchPermits) and spends it at once. Blocks of 1 held by R lessees would strand up
//             to R permits a window, which for N = 10 across 32 request threads is most of the limit, and a
//             client whose thread got none would be refused while other threads held permits unused.
//             Small limits pay one Redis round trip per admitted request instead, and are exact: a window
//             admits N while demand lasts. A permit fetched and not spent (its client left during the wait,
//             another limit refused the request) is given back to Redis at once (release()), and any
//             left unspent for `GIVE_BACK_TICKS` ticks too; one is lost only when its window ends while
//             its lease or give-back is in flight.
//   probe     while a command has failed (`failing`) and nothing else would reach Redis (small limits
//             send nothing ahead), the ticker writes a probe key, one at a time: its answer ends the
//             failure (a PING would pass a Redis that still refuses writes).
//
// Overshoot: none. Every admission spends a leased permit and the script never leases more than N per
// window in total, so a window admits at most N across all replicas. (Exceptions, by design: admissions
// under the 'open' failure policy while Redis is unreachable, and a Redis restart without persistence,
// which forgets the window's count.)
//
// Undershoot: permits leased but not spent when the window ends are lost (the key expires). A replica holds
// at most L + B permits of a window: a refill is asked for only at <= L and brings <= B, and the prefetched
// block is <= B. So across R replicas at most
//      R (L + B) <= R * 1.5 B <= R * 1.5 * N / (15 R) = N / 10
// permits are stranded: a window whose demand exceeds N admits at least 90% of N, whatever the split of
// the load between the replicas (under an even, steady load nearly all of N, since every replica drains its
// own block). The bound needs B >= 2: below that (N < 30 R) limits are small and leased per request (above),
// which strands none. For N = 200, R = 2: B = 6, L = 3, a replica holds at most 9,
// at most 18 are stranded, >= 182 admitted (the test measures 200 under an even load, 192-196 with one
// replica going idle mid-window).
// More replicas than `replicas` weakens the bound proportionally (R' / R * 10%). Leases whose answers are
// lost (timeouts, a window that rolled or a reset meanwhile) strand their block too; all of these err low.
// Redis load: about N / B = 15 R lease calls per counter and window in total, plus one prefetch per replica;
// a small limit, one lease per request, and while exhausted at most one per tick and lessee.
//
// ── Spend: flushes ──────────────────────────────────────────────────────────────────────────────────────
// charge() adds to a local pending amount. Every `flushMs` one pipeline sends INCRBYFLOAT (+ PEXPIREAT)
// for every counter with pending spend and GET for the counters read by spent() since the last flush
// without a local charge; the replies are the shared totals. spent() = shared total + in flight + pending.
// At most one flush is in flight; a failed INCRBYFLOAT is put back into pending (an answer lost after
// Redis applied it can count twice: spend errs high).
//
// ── Reset ───────────────────────────────────────────────────────────────────────────────────────────────
// reset(id) drops the local state (a generation bump: answers to calls sent before are ignored), sends DEL
// of the window keys on the same connection (so every later lease runs after the DEL) and PUBLISHes the id
// on `mg:q:reset`; other replicas drop their local state for it when the message arrives. A missed message
// is caught by the next lease (used went down) or the next flush/GET (spend). Blocks leased before the DEL
// are dropped everywhere (errs low); an INCRBYFLOAT another replica had in flight can land after the DEL
// (at most one flush interval of its spend carries into the reset window).
//
// ── Failure ─────────────────────────────────────────────────────────────────────────────────────────────
// Unreachable = the connection is not ready, or the last command failed with a connection error or a
// timeout (commandTimeout 500 ms; no offline queue, so nothing piles up while disconnected; ioredis
// reconnects with capped backoff). Meanwhile a request with no local permit left is admitted ('open') or
// refused ('closed'), and spent() under 'closed' reports the limit as reached. Counted in health().
// A window already known to be exhausted is refused in both modes.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { passes, windowOf, type Counter, type Period, type QuotaStore, type SpendRule, type StoreHealth } from './quota.ts';
import { GIVE_BACK_LUA, LEASE_LUA, LEASE_SHA, SPEND_LUA } from './quota-redis.lua.ts';

export type FailurePolicy = 'open' | 'closed';

export interface RedisQuotaOptions {
  url: string;
  onFailure: { permits: FailurePolicy; spend: FailurePolicy };
  /** Replicas expected to share the counters: sizes the lease block for the 90% bound. Default 2. */
  replicas?: number;
  /** Spend flush and background refill cadence. Default 100 ms. */
  flushMs?: number;
  /** Per-command timeout. Default 500 ms. */
  commandTimeoutMs?: number;
  /** Cap of the reconnect backoff. Default 2000 ms. */
  reconnectMaxMs?: number;
  /** How long before a window's end the next window's first block is leased. Default 2000 ms. */
  prefetchLeadMs?: number;
  /** A permit counter stays leased (refills, next window's block) this long after its last use. Default 1 h. */
  keepWarmMs?: number;
  /** Key prefix (default "mg:q:") and reset channel (default "mg:q:reset"). */
  keyPrefix?: string;
  channel?: string;
  /** Clock for background decisions (prefetch timing, the window reset() deletes). Default Date.now. */
  clock?: () => number;
  /** Told about Redis errors, once per distinct message in a row (a log hook; never throws into us). */
  onError?: (err: Error) => void;
}

/** Counters for tests and metrics (not part of QuotaStore). */
export interface RedisQuotaStats {
  leases: number;
  leaseErrors: number;
  evalFallbacks: number;
  flushes: number;
  flushErrors: number;
  resetsReceived: number;
  /** Admissions that waited for a read of a spend counter this thread had not read recently (staleSpend). */
  spendReads: number;
}

/** A small limit's fetched permit unspent for this many ticks (of `flushMs`) goes back to Redis. */
const GIVE_BACK_TICKS = 3;

/** Keys of a finished window outlive its end by this much (clock skew between replicas). */
const EXPIRY_GRACE_MS = 5 * 60_000;
/** Spend of a finished window not yet sent is kept for at most this many (counter, window) pairs. */
const MAX_LEFTOVERS = 10_000;

const NO_WIN = -1;

class Entry {
  counter: Counter;
  /** Bumped by a reset: answers to calls sent before are ignored. */
  gen = 0;
  win = NO_WIN;
  end = Number.NEGATIVE_INFINITY;
  prefetchAt = Number.POSITIVE_INFINITY;
  key = '';
  // Permits of the current window.
  local = 0;
  used = 0;
  exhausted = false;
  /** A request found no permit since the last re-ask. */
  refused = false;
  /** Last `now` takePermits()/warm() used this counter at: the ticker keeps it leased for `keepWarmMs` after. */
  touched = Number.NEGATIVE_INFINITY;
  // The next window's prefetched block.
  nextWin = NO_WIN;
  nextLocal = 0;
  nextUsed = 0;
  nextExhausted = false;
  // Lease calls in flight (at most two: one per window id held here).
  leaseA = NO_WIN;
  leaseB = NO_WIN;
  /** The current window's lease in flight, for requests to wait on (fetchPermits); settles, never rejects. */
  landing: Promise<void> | null = null;
  /** The next window's (prefetched) lease in flight: `landing` once that window is the current one. */
  nextLanding: Promise<void> | null = null;
  /** A small limit's per-request leases in flight, and the last one sent (settles, never rejects). */
  asking = 0;
  lastAsk: Promise<void> | null = null;
  /** Ticks a small limit's fetched permits have sat unspent (given back at GIVE_BACK_TICKS). */
  unspentTicks = 0;
  // Spend of the current window.
  shared = 0;
  /** The batch sent and not yet confirmed (its amount is `sending`): sent again, as it is, until it is. */
  op: SpendOp | null = null;
  /** A flush carrying this entry's batch or read is in flight. */
  inFlight = false;
  sending = 0;
  pending = 0;
  /** spent() was called since the last flush: refresh the shared total. */
  read = false;
  /** When `shared` was last learnt from Redis (clock ms); 0: never, or a new window's guess. */
  sharedAt = 0;
  /** remaining() of a small limit was called since the last flush: refresh `used`. */
  readUsed = false;

  constructor(counter: Counter) {
    this.counter = counter;
  }

  leasing(win: number): boolean {
    return this.leaseA === win || this.leaseB === win;
  }
}

/** A batch of spend and its sequence number (the spend script applies each number once per key). */
interface SpendOp {
  seq: number;
  amount: number;
}

interface Leftover {
  key: string;
  op: SpendOp;
  expireAt: number;
}

/** The spend script, as ioredis defines it on a client and its pipelines (defineCommand). */
type WithSpend = { mgSpend(key: string, opsKey: string, amount: number, expireAt: number, store: string, seq: number): unknown };
/** The give-back script, likewise (EVALSHA, loaded again after a Redis restart). */
type WithGiveBack = { mgGiveBack(key: string, n: number): Promise<unknown> };

interface FlushItem {
  e: Entry | null;
  gen: number;
  win: number;
  /** Amount sent by the spend script; NaN for a GET. */
  amount: number;
  /** A GET of a permit counter's key: its reply is `used`, not spend. */
  used?: boolean;
  leftover: Leftover | null;
  /** Index of the command's reply in the pipeline's results. */
  at: number;
}

export class RedisQuota implements QuotaStore {
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly entries = new Map<string, Entry>();
  private readonly leftovers: Leftover[] = [];
  private readonly self = randomUUID();
  /** Sequence numbers of this store's spend batches (the spend script's ARGV[4]). */
  private seq = 0;
  private readonly permitsOpen: boolean;
  private readonly spendOpen: boolean;
  /** R: the lessees the blocks are sized for (replicas × request threads). */
  readonly replicas: number;
  /** 1 / (15 R): the block is floor(limit * blockShare). */
  private readonly blockShare: number;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly lead: number;
  private readonly keepWarm: number;
  private readonly clock: () => number;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly ticker: NodeJS.Timeout;
  private ready = false;
  private failing = false;
  private probing = false;
  private closed = false;
  private flushing: Promise<void> | null = null;
  private lastErrorMessage = '';
  private failOpenAdmits = 0;
  /** Per takePermits call: 1 where a local permit was taken, 0 where the 'open' policy admitted. Reused. */
  private took = new Uint8Array(16);
  private failClosedRefusals = 0;
  private permitWaits = 0;
  private readonly flushMs: number;
  private readonly statsValue: RedisQuotaStats = { leases: 0, leaseErrors: 0, evalFallbacks: 0, flushes: 0, flushErrors: 0, resetsReceived: 0, spendReads: 0 };

  constructor(opts: RedisQuotaOptions) {
    this.permitsOpen = opts.onFailure.permits === 'open';
    this.spendOpen = opts.onFailure.spend === 'open';
    this.replicas = Math.max(1, opts.replicas ?? 2);
    this.blockShare = 1 / (15 * this.replicas);
    this.prefix = opts.keyPrefix ?? 'mg:q:';
    this.channel = opts.channel ?? 'mg:q:reset';
    this.lead = opts.prefetchLeadMs ?? 2_000;
    this.keepWarm = opts.keepWarmMs ?? 3_600_000;
    this.clock = opts.clock ?? Date.now;
    this.onError = opts.onError;
    const reconnectMax = opts.reconnectMaxMs ?? 2_000;
    const common = {
      lazyConnect: false,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), reconnectMax),
      // Never replay commands after a reconnect: a replayed INCRBYFLOAT would count twice, a replayed lease
      // would strand its block.
      autoResendUnfulfilledCommands: false,
    };
    this.redis = new Redis(opts.url, {
      ...common,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      // Fail fast while disconnected instead of queueing (the queue would be unbounded).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // After a failover the old primary answers READONLY: reconnect, and a DNS name or a proxy in front
      // finds the new primary (ioredis's documented use of reconnectOnError).
      reconnectOnError: (err: Error) => (String(err.message).startsWith('READONLY') ? 1 : false),
    });
    // Subscriber: subscribed at every connection (the 'ready' handler below), not by ioredis, whose own
    // resubscribe after a reconnect has no rejection handler: a close before Redis answered it (a reload
    // or shutdown just after a Redis blip) was an unhandled rejection, which ends a request thread.
    this.sub = new Redis(opts.url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false });

    // ioredis sends it by EVALSHA, loading it when Redis lacks it (a restarted Redis), pipelines too.
    this.redis.defineCommand('mgSpend', { numberOfKeys: 2, lua: SPEND_LUA });
    this.redis.defineCommand('mgGiveBack', { numberOfKeys: 1, lua: GIVE_BACK_LUA });
    this.redis.on('error', (err: Error) => this.noteError(err));
    this.sub.on('error', (err: Error) => this.noteError(err));
    this.redis.on('ready', () => {
      this.ready = true;
      this.failing = false;
      this.lastErrorMessage = '';
      // Load the script at every connect (a restarted Redis has none); EVALSHA falls back to EVAL anyway.
      this.redis.script('LOAD', LEASE_LUA).then(
        () => {},
        (err: Error) => this.noteError(err),
      );
    });
    this.redis.on('close', () => {
      if (this.ready && !this.closed) this.noteError(new Error('redis connection closed'));
      this.ready = false;
    });
    this.redis.on('end', () => {
      this.ready = false;
    });
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onResetMessage(message);
    });
    this.sub.on('ready', () => {
      this.sub.subscribe(this.channel).then(
        () => {},
        (err: Error) => this.noteError(err),
      );
    });

    this.flushMs = opts.flushMs ?? 100;
    this.ticker = setInterval(() => this.tick(), this.flushMs);
    this.ticker.unref();
  }

  /** Resolves once the command connection is ready (or after `timeoutMs`, false). For startup and tests. */
  whenReady(timeoutMs = 5_000): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(this.ready), timeoutMs);
      this.redis.on('ready', onReady);
    });
  }

  /**
   * At config load: leases the current window's first block of each permit counter now, so the first
   * request finds one, and keeps them leased window after window like recently used ones; fetches the
   * shared totals of the spend counters at the next flush.
   */
  warm(permitCounters: readonly Counter[], spendCounters: readonly Counter[], now: number): void {
    for (const c of spendCounters) this.entryFor(c, now).read = true;
    for (const c of permitCounters) {
      const e = this.entryFor(c, now);
      e.touched = now;
      if (e.local === 0 && !e.exhausted && !this.small(c)) this.lease(e, false);
    }
  }

  /**
   * Before takePermits: the leases a request must wait for, or null when takePermits can decide now (the
   * thread holds a permit of every counter, a window is exhausted, or Redis is unreachable and the
   * failure policy decides). A small limit leases this request's own permit; another counter whose block
   * is on its way waits for it. The promise never rejects: a failed lease marks the store unreachable.
   */
  lacksPermits(counters: readonly Counter[], now: number): boolean {
    if (!this.ready || this.failing) return false;
    for (let i = 0; i < counters.length; i++) {
      const e = this.entryFor(counters[i]!, now);
      if (e.local === 0 && !e.exhausted) return true;
    }
    return false;
  }

  /**
   * A spend counter this thread has not read from Redis within two flush intervals (it served no
   * request of the key meanwhile, or its window just began) is read before admission: admitted on an
   * old total, every request thread of every replica could spend a whole budget again (a budget spent
   * on one replica, then a second later ten of ten admitted on the other). While the key is in use,
   * each flush reads it (spent() marks it), and nothing waits.
   */
  staleSpend(counters: readonly Counter[], now: number): Promise<void> | null {
    if (!this.ready || this.failing) return null;
    let stale = false;
    for (let i = 0; i < counters.length; i++) {
      const e = this.entryFor(counters[i]!, now);
      if (now - e.sharedAt <= 2 * this.flushMs) continue;
      e.read = true;
      stale = true;
    }
    if (!stale) return null;
    this.statsValue.spendReads++;
    return this.nextFlush();
  }

  /**
   * For /admin/usage: reads the shared counts of these counters now, so every thread and replica
   * reports what all of them took, not the total each last happened to see (a key idle on one replica
   * showed the spend of minutes ago there). Bounded by the command timeout; never rejects. A small
   * limit's count is read too; a larger one's is what this thread's last lease learnt (remaining()).
   */
  refresh(permitCounters: readonly Counter[], spendCounters: readonly Counter[], now: number): Promise<void> {
    if (!this.ready || this.failing) return Promise.resolve();
    for (const c of permitCounters) if (this.small(c)) this.entryFor(c, now).readUsed = true;
    for (const c of spendCounters) this.entryFor(c, now).read = true;
    return this.nextFlush();
  }

  /** Resolves after a flush that starts from now: one in flight carries no read asked since (or carries their batch). */
  private nextFlush(): Promise<void> {
    return (this.flushing ?? Promise.resolve()).then(() => this.flush() ?? this.flushing ?? undefined).then(NOTHING);
  }

  fetchPermits(counters: readonly Counter[], now: number): Promise<void> | null {
    if (!this.ready || this.failing) return null;
    let wait: Promise<void> | null = null;
    let all: Promise<void>[] | null = null;
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i]!;
      const e = this.entryFor(c, now);
      e.touched = now; // the ticker looks after it: refills, re-asks, give-backs
      if (e.local > 0 || e.exhausted) continue;
      let p: Promise<void> | null;
      // A small limit's permit per request, but no more asked at once than the window may still grant
      // (a burst of a thousand on a limit of ten sends about ten); the rest wait for those answers.
      // An exhausted window the ticker reopened (refused requests re-ask once a tick) gets its one ask.
      if (this.small(c)) p = e.asking === 0 || e.asking < c.limit - e.used ? this.leaseOne(e) : e.lastAsk;
      else {
        if (!e.leasing(e.win)) this.lease(e, false);
        p = e.landing;
      }
      if (p === null) continue;
      if (wait === null) wait = p;
      else (all ??= [wait]).push(p);
    }
    if (wait !== null) this.permitWaits++;
    return all === null ? wait : Promise.all(all).then(NOTHING);
  }

  // ── QuotaStore: the synchronous side ───────────────────────────────────────────────────────────────

  takePermits(counters: readonly Counter[], now: number): Counter | null {
    const n = counters.length;
    const connected = this.ready && !this.failing;
    if (n > this.took.length) this.took = new Uint8Array(n * 2);
    const took = this.took;
    let failOpen = false;
    for (let i = 0; i < n; i++) {
      const c = counters[i]!;
      const e = this.entryFor(c, now);
      e.touched = now;
      const small = this.small(c);
      if (now >= e.prefetchAt && e.nextWin !== e.win + 1 && connected && !small) this.prefetch(e);
      if (e.local > 0) {
        e.local--;
        e.unspentTicks = 0;
        took[i] = 1;
        if (e.local <= this.lowWater(c) && !e.exhausted && connected && !small && !e.leasing(e.win)) this.lease(e, false);
        continue;
      }
      if (!e.exhausted && !connected) {
        if (this.permitsOpen) {
          took[i] = 0; // admitted by policy: nothing taken, nothing to give back
          failOpen = true;
          continue;
        }
        this.giveBack(counters, i);
        this.failClosedRefusals++;
        return c;
      }
      // No permit: the window is exhausted (re-asked by the ticker), or a lease is (now) in flight, or a
      // small limit's request did not wait for its own (fetchPermits).
      e.refused = true;
      if (!e.exhausted && !small && !e.leasing(e.win)) this.lease(e, false);
      this.giveBack(counters, i);
      return c;
    }
    if (failOpen) this.failOpenAdmits++;
    return null;
  }

  remaining(counter: Counter, now: number): number {
    const e = this.entryFor(counter, now);
    // A small limit's count is learnt from this thread's own leases only: the next flush reads it, so
    // /admin/usage and requests_used see what other threads and replicas took (blocks lease often).
    if (this.small(counter)) e.readUsed = true;
    const left = counter.limit - e.used + e.local;
    return left <= 0 ? 0 : left > counter.limit ? counter.limit : left;
  }

  spent(counter: Counter, now: number): number {
    const e = this.entryFor(counter, now);
    e.read = true;
    const v = e.shared + e.sending + e.pending;
    if (this.ready && !this.failing) return v;
    if (!this.spendOpen) {
      this.failClosedRefusals++;
      return v > counter.limit ? v : counter.limit;
    }
    // Not counted here: every read would count (rules, /admin/usage, each level of one request);
    // admission counts the request once (countFailOpen).
    return v;
  }

  charge(counter: Counter, amount: number, now: number): void {
    if (!(amount > 0) && !(amount < 0)) return; // 0 and NaN
    this.entryFor(counter, now).pending += amount;
  }

  /** Synchronous on this thread's tallies, so one step for it; other threads and replicas are a flush apart. */
  reserve(counter: Counter, amount: number, rule: SpendRule, now: number): boolean {
    if (!passes(rule, this.spent(counter, now), amount, counter.limit)) return false;
    this.charge(counter, amount, now);
    return true;
  }

  /** Permits of the counter's current window held locally (leased, not yet spent). For metrics and tests. */
  async settle(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    if (!(await this.whenReady(timeoutMs))) return;
    // Leases asked for before the connection was up failed: ask again, then wait for them to land.
    const warmed = [...this.entries.values()].filter((e) => e.touched > 0 && !this.small(e.counter));
    for (const e of warmed) if (e.local === 0 && !e.exhausted && !e.leasing(e.win)) this.lease(e, false);
    // Spend counters warm() marked for reading get their shared totals too: until the first flush read
    // them, spent() said 0, and a budget other replicas had spent was admitted after every start.
    const unread = (): boolean => [...this.entries.values()].some((e) => e.read && e.win !== NO_WIN);
    while (Date.now() < until && (warmed.some((e) => e.local === 0 && !e.exhausted) || unread())) {
      const flushing = unread() ? (this.flush() ?? this.flushing) : null;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((r) => (timer = setTimeout(r, flushing === null ? 5 : Math.max(0, until - Date.now()))));
      await (flushing === null ? waited : Promise.race([flushing, waited]));
      clearTimeout(timer);
    }
  }

  held(counter: Counter, now: number): number {
    return this.entryFor(counter, now).local;
  }

  health(): StoreHealth {
    return { kind: 'redis', connected: this.connected, failOpenAdmits: this.failOpenAdmits, failClosedRefusals: this.failClosedRefusals, permitWaits: this.permitWaits };
  }

  countFailOpen(): void {
    this.failOpenAdmits++;
  }

  countFailClosed(): void {
    this.failClosedRefusals++;
  }

  get connected(): boolean {
    return this.ready && !this.failing;
  }

  stats(): Readonly<RedisQuotaStats> {
    return this.statsValue;
  }

  // ── QuotaStore: the async side ─────────────────────────────────────────────────────────────────────

  async reset(counterId: string): Promise<void> {
    const e = this.entries.get(counterId);
    const now = this.clock();
    const keys = new Set<string>();
    const periods: readonly Period[] = e ? [e.counter.period] : ['1m', '1h', '1d', '1w', '1mo'];
    for (const p of periods) {
      const w = windowOf(p, now).id;
      keys.add(this.keyOf(counterId, w));
      keys.add(this.keyOf(counterId, w + 1));
    }
    if (e) {
      if (e.win !== NO_WIN) keys.add(e.key);
      if (e.nextWin !== NO_WIN) keys.add(this.keyOf(counterId, e.nextWin));
      this.dropLocal(e);
    }
    // Sent in this same tick, before any later lease on this connection: those run after the DEL.
    await this.redis.del(...keys);
    await this.redis.publish(this.channel, `${this.self}\n${counterId}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    // Bounded: the pending spend gets one flush (after the one in flight), then the connections go.
    await withTimeout(
      (async () => {
        if (this.flushing) await this.flushing;
        const f = this.flush();
        if (f) await f;
      })(),
      1_500,
    );
    await Promise.allSettled([withTimeout(this.redis.quit(), 500), withTimeout(this.sub.quit(), 500)]);
    this.redis.disconnect();
    this.sub.disconnect();
    this.ready = false;
  }

  // ── Local state ────────────────────────────────────────────────────────────────────────────────────

  private entryFor(c: Counter, now: number): Entry {
    let e = this.entries.get(c.id);
    if (e === undefined) {
      e = new Entry(c);
      this.entries.set(c.id, e);
    } else if (e.counter !== c) {
      // A reloaded config: same id, maybe another limit or period.
      if (e.counter.period !== c.period) e.end = Number.NEGATIVE_INFINITY;
      e.counter = c;
    }
    if (now >= e.end) this.roll(e, now);
    return e;
  }

  /** Moves the entry to the window of `now` (only forward). Allocates: once per window. */
  private roll(e: Entry, now: number): void {
    const w = windowOf(e.counter.period, now);
    if (w.id === e.win) {
      e.end = w.end;
      return;
    }
    if (e.win !== NO_WIN) {
      // The finished window's unconfirmed batch first (in flight too: its reply is ignored now, and
      // sending it again is safe), then what it had not sent: in this order per key.
      if (e.op !== null) this.keepLeftover(e.key, e.op, e.end + EXPIRY_GRACE_MS);
      if (e.pending !== 0) this.keepLeftover(e.key, { seq: ++this.seq, amount: e.pending }, e.end + EXPIRY_GRACE_MS);
    }
    e.op = null;
    e.inFlight = false;
    // A prefetch still in flight for the window now current is what its requests wait for.
    e.landing = w.id === e.nextWin ? e.nextLanding : null;
    e.nextLanding = null;
    e.unspentTicks = 0;
    if (w.id === e.nextWin) {
      e.local = e.nextLocal;
      e.used = e.nextUsed;
      e.exhausted = e.nextExhausted;
    } else {
      e.local = 0;
      e.used = 0;
      e.exhausted = false;
    }
    e.nextWin = NO_WIN;
    e.nextLocal = 0;
    e.nextUsed = 0;
    e.nextExhausted = false;
    e.win = w.id;
    e.end = w.end;
    e.prefetchAt = w.end - this.lead;
    e.key = this.keyOf(e.counter.id, w.id);
    e.refused = false;
    e.shared = 0;
    e.sharedAt = 0;
    e.sending = 0;
    e.pending = 0;
  }

  private dropLocal(e: Entry): void {
    e.gen++;
    e.local = 0;
    e.unspentTicks = 0;
    e.used = 0;
    e.exhausted = false;
    e.refused = false;
    e.nextWin = NO_WIN;
    e.nextLocal = 0;
    e.nextUsed = 0;
    e.nextExhausted = false;
    e.shared = 0;
    e.sharedAt = 0;
    e.op = null;
    e.inFlight = false;
    e.sending = 0;
    e.pending = 0;
    e.read = true;
  }

  /** Gives back the permits taken by counters[0..i) in this call (all-or-nothing). */
  private giveBack(counters: readonly Counter[], i: number): void {
    for (let j = 0; j < i; j++) if (this.took[j] === 1) this.entries.get(counters[j]!.id)!.local++;
  }

  /** A limit too small to share out in blocks of 2 or more (N < 30 R): leased one request at a time. */
  private small(c: Counter): boolean {
    return c.limit * this.blockShare < 2;
  }

  private lowWater(c: Counter): number {
    return Math.floor(this.block(c) / 2);
  }

  private block(c: Counter): number {
    const b = Math.floor(c.limit * this.blockShare);
    return b >= 1 ? b : 1;
  }

  private keyOf(id: string, win: number): string {
    return `${this.prefix}${id}:${win}`;
  }

  private keepLeftover(key: string, op: SpendOp, expireAt: number): void {
    if (this.leftovers.length >= MAX_LEFTOVERS) this.leftovers.shift();
    this.leftovers.push({ key, op, expireAt });
  }

  private onResetMessage(message: string): void {
    const nl = message.indexOf('\n');
    if (nl < 0 || message.slice(0, nl) === this.self) return;
    this.statsValue.resetsReceived++;
    const e = this.entries.get(message.slice(nl + 1));
    if (e) this.dropLocal(e);
  }

  // ── Background: leases ─────────────────────────────────────────────────────────────────────────────

  private prefetch(e: Entry): void {
    const next = e.win + 1;
    if (e.leasing(next)) return;
    e.nextWin = next;
    e.nextLocal = 0;
    e.nextUsed = 0;
    e.nextExhausted = false;
    if (!this.lease(e, true)) e.nextWin = NO_WIN; // not sent: try again later
  }

  /** Sends a lease for the current (or next) window unless one is in flight; false if not sent. */
  private lease(e: Entry, next: boolean): boolean {
    if (this.closed || !this.ready) return false;
    const win = next ? e.nextWin : e.win;
    if (win === NO_WIN || e.leasing(win)) return false;
    let slot: 'A' | 'B';
    if (e.leaseA === NO_WIN) {
      e.leaseA = win;
      slot = 'A';
    } else if (e.leaseB === NO_WIN) {
      e.leaseB = win;
      slot = 'B';
    } else return false; // two already in flight (one may be for a window that has rolled by): wait for them
    const c = e.counter;
    const limit = Math.floor(c.limit);
    const want = this.block(c);
    const key = next ? this.keyOf(c.id, win) : e.key;
    const expireAt = (next ? windowOf(c.period, e.end).end : e.end) + EXPIRY_GRACE_MS;
    const gen = e.gen;
    this.statsValue.leases++;
    const sent = this.evalLease(key, want, limit, expireAt).then(
      (reply) => {
        if (slot === 'A') e.leaseA = NO_WIN;
        else e.leaseB = NO_WIN;
        if (e.landing === sent) e.landing = null;
        if (e.nextLanding === sent) e.nextLanding = null;
        this.failing = false;
        this.onLease(e, gen, win, want, reply);
      },
      (err: Error) => {
        if (slot === 'A') e.leaseA = NO_WIN;
        else e.leaseB = NO_WIN;
        if (e.landing === sent) e.landing = null;
        if (e.nextLanding === sent) e.nextLanding = null;
        this.statsValue.leaseErrors++;
        this.noteCommandError(err);
      },
    );
    if (next) e.nextLanding = sent;
    else e.landing = sent;
    return true;
  }

  /** A small limit's permit for one request (outside the two lease slots: every waiting request sends its own). */
  private leaseOne(e: Entry): Promise<void> {
    const win = e.win;
    const gen = e.gen;
    this.statsValue.leases++;
    e.asking++;
    const sent = this.evalLease(e.key, 1, Math.floor(e.counter.limit), e.end + EXPIRY_GRACE_MS).then(
      (reply) => {
        this.asked(e, sent);
        this.failing = false;
        this.onLease(e, gen, win, 1, reply);
      },
      (err: Error) => {
        this.asked(e, sent);
        this.statsValue.leaseErrors++;
        this.noteCommandError(err);
      },
    );
    e.lastAsk = sent;
    return sent;
  }

  private asked(e: Entry, sent: Promise<void>): void {
    if (e.asking > 0) e.asking--;
    if (e.lastAsk === sent) e.lastAsk = null;
  }

  private evalLease(key: string, want: number, limit: number, expireAt: number): Promise<unknown> {
    return this.redis.evalsha(LEASE_SHA, 1, key, want, limit, expireAt).catch((err: Error) => {
      if (!String(err?.message).startsWith('NOSCRIPT')) throw err;
      // Redis restarted or SCRIPT FLUSH: EVAL runs it and caches it again.
      this.statsValue.evalFallbacks++;
      return this.redis.eval(LEASE_LUA, 1, key, want, limit, expireAt);
    });
  }

  private onLease(e: Entry, gen: number, win: number, want: number, reply: unknown): void {
    if (gen !== e.gen || !Array.isArray(reply)) return; // reset meanwhile: the block is dropped (errs low)
    const grant = Number(reply[0]);
    const used = Number(reply[1]);
    if (win === e.win) {
      // `used` went down: the key was deleted since our last lease (a reset whose message we missed).
      // (Not for a small limit: its count also goes down when a lessee gives back an unspent permit, and
      // the permits it holds are the few waiting requests' own; a missed reset is seen when exhausted.)
      if (used - grant < e.used && !this.small(e.counter)) e.local = 0;
      e.local += grant;
      e.used = used;
      e.exhausted = grant < want;
      if (!e.exhausted) e.refused = false;
    } else if (win === e.nextWin) {
      if (used - grant < e.nextUsed) e.nextLocal = 0;
      e.nextLocal += grant;
      e.nextUsed = used;
      e.nextExhausted = grant < want;
    }
    // Otherwise the window rolled by: the block is stranded (errs low).
  }

  release(counters: readonly Counter[], now: number): void {
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i]!;
      if (!this.small(c)) continue; // a block's permits stay with the thread, as leased
      const e = this.entryFor(c, now);
      // This request's one permit, if it is still here (another request may have taken it meanwhile).
      if (e.local > 0 && this.ready) this.giveBackToRedis(e, 1);
    }
  }

  /** A small limit's unspent permits go back to the window (the give-back script), for other lessees. */
  private giveBackToRedis(e: Entry, n = e.local): void {
    e.local -= n;
    if (e.local === 0) e.unspentTicks = 0;
    (this.redis as unknown as WithGiveBack).mgGiveBack(e.key, n).then(
      () => {},
      (err: Error) => this.noteCommandError(err), // lost: errs low
    );
  }

  /** One write at a time while failing: its answer says Redis takes writes again. */
  private probe(): void {
    if (this.probing) return;
    this.probing = true;
    this.redis.set(`${this.prefix}probe:${this.self}`, '1', 'PX', 10_000).then(
      () => {
        this.probing = false;
        this.failing = false;
      },
      (err: Error) => {
        this.probing = false;
        // A reply error that is not about writes (NOPERM from an ACL without SET, say) is Redis answering.
        if (err?.name === 'ReplyError' && !UNAVAILABLE.test(String(err.message))) this.failing = false;
        else this.noteCommandError(err);
      },
    );
  }

  // ── Background: the ticker ─────────────────────────────────────────────────────────────────────────

  private tick(): void {
    if (this.closed) return;
    if (this.ready && this.failing) this.probe();
    if (this.ready) {
      const now = this.clock();
      for (const e of this.entries.values()) {
        // Permit counters used within `keepWarmMs` stay leased: refills that failed are retried, the next
        // window's block is prefetched, and the window rolls here too, so a counter used every few windows
        // still finds a block (without this, its first request of every window would be refused).
        if (now - e.touched >= this.keepWarm) continue;
        if (now >= e.end) this.roll(e, now);
        if (this.small(e.counter)) {
          // Nothing is held ahead for a small limit. An exhausted one that refused a request is asked
          // again by the next request, at most once per tick: it sees a reset or a raised limit.
          if (e.exhausted && e.refused) e.exhausted = e.refused = false;
          if (e.local > 0 && ++e.unspentTicks >= GIVE_BACK_TICKS) this.giveBackToRedis(e);
          continue;
        }
        if (e.exhausted) {
          // Re-ask a refused, exhausted counter once per tick: sees a reset (or a raised limit).
          if (e.refused && !e.leasing(e.win)) {
            e.refused = false;
            this.lease(e, false);
          }
        } else if (e.local <= this.lowWater(e.counter) && !e.leasing(e.win)) {
          this.lease(e, false);
        }
        if (now >= e.prefetchAt && e.nextWin !== e.win + 1) this.prefetch(e);
      }
    }
    this.flush();
  }

  // ── Background: spend ──────────────────────────────────────────────────────────────────────────────

  /** One pipeline: a spend batch per counter (the spend script), GET per read-only counter. At most one in flight. */
  private flush(): Promise<void> | null {
    if (this.flushing || !this.ready) return null;
    const p = this.redis.pipeline();
    const spend = p as unknown as WithSpend;
    const items: FlushItem[] = [];
    let at = 0;
    while (this.leftovers.length > 0) {
      const lo = this.leftovers.shift()!;
      spend.mgSpend(lo.key, `${lo.key}:ops`, lo.op.amount, lo.expireAt, this.self, lo.op.seq);
      items.push({ e: null, gen: 0, win: NO_WIN, amount: lo.op.amount, leftover: lo, at });
      at += 1;
    }
    for (const e of this.entries.values()) {
      if (e.win === NO_WIN || e.inFlight) continue;
      // A batch not yet confirmed goes again as it was; new spend waits for it.
      if (e.op === null && e.pending !== 0) {
        e.op = { seq: ++this.seq, amount: e.pending };
        e.sending = e.pending;
        e.pending = 0;
      }
      if (e.op !== null) {
        spend.mgSpend(e.key, `${e.key}:ops`, e.op.amount, e.end + EXPIRY_GRACE_MS, this.self, e.op.seq);
        items.push({ e, gen: e.gen, win: e.win, amount: e.op.amount, leftover: null, at });
        at += 1;
        e.inFlight = true;
        e.read = false;
      } else if (e.read) {
        p.get(e.key);
        items.push({ e, gen: e.gen, win: e.win, amount: Number.NaN, leftover: null, at });
        at += 1;
        e.read = false;
      } else if (e.readUsed) {
        p.get(e.key);
        items.push({ e, gen: e.gen, win: e.win, amount: Number.NaN, leftover: null, at, used: true });
        at += 1;
        e.readUsed = false;
      }
    }
    if (items.length === 0) return null;
    this.statsValue.flushes++;
    const run = p.exec().then(
      (results) => this.onFlush(items, results),
      (err: Error) => this.onFlush(items, null, err),
    );
    this.flushing = run.finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private onFlush(items: FlushItem[], results: [Error | null, unknown][] | null, err?: Error): void {
    let ok = false;
    let firstError: Error | undefined = err;
    for (const it of items) {
      const r = results?.[it.at];
      const e = it.e;
      const failed = !r || r[0] !== null;
      if (failed) firstError ??= r?.[0] ?? new Error('pipeline failed');
      // Only a write says Redis takes writes again: a GET answers on a replica turned READONLY, or under
      // OOM or min-replicas-to-write, and would end the failure policy while every write still fails.
      else if (!Number.isNaN(it.amount)) ok = true;
      if (it.leftover) {
        // Sent again with its number: applied once, whether or not the timed-out one was.
        if (failed) this.keepLeftover(it.leftover.key, it.leftover.op, it.leftover.expireAt);
        continue;
      }
      if (!e || it.gen !== e.gen || it.win !== e.win) continue; // reset or rolled meanwhile
      e.inFlight = false;
      if (it.used === true) {
        if (!failed) e.used = Number(r[1] ?? 0) || 0;
        else e.readUsed = true;
        continue;
      }
      if (Number.isNaN(it.amount)) {
        if (!failed) {
          e.shared = Number(r[1] ?? 0) || 0;
          e.sharedAt = this.clock();
        } else e.read = true;
        continue;
      }
      if (failed) continue; // e.op stays: sent again as it is
      e.op = null;
      e.sending = 0;
      e.shared = Number(r[1]) || 0; // the shared total, our batch included
      e.sharedAt = this.clock();
    }
    if (ok) this.failing = false;
    if (firstError) {
      this.statsValue.flushErrors++;
      this.noteCommandError(firstError);
    }
  }

  // ── Errors ─────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A failed command. Unreachable: no answer, or an answer that says Redis cannot take writes now
   * (READONLY after a failover turned this primary into a replica, OOM under noeviction, BUSY with a
   * script, MISCONF, LOADING, MASTERDOWN, CLUSTERDOWN). Those used to count as "reachable", so leases
   * and flushes failed while the store said connected: every rate-limited key got a 429 once its block
   * was spent, whatever onFailure said, and budgets went unenforced. Other reply errors (NOSCRIPT, which
   * falls back to EVAL) are Redis answering.
   */
  private noteCommandError(err: Error): void {
    if (err?.name !== 'ReplyError' || UNAVAILABLE.test(String(err.message))) this.failing = true;
    this.noteError(err);
  }

  private noteError(err: Error): void {
    const message = String(err?.message ?? err);
    if (message === this.lastErrorMessage) return;
    this.lastErrorMessage = message;
    if (this.onError) {
      try {
        this.onError(err);
      } catch {
        // a logger that throws must not take the store down
      }
    }
  }
}

const NOTHING = (): void => {};

/** Reply errors that mean Redis cannot take the store's writes now (see noteCommandError). */
const UNAVAILABLE = /^(?:READONLY|OOM|BUSY|MISCONF|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS)\b/;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
