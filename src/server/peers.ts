// The other request threads of this process, as one request thread sees them. Counters every thread
// must agree on live in shared memory (state/shared-state.ts); what each thread keeps for itself
// (its connection pools, rule counters, fields dropped) is gathered when someone asks, so that
// /admin/stats and /metrics are one answer for the whole process whichever thread takes the scrape.
// A gateway with one thread has no peers (ALONE); under the supervisor the threads/ layer asks.

/** What one request thread knows that the others do not. */
export interface LocalStats {
  thread: number;
  backpressurePauses: number;
  /** Times the connection guard refused new connections near the fd limit. */
  acceptPauses: number;
  pools: Record<string, { connected: number; free: number; pending: number; running: number; size: number }>;
  rules: { matches: Record<string, number>; evaluationErrors: Record<string, number>; missingKeys: Record<string, number>; chainLimitHits: number };
  droppedFields: Record<string, number>;
  governance: { connected: boolean; failOpenAdmits: number; failClosedRefusals: number; permitWaits: number };
}

export interface Peers {
  /** Every live request thread's LocalStats, this one's (`own`) included. */
  gather(own: LocalStats): Promise<LocalStats[]>;
  /**
   * The admin API changed virtual keys, teams or customers: resolves once every other thread has
   * loaded them, so the key an admin call just created works on whichever thread the next request lands.
   */
  entitiesChanged(): Promise<void>;
}

export const ALONE: Peers = {
  gather: async (own) => [own],
  entitiesChanged: async () => {},
};

/** Sums of every thread's LocalStats: counters added, the store "connected" only when every thread is. */
export function mergeStats(all: readonly LocalStats[]): Omit<LocalStats, 'thread'> {
  const out: Omit<LocalStats, 'thread'> = {
    backpressurePauses: 0,
    acceptPauses: 0,
    pools: {},
    rules: { matches: {}, evaluationErrors: {}, missingKeys: {}, chainLimitHits: 0 },
    droppedFields: {},
    governance: { connected: true, failOpenAdmits: 0, failClosedRefusals: 0, permitWaits: 0 },
  };
  for (const s of all) {
    out.backpressurePauses += s.backpressurePauses;
    out.acceptPauses += s.acceptPauses;
    for (const [origin, p] of Object.entries(s.pools)) {
      const o = (out.pools[origin] ??= { connected: 0, free: 0, pending: 0, running: 0, size: 0 });
      o.connected += p.connected;
      o.free += p.free;
      o.pending += p.pending;
      o.running += p.running;
      o.size += p.size;
    }
    addAll(out.rules.matches, s.rules.matches);
    addAll(out.rules.evaluationErrors, s.rules.evaluationErrors);
    addAll(out.rules.missingKeys, s.rules.missingKeys);
    out.rules.chainLimitHits += s.rules.chainLimitHits;
    addAll(out.droppedFields, s.droppedFields);
    out.governance.connected &&= s.governance.connected;
    out.governance.failOpenAdmits += s.governance.failOpenAdmits;
    out.governance.failClosedRefusals += s.governance.failClosedRefusals;
    out.governance.permitWaits += s.governance.permitWaits;
  }
  return out;
}

function addAll(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}
