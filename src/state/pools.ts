// One undici Pool per provider origin (engineering.md §3): bounded connections and no pipelining.
// POSTs are never pipelined by undici anyway (Dispatcher.md), and a pipelined POST cannot be retried
// safely after a connection failure (RFC 9112 §9.3.2).
import { Pool } from 'undici';

export interface PoolOptions {
  connections: number;
  connectTimeoutMs: number;
}

export class PoolRegistry {
  private readonly pools = new Map<string, Pool>();
  private readonly options = new Map<string, PoolOptions>();
  /** Origins whose pool is the previous plan's, until commit(): if this plan is never used, they stay its. */
  private readonly borrowed = new Set<string>();

  /** `previous`: the registry of the plan a hot reload replaces, whose pools may be adopted. */
  constructor(private previous?: PoolRegistry) {}

  /** The pool for an origin; providers sharing an origin share it (the first one's bounds apply). */
  get(origin: string, opts: PoolOptions): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = this.previous?.reusable(origin, opts);
      if (pool !== undefined) this.borrowed.add(origin);
    }
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: opts.connections,
        pipelining: 1,
        connect: { timeout: opts.connectTimeoutMs },
        // Below the usual 5 s idle timeout of provider front ends, so we do not reuse a socket the
        // server is closing ("SocketError: other side closed", nodejs/undici#583).
        keepAliveTimeout: 4_000,
        // Per-request values are set on each dispatch (first byte, idle between chunks).
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    }
    if (!this.pools.has(origin)) {
      this.pools.set(origin, pool);
      this.options.set(origin, opts);
    }
    return pool;
  }

  /** This registry's pool for `origin` when it was made with the same bounds (a reload may reuse it). */
  private reusable(origin: string, opts: PoolOptions): Pool | undefined {
    const had = this.options.get(origin);
    if (had === undefined || had.connections !== opts.connections || had.connectTimeoutMs !== opts.connectTimeoutMs) return undefined;
    return this.pools.get(origin);
  }

  /**
   * The plan this registry belongs to replaced the previous one (a reload went through): the pools it
   * reuses are now its own to close, and the previous plan closes only the rest when it retires.
   * Before this, closing this registry leaves them alone (a reload that failed half-way).
   */
  commit(): void {
    const previous = this.previous;
    this.previous = undefined;
    if (previous === undefined) return;
    for (const origin of this.borrowed) {
      previous.pools.delete(origin);
      previous.options.delete(origin);
    }
    this.borrowed.clear();
  }

  async close(): Promise<void> {
    const all = [...this.pools].filter(([origin]) => !this.borrowed.has(origin)).map(([, p]) => p);
    this.pools.clear();
    this.options.clear();
    this.borrowed.clear();
    await Promise.all(all.map((p) => p.close().catch(() => p.destroy())));
  }

  /** Connection and queue counts per origin: used by tests (no leaked sockets) and the admin stats. */
  stats(): Record<string, { connected: number; free: number; pending: number; running: number; size: number }> {
    const out: Record<string, { connected: number; free: number; pending: number; running: number; size: number }> = {};
    for (const [origin, pool] of this.pools) {
      const s = pool.stats;
      out[origin] = { connected: s.connected, free: s.free, pending: s.pending, running: s.running, size: s.size };
    }
    return out;
  }
}
