// Adaptive weights: every intervalMs, each multi-target route's weights are recomputed from its
// targets' recent health, blended with the configured weights:
//
//   effective = configured × max(minShare, successRate² × min(1, fastest latency / own latency))
//
// So a target failing half its requests keeps a quarter of its share, one twice as slow as the
// fastest keeps half, and none drops below minShare: a recovered provider still gets traffic and
// is found again. A target with no data in the window keeps its configured weight. Streaming
// latency is time to first event, non-streaming the whole answer: both shrink with a faster provider.
import type { Route, RuntimePlan, Target } from '../plan/types.ts';
import { keysFor } from '../plan/routes.ts';
import { WeightedPicker } from '../util/weighted.ts';

export function adaptiveFactors(plan: RuntimePlan, route: Route, now: number, minShare: number): number[] {
  const stats = route.targets.map((t: Target) => {
    const keys = keysFor(t.provider, t.model);
    return keys === null ? null : plan.health.targetStats(t, keys.items, now);
  });
  let fastest = Infinity;
  for (const s of stats) if (s !== null && s.latencyMs > 0 && s.errorRate < 1) fastest = Math.min(fastest, s.latencyMs);
  return stats.map((s) => {
    if (s === null) return 1;
    const success = 1 - s.errorRate;
    const speed = s.latencyMs > 0 && Number.isFinite(fastest) ? Math.min(1, fastest / s.latencyMs) : 1;
    return Math.max(minShare, success * success * speed);
  });
}

/** Recomputes every multi-target route's picker now. */
export function reweigh(plan: RuntimePlan, now: number = performance.now()): void {
  const { minShare } = plan.routing.adaptive;
  for (const route of new Set(plan.routes.values())) {
    if (route.targets.length < 2) continue;
    const f = adaptiveFactors(plan, route, now, minShare);
    route.picker = new WeightedPicker(route.targets.map((item, i) => ({ item, weight: route.weights[i]! * f[i]! })));
  }
}

/** Starts the timer (unref'd: it never keeps the process alive); returns a stop function. */
export function startAdaptiveWeights(plan: RuntimePlan): () => void {
  const a = plan.routing.adaptive;
  if (!a.enabled) return () => {};
  const timer = setInterval(() => reweigh(plan), a.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
