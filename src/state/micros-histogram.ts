// The in-gateway time histogram (BENCHMARKING.md, "In-gateway time"): per request, arrival to last
// byte written (first byte for streams), minus the time spent waiting on the provider, in µs.
//
// Each request thread records into its own slice of one shared Float64Array (state/shared-state.ts),
// with plain stores: one writer per slice, so no atomics on the hot path. Whichever thread answers
// /admin/stats sums every slice. Buckets are log-linear, like HDR histograms: exact below 256 µs,
// then 128 per power of two (a bucket is at most 0.8% wide), up to 2^26 µs (67 s). Recording is a
// clz32 and two stores (~3 ns, bench/micro.ts), where the WASM HDR histogram it replaces took ~40 ns.

const EXACT_BITS = 8;
const SUB_BITS = 7;
const EXACT = 1 << EXACT_BITS;
const SUB = 1 << SUB_BITS;
const MAX_BITS = 26;
const BUCKETS = EXACT + (MAX_BITS - EXACT_BITS) * SUB;
const COUNT = 0;
const SUM = 1;
const MAX = 2;
/** Float64 fields per thread: count, sum, max, then the buckets. */
export const HISTOGRAM_FIELDS = 3 + BUCKETS;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

function bucketOf(us: number): number {
  const v = us < 1 ? 1 : us >= 2 ** MAX_BITS ? 2 ** MAX_BITS - 1 : Math.floor(us);
  if (v < EXACT) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS; // v >> shift is in [SUB, 2 * SUB)
  return EXACT + (shift - 1) * SUB + ((v >>> shift) - SUB);
}

/** The highest value that falls in bucket `b` (what HDR histograms report for a percentile). */
function highestOf(b: number): number {
  if (b < EXACT) return b;
  const shift = Math.floor((b - EXACT) / SUB) + 1;
  const m = ((b - EXACT) % SUB) + SUB;
  return ((m + 1) << shift) - 1;
}

export class MicrosHistogram {
  private readonly base: number;

  /** `all` holds every thread's slice; this one writes slice `thread`. */
  constructor(
    private readonly all: Float64Array,
    thread: number,
  ) {
    this.base = thread * HISTOGRAM_FIELDS;
  }

  record(us: number): void {
    const a = this.all;
    const o = this.base;
    a[o + COUNT]!++;
    a[o + SUM]! += us;
    if (us > a[o + MAX]!) a[o + MAX] = us;
    a[o + 3 + bucketOf(us)]!++;
  }

  /** Every thread's slice together. */
  summary(): LatencySummary {
    const a = this.all;
    const threads = a.length / HISTOGRAM_FIELDS;
    let count = 0;
    let sum = 0;
    let max = 0;
    const merged = new Float64Array(BUCKETS);
    for (let t = 0; t < threads; t++) {
      const o = t * HISTOGRAM_FIELDS;
      count += a[o + COUNT]!;
      sum += a[o + SUM]!;
      if (a[o + MAX]! > max) max = a[o + MAX]!;
      for (let b = 0; b < BUCKETS; b++) merged[b]! += a[o + 3 + b]!;
    }
    const at = (p: number): number => {
      if (count === 0) return 0;
      const rank = Math.max(1, Math.ceil((p / 100) * count));
      let seen = 0;
      for (let b = 0; b < BUCKETS; b++) {
        seen += merged[b]!;
        if (seen >= rank) return Math.min(highestOf(b), Math.ceil(max));
      }
      return Math.ceil(max);
    };
    return { count, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: Math.ceil(max), mean: count === 0 ? 0 : Math.round((sum / count) * 10) / 10 };
  }

  /** Clears every thread's slice (a record racing the reset in another thread may survive it). */
  reset(): void {
    this.all.fill(0);
  }
}

