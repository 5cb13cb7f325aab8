// Counters that hold across replicas: two gateway processes sharing one real Redis enforce one limit
// between them (never more than N per minute, at least 90% of N), and a Redis that goes away mid-load
// is met by the failure policy (rate limits open, budgets closed), visible in /ready and /metrics, and
// recovered from. Counts, never timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startGatewayProcess } from '../helpers/process.ts';
import { Redis } from 'ioredis';
import { digestOf } from '../../src/governance/directory.ts';

const LIMITED = 'vk-value-limited-0123456789abcdef';
const BUDGETED = 'vk-value-budgeted-0123456789abcdef';
const OPEN = 'vk-value-open-0123456789abcdef';
const SMALL = 'vk-value-small-0123456789abcdef';
const WAITS = 'vk-value-waits-0123456789abcdef';
const N = 300;
/** A budget is kept only on a priced model (pipeline/govern.ts). */
const PRICES = { 'mock-small': { input: 1, output: 1 } };

let redis: TestRedis;
let mock: MockHandle;
const children: ChildProcess[] = [];
const agent = new Agent({ connections: 64 });

beforeAll(async () => {
  redis = await startRedis();
  mock = await startMock({ name: 'mock' }, { port: 0 });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await mock.close();
  await redis.stop();
});

const governance = () => ({
  store: { redis: redis.url },
  virtualKeys: [
    { id: 'vk-limited', value: LIMITED, limits: { requestsPerMinute: N } },
    { id: 'vk-budgeted', value: BUDGETED, limits: { budget: { usd: 100, period: '1d' as const } } },
    // A small limit: its few leased permits run out during the outage, and the policy admits the rest.
    { id: 'vk-open', value: OPEN, limits: { requestsPerMinute: 60 } },
    // Smaller than blocks can share out among replicas × request threads: leased per request.
    { id: 'vk-small', value: SMALL, limits: { requestsPerMinute: 10 } },
    { id: 'vk-waits', value: WAITS, limits: { requestsPerMinute: 5 } },
  ],
});

/** A gateway in its own process (test/helpers/process.ts), from a config file. */
async function spawnGateway(workers: number | 'auto' = 'auto'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mg-replica-'));
  writeFileSync(
    join(dir, 'microgate.json'),
    JSON.stringify({ version: 1, server: { port: 0, workers }, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: governance() }),
  );
  const gw = await startGatewayProcess(dir);
  children.push(gw.child);
  return gw.url;
}

async function chat(url: string, key: string, dispatcher: Agent = agent): Promise<number> {
  const r = await request(`${url}/v1/chat/completions`, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'mock/mock-small', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  });
  await r.body.text();
  return r.statusCode;
}

/** The load must fit in one minute window: start it early in a minute. */
async function startOfAMinute(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 40_000) await new Promise((r) => setTimeout(r, 60_000 - into + 200));
}

