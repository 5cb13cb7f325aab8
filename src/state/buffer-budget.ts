// The bytes held in memory for provider answers across every request of this thread: buffered JSON
// bodies, error bodies and the incomplete event of each stream. A per-request cap alone let eight
// concurrent 60 MB answers take RSS to 1.3 GB; past this budget an attempt is stopped instead.
export class BufferBudget {
  private held = 0;

  constructor(readonly limit: number) {}

  /** Claims `n` more bytes; false (and nothing claimed) when that would pass the limit. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held -= n;
  }

  get bytes(): number {
    return this.held;
  }
}
