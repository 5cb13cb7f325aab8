// The governance of one loaded config: who may call (the directory of virtual keys, teams and
// customers), the counters their limits are kept in, what answers cost, and the admin key. The
// directory is swapped whole when the admin API changes it; the store outlives config reloads.
import type { Counter, QuotaStore } from '../state/quota.ts';
import { Directory, type DirectorySource } from './directory.ts';
import type { EntitySnapshot, EntityStore } from './entities.ts';
import { existsSync } from 'node:fs';
import { RedisEntities } from './entities-redis.ts';
import { SqliteEntities } from './entities-sqlite.ts';
import { sameSecret } from './directory.ts';
import type { FailurePolicy } from './admission.ts';
import { hkdfSync } from 'node:crypto';

/** Usage of one answer as priced: input excludes cache reads and writes (Anthropic's semantics). */
export interface PricedUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Pricer {
  /** USD, or null when neither the config nor the catalog knows the model. */
  costUsd(providerType: string, providerName: string, model: string, usage: PricedUsage): number | null;
}

export class Governance {
  /** Replaced whole when the admin API's entities change (here or on another replica); read once per request. */
  directory: Directory;
  /** Where the admin API's entities are kept (set by the gateway at start), or null before. */
  entities: EntityStore | null = null;
  /** The admin API's entities as last loaded. */
  stored: EntitySnapshot = { keys: [], teams: [], customers: [] };

  constructor(
    /** The config's own entities: read-only to the admin API. */
    readonly configured: DirectorySource,
    directory: Directory,
    readonly store: QuotaStore,
    readonly prices: Pricer,
    private readonly adminKey: string | null,
    readonly protectMetrics: boolean,
    readonly failure: FailurePolicy,
    /** Where the admin API's entities go: Redis when the counters are there, else this SQLite file. */
    private readonly where: { readonly redis: string | null; readonly db: string },
  ) {
    this.directory = directory;
  }

  /**
   * At start: follow the admin API's entities where they already are (Redis, or an existing SQLite
   * file). A gateway whose admin API was never used creates no file.
   */
  async open(): Promise<void> {
    if (this.where.redis !== null) await this.openRedis(this.where.redis);
    else if (existsSync(this.where.db)) await this.attach(new SqliteEntities(this.where.db));
    else {
      // Another replica on this host may create the file with its first admin write: look for it.
      this.waiting = setInterval(() => {
        if (this.entities === null && existsSync(this.where.db)) void this.entityStore().catch(() => {});
        if (this.entities !== null) this.stopWaiting();
      }, 1_000);
      this.waiting.unref();
    }
  }

  private waiting: NodeJS.Timeout | null = null;

  /**
   * The entities in Redis. Unreachable at start (or at a reload), the gateway still starts and serves,
   * as `onFailure` lets it, instead of failing until Redis is back (a deploy or a restart during a Redis
   * outage lost the replica). Meanwhile every request needs a key the config declares: the entities'
   * keys are unknown, and without them a gateway whose keys were all made through the admin API would
   * see none and let every request in. Tried again every 2 s until they load.
   */
  private async openRedis(url: string): Promise<void> {
    const store = new RedisEntities(url);
    try {
      await this.attach(store);
      return;
    } catch (err) {
      this.entities = null;
      await store.close().catch(() => {});
      // A reload knows the entities its running plan had (inherit): those stay; a start knows none.
      const known = this.stored.keys.length > 0;
      this.directory = known ? this.build(this.stored, true) : new Directory({ ...this.configured, requireKey: true });
      process.stderr.write(`microgate: governance: the admin API's keys, teams and customers could not be read from Redis (${err instanceof Error ? err.message : String(err)}); ${known ? 'the last known ones are kept' : "only the config's keys are accepted"} until they can\n`);
    }
    this.waiting = setInterval(() => {
      if (this.entities !== null) {
        this.stopWaiting();
        return;
      }
      if (this.opening !== null) return; // a try in flight (this one's, or an admin write's)
      this.entityStore().then(
        () => {
          this.stopWaiting();
          process.stderr.write("microgate: governance: the admin API's keys, teams and customers are read from Redis again\n");
        },
        () => {},
      );
    }, 2_000);
    this.waiting.unref();
  }

