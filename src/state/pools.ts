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

  /** `previous`: the registry of the plan a hot reload replaces, whose pools may be adopted. */
  constructor(private readonly previous?: PoolRegistry) {}

  /** The pool for an origin; providers sharing an origin share it (the first one's bounds apply). */
  get(origin: string, opts: PoolOptions): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) pool = this.previous?.handOver(origin, opts);
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

  /**
   * Gives this registry's pool for `origin` to the plan replacing this one, when it was made with the
   * same bounds: it is then the new plan's to close, not this one's. Otherwise undefined (the old
   * pool stays here, serving the old plan's requests until it closes).
   */
  private handOver(origin: string, opts: PoolOptions): Pool | undefined {
    const pool = this.pools.get(origin);
    const had = this.options.get(origin);
    if (pool === undefined || had === undefined || had.connections !== opts.connections || had.connectTimeoutMs !== opts.connectTimeoutMs) return undefined;
    this.pools.delete(origin);
    this.options.delete(origin);
    return pool;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    this.options.clear();
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
