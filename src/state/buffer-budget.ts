// The bytes held in memory for provider answers across every request of the process: buffered JSON
// bodies, error bodies and the incomplete event of each stream. A per-request cap alone let eight
// concurrent 60 MB answers take RSS to 1.3 GB; past this budget an attempt is stopped instead.
//
// One count for the whole process, in shared memory (state/shared-state.ts), kept across reloads: a
// count per request thread and per plan made the limit threads × the configured one (8 GiB for 256 MiB
// on 32 cores), and a reload started again at 0 while the old plan's requests still held their bytes.
export class BufferBudget {
  private readonly held: BigInt64Array;
  private readonly max: bigint;

  /** `shared`: the process's count (8 bytes of a SharedArrayBuffer); absent, one of its own. */
  constructor(
    readonly limit: number,
    shared: SharedArrayBuffer = new SharedArrayBuffer(8),
  ) {
    this.held = new BigInt64Array(shared, 0, 1);
    this.max = BigInt(limit);
  }

  /** Claims `n` more bytes; false (and nothing claimed) when that would pass the limit. */
  take(n: number): boolean {
    const add = BigInt(n);
    for (;;) {
      const now = Atomics.load(this.held, 0);
      const next = now + add;
      if (next > this.max) return false;
      if (Atomics.compareExchange(this.held, 0, now, next) === now) return true;
    }
  }

  give(n: number): void {
    Atomics.sub(this.held, 0, BigInt(n));
  }

  get bytes(): number {
    return Number(Atomics.load(this.held, 0));
  }
}
