// A circuit breaker with a sliding window, one per (provider, key, model).
//
//   closed ──(N consecutive failures, or error rate > X% over ≥ minRequests in the window)──▶ open
//   open ──(cooldown elapsed: one probe request is let through)──▶ half-open
//   half-open ──(probe succeeds)──▶ closed        half-open ──(probe fails)──▶ open again
//
// Pure state: the caller passes the clock, so tests can walk every transition. The same window
// feeds adaptive weights (error rate, latency).

export interface CircuitOptions {
  consecutiveFailures: number;
  /** 0..1 */
  errorRate: number;
  minRequests: number;
  windowMs: number;
  cooldownMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

import { SlidingCounts } from '../util/sliding-counts.ts';

const OK = 0;
const FAILED = 1;

export class Circuit {
  state: CircuitState = 'closed';
  consecutiveFailures = 0;
  openedAt = 0;
  probing = false;
  /** When the half-open probe was let through. One that never reports (the client went away, the
   * request was refused as the client's fault) is presumed lost after a cooldown, or the circuit
   * would stay half-open, refusing everything, forever. */
  private probeAt = 0;
  /** Exponentially weighted latency of successful attempts, ms (0 until the first one). */
  latencyMs = 0;
  private readonly window: SlidingCounts;

  constructor(readonly opts: CircuitOptions) {
    this.window = new SlidingCounts(opts.windowMs, 2);
  }

  /** May a request go to this target now? Moves open → half-open after the cooldown and claims the one probe. */
  allow(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now - this.openedAt < this.opts.cooldownMs) return false;
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.probing && now - this.probeAt < this.opts.cooldownMs) return false;
    this.probing = true;
    this.probeAt = now;
    return true;
  }

  /** Would allow() say yes, without claiming the probe. */
  available(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return now - this.openedAt >= this.opts.cooldownMs;
    return !this.probing || now - this.probeAt >= this.opts.cooldownMs;
  }

  record(success: boolean, latencyMs: number, now: number): void {
    if (success) {
      this.window.add(now, OK);
      this.consecutiveFailures = 0;
      this.latencyMs = this.latencyMs === 0 ? latencyMs : this.latencyMs * 0.8 + latencyMs * 0.2;
      if (this.state !== 'closed') {
        this.state = 'closed';
        this.probing = false;
        this.window.reset();
      }
      return;
    }
    this.window.add(now, FAILED);
    this.consecutiveFailures++;
    if (this.state === 'half_open') {
      this.trip(now);
      return;
    }
    if (this.state === 'closed') {
      const { ok, failed } = this.counts(now);
      const total = ok + failed;
      if (this.consecutiveFailures >= this.opts.consecutiveFailures || (total >= this.opts.minRequests && failed / total > this.opts.errorRate)) this.trip(now);
    }
  }

  /** Successes and failures within the window. */
  counts(now: number): { ok: number; failed: number } {
    return { ok: this.window.sum(now, OK), failed: this.window.sum(now, FAILED) };
  }

  errorRate(now: number): number {
    const { ok, failed } = this.counts(now);
    return ok + failed === 0 ? 0 : failed / (ok + failed);
  }

  private trip(now: number): void {
    this.state = 'open';
    this.openedAt = now;
    this.probing = false;
  }

}