  private stopWaiting(): void {
    if (this.waiting !== null) clearInterval(this.waiting);
    this.waiting = null;
  }

  /** The entity store, created on the first write through the admin API. */
  entityStore(): Promise<EntityStore> {
    // One store however many callers ask at once (an admin write and the file watch, say).
    this.opening ??= (async () => {
      if (this.entities === null) {
        const store = this.where.redis !== null ? new RedisEntities(this.where.redis) : new SqliteEntities(this.where.db);
        try {
          await this.attach(store);
        } catch (err) {
          // Not reachable now (Redis down): the next caller, or openRedis's retry, tries again.
          this.entities = null;
          this.opening = null;
          await store.close().catch(() => {});
          throw err;
        }
      }
      return this.entities!;
    })();
    return this.opening;
  }

  private opening: Promise<EntityStore> | null = null;

  /**
   * Set by the gateway: resolves once every other request thread of this process has loaded the
   * admin API's latest change (server/peers.ts). Other processes follow through the store's onChange.
   */
  changed: () => Promise<void> = async () => {};

  /** Another request thread changed the entities: load them now rather than at the store's next poll. */
  async reload(): Promise<void> {
    if (this.entities === null) {
      await this.entityStore();
      return;
    }
    this.apply(await this.entities.load());
  }

  async closeEntities(): Promise<void> {
    this.stopWaiting();
    this.opening = null;
    const e = this.entities;
    this.entities = null;
    if (e !== null) await e.close();
  }

  /**
   * The directory the config and `stored` make. Throws on a reference to an unknown team or customer
   * (an admin call that would store one is refused), unless `skipDangling` (a snapshot already stored:
   * such records are left out, see Directory).
   */
  build(stored: EntitySnapshot, skipDangling = false): Directory {
    const c = this.configured;
    return new Directory(
      {
        customers: [...c.customers, ...stored.customers.map((x) => ({ ...x, source: 'api' as const }))],
        teams: [...c.teams, ...stored.teams.map((x) => ({ ...x, source: 'api' as const }))],
        virtualKeys: [...c.virtualKeys, ...stored.keys.map((x) => ({ ...x, source: 'api' as const }))],
        requireKey: c.requireKey === true,
      },
      skipDangling,
    );
  }

  /**
   * A reload's governance starts from what the running one knew of the admin API's entities: a store
   * found empty then is one that lost them (apply), not one that never had any. Built fresh, the
   * reload of a gateway whose Redis had restarted empty let every client in without a key.
   */
  inherit(previous: Governance): void {
    if (previous.stored.keys.length === 0) return;
    this.stored = previous.stored;
    this.directory = this.build(this.stored, true);
  }

