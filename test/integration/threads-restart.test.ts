// Request threads started again in awkward moments (threads/supervisor.ts): a replacement that cannot
// start (its entities store unreadable) is tried again rather than left dead, so reloads and the stop
// still work; one whose Redis is away starts anyway; and a replacement started while a reload was
// decided ends on the reloaded config, not the one before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startCluster, type Cluster } from '../../src/threads/supervisor.ts';
import { THREAD } from '../../src/state/shared-state.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

let mock: MockHandle;
let redis: TestRedis;
beforeAll(async () => {
  mock = await startMock({ name: 'mock' }, { port: 0 });
  redis = await startRedis();
});
afterAll(async () => {
  await mock.close();
  await redis.stop();
});

const config = (extra: Record<string, unknown> = {}) =>
  validateConfig({ version: 1, server: { workers: 2 }, telemetry: { enabled: false }, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: 'provider-key-0123456789' }], models: ['m'] } }, ...extra }, {});

/** One request on a connection of its own, so the kernel picks a thread for each. */
async function chat(c: Cluster, model: string): Promise<number> {
  const r = await request(`${c.url}/v1/chat/completions`, { method: 'POST', reset: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  await r.body.text();
  return r.statusCode;
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  return check();
}

describe('a request thread started again', () => {
  it('that cannot start (its entities store is unreadable) is tried again until it can; reloads and the stop still work', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'mg-threads-restart-')), 'gov.db');
    const c = await startCluster(config({ governance: { db } }), 2, { host: '127.0.0.1', port: 0 });
    let closed = false;
    try {
      // Not a database: a thread opening it at start fails to start.
      writeFileSync(db, 'this is not a sqlite database, and a thread that opens it at start fails');
      c.crash(1);
      expect(await until(() => c.shared.thread(1, THREAD.restarts) >= 2, 15_000)).toBe(true);
      expect(c.shared.thread(1, THREAD.alive)).toBe(0);
      rmSync(db);
      expect(await until(() => c.shared.thread(1, THREAD.alive) === 1, 15_000)).toBe(true);
      expect(await c.reload(config({ governance: { db } }))).toEqual([]);
      closed = await c.close(1_000);
      expect(closed).toBe(true);
    } finally {
      if (!closed) await c.close(0);
    }
  }, 40_000);

  it('while its Redis is away comes up anyway, on the config\'s keys (governance/governance.ts openRedis)', async () => {
    const c = await startCluster(config({ governance: { store: { redis: redis.url }, virtualKeys: [{ id: 'vk', value: 'vk-value-threads-0123456789' }] } }), 2, { host: '127.0.0.1', port: 0 });
    try {
      await redis.stop();
      c.crash(1);
      expect(await until(() => c.shared.thread(1, THREAD.restarts) >= 1 && c.shared.thread(1, THREAD.alive) === 1, 15_000)).toBe(true);
    } finally {
      await redis.restart();
      await c.close(1_000);
    }
  }, 40_000);

  it('while a reload is decided ends on the reloaded config', async () => {
    const c = await startCluster(config(), 2, { host: '127.0.0.1', port: 0 });
    try {
      // Thread 1 dies and is started again while the reload that adds the alias "fresh" is decided. A
      // thread that served over 5 s is started again at once (no quick-death back-off): during the reload.
      await new Promise((r) => setTimeout(r, 5_500));
      c.crash(1);
      const failed = await c.reload(config({ models: { fresh: { targets: [{ provider: 'mock', model: 'm' }] } } }));
      expect(failed).toEqual([]);
      expect(await until(() => c.shared.thread(1, THREAD.alive) === 1, 10_000)).toBe(true);
      // Every thread serves the alias: none was left on the config before the reload.
      const codes = await Promise.all(Array.from({ length: 60 }, () => chat(c, 'fresh')));
      expect(codes.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await c.close(1_000);
    }
  }, 30_000);
});
