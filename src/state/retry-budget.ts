// A process-wide cap on retries, as a share of requests over a sliding window (Envoy's retry budget,
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto).
// Without it an outage multiplies traffic by the retry count and becomes a retry storm. Retries and
// key rotations are charged; a fallback's first attempt is not: it moves a request, it does not add one.

import { SlidingCounts, type SlidingStorage } from '../util/sliding-counts.ts';

const REQUESTS = 0;
const RETRIES = 1;

export class RetryBudget {
  private readonly window: SlidingCounts;

  constructor(
    /** Retries allowed as a share of requests, 0..1. */
    readonly ratio: number,
    /** Retries always allowed per second, so low traffic can still retry. */
    readonly minPerSecond: number,
    readonly windowMs = 10_000,
    /** Shared by the process's request threads (state/shared-state.ts), whose clocks then meet at `origin`. */
    storage?: SlidingStorage,
    private readonly origin = 0,
  ) {
    this.window = new SlidingCounts(windowMs, 2, 10, storage);
  }

  onRequest(now: number): void {
    this.window.add(now + this.origin, REQUESTS);
  }

  /** Charges one retry if the budget has room. */
  tryRetry(now: number): boolean {
    const t = now + this.origin;
    const requests = this.window.sum(t, REQUESTS);
    const retries = this.window.sum(t, RETRIES);
    const allowed = Math.max(this.minPerSecond * (this.windowMs / 1000), this.ratio * requests);
    // The epsilon absorbs float noise: 0.07 × 100 is 7.000000000000001, which would grant an 8th retry.
    if (retries >= allowed - 1e-9) return false;
    this.window.add(t, RETRIES);
    return true;
  }
}