describe('two replicas, one Redis', () => {
  // Stopped with this block: a replica left running follows the later tests' entities, and writes its
  // own view back into a store those tests empty on purpose.
  afterAll(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it(`a limit of ${N} requests per minute admits at most ${N} between them, and at least 90% of it`, async () => {
    const [a, b] = await Promise.all([spawnGateway(), spawnGateway()]);
    await startOfAMinute();
    const statuses: number[] = [];
    const perReplica = { a: 0, b: 0 };
    // 2N requests, both replicas at once, 16 in flight each.
    let next = 0;
    const worker = (url: string, who: 'a' | 'b') => async () => {
      while (next < 2 * N) {
        next++;
        const s = await chat(url, LIMITED);
        statuses.push(s);
        if (s === 200) perReplica[who]++;
      }
    };
    await Promise.all([...Array.from({ length: 16 }, worker(a, 'a')), ...Array.from({ length: 16 }, worker(b, 'b'))]);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted).toBeLessThanOrEqual(N);
    expect(admitted).toBeGreaterThanOrEqual(0.9 * N);
    expect(perReplica.a).toBeGreaterThan(0);
    expect(perReplica.b).toBeGreaterThan(0);
  }, 90_000);

  it('a small limit (10 a minute) admits all 10 to one client on one connection, whatever the other request threads hold', async () => {
    // Three request threads: blocks of one permit leased ahead by each used to leave the client's thread
    // 10 less what the two idle ones held. Small limits are now leased per request.
    const url = await spawnGateway(3);
    await startOfAMinute();
    const one = new Agent({ connections: 1 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) statuses.push(await chat(url, SMALL, one));
      expect(statuses).toEqual([...Array(10).fill(200), ...Array(4).fill(429)]);
      // The refusal waits for the window's end, not a moment: the permits are spent, not on their way.
      const r = await request(`${url}/v1/chat/completions`, {
        dispatcher: one,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SMALL}` },
        body: JSON.stringify({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'x' }] }),
      });
      const body = (await r.body.json()) as { error: { code: string; message: string } };
      expect(r.statusCode).toBe(429);
      expect(body.error.code).toBe('rate_limit_exceeded');
      expect(body.error.message).toMatch(/Rate limit of 10 requests per minute of virtual key vk-small reached/);
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Each admitted request waited for its permit, on whichever of the three threads it landed; /metrics sums them.
      const waits = Number(/microgate_governance_permit_waits_total (\d+)/.exec(await (await request(`${url}/metrics`)).body.text())![1]);
      expect(waits).toBeGreaterThanOrEqual(10);
    } finally {
      await one.close();
    }
  }, 90_000);
});

describe('Redis going away mid-load', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway(
      validateConfig({ version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: governance() }, {}),
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(() => gw.close());

  const ready = async () => ((await (await request(`${gw.url}/ready`)).body.json()) as { governance: { connected: boolean } }).governance.connected;
  const up = async () => /microgate_governance_store_up\{store="redis"\} (\d)/.exec(await (await request(`${gw.url}/metrics`)).body.text())![1];

  it('rate limits fail open, budgets fail closed (503), both visible; service resumes after Redis restarts', async () => {
    expect(await chat(gw.url, BUDGETED)).toBe(200);
    expect(await ready()).toBe(true);
    await redis.stop();
    // The store notices within its command timeout; meanwhile nothing waits on it.
    for (let i = 0; i < 100 && (await ready()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await ready()).toBe(false);
    expect(await up()).toBe('0');
    const during = await Promise.all(Array.from({ length: 40 }, () => chat(gw.url, OPEN)));
    expect(during.filter((s) => s !== 200)).toEqual([]);
    expect(await chat(gw.url, BUDGETED)).toBe(503);
    // The budget's refusal was the failure policy's, and /metrics counts it.
    expect(Number(/microgate_governance_fail_closed_total (\d+)/.exec(await (await request(`${gw.url}/metrics`)).body.text())![1])).toBeGreaterThan(0);
    await redis.restart();
    for (let i = 0; i < 200 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await ready()).toBe(true);
    expect(await up()).toBe('1');
    let budgeted = 0;
    for (let i = 0; i < 100 && budgeted !== 200; i++) {
      budgeted = await chat(gw.url, BUDGETED);
      if (budgeted !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(budgeted).toBe(200);
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(Number(/microgate_governance_fail_open_total (\d+)/.exec(metrics)![1])).toBeGreaterThan(0);
  }, 60_000);

  it("a small limit's permit asked of a Redis that stopped answering: the request waits out the command timeout and the policy admits it; a client that leaves meanwhile breaks nothing", async () => {
    for (let i = 0; i < 200 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 50));
    redis.pause();
    try {
      const leaving = new AbortController();
      const left = request(`${gw.url}/v1/chat/completions`, {
        dispatcher: agent,
        method: 'POST',
        signal: leaving.signal,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WAITS}` },
        body: JSON.stringify({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'x' }] }),
      }).then(
        () => 'answered',
        (e: Error) => e.name,
      );
      const stays = chat(gw.url, WAITS);
      // A request whose own deadline is shorter than the store's command timeout: its deadline wins.
      const hurried = request(`${gw.url}/v1/chat/completions`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WAITS}`, 'x-microgate-timeout-ms': '100' },
        body: JSON.stringify({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'x' }] }),
      }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as { error: { code: string; message: string } } }));
      setTimeout(() => leaving.abort(), 100);
      expect(await left).toBe('AbortError');
      const h = await hurried;
      expect(h.status).toBe(504);
      expect(h.body.error.code).toBe('deadline_exceeded');
      expect(h.body.error.message).toMatch(/while it waited for a rate-limit permit/);
      // rateLimits: open (the default), once the lease timed out (500 ms) and marked Redis unreachable.
      expect(await stays).toBe(200);
    } finally {
      redis.resume();
    }
    for (let i = 0; i < 200 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await ready()).toBe(true);
    expect(await chat(gw.url, WAITS)).toBe(200);
    expect((await request(`${gw.url}/health`)).statusCode).toBe(200);
  }, 30_000);
});

describe("a small team limit is not taken by requests that other limits refuse", () => {
  it("a key whose token limit refuses every request takes none of its team's permits: its teammate gets all 5", async () => {
    const SPENT = 'vk-value-spent-0123456789abcdef';
    const MATE = 'vk-value-mate-0123456789abcdef';
    const gw = await startGateway(
      validateConfig(
        {
          version: 1,
          telemetry: { enabled: false },
          providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } },
          governance: {
            store: { redis: redis.url },
            teams: { crew: { limits: { requestsPerMinute: 5 } } },
            virtualKeys: [
              // Every request's estimate (its bytes / 4 plus max_tokens) is over 1 token: refused by the token limit.
              { id: 'vk-spent', value: SPENT, team: 'crew', limits: { tokensPerMinute: 1 } },
              { id: 'vk-mate', value: MATE, team: 'crew' },
            ],
          },
        },
        {},
      ),
      { host: '127.0.0.1', port: 0 },
    );
    try {
      await startOfAMinute();
      const refused = await Promise.all(Array.from({ length: 20 }, () => chat(gw.url, SPENT)));
      expect(refused.every((st) => st === 429)).toBe(true);
      const metrics = await (await request(`${gw.url}/metrics`)).body.text();
      expect(Number(/microgate_governance_permit_waits_total (\d+)/.exec(metrics)![1])).toBe(0);
      const mate: number[] = [];
      for (let i = 0; i < 7; i++) mate.push(await chat(gw.url, MATE));
      expect(mate).toEqual([200, 200, 200, 200, 200, 429, 429]);
    } finally {
      await gw.close();
    }
  }, 60_000);
});

describe('admin changes reach every replica', () => {
  it('a key made through one gateway is accepted by the other at once (Redis pub/sub), and deleted from both', async () => {
    const cfg = () =>
      validateConfig(
        { version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: governance() },
        {},
      );
    const [one, two] = await Promise.all([startGateway(cfg(), { host: '127.0.0.1', port: 0 }), startGateway(cfg(), { host: '127.0.0.1', port: 0 })]);
    try {
      const made = await request(`${one.url}/admin/virtual-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'vk-shared' }) });
      expect(made.statusCode).toBe(201);
      const value = ((await made.body.json()) as { value: string }).value;
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await chat(two.url, value);
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(200);
      const del = await request(`${two.url}/admin/virtual-keys/vk-shared`, { method: 'DELETE' });
      expect(del.statusCode).toBe(200);
      await del.body.text();
      for (let i = 0; i < 100 && status !== 401; i++) {
        status = await chat(one.url, value);
        if (status !== 401) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(401);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 30_000);

  it("/admin/usage reads shared spend from Redis: a replica that served none of a key's requests reports the same spend and tokens as the one that did", async () => {
    const SPENDER = 'vk-value-spender-0123456789abcdef';
    const cfg = () =>
      validateConfig(
        {
          version: 1,
          telemetry: { enabled: false },
          providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: { 'mock-small': { input: 1000, output: 1000 } } } },
          governance: { store: { redis: redis.url }, virtualKeys: [{ id: 'vk-spender', value: SPENDER, limits: { budget: { usd: 1000, period: '1d' as const }, tokensPerMinute: 1_000_000 } }] },
        },
        {},
      );
    const [one, two] = await Promise.all([startGateway(cfg(), { host: '127.0.0.1', port: 0 }), startGateway(cfg(), { host: '127.0.0.1', port: 0 })]);
    type Usage = { budget: { spentUsd: number }; tokensPerMinute: { used: number } };
    const usage = async (url: string): Promise<Usage> => {
      const body = (await (await request(`${url}/admin/usage`)).body.json()) as { virtualKeys: Array<{ id: string; usage: Usage }> };
      return body.virtualKeys.find((k) => k.id === 'vk-spender')!.usage;
    };
    try {
      // Both replicas have read the key's empty total at start (warm); only one serves it from now on.
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 5; i++) expect(await chat(one.url, SPENDER)).toBe(200);
      const served = await usage(one.url);
      const idle = await usage(two.url);
      expect(served.budget.spentUsd).toBeGreaterThan(0);
      expect(served.tokensPerMinute.used).toBeGreaterThan(0);
      // The idle replica used to report the total it read at start: $0 and 0 tokens.
      expect(idle.budget.spentUsd).toBeCloseTo(served.budget.spentUsd, 9);
      expect(idle.tokensPerMinute.used).toBe(served.tokensPerMinute.used);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 30_000);

  it('a change made while a replica was cut from Redis pub/sub reaches it when it reconnects; a stored key naming a team that is gone is left out, and later changes still apply', async () => {
    const gw = await startGateway(
      validateConfig({ version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: governance() }, {}),
      { host: '127.0.0.1', port: 0 },
    );
    const admin = new Redis(redis.url);
    try {
      // A key written with no message published: what a replica misses while its subscriber is down.
      const value = 'vk-value-missed-0123456789abcdef';
      await admin.hset('mg:gov:key', 'vk-missed', JSON.stringify({ id: 'vk-missed', digest: digestOf(value), createdAt: new Date().toISOString(), limits: {} }));
      expect(await chat(gw.url, value)).toBe(401);
      await admin.client('KILL', 'TYPE', 'pubsub');
      let status = 0;
      for (let i = 0; i < 150 && status !== 200; i++) {
        status = await chat(gw.url, value);
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(200);
      // A key naming a team that is not there, as two replicas' admin calls at once can leave it (one
      // deletes the team, the other adds a key to it): that key is refused, the others keep working,
      // and a revocation after it still takes effect (the whole snapshot used to be refused, so a
      // revoked key stayed valid on every replica).
      const dangling = 'vk-value-dangling-0123456789abcdef';
      await admin.hset('mg:gov:key', 'vk-dangling', JSON.stringify({ id: 'vk-dangling', digest: digestOf(dangling), createdAt: new Date().toISOString(), team: 'no-such-team', limits: {} }));
      await admin.publish('mg:gov:changed', 'another-replica');
      await new Promise((r) => setTimeout(r, 200));
      expect(await chat(gw.url, value)).toBe(200);
      expect(await chat(gw.url, dangling)).toBe(401);
      await admin.hdel('mg:gov:key', 'vk-missed');
      await admin.publish('mg:gov:changed', 'another-replica');
      for (let i = 0; i < 100 && status !== 401; i++) {
        status = await chat(gw.url, value);
        if (status !== 401) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(401);
      // And a replica starting now builds its directory from the same snapshot.
      const late = await startGateway(
        validateConfig({ version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: governance() }, {}),
        { host: '127.0.0.1', port: 0 },
      );
      expect(await chat(late.url, OPEN)).toBe(200);
      await late.close();
    } finally {
      await admin.hdel('mg:gov:key', 'vk-missed', 'vk-dangling');
      admin.disconnect();
      await gw.close();
    }
  }, 30_000);
});

