// The in-process QuotaStore: exact for one process, however many request threads share it. Per counter
// id one slot of a shared table (state/shared-table.ts) holds the current window (its id and end) and
// that window's permits taken and spend; a call whose `now` is at or past the window's end moves the
// slot to the window of `now`, starting at zero. Only forward: a `now` before the window's start (a
// clock stepped back) counts in the current window, so a jittering clock cannot reopen a window.
//
// Threads: every change to a slot happens under its spin lock (an int32 taken with compareExchange;
// held for a few instructions, never across a call out), so a permit is never given twice and spend is
// never lost. Hot path: a Map lookup per counter (the slot index, per thread), the lock, compares.
// windowOf() (which allocates, and a Date for months) runs only when a window rolls.

import { SharedTable } from './shared-table.ts';
import { passes, windowOf, type Counter, type Period, type QuotaStore, type SpendRule, type StoreHealth } from './quota.ts';

// int32 fields
const LOCK = 0;
const USED = 1;
const PERIOD = 2;
// float64 fields
const WIN = 0;
const END = 1;
const SPEND = 2;
export const QUOTA_INTS = 3;
export const QUOTA_FLOATS = 3;

const PERIOD_CODE: Readonly<Record<Period, number>> = { '1m': 1, '1h': 2, '1d': 3, '1w': 4, '1mo': 5 };

export class MemoryQuota implements QuotaStore {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly healthValue: StoreHealth = Object.freeze({ kind: 'memory', connected: true, failOpenAdmits: 0, failClosedRefusals: 0, permitWaits: 0 });
  /** Counters past the table's capacity: counted in this thread only. */
  private overflow: MemoryQuota | null = null;

  constructor(readonly table: SharedTable = new SharedTable(4096, QUOTA_INTS, QUOTA_FLOATS)) {
    this.i32 = table.i32;
    this.f64 = table.f64;
  }

  takePermits(counters: readonly Counter[], now: number): Counter | null {
    const n = counters.length;
    for (let i = 0; i < n; i++) {
      const c = counters[i]!;
      const s = this.slot(c, now);
      if (s < 0) {
        if (this.spill().takePermits([c], now) === null) continue;
        this.giveBack(counters, i, now);
        return c;
      }
      const ii = this.table.intBase(s);
      this.lock(ii);
      const ok = this.i32[ii + USED]! < c.limit;
      if (ok) this.i32[ii + USED]!++;
      this.unlock(ii);
      if (!ok) {
        // All-or-nothing: give back what this call took (a counter listed twice is handled too).
        this.giveBack(counters, i, now);
        return c;
      }
    }
    return null;
  }

  private giveBack(counters: readonly Counter[], upTo: number, now: number): void {
    for (let j = 0; j < upTo; j++) {
      const s = this.slot(counters[j]!, now);
      if (s < 0) continue;
      const ii = this.table.intBase(s);
      this.lock(ii);
      this.i32[ii + USED]!--;
      this.unlock(ii);
    }
  }

  remaining(counter: Counter, now: number): number {
    const s = this.slot(counter, now);
    if (s < 0) return this.spill().remaining(counter, now);
    const left = counter.limit - this.i32[this.table.intBase(s) + USED]!;
    return left > 0 ? left : 0;
  }

  spent(counter: Counter, now: number): number {
    const s = this.slot(counter, now);
    return s < 0 ? this.spill().spent(counter, now) : this.f64[this.table.floatBase(s) + SPEND]!;
  }

  charge(counter: Counter, amount: number, now: number): void {
    const s = this.slot(counter, now);
    if (s < 0) return this.spill().charge(counter, amount, now);
    const ii = this.table.intBase(s);
    this.lock(ii);
    // Never below zero: the give-back of a reservation made before a reset (POST …/reset while requests
    // were in flight) would otherwise leave the window negative, headroom beyond the limit.
    const f = this.table.floatBase(s) + SPEND;
    const next = this.f64[f]! + amount;
    this.f64[f] = next > 0 ? next : 0;
    this.unlock(ii);
  }

  reserve(counter: Counter, amount: number, rule: SpendRule, now: number): boolean {
    const s = this.slot(counter, now);
    if (s < 0) return this.spill().reserve(counter, amount, rule, now);
    const ii = this.table.intBase(s);
    const f = this.table.floatBase(s) + SPEND;
    // The test and the add under one lock: another thread's reservation lands before or after, never between.
    this.lock(ii);
    const ok = passes(rule, this.f64[f]!, amount, counter.limit);
    if (ok) this.f64[f] = this.f64[f]! + amount;
    this.unlock(ii);
    return ok;
  }

  reset(counterId: string): Promise<void> {
    for (const [id, s] of this.table.entries()) {
      if (id !== counterId) continue;
      const ii = this.table.intBase(s);
      this.lock(ii);
      this.i32[ii + USED] = 0;
      this.f64[this.table.floatBase(s) + SPEND] = 0;
      this.unlock(ii);
    }
    return Promise.resolve();
  }

  health(): StoreHealth {
    return this.healthValue;
  }

  readonly connected = true;

  close(): Promise<void> {
    return Promise.resolve();
  }

  private spill(): MemoryQuota {
    if (this.overflow === null) {
      // Each request thread then counts these on its own, so their limits hold per thread, not per
      // process: say so once, loudly, rather than let limits quietly multiply.
      process.stderr.write(`microgate: governance: the shared counter table (${this.table.slots} counters) is full; counters of further keys, teams and customers are kept per request thread until restart, so their limits are not exact\n`);
      this.overflow = new MemoryQuota(new SharedTable(1024, QUOTA_INTS, QUOTA_FLOATS));
    }
    return this.overflow;
  }

  private lock(ii: number): void {
    while (Atomics.compareExchange(this.i32, ii + LOCK, 0, 1) !== 0);
  }

  private unlock(ii: number): void {
    Atomics.store(this.i32, ii + LOCK, 0);
  }

  /** The counter's slot, rolled to the window of `now`; -1 when the table is full. */
  private slot(c: Counter, now: number): number {
    const s = this.table.slot(c.id);
    if (s < 0) return -1;
    const ff = this.table.floatBase(s);
    const ii = this.table.intBase(s);
    const code = PERIOD_CODE[c.period];
    if (now >= this.f64[ff + END]! || this.i32[ii + PERIOD] !== code) {
      const w = windowOf(c.period, now);
      this.lock(ii);
      // Another thread may have rolled it meanwhile: only a newer window (or another period) resets.
      if (this.f64[ff + WIN]! < w.id || this.i32[ii + PERIOD] !== code) {
        this.i32[ii + USED] = 0;
        this.f64[ff + SPEND] = 0;
        this.f64[ff + WIN] = w.id;
        this.f64[ff + END] = w.end;
        this.i32[ii + PERIOD] = code;
      }
      this.unlock(ii);
    }
    return s;
  }
}
