// A process-wide cap on retries, as a share of requests over a sliding window (Envoy's retry budget,
// https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto).
// Without it an outage multiplies traffic by the retry count and becomes a retry storm. Retries and
// key rotations are charged; a fallback's first attempt is not: it moves a request, it does not add one.

const BUCKETS = 10;

export class RetryBudget {
  private readonly bucketMs: number;
  private readonly epochs = new Float64Array(BUCKETS).fill(-1);
  private readonly requests = new Uint32Array(BUCKETS);
  private readonly retries = new Uint32Array(BUCKETS);

  constructor(
    /** Retries allowed as a share of requests, 0..1. */
    readonly ratio: number,
    /** Retries always allowed per second, so low traffic can still retry. */
    readonly minPerSecond: number,
    readonly windowMs = 10_000,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  onRequest(now: number): void {
    this.requests[this.bucket(now)]!++;
  }

  /** Charges one retry if the budget has room. */
  tryRetry(now: number): boolean {
    let requests = 0;
    let retries = 0;
    const oldest = Math.floor(now / this.bucketMs) - BUCKETS + 1;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.epochs[i]! >= oldest) {
        requests += this.requests[i]!;
        retries += this.retries[i]!;
      }
    }
    const allowed = Math.max(this.minPerSecond * (this.windowMs / 1000), this.ratio * requests);
    // The epsilon absorbs float noise: 0.07 × 100 is 7.000000000000001, which would grant an 8th retry.
    if (retries >= allowed - 1e-9) return false;
    this.retries[this.bucket(now)]!++;
    return true;
  }

  private bucket(now: number): number {
    const epoch = Math.floor(now / this.bucketMs);
    const i = epoch % BUCKETS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }
}
