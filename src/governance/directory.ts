// Who may call the gateway: virtual keys, the teams and customers they belong to, and the limits of
// each, compiled into lookups the request path reads without allocating. A key is found by the
// SHA-256 of the value a client presents (the value itself is never kept: a digest is compared, not a
// secret, so the lookup leaks nothing useful through its timing). Built from the config and from the
// entities created through the admin API; a change builds a new directory and swaps it in whole.
import { hash, timingSafeEqual } from 'node:crypto';
import type { Counter } from '../state/quota.ts';
import type { LimitsConfig } from '../config/schema.ts';

/** One level's limits as counters; null where the level sets none. */
export interface LevelLimits {
  readonly rpm: Counter | null;
  readonly tpm: Counter | null;
  readonly budget: Counter | null;
}

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly limits: LevelLimits;
  /** Defined in the config (read-only to the admin API) or created through it. */
  readonly source: 'config' | 'api';
}

export interface Team {
  readonly id: string;
  readonly name: string;
  readonly customer: Customer | null;
  readonly limits: LevelLimits;
  readonly source: 'config' | 'api';
}

export interface VirtualKey {
  readonly id: string;
  readonly name: string;
  readonly team: Team | null;
  readonly customer: Customer | null;
  /** Model names as addressed that the key may use; null: any. */
  readonly models: ReadonlySet<string> | null;
  /** Providers it may reach; null: any. */
  readonly providers: ReadonlySet<string> | null;
  readonly limits: LevelLimits;
  readonly source: 'config' | 'api';
  /**
   * Whom the ids the gateway seals for this key belong to (Responses, files, batches): its id, and for a
   * key of the admin API its creation time too, so a key deleted and made again under the same id (for
   * someone else, say) does not inherit what the first was given. Rotating the value keeps it.
   */
  readonly owner: string;
  /** The key, then its team, then its customer: every level whose limits apply, tightest found by admission. */
  readonly levels: readonly LevelLimits[];
  /** The requests-per-minute counters of those levels: one permit each per request. */
  readonly permits: readonly Counter[];
  /** The token and budget counters of those levels: read before admission when a shared store's view is old. */
  readonly spend: readonly Counter[];
  /** Its ids for scoped rules and the request record. */
  readonly tenant: Readonly<Record<'virtualKey' | 'team' | 'customer', string>>;
  /** For rules and telemetry: {id, name} maps. */
  readonly vars: { readonly virtualKey: Readonly<Record<string, string>>; readonly team: Readonly<Record<string, string>>; readonly customer: Readonly<Record<string, string>> };
}

/** A virtual key's secret as the directory knows it: its SHA-256 digest (hex). */
export const digestOf = (value: string): string => hash('sha256', value, 'hex');

export function compileLimits(prefix: string, l: LimitsConfig): LevelLimits {
  return Object.freeze({
    rpm: l.requestsPerMinute === undefined ? null : Object.freeze({ id: `${prefix}:rpm`, limit: l.requestsPerMinute, period: '1m' as const }),
    tpm: l.tokensPerMinute === undefined ? null : Object.freeze({ id: `${prefix}:tpm`, limit: l.tokensPerMinute, period: '1m' as const }),
    budget: l.budget === undefined ? null : Object.freeze({ id: `${prefix}:usd:${l.budget.period}`, limit: l.budget.usd, period: l.budget.period }),
  });
}

const NONE: Readonly<Record<string, string>> = Object.freeze({ id: '', name: '' });
/** Presented values remembered per directory (oldest dropped first). */
const RECENT_MAX = 1024;

/** What the directory is built from: the config's entities and the admin API's, in one shape. */
export interface DirectorySource {
  customers: ReadonlyArray<{ id: string; name?: string; limits: LimitsConfig; source: 'config' | 'api' }>;
  teams: ReadonlyArray<{ id: string; name?: string; customer?: string; limits: LimitsConfig; source: 'config' | 'api' }>;
  virtualKeys: ReadonlyArray<{ id: string; name?: string; digest: string; team?: string; customer?: string; models?: readonly string[]; providers?: readonly string[]; limits: LimitsConfig; source: 'config' | 'api'; createdAt?: string }>;
  /** governance.requireVirtualKey: every request needs a key, even while none exists. */
  requireKey?: boolean;
}

export class Directory {
  readonly customers = new Map<string, Customer>();
  readonly teams = new Map<string, Team>();
  readonly keys = new Map<string, VirtualKey>();
  private readonly byDigest = new Map<string, VirtualKey>();

  /** governance.requireVirtualKey (admin.ts refuses to delete the last key without it). */
  readonly requireKey: boolean;

  /**
   * Entities of the admin API left out because they name a team or customer that no longer exists
   * (only when built with `skipDangling`).
   */
  readonly skipped: string[] = [];

