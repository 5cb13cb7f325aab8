/**
 * A weighted choice over a fixed list, built once at load. `pick(r)` takes r in [0, 1) so tests can
 * feed a seeded sequence; the hot path passes Math.random().
 */
export class WeightedPicker<T> {
  readonly items: readonly T[];
  readonly weights: readonly number[];
  /** cumulative[i] = weights[0] + ... + weights[i]. */
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(entries: ReadonlyArray<{ item: T; weight: number }>) {
    if (entries.length === 0) throw new Error('WeightedPicker needs at least one entry');
    this.items = Object.freeze(entries.map((e) => e.item));
    this.weights = Object.freeze(entries.map((e) => e.weight));
    this.cumulative = new Float64Array(entries.length);
    let sum = 0;
    for (let i = 0; i < entries.length; i++) {
      const w = entries[i]!.weight;
      if (!(w > 0) || !Number.isFinite(w)) throw new Error(`weight must be a positive number, got ${w}`);
      sum += w;
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  get size(): number {
    return this.items.length;
  }

  /**
   * A weighted draw among the items `allowed` accepts (keys not cooling, targets not yet tried), or
   * null when it accepts none. Linear: lists are short, and this runs only on the failover path.
   */
  pickWhere(allowed: (item: T) => boolean, r: number = Math.random()): T | null {
    const items = this.items;
    let total = 0;
    for (let i = 0; i < items.length; i++) if (allowed(items[i]!)) total += this.weights[i]!;
    if (total === 0) return null;
    // Compare against a running sum, as pick() does against `cumulative`: subtracting instead rounds
    // differently, and with everything allowed the draw would differ from pick(r) on the boundaries.
    const x = r * total;
    let sum = 0;
    let last: T | null = null;
    for (let i = 0; i < items.length; i++) {
      if (!allowed(items[i]!)) continue;
      last = items[i]!;
      sum += this.weights[i]!;
      if (x < sum) return last;
    }
    return last;
  }

  pick(r: number = Math.random()): T {
    const items = this.items;
    if (items.length === 1) return items[0]!;
    const x = r * this.total;
    const c = this.cumulative;
    // Lists are short (a handful of keys or targets): a linear scan beats a binary search below ~16.
    if (c.length <= 16) {
      for (let i = 0; i < c.length; i++) if (x < c[i]!) return items[i]!;
      return items[items.length - 1]!;
    }
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x < c[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return items[lo]!;
  }
}
