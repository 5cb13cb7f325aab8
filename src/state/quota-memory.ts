// The in-process QuotaStore: exact, one replica. Per counter id one slot holds the current window (its
// id and bounds) and that window's permits taken and spend; a call whose `now` is at or past the window's
// end moves the slot to the window of `now`, starting at zero. Only forward: a `now` before the window's
// start (a clock stepped back) counts in the current window, so a jittering clock cannot reopen a window.
//
// Hot path: one Map lookup per counter, number compares and writes. windowOf() (which allocates its
// result, and a Date for months) runs only when a window rolls. No allocation per call otherwise.
//
// Slots live as long as the store: one per counter id ever used (the counters of the loaded config).

import { windowOf, type Counter, type Period, type QuotaStore, type StoreHealth } from './quota.ts';

class Slot {
  /** Window id of the current window; NaN before the first use. */
  win = Number.NaN;
  /** Current window's end (ms); -Infinity before the first use so the first call rolls. */
  end = Number.NEGATIVE_INFINITY;
  period: Period;
  used = 0;
  spend = 0;
  constructor(period: Period) {
    this.period = period;
  }
}

export class MemoryQuota implements QuotaStore {
  private readonly slots = new Map<string, Slot>();
  private readonly healthValue: StoreHealth = Object.freeze({ kind: 'memory', connected: true, failOpenAdmits: 0, failClosedRefusals: 0 });

  takePermits(counters: readonly Counter[], now: number): Counter | null {
    const n = counters.length;
    for (let i = 0; i < n; i++) {
      const c = counters[i]!;
      const s = this.slot(c, now);
      if (s.used >= c.limit) {
        // All-or-nothing: give back what this call took (a counter listed twice is handled too).
        for (let j = 0; j < i; j++) this.slots.get(counters[j]!.id)!.used--;
        return c;
      }
      s.used++;
    }
    return null;
  }

  remaining(counter: Counter, now: number): number {
    const left = counter.limit - this.slot(counter, now).used;
    return left > 0 ? left : 0;
  }

  spent(counter: Counter, now: number): number {
    return this.slot(counter, now).spend;
  }

  charge(counter: Counter, amount: number, now: number): void {
    this.slot(counter, now).spend += amount;
  }

  reset(counterId: string): Promise<void> {
    const s = this.slots.get(counterId);
    if (s !== undefined) {
      s.used = 0;
      s.spend = 0;
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

  private slot(c: Counter, now: number): Slot {
    let s = this.slots.get(c.id);
    if (s === undefined) {
      s = new Slot(c.period);
      this.slots.set(c.id, s);
    }
    if (now >= s.end || s.period !== c.period) roll(s, c.period, now);
    return s;
  }
}

function roll(s: Slot, period: Period, now: number): void {
  const w = windowOf(period, now);
  if (w.id !== s.win || period !== s.period) {
    s.used = 0;
    s.spend = 0;
  }
  s.win = w.id;
  s.end = w.end;
  s.period = period;
}
