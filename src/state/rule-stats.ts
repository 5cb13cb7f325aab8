// Counters per routing rule, shared by every request of a plan.
/** Read by /admin/stats and telemetry. */
export class RuleStats {
  readonly matches = new Map<string, number>();
  readonly errors = new Map<string, number>();
  /** Evaluations that read a header or query parameter the request lacks: no match, apart from errors. */
  readonly missing = new Map<string, number>();
  chainLimitHits = 0;

  bump(map: Map<string, number>, name: string): void {
    map.set(name, (map.get(name) ?? 0) + 1);
  }
}

