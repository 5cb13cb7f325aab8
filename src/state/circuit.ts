// A circuit breaker with a sliding window, one per (provider, key, model).
//
//   closed ──(N consecutive failures, or error rate > X% over ≥ minRequests in the window)──▶ open
//   open ──(cooldown elapsed: one probe request is let through)──▶ half-open
//   half-open ──(probe succeeds)──▶ closed        half-open ──(probe fails)──▶ open again
//
// Pure state: the caller passes the clock (performance.now()), so tests can walk every transition.
// The same window feeds adaptive weights (error rate, latency). Its fields may live in shared memory
// (a CircuitCell of state/shared-state.ts), so every request thread sees one circuit: the one probe of
// a half-open circuit is claimed with a compare-and-swap, and times are kept on the epoch clock, which
// all threads share (each thread's performance.now() has its own origin).

import { SlidingCounts } from '../util/sliding-counts.ts';

export interface CircuitOptions {
  consecutiveFailures: number;
  /** 0..1 */
  errorRate: number;
  minRequests: number;
  windowMs: number;
  cooldownMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

/** Where a circuit's fields are: CIRCUIT_INTS int32s at i32At, CIRCUIT_FLOATS float64s at f64At. */
export interface CircuitCell {
  readonly i32: Int32Array;
  readonly i32At: number;
  readonly f64: Float64Array;
  readonly f64At: number;
}

const BUCKETS = 10;
const SERIES = 2;
// int32 fields, then the window's counts
const STATE = 0;
const CONSECUTIVE = 1;
const PROBING = 2;
const COUNTS = 3;
export const CIRCUIT_INTS = COUNTS + BUCKETS * SERIES;
// float64 fields, then the window's slice epochs
const OPENED_AT = 0;
const PROBE_AT = 1;
const LATENCY = 2;
const EPOCHS = 3;
export const CIRCUIT_FLOATS = EPOCHS + BUCKETS;

const STATES: readonly CircuitState[] = ['closed', 'open', 'half_open'];
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;

const OK = 0;
const FAILED = 1;

function ownCell(): CircuitCell {
  return { i32: new Int32Array(CIRCUIT_INTS), i32At: 0, f64: new Float64Array(CIRCUIT_FLOATS), f64At: 0 };
}

export class Circuit {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly i: number;
  private readonly f: number;
  private readonly window: SlidingCounts;

  /** Added to the caller's clock: performance.timeOrigin for a circuit in shared memory (the epoch clock all threads share), 0 for one of its own. */
  private readonly origin: number;

  constructor(
    readonly opts: CircuitOptions,
    cell: CircuitCell = ownCell(),
    origin = 0,
  ) {
    this.origin = origin;
    this.i32 = cell.i32;
    this.f64 = cell.f64;
    this.i = cell.i32At;
    this.f = cell.f64At;
    this.window = new SlidingCounts(opts.windowMs, SERIES, BUCKETS, SlidingCounts.storage(cell.f64, cell.f64At + EPOCHS, cell.i32, cell.i32At + COUNTS, SERIES, BUCKETS));
  }

  get state(): CircuitState {
    return STATES[Atomics.load(this.i32, this.i + STATE)]!;
  }

  get consecutiveFailures(): number {
    return Atomics.load(this.i32, this.i + CONSECUTIVE);
  }

  /** When it last opened, on the caller's clock (performance.now()). */
  get openedAt(): number {
    return this.f64[this.f + OPENED_AT]! - this.origin;
  }

  /** A probe is out (PROBING counts claims; 0: none). */
  get probing(): boolean {
    return Atomics.load(this.i32, this.i + PROBING) !== 0;
  }

  /** Exponentially weighted latency of successful attempts, ms (0 until the first one). */
  get latencyMs(): number {
    return this.f64[this.f + LATENCY]!;
  }

  /**
   * May a request go to this target now? After the cooldown, claims the one probe (and moves open →
   * half-open). The probe is claimed by one compare-and-swap on PROBING, from the value seen (0, or
   * a probe presumed lost) to the next, with its time written first: one thread wins each claim.
   * Claiming by moving the state and then storing 0 let a second thread claim in between, and writing
   * the time after the claim let another take over a fresh probe as a stale one (two probes in 1 of
   * 120 reopenings across two threads).
   */
  allow(now: number): boolean {
    const t = now + this.origin;
    const i32 = this.i32;
    const i = this.i;
    const s = Atomics.load(i32, i + STATE);
    if (s === CLOSED) return true;
    if (s === OPEN && t - this.f64[this.f + OPENED_AT]! < this.opts.cooldownMs) return false;
    // One probe at a time. One that never reports (the client went away, the request was refused as
    // the client's fault) is presumed lost after a cooldown, or the circuit would stay half-open,
    // refusing everything, forever.
    const probing = Atomics.load(i32, i + PROBING);
    if (probing !== 0 && t - this.f64[this.f + PROBE_AT]! < this.opts.cooldownMs) return false;
    this.f64[this.f + PROBE_AT] = t;
    if (Atomics.compareExchange(i32, i + PROBING, probing, probing >= 0x3fffffff ? 1 : probing + 1) !== probing) return false;
    if (s === OPEN) Atomics.compareExchange(i32, i + STATE, OPEN, HALF_OPEN);
    return true;
  }

  /** Would allow() say yes, without claiming the probe. */
  available(now: number): boolean {
    const t = now + this.origin;
    const s = Atomics.load(this.i32, this.i + STATE);
    if (s === CLOSED) return true;
    if (s === OPEN) return t - this.f64[this.f + OPENED_AT]! >= this.opts.cooldownMs;
    return Atomics.load(this.i32, this.i + PROBING) === 0 || t - this.f64[this.f + PROBE_AT]! >= this.opts.cooldownMs;
  }

  record(success: boolean, latencyMs: number, now: number): void {
    const t = now + this.origin;
    const i32 = this.i32;
    const i = this.i;
    if (success) {
      this.window.add(t, OK);
      Atomics.store(i32, i + CONSECUTIVE, 0);
      const l = this.f64[this.f + LATENCY]!;
      this.f64[this.f + LATENCY] = l === 0 ? latencyMs : l * 0.8 + latencyMs * 0.2;
      if (Atomics.load(i32, i + STATE) !== CLOSED) {
        Atomics.store(i32, i + STATE, CLOSED);
        Atomics.store(i32, i + PROBING, 0);
        this.window.reset();
      }
      return;
    }
    this.window.add(t, FAILED);
    const consecutive = Atomics.add(i32, i + CONSECUTIVE, 1) + 1;
    const s = Atomics.load(i32, i + STATE);
    if (s === HALF_OPEN) {
      this.trip(t);
      return;
    }
    if (s === CLOSED) {
      const ok = this.window.sum(t, OK);
      const failed = this.window.sum(t, FAILED);
      const total = ok + failed;
      if (consecutive >= this.opts.consecutiveFailures || (total >= this.opts.minRequests && failed / total > this.opts.errorRate)) this.trip(t);
    }
  }

  /** Successes and failures within the window. */
  counts(now: number): { ok: number; failed: number } {
    const t = now + this.origin;
    return { ok: this.window.sum(t, OK), failed: this.window.sum(t, FAILED) };
  }

  errorRate(now: number): number {
    const { ok, failed } = this.counts(now);
    return ok + failed === 0 ? 0 : failed / (ok + failed);
  }

  private trip(t: number): void {
    this.f64[this.f + OPENED_AT] = t;
    Atomics.store(this.i32, this.i + PROBING, 0);
    Atomics.store(this.i32, this.i + STATE, OPEN);
  }
}
