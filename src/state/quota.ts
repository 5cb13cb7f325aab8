// Quota counters for governance (issue 13): requests per minute, tokens per minute and spend (USD)
// per period, for virtual keys, teams and customers. The request path calls these synchronously: a
// store backed by Redis works from leases and local tallies it refreshes in the background. A request
// waits for Redis only when its thread holds no permit it needs (fetchPermits): a small limit's, which
// is leased per request, or a block still on its way.
//
// Two kinds of counter:
//   permits  requests per window: taken before sending, all-or-nothing across the counters of a request.
//            Exact: a store never admits more than `limit` in a window, whatever the number of replicas.
//   spend    tokens or USD per window: known only when the answer is complete, so charged after it.
//            Admission checks the spend so far; requests admitted before the limit was crossed may still
//            add theirs (the overshoot the README bounds).
//
// Windows are fixed and aligned to UTC: the minute, the hour, the day, the ISO week (Monday 00:00), the
// calendar month. Every replica computes the same window id from its clock.

export type Period = '1m' | '1h' | '1d' | '1w' | '1mo';

/** When a reservation passes (QuotaStore.reserve). */
export type SpendRule = 'fits' | 'unspent';

/** Whether spend `spent` so far admits `amount` more under `rule` (QuotaStore.reserve). */
export function passes(rule: SpendRule, spent: number, amount: number, limit: number): boolean {
  return rule === 'fits' ? spent + amount <= limit : spent < limit;
}

export interface Counter {
  /** Stable and unique: e.g. "vk:vk-alpha:rpm", "team:t1:usd:1d". Redis keys derive from it and the window id. */
  readonly id: string;
  readonly limit: number;
  readonly period: Period;
}

export interface StoreHealth {
  readonly kind: 'memory' | 'redis';
  /** false while the shared store cannot be reached (the failure policy applies meanwhile). */
  readonly connected: boolean;
  /** Admissions decided by the failure policy since start (the store unreachable). */
  readonly failOpenAdmits: number;
  readonly failClosedRefusals: number;
  /** Times a request waited for a permit from the shared store (a small limit's, or a block on its way). */
  readonly permitWaits: number;
}

export interface QuotaStore {
  /**
   * Takes one request permit from every counter, or none: the first counter that has none left is
   * returned (nothing taken); null when all admitted. Synchronous.
   */
  takePermits(counters: readonly Counter[], now: number): Counter | null;
  /**
   * Whether takePermits cannot decide yet: some counter has no permit at hand while its window may
   * still have some (a shared store's small limit, or a block on its way). Asks nothing of the store.
   * Optional, with fetchPermits: a store that holds every permit itself never makes a request wait.
   */
  lacksPermits?(counters: readonly Counter[], now: number): boolean;
  /**
   * What a request must wait for before spent() of these counters is recent enough to admit on (a
   * shared store's total not read for a while: another thread or replica may have spent the budget
   * since), else null. The promise never rejects. Optional: a store that holds the counts itself is
   * always recent.
   */
  staleSpend?(counters: readonly Counter[], now: number): Promise<void> | null;
  /**
   * What the request must wait for before takePermits can decide (leases this request's permit of a
   * small limit, or the block on its way), else null. The promise never rejects.
   */
  fetchPermits?(counters: readonly Counter[], now: number): Promise<void> | null;
  /**
   * A request that fetched permits (fetchPermits) and will not take them (refused, or its client left):
   * its permits of small limits go back to the shared store at once. Optional.
   */
  release?(counters: readonly Counter[], now: number): void;
  /**
   * Reads the shared counts of these counters from the store now (what remaining() and spent() then
   * report is every thread's and replica's, as of this read): for reports, never the request path.
   * Resolves once read or failed; never rejects. Optional: a store that holds the counts is always current.
   */
  refresh?(permits: readonly Counter[], spend: readonly Counter[], now: number): Promise<void>;
  /** Permits left in the counter's current window as this process knows it (for x-ratelimit-remaining-*). */
  remaining(counter: Counter, now: number): number;
  /** Spend so far in the counter's current window (shared total as last seen, plus local spend not yet shared). */
  spent(counter: Counter, now: number): number;
  /** Adds spend (tokens or USD) to the counter's current window. Synchronous; shared in the background. */
  charge(counter: Counter, amount: number, now: number): void;
  /**
   * Adds `amount` (>= 0) to the counter's current window if its spend so far passes `rule`, and says
   * whether it did, as one step for every thread sharing the store: `fits`, spend + amount <= limit
   * (OpenAI's rule for token limits); `unspent`, spend < limit (a budget refuses once spent). What one
   * process's threads reserve together can then not overshoot a limit only one of them fits.
   */
  reserve(counter: Counter, amount: number, rule: SpendRule, now: number): boolean;
  /**
   * Counters the process will use: a shared store leases their first permits ahead of the first request
   * (which would otherwise wait for its lease). Optional.
   */
  warm?(permits: readonly Counter[], spend: readonly Counter[], now: number): void;
  /**
   * Before the gateway listens: resolves once the shared store is reachable and the warmed permit
   * counters hold their first leases (or the time is up; the failure policy covers the rest). Optional.
   */
  settle?(timeoutMs: number): Promise<void>;
  /** Sets a counter's current window back to zero (admin budget reset), on every replica. */
  reset(counterId: string): Promise<void>;
  health(): StoreHealth;
  /**
   * Counts a request refused by the failure policy outside the store (admission refuses a budget or a
   * limit under 'closed' before asking the store anything), so health().failClosedRefusals is every
   * such refusal. Optional: a store that is always connected never sees one.
   */
  countFailClosed?(): void;
  /** A request admitted on spend limits alone while the store is unreachable, by the open policy (counted once a request). */
  countFailOpen?(): void;
  /** health().connected, read per request without building the health object. */
  readonly connected: boolean;
  close(): Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-01 was a Thursday: ISO weeks start on the Monday 3 days later (epoch + 4 days is 1970-01-05). */
const MONDAY_OFFSET = 4 * DAY;

/** The window of `period` that `now` (ms since the epoch) falls in: its id and its end (ms). */
export function windowOf(period: Period, now: number): { id: number; end: number } {
  switch (period) {
    case '1m':
      return { id: Math.floor(now / MINUTE), end: (Math.floor(now / MINUTE) + 1) * MINUTE };
    case '1h':
      return { id: Math.floor(now / HOUR), end: (Math.floor(now / HOUR) + 1) * HOUR };
    case '1d':
      return { id: Math.floor(now / DAY), end: (Math.floor(now / DAY) + 1) * DAY };
    case '1w': {
      const id = Math.floor((now - MONDAY_OFFSET) / (7 * DAY));
      return { id, end: (id + 1) * 7 * DAY + MONDAY_OFFSET };
    }
    case '1mo': {
      const d = new Date(now);
      const y = d.getUTCFullYear();
      const m = d.getUTCMonth();
      return { id: y * 12 + m, end: Date.UTC(y, m + 1, 1) };
    }
  }
}