  /**
   * Throws on references to unknown teams or customers (the config loader reports them with their path
   * first). `skipDangling`: an entity of the admin API with such a reference is left out instead, and
   * so are the keys of a team left out. Two replicas' admin calls at once (one deletes a team, the
   * other adds a key to it) can store such a record; refusing the whole snapshot froze every replica
   * on its last directory, so a key revoked afterwards stayed valid, and no replica could start.
   * Leaving the record out denies that key: the safe side.
   */
  constructor(src: DirectorySource, skipDangling = false) {
    this.requireKey = src.requireKey === true;
    const dangling = (source: 'config' | 'api', problem: string): void => {
      if (!skipDangling || source === 'config') throw new Error(problem);
      this.skipped.push(problem);
    };
    for (const c of src.customers) this.customers.set(c.id, Object.freeze({ id: c.id, name: c.name ?? c.id, limits: compileLimits(`customer:${c.id}`, c.limits), source: c.source }));
    for (const t of src.teams) {
      const customer = t.customer === undefined ? null : this.customers.get(t.customer);
      if (customer === undefined) {
        dangling(t.source, `team "${t.id}": unknown customer "${t.customer}"`);
        continue;
      }
      this.teams.set(t.id, Object.freeze({ id: t.id, name: t.name ?? t.id, customer, limits: compileLimits(`team:${t.id}`, t.limits), source: t.source }));
    }
    for (const k of src.virtualKeys) {
      const team = k.team === undefined ? null : this.teams.get(k.team);
      if (team === undefined) {
        dangling(k.source, `virtual key "${k.id}": unknown team "${k.team}"`);
        continue;
      }
      const own = k.customer === undefined ? null : this.customers.get(k.customer);
      if (own === undefined) {
        dangling(k.source, `virtual key "${k.id}": unknown customer "${k.customer}"`);
        continue;
      }
      // A key's customer is its team's: one naming another was silently moved to the team's. Refused
      // at load and by the admin API; a record already stored keeps the team's, as before.
      if (team?.customer != null && own !== null && team.customer.id !== own.id && !skipDangling) {
        throw new Error(`virtual key "${k.id}": customer "${own.id}" is not the customer of its team "${team.id}" ("${team.customer.id}")`);
      }
      const customer = team?.customer ?? own;
      const limits = compileLimits(`vk:${k.id}`, k.limits);
      const levels = [limits, ...(team === null ? [] : [team.limits]), ...(customer === null ? [] : [customer.limits])];
      const key: VirtualKey = Object.freeze({
        id: k.id,
        name: k.name ?? k.id,
        team,
        customer,
        models: k.models === undefined ? null : new Set(k.models),
        providers: k.providers === undefined ? null : new Set(k.providers),
        limits,
        source: k.source,
        owner: k.createdAt === undefined ? k.id : `${k.id}@${k.createdAt}`,
        levels: Object.freeze(levels),
        permits: Object.freeze(levels.map((l) => l.rpm).filter((c): c is Counter => c !== null)),
        spend: Object.freeze(levels.flatMap((l) => [l.tpm, l.budget]).filter((c): c is Counter => c !== null)),
        tenant: Object.freeze({ virtualKey: k.id, team: team?.id ?? '', customer: customer?.id ?? '' }),
        vars: Object.freeze({
          virtualKey: Object.freeze({ id: k.id, name: k.name ?? k.id }),
          team: team === null ? NONE : Object.freeze({ id: team.id, name: team.name }),
          customer: customer === null ? NONE : Object.freeze({ id: customer.id, name: customer.name }),
        }),
      });
      this.keys.set(k.id, key);
      this.byDigest.set(k.digest, key);
    }
  }

  /** Any virtual key exists (or governance.requireVirtualKey): access is then denied by default. */
  get enforced(): boolean {
    // A key left out for a dangling reference still exists: access stays denied by default, or a
    // directory whose every key was left out would let every request in.
    return this.requireKey || this.byDigest.size > 0 || this.skipped.length > 0;
  }

  /**
   * Values presented recently and the key they are: a client sends the same value on every request,
   * and its SHA-256 costs ~1 µs in the request path (bench/governance.ts). Only values that matched a
   * key are kept, so the cache cannot be grown by guessing; it lives as long as this directory (a
   * change to the keys builds a new one). A hit compares the whole value, as the digest map would.
   */
  private readonly recent = new Map<string, VirtualKey>();

  /** The key whose value this is, or null. */
  find(value: string): VirtualKey | null {
    const hit = this.recent.get(value);
    if (hit !== undefined) return hit;
    const k = this.byDigest.get(digestOf(value));
    if (k === undefined) return null;
    if (this.recent.size >= RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(value, k);
    return k;
  }
}

/** Constant-time equality of two secrets (the admin key): compared as digests, so lengths leak nothing. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(digestOf(a), 'hex'), Buffer.from(digestOf(b), 'hex'));
}
