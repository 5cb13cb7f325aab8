// Health of every target the plan knows, for /admin/stats (the dashboard's Providers page): success
// rate, mean latency and requests over the circuit windows of its keys, read-only. Circuits live in
// shared memory, so the figures are the process's whichever thread answers.
import type { RuntimePlan } from '../plan/types.ts';
import { keysFor } from '../plan/routes.ts';

interface TargetHealth {
  successRate: number;
  latencyMs: number;
  /** Requests in the circuits' current windows. */
  requests: number;
}

/** "provider/model" → its health, for targets with requests in the window. */
export function targetHealth(plan: RuntimePlan, now = performance.now()): Record<string, TargetHealth> {
  const out: Record<string, TargetHealth> = {};
  for (const t of plan.targetsById) {
    if (t === undefined || t.key !== undefined || out[t.label] !== undefined) continue;
    const keys = keysFor(t.provider, t.model);
    const s = keys === null ? null : plan.health.targetStats(t, keys.items, now);
    if (s !== null) out[t.label] = { successRate: Math.round((1 - s.errorRate) * 1000) / 1000, latencyMs: Math.round(s.latencyMs * 10) / 10, requests: s.requests };
  }
  return out;
}
