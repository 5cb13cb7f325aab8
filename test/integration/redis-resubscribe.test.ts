// The Redis stores' subscribers after a reconnect. ioredis's own resubscribe has no rejection handler:
// a store closed (a config reload, a shutdown) after a Redis blip, before Redis answered that
// SUBSCRIBE, left an unhandled rejection ("Connection is closed."), and one ends a request thread.
// A proxy cuts the connections, then swallows the reconnected subscriber's SUBSCRIBE so the close
// always comes before its answer.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisQuota } from '../../src/state/quota-redis.ts';
import { RedisEntities } from '../../src/governance/entities-redis.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let redis: TestRedis;
let proxy: TcpProxy;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => {
  unhandled.push(e);
};

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  proxy = await startTcpProxy(redis.port);
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await proxy.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Once the store's first SUBSCRIBE is answered: cuts its connections, and closes it while Redis has not answered the next one. */
async function closeWhileResubscribing(store: { close(): Promise<void> }): Promise<void> {
  await sleep(50);
  const resubscribed = proxy.swallow('subscribe');
  proxy.cut();
  await resubscribed;
  await store.close();
  await sleep(50);
}

describe('a store closed while its subscriber resubscribes after a reconnect', () => {
  it('the quota store: no unhandled rejection', async () => {
    const store = new RedisQuota({ url: `redis://127.0.0.1:${proxy.port}`, onFailure: { permits: 'open', spend: 'closed' }, reconnectMaxMs: 50 });
    expect(await store.whenReady()).toBe(true);
    await closeWhileResubscribing(store);
    expect(unhandled).toEqual([]);
  });

  it('the entity store: no unhandled rejection', async () => {
    const store = new RedisEntities(`redis://127.0.0.1:${proxy.port}`);
    await store.load();
    await closeWhileResubscribing(store);
    expect(unhandled).toEqual([]);
  });
});
