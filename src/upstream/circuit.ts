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

const BUCKETS = 10;

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
  private readonly bucketMs: number;
  private readonly epochs = new Float64Array(BUCKETS).fill(-1);
  private readonly ok = new Uint32Array(BUCKETS);
  private readonly failed = new Uint32Array(BUCKETS);

  constructor(readonly opts: CircuitOptions) {
    this.bucketMs = Math.max(1, Math.ceil(opts.windowMs / BUCKETS));
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
    const b = this.bucket(now);
    if (success) {
      this.ok[b]!++;
      this.consecutiveFailures = 0;
      this.latencyMs = this.latencyMs === 0 ? latencyMs : this.latencyMs * 0.8 + latencyMs * 0.2;
      if (this.state !== 'closed') {
        this.state = 'closed';
        this.probing = false;
        this.resetWindow();
      }
      return;
    }
    this.failed[b]!++;
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
    let ok = 0;
    let failed = 0;
    const oldest = Math.floor(now / this.bucketMs) - BUCKETS + 1;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.epochs[i]! >= oldest) {
        ok += this.ok[i]!;
        failed += this.failed[i]!;
      }
    }
    return { ok, failed };
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

  private resetWindow(): void {
    this.epochs.fill(-1);
    this.ok.fill(0);
    this.failed.fill(0);
  }

  private bucket(now: number): number {
    const epoch = Math.floor(now / this.bucketMs);
    const i = epoch % BUCKETS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.ok[i] = 0;
      this.failed[i] = 0;
    }
    return i;
  }
}
