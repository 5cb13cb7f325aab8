// Virtual keys, teams and customers created through the admin API, as stored: plain records (a key's
// value is never stored, only its SHA-256 digest). One store per gateway process, shared by replicas:
// a SQLite file (entities-sqlite.ts) on one host, or Redis (entities-redis.ts) across hosts. A change
// made by one replica reaches the others (onChange), which rebuild their directory.
import { z } from 'zod';
import { limits, tenantId } from '../config/schema.ts';

export const customerInput = z.strictObject({ name: z.string().max(200).optional(), limits });
export const teamInput = z.strictObject({ name: z.string().max(200).optional(), customer: tenantId.optional(), limits });
export const keyInput = z.strictObject({
  id: tenantId.optional(),
  name: z.string().max(200).optional(),
  /** Set by the caller, or generated (returned once). */
  value: z.string().min(16).max(256).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  team: tenantId.optional(),
  customer: tenantId.optional(),
  models: z.array(z.string().min(1).max(256)).min(1).optional(),
  providers: z.array(z.string().min(1)).min(1).optional(),
  limits,
});
// Without limits' default: zod applies a default under .partial() too, so a patch that does not mention
// limits (a rename) would have replaced the key's limits with none.
export const keyPatch = keyInput.omit({ id: true, value: true }).extend({ limits: limits.unwrap() }).partial();

export type CustomerRecord = { id: string } & z.output<typeof customerInput>;
export type TeamRecord = { id: string } & z.output<typeof teamInput>;
export type KeyRecord = { id: string; digest: string; createdAt: string } & Omit<z.output<typeof keyInput>, 'id' | 'value'>;

export type EntityKind = 'key' | 'team' | 'customer';

export interface EntitySnapshot {
  keys: KeyRecord[];
  teams: TeamRecord[];
  customers: CustomerRecord[];
  /**
   * The last key was deleted with ?openGateway=true and none made since: a store with no keys is
   * open on purpose. Without it, a store that had keys and answers none lost them (a Redis restarted
   * empty), and the gateway keeps denying by default (governance.ts).
   */
  opened?: boolean;
}

/** What createKey did: made it, or found a key with its id, or one with its value. */
export type KeyCreation = 'made' | 'id' | 'value';

/** The text a stored key's JSON holds for its digest (a hex string: nothing in it needs escaping). */
export const digestField = (digest: string): string => `"digest":${JSON.stringify(digest)}`;

/** What removeKey did: removed it, found none, or refused to remove the last key (which would open the gateway). */
export type KeyRemoval = 'removed' | 'missing' | 'last';

export interface EntityStore {
  readonly kind: 'sqlite' | 'redis';
  load(): Promise<EntitySnapshot>;
  put(kind: 'key', record: KeyRecord): Promise<void>;
  put(kind: 'team', record: TeamRecord): Promise<void>;
  put(kind: 'customer', record: CustomerRecord): Promise<void>;
  /**
   * Stores a new key unless one has its id or its value (its digest), in one step for every thread and
   * replica: two creates of one id both answered 201, and the first value returned never worked; two of
   * one value on two replicas both answered 201, and which tenant the value then was varied.
   */
  createKey(record: KeyRecord): Promise<KeyCreation>;
  /**
   * Removes a key in one step with its check: with `keepOne`, the store's last key is not removed
   * ('last'), whatever other threads and replicas delete at the same moment (two deletes of the last
   * two keys each saw the other key, and the gateway was open). Removing the last key records that
   * the store is open on purpose (EntitySnapshot.opened); creating one clears it.
   */
  removeKey(id: string, keepOne: boolean): Promise<KeyRemoval>;
  /** True when it existed. */
  remove(kind: 'team' | 'customer', id: string): Promise<boolean>;
  /**
   * Writes back the entities a replica last knew into a store that lost them: only when the store has
   * no key and was not opened on purpose, in one step, and never over a record it holds (true when it
   * wrote). A Redis restarted empty otherwise took the first admin write for the whole truth: every
   * other replica revoked the keys it knew, and the replica that wrote could no longer delete them.
   */
  restore(snapshot: EntitySnapshot): Promise<boolean>;
  /** Called when another process changed the entities (this one's own changes are applied by the caller). */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}