  /**
   * Applies a snapshot of the admin API's entities. A snapshot with no keys, from a store that had
   * some and where no one deleted the last on purpose (EntitySnapshot.opened), is a store that lost
   * them (a Redis restarted without persistence, flushed, or failed over to an empty replica): applied,
   * it would open the gateway to every client. The last known entities stay, are written back to the
   * store (EntityStore.restore: so that the next admin write does not become every replica's whole
   * truth), and it is said once.
   */
  apply(stored: EntitySnapshot): void {
    if (stored.keys.length === 0 && this.stored.keys.length > 0 && stored.opened !== true) {
      if (!this.saidLost) {
        this.saidLost = true;
        process.stderr.write(`microgate: governance: the entity store holds no virtual keys though it held ${this.stored.keys.length} and the last was not deleted with ?openGateway=true (was it emptied?): keeping the last known keys, teams and customers and writing them back; access stays denied by default\n`);
      }
      // After a start during an outage, the directory is the config's alone: the known entities again.
      this.directory = this.build(this.stored, true);
      const known = this.stored;
      this.entities?.restore(known).then(
        (wrote) => void (wrote && process.stderr.write(`microgate: governance: wrote ${known.keys.length} virtual keys, ${known.teams.length} teams and ${known.customers.length} customers back to the entity store\n`)),
        () => {},
      );
      return;
    }
    this.saidLost = false;
    const d = this.build(stored, true);
    // Ids only: no value of a key is in the directory's problems. Said once per change of them.
    const skipped = d.skipped.join('; ');
    if (skipped !== this.lastSkipped && skipped !== '') process.stderr.write(`microgate: governance: left out of the stored entities, so denied until fixed: ${skipped}\n`);
    this.lastSkipped = skipped;
    this.directory = d;
    this.stored = stored;
    this.warm();
  }

  /** Leases the first permits of every counter ahead of its first request (which would otherwise wait for them). */
  warm(): void {
    if (this.store.warm === undefined) return;
    const { permits, spend } = this.counters();
    this.store.warm(permits, spend, Date.now());
  }

  /** Every key's, team's and customer's counters: permits (requests per minute) and spend (tokens, budget). */
  counters(): { permits: Counter[]; spend: Counter[] } {
    const d = this.directory;
    const levels = [...d.keys.values()].map((k) => k.limits).concat([...d.teams.values()].map((t) => t.limits), [...d.customers.values()].map((c) => c.limits));
    return { permits: levels.map((l) => l.rpm).filter((c) => c !== null), spend: levels.flatMap((l) => [l.tpm, l.budget]).filter((c) => c !== null) };
  }

  /** Starts keeping the admin API's entities in `store`: loads them, and follows other replicas' changes. */
  async attach(store: EntityStore): Promise<void> {
    this.entities = store;
    this.apply(await store.load());
    store.onChange(() => {
      // A stored record naming a team or customer that is gone is left out (Directory); should a
      // snapshot still not build, the current directory stays until the next change: thrown here, it
      // would be an unhandled rejection, which ends a request thread.
      void store.load().then(
        (s) => {
          try {
            this.apply(s);
          } catch {
            // kept: the directory of the last snapshot that built
          }
        },
        () => {},
      );
    });
  }

  get hasAdminKey(): boolean {
    return this.adminKey !== null;
  }

  /**
   * A 32-byte key derived from the admin key for `label` (HKDF-SHA256), or null without an admin key:
   * the dashboard signs its session cookies with one (server/ui-session.ts), so every thread and
   * replica with the same admin key accepts them, and the admin key itself never leaves this class.
   */
  derivedKey(label: string): Buffer | null {
    if (this.adminKey === null) return null;
    let k = this.derived.get(label);
    if (k === undefined) this.derived.set(label, (k = Buffer.from(hkdfSync('sha256', this.adminKey, 'microgate', label, 32))));
    return k;
  }

  private readonly derived = new Map<string, Buffer>();
  /** A store that lost its keys has been said on stderr (apply). */
  private saidLost = false;
  /** The stored entities the last directory left out, as said on stderr. */
  private lastSkipped = '';

  /** A request to /admin/* (or /metrics when protected) presents the admin key. */
  isAdmin(authorization: string | undefined): boolean {
    if (this.adminKey === null || authorization === undefined) return false;
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return m !== null && sameSecret(m[1]!, this.adminKey);
  }
}

/** The secret a client presents: `Authorization: Bearer <value>` (OpenAI's SDKs) or `x-api-key` (Anthropic's). */
export function presentedKey(headers: Record<string, string>): string | null {
  const auth = headers.authorization;
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const v = auth.slice(7).trim();
    if (v !== '') return v;
  }
  const x = headers['x-api-key'];
  return x !== undefined && x !== '' ? x.trim() : null;
}
