// Counters over a sliding time window: the window is split into `buckets` slices; a slice whose
// epoch has passed is zeroed when its turn comes again. Used by the circuits (successes, failures)
// and the retry budget (requests, retries). Pure: the caller passes the clock.
//
// The window covers the current slice plus the buckets − 1 before it, so "the last 10 s" with 10
// buckets is 9 to 10 s depending on where now falls in its slice.
//
// The counters may live in a SharedArrayBuffer, shared by request threads (state/shared-state.ts):
// increments are atomic; a slice's reset when its epoch comes round is not (two threads may both
// reset it, and an increment between the two is lost), which costs at most a count at a boundary.
// Threads sharing one must pass the same clock: epoch milliseconds, not performance.now().

export interface SlidingStorage {
  readonly epochs: Float64Array;
  /** counts[bucket * series + s] */
  readonly counts: Int32Array;
}

export class SlidingCounts {
  private readonly bucketMs: number;
  private readonly epochs: Float64Array;
  private readonly counts: Int32Array;

  constructor(
    readonly windowMs: number,
    /** How many counters share the window. */
    readonly series: number,
    readonly buckets = 10,
    storage?: SlidingStorage,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.epochs = storage?.epochs ?? new Float64Array(buckets).fill(-1);
    this.counts = storage?.counts ?? new Int32Array(buckets * series);
  }

  /** Storage for `buckets` slices of `series` counters inside shared arrays, at the given offsets. */
  static storage(f64: Float64Array, f64At: number, i32: Int32Array, i32At: number, series: number, buckets = 10): SlidingStorage {
    return { epochs: f64.subarray(f64At, f64At + buckets), counts: i32.subarray(i32At, i32At + buckets * series) };
  }

  add(now: number, s: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const b = epoch % this.buckets;
    if (this.epochs[b] !== epoch) {
      this.epochs[b] = epoch;
      this.counts.fill(0, b * this.series, (b + 1) * this.series);
    }
    Atomics.add(this.counts, b * this.series + s, 1);
  }

  /** Counter `s` summed over the window ending now. */
  sum(now: number, s: number): number {
    const oldest = Math.floor(now / this.bucketMs) - this.buckets + 1;
    let n = 0;
    for (let b = 0; b < this.buckets; b++) if (this.epochs[b]! >= oldest) n += this.counts[b * this.series + s]!;
    return n;
  }

  reset(): void {
    this.epochs.fill(-1);
    this.counts.fill(0);
  }
}
