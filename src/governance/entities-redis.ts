// The admin API's entities in Redis, for replicas on several hosts: one hash per kind
// (mg:gov:key, mg:gov:team, mg:gov:customer: id → JSON), and a message on mg:gov:changed after each
// write, so every replica reloads at once. Admin calls are not on the request path: they may await.
import { Redis } from 'ioredis';
import { digestField, type EntityKind, type EntitySnapshot, type EntityStore, type KeyCreation, type KeyRecord, type KeyRemoval } from './entities.ts';

const CHANNEL = 'mg:gov:changed';
const hashOf = (kind: EntityKind): string => `mg:gov:${kind}`;
/** Set when the last key was deleted on purpose (EntitySnapshot.opened); a new key clears it. */
const OPENED = 'mg:gov:opened';

/**
 * Stores the key unless its id or its value (digest) is taken, and clears OPENED when it was made.
 * KEYS: key hash, OPENED. ARGV: id, JSON, the JSON's digest field. 1 made, 0 id taken, 2 value taken.
 * The value is found by reading every key (admin writes are rare; no index to keep in step).
 */
const CREATE_KEY = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if string.find(v, ARGV[3], 1, true) then return 2 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;

/** Removes a key unless it is the last and ARGV[2] is '1'; marks OPENED when the last goes. 0 missing, 1 removed, 2 last. */
const REMOVE_KEY = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = redis.call('HLEN', KEYS[1])
if n == 1 and ARGV[2] == '1' then return 2 end
redis.call('HDEL', KEYS[1], ARGV[1])
if n == 1 then redis.call('SET', KEYS[2], '1') end
return 1`;

/**
 * Writes back a lost store (EntityStore.restore). KEYS: the key, team and customer hashes, OPENED.
 * ARGV: the number of key, team and customer records, then id and JSON of each, in that order.
 */
const RESTORE = `
if redis.call('HLEN', KEYS[1]) > 0 or redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
local a = 4
for k = 1, 3 do
  for _ = 1, tonumber(ARGV[k]) do
    redis.call('HSETNX', KEYS[k], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
end
return 1`;

export class RedisEntities implements EntityStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly listeners: Array<() => void> = [];
  /** Set on this process's own publishes, so it does not reload what it has just applied. */
  private readonly origin = `${process.pid}-${Math.random().toString(36).slice(2)}`;

  constructor(url: string) {
    const opts = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false } as const;
    this.client = new Redis(url, opts);
    // Subscribed on every connection below, not by ioredis: its own resubscribe after a reconnect has
    // no rejection handler, so a close before Redis answers it (a reload or shutdown right after a Redis
    // blip) was an unhandled rejection, which ends a request thread.
    this.sub = new Redis(url, { ...opts, autoResubscribe: false });
    // Errors surface as rejected admin calls; connection errors must not become unhandled events.
    this.client.on('error', () => {});
    this.sub.on('error', () => {});
    this.sub.on('message', (_channel: string, from: string) => {
      if (from !== this.origin) for (const l of this.listeners) l();
    });
    // Pub/sub delivers nothing while the subscriber is disconnected: after every reconnection the
    // entities are read again, or a key deleted or rotated meanwhile would stay valid on this replica
    // until some later change.
    let connectedBefore = false;
    this.sub.on('ready', () => {
      this.sub.subscribe(CHANNEL).catch(() => {});
      if (connectedBefore) for (const l of this.listeners) l();
      connectedBefore = true;
    });
  }

  async load(): Promise<EntitySnapshot> {
    const [keys, teams, customers] = await Promise.all((['key', 'team', 'customer'] as const).map((k) => this.client.hvals(hashOf(k))));
    const opened = await this.client.exists(OPENED);
    const parse = <T>(values: string[]): T[] => values.map((v) => JSON.parse(v) as T);
    const out: EntitySnapshot = { keys: parse(keys!), teams: parse(teams!), customers: parse(customers!) };
    if (opened > 0) out.opened = true;
    return out;
  }

  async createKey(record: KeyRecord): Promise<KeyCreation> {
    const r = (await this.client.eval(CREATE_KEY, 2, hashOf('key'), OPENED, record.id, JSON.stringify(record), digestField(record.digest))) as number;
    if (r === 1) await this.client.publish(CHANNEL, this.origin);
    return r === 1 ? 'made' : r === 2 ? 'value' : 'id';
  }

  async removeKey(id: string, keepOne: boolean): Promise<KeyRemoval> {
    const r = (await this.client.eval(REMOVE_KEY, 2, hashOf('key'), OPENED, id, keepOne ? '1' : '0')) as number;
    if (r === 1) await this.client.publish(CHANNEL, this.origin);
    return r === 1 ? 'removed' : r === 2 ? 'last' : 'missing';
  }

  async put(kind: EntityKind, record: { id: string }): Promise<void> {
    await this.client.hset(hashOf(kind), record.id, JSON.stringify(record));
    await this.client.publish(CHANNEL, this.origin);
  }

  async remove(kind: EntityKind, id: string): Promise<boolean> {
    const n = await this.client.hdel(hashOf(kind), id);
    await this.client.publish(CHANNEL, this.origin);
    return n > 0;
  }

  async restore(s: EntitySnapshot): Promise<boolean> {
    const lists = [s.keys, s.teams, s.customers];
    const args = [...lists.map((l) => String(l.length)), ...lists.flatMap((l) => l.flatMap((r) => [r.id, JSON.stringify(r)]))];
    const wrote = (await this.client.eval(RESTORE, 4, hashOf('key'), hashOf('team'), hashOf('customer'), OPENED, ...args)) === 1;
    if (wrote) await this.client.publish(CHANNEL, this.origin);
    return wrote;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.client.disconnect();
  }
}
