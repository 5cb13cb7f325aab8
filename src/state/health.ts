// Circuits per (provider, key, model), created on first use. Addressing "provider/any-model" makes
// the model set open-ended, so the registry is bounded: past the cap, a new combination is not
// tracked (it is treated as healthy) rather than growing memory without limit.
import { Circuit, type CircuitOptions } from './circuit.ts';

/** What the registry needs of a key and a target (plan/types.ts KeyPlan and Target have it). */
export interface CircuitKey {
  readonly id: number;
  readonly name: string;
  readonly provider: { readonly name: string };
}
export interface CircuitTarget {
  readonly model: string;
  /** Declared targets cache their circuits here, by key id. */
  readonly circuits?: Array<Circuit | undefined>;
}

const MAX_CIRCUITS = 4_096;
/** Circuits listed in /admin/stats and /metrics: every one not closed first, then closed ones up to this many. */
export const MAX_LISTED_CIRCUITS = 500;

export class HealthRegistry {
  private readonly circuits = new Map<string, Circuit>();
  /** A circuit that is never recorded into: for combinations past the cap. */
  private readonly untracked: Circuit;

  constructor(readonly opts: CircuitOptions) {
    this.untracked = new Circuit(opts);
  }

  /**
   * The circuit of (key, target's model). Declared targets cache theirs in `target.circuits`, indexed
   * by key id, so the request path does no string building or Map lookup; targets made per request
   * ("provider/any-model") go through the registry, so their health is still shared.
   */
  circuit(key: CircuitKey, target: CircuitTarget): Circuit {
    const cache = target.circuits;
    if (cache !== undefined) {
      const c = cache[key.id];
      if (c !== undefined) return c;
      return (cache[key.id] = this.lookup(key, target.model));
    }
    return this.lookup(key, target.model);
  }

  private lookup(key: CircuitKey, model: string): Circuit {
    const id = `${key.id}:${model}`;
    let c = this.circuits.get(id);
    if (c === undefined) {
      if (this.circuits.size >= MAX_CIRCUITS) return this.untracked;
      c = new Circuit(this.opts);
      this.circuits.set(id, c);
    }
    return c;
  }

  /** Error rate and latency of a target over its keys' windows; null without data. */
  targetStats(target: CircuitTarget, keys: readonly CircuitKey[], now: number): { errorRate: number; latencyMs: number; requests: number } | null {
    let ok = 0;
    let failed = 0;
    let latency = 0;
    let withLatency = 0;
    for (const k of keys) {
      const c = this.circuits.get(`${k.id}:${target.model}`);
      if (c === undefined) continue;
      const n = c.counts(now);
      ok += n.ok;
      failed += n.failed;
      if (c.latencyMs > 0) {
        latency += c.latencyMs;
        withLatency++;
      }
    }
    if (ok + failed === 0) return null;
    return { errorRate: failed / (ok + failed), latencyMs: withLatency === 0 ? 0 : latency / withLatency, requests: ok + failed };
  }

  /** Circuit states for /admin/stats and /metrics: "provider/key/model" → state, at most MAX_LISTED_CIRCUITS, open and half-open first. */
  snapshot(keysById: ReadonlyMap<number, CircuitKey>, now: number): Record<string, { state: string; errorRate: number; latencyMs: number }> {
    const out: Record<string, { state: string; errorRate: number; latencyMs: number }> = {};
    let listed = 0;
    for (const closed of [false, true]) {
      for (const [id, c] of this.circuits) {
        if ((c.state === 'closed') !== closed) continue;
        if (listed++ >= MAX_LISTED_CIRCUITS) return out;
        const colon = id.indexOf(':');
        const key = keysById.get(Number(id.slice(0, colon)));
        if (key === undefined) continue;
        out[`${key.provider.name}/${key.name}/${id.slice(colon + 1)}`] = { state: c.state, errorRate: Math.round(c.errorRate(now) * 1000) / 1000, latencyMs: Math.round(c.latencyMs * 10) / 10 };
      }
    }
    return out;
  }
}
