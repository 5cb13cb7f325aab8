// Circuits per (provider, key, model). Circuits live in a shared table (state/shared-table.ts), so
// every request thread of the process sees the same ones; a thread keeps its own Circuit views of them.
//
// The table is bounded (MAX_CIRCUITS) and never frees a slot, while addressing "provider/any-model"
// lets clients choose the model names. So a slot is spent only where it matters: the config's own
// targets claim theirs when the plan is built (claimDeclared), and a target made at run time claims
// one only when an attempt on it fails. A client sending thousands of made-up model names that
// answer (or 404, which never counts) spends nothing, and cannot leave the config's targets without
// circuits. Past the cap a combination is untracked: treated as healthy, and its outcomes dropped
// (one shared circuit recording them would open for every untracked combination at once).
import { Circuit, type CircuitOptions } from './circuit.ts';
import { SharedTable } from './shared-table.ts';
import { CIRCUIT_FLOATS, CIRCUIT_INTS } from './circuit.ts';

/** What the registry needs of a key and a target (plan/types.ts KeyPlan and Target have it). */
export interface CircuitKey {
  /** Its place in the plan (target.circuits caches by it). */
  readonly id: number;
  /** Stable across threads and reloads: the shared circuit's id is `${slot}:${model}`. */
  readonly slot: number;
  readonly name: string;
  readonly provider: { readonly name: string };
}
export interface CircuitTarget {
  readonly model: string;
  /** Declared targets cache their circuits here, by key id. */
  readonly circuits?: Array<Circuit | undefined>;
}

/** Run-time targets claim circuits only while the table is under this share full (health.failing). */
const RUNTIME_SHARE = 0.75;

/** Circuits listed in /admin/stats and /metrics: every one not closed first, then closed ones up to this many. */
export const MAX_LISTED_CIRCUITS = 500;
/** The epoch clock every thread shares. */
const ORIGIN = performance.timeOrigin;

/** Stands for every combination without a slot: always closed, and what it is told is dropped. */
class Untracked extends Circuit {
  override record(): void {}
}

export class HealthRegistry {
  /** This thread's views of the shared circuits, by id. */
  private readonly circuits = new Map<string, Circuit>();
  private readonly untracked: Circuit;

  constructor(
    readonly opts: CircuitOptions,
    private readonly table: SharedTable = new SharedTable(4_096, CIRCUIT_INTS, CIRCUIT_FLOATS),
  ) {
    this.untracked = new Untracked(opts);
  }

  /**
   * The circuit of (key, target's model), to ask whether it may be tried or to record a success.
   * Declared targets cache theirs in `target.circuits`, indexed by key id, so the request path does no
   * string building or Map lookup. A target made at run time (no cache) gets the shared circuit if
   * one exists, else the untracked one: asking claims nothing.
   */
  circuit(key: CircuitKey, target: CircuitTarget): Circuit {
    const cache = target.circuits;
    if (cache !== undefined) {
      const c = cache[key.id];
      if (c !== undefined) return c;
      return (cache[key.id] = this.lookup(key, target.model));
    }
    const known = this.circuits.get(`${key.slot}:${target.model}`);
    if (known !== undefined) return known;
    return this.table.has(`${key.slot}:${target.model}`) ? this.lookup(key, target.model) : this.untracked;
  }

  /**
   * The circuit to record a failure into: a target made at run time claims its slot now, while the
   * table is under three quarters full. The last quarter is left to the config's targets (a reload's
   * new ones claim theirs at load): failures of made-up model names during an outage filled a table
   * of 16,384 in under a minute, and a nearly full table is slow to search.
   */
  failing(key: CircuitKey, target: CircuitTarget): Circuit {
    if (target.circuits !== undefined) return this.circuit(key, target);
    const c = this.circuit(key, target);
    if (c !== this.untracked || this.table.claimed >= this.table.slots * RUNTIME_SHARE) return c;
    return this.lookup(key, target.model);
  }

  /**
   * Claims the circuits of the config's own targets at load, each (key, model) a key may serve, so
   * they are tracked however many run-time combinations come later. Returns how many could not be
   * (the table is full): 0 unless more than MAX_CIRCUITS were ever declared or failed.
   */
  claimDeclared(pairs: Iterable<readonly [CircuitKey, CircuitTarget]>): number {
    let full = 0;
    for (const [key, target] of pairs) if (this.circuit(key, target) === this.untracked) full++;
    return full;
  }

  private lookup(key: CircuitKey, model: string): Circuit {
    const id = `${key.slot}:${model}`;
    const known = this.circuits.get(id);
    if (known !== undefined) return known;
    const c = this.view(id);
    if (c === null) return this.untracked;
    this.circuits.set(id, c);
    return c;
  }

  /** A view of the shared circuit `id` (claimed if no thread has met it yet), or null when the table is full. */
  private view(id: string): Circuit | null {
    const s = this.table.slot(id);
    return s < 0 ? null : this.viewAt(s);
  }

  /** The circuit in slot `s`, read in place. */
  private viewAt(s: number): Circuit {
    return new Circuit(this.opts, { i32: this.table.i32, i32At: this.table.intBase(s), f64: this.table.f64, f64At: this.table.floatBase(s) }, ORIGIN);
  }

  /** Error rate and latency of a target over its keys' windows; null without data. */
  targetStats(target: CircuitTarget, keys: readonly CircuitKey[], now: number): { errorRate: number; latencyMs: number; requests: number } | null {
    let ok = 0;
    let failed = 0;
    let latency = 0;
    let withLatency = 0;
    for (const k of keys) {
      const id = `${k.slot}:${target.model}`;
      // Another thread may have made it: look in the shared table too.
      const c = this.circuits.get(id) ?? (this.table.has(id) ? this.lookup(k, target.model) : undefined);
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
    // Every circuit of the process, whichever thread made it.
    const all: Array<[string, Circuit]> = [];
    const bySlot = new Map<number, CircuitKey>();
    for (const k of keysById.values()) bySlot.set(k.slot, k);
    // By slot, not by id: a listed id is cut at 128 bytes, and looking the cut id up would claim an
    // empty slot of its own (an open circuit of a long model name showed as closed).
    for (const [id, slot] of this.table.entries()) all.push([id, this.circuits.get(id) ?? this.viewAt(slot)]);
    for (const closed of [false, true]) {
      for (const [id, c] of all) {
        if ((c.state === 'closed') !== closed) continue;
        if (listed++ >= MAX_LISTED_CIRCUITS) return out;
        const colon = id.indexOf(':');
        const key = bySlot.get(Number(id.slice(0, colon)));
        if (key === undefined) continue;
        // An open circuit whose cooldown is over lets the next request through as its probe: half-open
        // in effect (the dashboard showed it open for minutes after, until a request came).
        const state = c.state === 'open' && c.available(now) ? 'half_open' : c.state;
        out[`${key.provider.name}/${key.name}/${id.slice(colon + 1)}`] = { state, errorRate: Math.round(c.errorRate(now) * 1000) / 1000, latencyMs: Math.round(c.latencyMs * 10) / 10 };
      }
    }
    return out;
  }
}
