// The admin API's entities in Redis, for replicas on several hosts: one hash per kind
// (mg:gov:key, mg:gov:team, mg:gov:customer: id → JSON), and a message on mg:gov:changed after each
// write, so every replica reloads at once. Admin calls are not on the request path: they may await.
import { Redis } from 'ioredis';
import type { EntityKind, EntitySnapshot, EntityStore } from './entities.ts';

const CHANNEL = 'mg:gov:changed';
const hashOf = (kind: EntityKind): string => `mg:gov:${kind}`;

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
    this.sub = new Redis(url, opts);
    // Errors surface as rejected admin calls; connection errors must not become unhandled events.
    this.client.on('error', () => {});
    this.sub.on('error', () => {});
    void this.sub.subscribe(CHANNEL).catch(() => {});
    this.sub.on('message', (_channel: string, from: string) => {
      if (from !== this.origin) for (const l of this.listeners) l();
    });
    // Pub/sub delivers nothing while the subscriber is disconnected: after every reconnection the
    // entities are read again, or a key deleted or rotated meanwhile would stay valid on this replica
    // until some later change.
    let connectedBefore = false;
    this.sub.on('ready', () => {
      if (connectedBefore) for (const l of this.listeners) l();
      connectedBefore = true;
    });
  }

  async load(): Promise<EntitySnapshot> {
    const [keys, teams, customers] = await Promise.all((['key', 'team', 'customer'] as const).map((k) => this.client.hvals(hashOf(k))));
    const parse = <T>(values: string[]): T[] => values.map((v) => JSON.parse(v) as T);
    return { keys: parse(keys!), teams: parse(teams!), customers: parse(customers!) };
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

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.client.disconnect();
  }
}