describe('deny by default holds across replicas', () => {
  /** Two replicas whose only keys are the admin API's (none in the config). */
  const apiOnly = () =>
    validateConfig(
      { version: 1, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['mock-small'], pricing: PRICES } }, governance: { store: { redis: redis.url } } },
      {},
    );
  const call = async (url: string, method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    const r = await request(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.statusCode, json: (await r.body.json()) as { value?: string } };
  };
  const keyless = async (url: string) => {
    const r = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock/mock-small', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
    await r.body.text();
    return r.statusCode;
  };

  it('two deletes of the last two keys at once on two replicas: one is refused, and the gateway stays closed; two creates of one id: one is refused', async () => {
    const [one, two] = await Promise.all([startGateway(apiOnly(), { host: '127.0.0.1', port: 0 }), startGateway(apiOnly(), { host: '127.0.0.1', port: 0 })]);
    try {
      for (let round = 0; round < 5; round++) {
        const [a, b] = [`vk-race-a-${round}`, `vk-race-b-${round}`];
        expect((await call(one.url, 'POST', '/admin/virtual-keys', { id: a })).status).toBe(201);
        expect((await call(one.url, 'POST', '/admin/virtual-keys', { id: b })).status).toBe(201);
        // Both replicas know both keys before the race (each refused on its own view before the fix).
        const knows = async (url: string, id: string) => {
          const r = await request(`${url}/admin/virtual-keys/${id}`);
          await r.body.text();
          return r.statusCode === 200;
        };
        for (let i = 0; i < 200 && !((await knows(two.url, a)) && (await knows(two.url, b))); i++) await new Promise((r) => setTimeout(r, 10));
        const statuses = (await Promise.all([call(one.url, 'DELETE', `/admin/virtual-keys/${a}`), call(two.url, 'DELETE', `/admin/virtual-keys/${b}`)])).map((r) => r.status).sort();
        expect(statuses).toEqual([200, 409]);
        expect(await keyless(one.url)).toBe(401);
        expect(await keyless(two.url)).toBe(401);
        // The survivor goes only when asked in so many words (the other is gone: 404).
        const gone = [(await call(two.url, 'DELETE', `/admin/virtual-keys/${a}?openGateway=true`)).status, (await call(two.url, 'DELETE', `/admin/virtual-keys/${b}?openGateway=true`)).status];
        expect(gone.sort()).toEqual([200, 404]);
      }
      const made = await Promise.all([call(one.url, 'POST', '/admin/virtual-keys', { id: 'vk-dup' }), call(two.url, 'POST', '/admin/virtual-keys', { id: 'vk-dup' })]);
      expect(made.map((r) => r.status).sort()).toEqual([201, 409]);
      // Two keys of one value, on two replicas at once: one is refused too (both were made, and which
      // tenant the value then was varied).
      const shared = 'vk-value-chosen-twice-0123456789';
      const twins = await Promise.all([call(one.url, 'POST', '/admin/virtual-keys', { id: 'vk-twin-a', value: shared }), call(two.url, 'POST', '/admin/virtual-keys', { id: 'vk-twin-b', value: shared })]);
      expect(twins.map((r) => r.status).sort()).toEqual([201, 409]);
      const value = made.find((r) => r.status === 201)!.json.value!;
      for (let i = 0; i < 100 && (await chat(two.url, value)) !== 200; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await chat(one.url, value)).toBe(200);
      expect(await chat(two.url, value)).toBe(200);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 60_000);

  it('a store that loses its keys (a Redis restarted empty) does not open the gateway: the last known keys stay; a deletion on purpose does', async () => {
    const gw = await startGateway(apiOnly(), { host: '127.0.0.1', port: 0 });
    const admin = new Redis(redis.url);
    try {
      // vk-dup is left from the test above; this one is made here.
      const made = await call(gw.url, 'POST', '/admin/virtual-keys', { id: 'vk-kept' });
      expect(made.status).toBe(201);
      expect(await keyless(gw.url)).toBe(401);
      // Emptied behind the gateway's back, as a Redis without persistence comes back from a restart.
      await admin.del('mg:gov:key', 'mg:gov:opened');
      await admin.publish('mg:gov:changed', 'another-replica');
      await new Promise((r) => setTimeout(r, 300));
      expect(await keyless(gw.url)).toBe(401);
      expect(await chat(gw.url, made.json.value!)).toBe(200);
      // Written back (the next test has more on it).
      for (let i = 0; i < 200 && (await admin.hexists('mg:gov:key', 'vk-kept')) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // The last key deleted on purpose (another replica, ?openGateway=true: the key gone and the mark
      // set, as removeKey does) opens it, as documented.
      await admin.multi().del('mg:gov:key').set('mg:gov:opened', '1').exec();
      await admin.publish('mg:gov:changed', 'another-replica');
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await keyless(gw.url);
        if (status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(200);
    } finally {
      await gw.close();
      await admin.del('mg:gov:key', 'mg:gov:opened');
      admin.disconnect();
    }
  }, 30_000);

  it('the last known keys are written back to a store that lost them: the next admin write does not revoke the others on another replica, and they can still be deleted', async () => {
    const [one, two] = await Promise.all([startGateway(apiOnly(), { host: '127.0.0.1', port: 0 }), startGateway(apiOnly(), { host: '127.0.0.1', port: 0 })]);
    const admin = new Redis(redis.url);
    try {
      const first = await call(one.url, 'POST', '/admin/virtual-keys', { id: 'vk-lost-1' });
      expect(first.status).toBe(201);
      for (let i = 0; i < 100 && (await chat(two.url, first.json.value!)) !== 200; i++) await new Promise((r) => setTimeout(r, 10));
      // Emptied behind both replicas' backs, as a Redis without persistence comes back from a restart.
      await admin.del('mg:gov:key', 'mg:gov:team', 'mg:gov:customer', 'mg:gov:opened');
      await admin.publish('mg:gov:changed', 'another-replica');
      for (let i = 0; i < 200 && (await admin.hexists('mg:gov:key', 'vk-lost-1')) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await admin.hexists('mg:gov:key', 'vk-lost-1')).toBe(1);
      // A new key made on one replica: the other keeps the first (it was revoked there) ...
      const third = await call(one.url, 'POST', '/admin/virtual-keys', { id: 'vk-lost-3' });
      expect(third.status).toBe(201);
      for (let i = 0; i < 100 && (await chat(two.url, third.json.value!)) !== 200; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await chat(two.url, first.json.value!)).toBe(200);
      // ... and the first can still be deleted, from everywhere (it was a 404, and stayed valid).
      expect((await call(one.url, 'DELETE', '/admin/virtual-keys/vk-lost-1')).status).toBe(200);
      let status = 0;
      for (let i = 0; i < 100 && status !== 401; i++) {
        status = await chat(two.url, first.json.value!);
        if (status !== 401) await new Promise((r) => setTimeout(r, 10));
      }
      expect(status).toBe(401);
      expect(await chat(one.url, first.json.value!)).toBe(401);
    } finally {
      // Closed first: a running replica writes its keys back into an emptied store.
      await Promise.all([one.close(), two.close()]);
      await admin.del('mg:gov:key', 'mg:gov:team', 'mg:gov:customer', 'mg:gov:opened');
      admin.disconnect();
    }
  }, 30_000);

  it('a config reload after the store lost its keys keeps them: the reloaded gateway stays closed', async () => {
    const gw = await startGateway(apiOnly(), { host: '127.0.0.1', port: 0 });
    const admin = new Redis(redis.url);
    try {
      const made = await call(gw.url, 'POST', '/admin/virtual-keys', { id: 'vk-reloaded' });
      expect(made.status).toBe(201);
      // Emptied, and not announced: the running plan has not noticed when the reload reads the store.
      await admin.del('mg:gov:key', 'mg:gov:team', 'mg:gov:customer', 'mg:gov:opened');
      await gw.reload(apiOnly());
      expect(await keyless(gw.url)).toBe(401);
      expect(await chat(gw.url, made.json.value!)).toBe(200);
      for (let i = 0; i < 200 && (await admin.hexists('mg:gov:key', 'vk-reloaded')) === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await admin.hexists('mg:gov:key', 'vk-reloaded')).toBe(1);
    } finally {
      await gw.close();
      await admin.del('mg:gov:key', 'mg:gov:team', 'mg:gov:customer', 'mg:gov:opened');
      admin.disconnect();
    }
  }, 30_000);
});
