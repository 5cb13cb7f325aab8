// A replica whose Redis is down when it starts (a deploy or a restart during an outage): it starts and
// serves the config's keys, refuses every other request (the admin API's keys are unknown, and
// "no key exists" must not let everyone in), and reads the admin API's keys once Redis is back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { Redis } from 'ioredis';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/gateway.ts';
import { digestOf } from '../../src/governance/directory.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const CONFIGURED = 'vk-value-configured-0123456789';
const MADE = 'vk-value-made-by-admin-api-0123';
let redis: TestRedis;
let mock: MockHandle;

beforeAll(async () => {
  redis = await startRedis();
  mock = await startMock({ name: 'mock' }, { port: 0 });
});
afterAll(async () => {
  await mock.close();
  await redis.stop();
});

async function chat(url: string, key: string | null): Promise<number> {
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : { authorization: `Bearer ${key}` }) },
    body: JSON.stringify({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.text();
  return r.statusCode;
}

it("starts with Redis down, serves the config's keys and no others, and reads the admin API's keys once Redis is back", async () => {
  // An admin-made key, stored while Redis was up.
  const admin = new Redis(redis.url);
  await admin.hset('mg:gov:key', 'vk-made', JSON.stringify({ id: 'vk-made', digest: digestOf(MADE), createdAt: new Date().toISOString(), limits: {} }));
  admin.disconnect();
  await redis.stop();
  const gw = await startGateway(
    validateConfig({ version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'] } }, governance: { store: { redis: redis.url }, virtualKeys: [{ id: 'cfg', value: CONFIGURED }] } }, {}),
    { host: '127.0.0.1', port: 0 },
  );
  try {
    expect(await chat(gw.url, CONFIGURED)).toBe(200);
    expect(await chat(gw.url, null)).toBe(401);
    expect(await chat(gw.url, MADE)).toBe(401);
    // An admin write meanwhile is the documented 503, not a 500.
    const write = await request(`${gw.url}/admin/virtual-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(write.statusCode).toBe(503);
    expect(((await write.body.json()) as { error: { code: string } }).error.code).toBe('governance_unavailable');
    await redis.restart(); // empty: the key is written again, as a replica with the data would have it
    const back = new Redis(redis.url);
    await back.hset('mg:gov:key', 'vk-made', JSON.stringify({ id: 'vk-made', digest: digestOf(MADE), createdAt: new Date().toISOString(), limits: {} }));
    back.disconnect();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = await chat(gw.url, MADE);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(await chat(gw.url, null)).toBe(401);
  } finally {
    await gw.close();
  }
}, 30_000);
