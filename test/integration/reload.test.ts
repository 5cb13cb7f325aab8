// Hot reload (issue 15): a new plan is built and swapped in while requests run; those in flight finish
// on the plan they started with, none fails, and the next request takes the new route. Rests, circuits
// and connection pools of unchanged providers and keys carry over; a changed key starts afresh. A bad
// config changes nothing but the reload counters. The last test drives a real process (two request
// threads) through its config file and SIGHUP. Outcomes and counts are asserted, never timings.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { eventually } from '../helpers/waits.ts';
import { startGatewayProcess } from '../helpers/process.ts';
import { listLogFiles } from '../../src/telemetry/log-file.ts';

const KEY = 'sk-reload-provider-key-0123456789ab';
const LIMITED = 'sk-rested-provider-key-0123456789ab';

let a: MockHandle;
let b: MockHandle;
let limits: MockHandle;
let gw: Gateway;

function config(route: 'a' | 'b', extra: Partial<ConfigInput> = {}, limitedValue = LIMITED, limitsUrl = limits.baseUrl): Config {
  return validateConfig(
    {
      version: 1,
      providers: {
        a: { baseUrl: a.baseUrl, keys: [{ name: 'k', value: KEY }] },
        b: { baseUrl: b.baseUrl, keys: [{ name: 'k', value: KEY }] },
        limits: { baseUrl: limitsUrl, keys: [{ name: 'limited', value: limitedValue }, { name: 'good', value: KEY }], models: ['l'] },
      },
      models: { m: { targets: [{ provider: route, model: 'mock-small' }] } },
      telemetry: { enabled: false },
      ...extra,
    },
    {},
  );
}

async function chat(model = 'm'): Promise<{ status: number; provider: string }> {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.text();
  return { status: r.statusCode, provider: String(r.headers['x-microgate-provider'] ?? '') };
}

beforeAll(async () => {
  a = await startMock({ name: 'a', latencyMs: 30 }, { port: 0 });
  b = await startMock({ name: 'b', latencyMs: 30 }, { port: 0 });
  limits = await startMock({ name: 'limits', keys: { [LIMITED]: { status: 429, retryAfterSec: 60 } } }, { port: 0 });
  gw = await startGateway(config('a'), { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await gw?.close(1_000);
  await Promise.all([a?.close(), b?.close(), limits?.close()]);
});

describe('reload of a running gateway', () => {
  it('swaps the plan under load: no request fails, those in flight finish on the old route, the next takes the new', async () => {
    expect((await chat()).provider).toBe('a');
    const results: Array<{ status: number; provider: string }> = [];
    let go = true;
    const loops = Array.from({ length: 16 }, async () => {
      while (go) results.push(await chat());
    });
    await new Promise((r) => setTimeout(r, 200));
    const before = gw.plan;
    await gw.reload(config('b'));
    expect(gw.plan).not.toBe(before);
    expect(gw.plan.generation).toBe(before.generation + 1);
    // The first request sent after the swap takes the new route.
    expect((await chat()).provider).toBe('b');
    await new Promise((r) => setTimeout(r, 200));
    go = false;
    await Promise.all(loops);
    expect(results.length).toBeGreaterThan(32);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(results.map((r) => r.provider))).toEqual(new Set(['a', 'b']));
    // The old plan closed once its last request ended: its pool to b's origin went to the new plan.
    expect(gw.plan.providers.get('a')!.pool).toBe(gw.plan.pools.get(a.url, { connections: 2048, connectTimeoutMs: 5_000 }));
  });

  it('keeps the pools, rests and circuits of unchanged providers and keys; a key whose secret changed, or whose provider moved to another server, starts afresh', async () => {
    // The limited key answers 429 asking for a minute: once tried (the request is retried on the good
    // key), it rests, and no request reaches it again.
    const hitsOf = (v: string): number => limits.stats().byKey[v] ?? 0;
    for (let i = 0; i < 200 && hitsOf(LIMITED) === 0; i++) expect((await chat('limits/l')).status).toBe(200);
    expect(hitsOf(LIMITED)).toBe(1);
    const poolOfA = gw.plan.providers.get('a')!.pool;

    await gw.reload(config('a', { routing: { deadlineMs: 120_000 } } as Partial<ConfigInput>));
    expect(gw.plan.providers.get('a')!.pool).toBe(poolOfA);
    for (let i = 0; i < 30; i++) expect((await chat('limits/l')).status).toBe(200);
    expect(hitsOf(LIMITED)).toBe(1);

    // The same key name with another secret is another key: not rested, so it is tried again.
    const rotated = `${LIMITED}-rotated`;
    limits.setConfig({ ...limits.config(), keys: { [rotated]: { status: 429, retryAfterSec: 60 } } });
    await gw.reload(config('a', {}, rotated));
    for (let i = 0; i < 200 && hitsOf(rotated) === 0; i++) expect((await chat('limits/l')).status).toBe(200);
    expect(hitsOf(rotated)).toBe(1);

    // The provider moved to another server (a healthy one): what its keys learnt at the old one is not
    // carried over; the rested key serves again at once (its 60 s rest kept it out of the new server).
    await gw.reload(config('a', {}, rotated, b.baseUrl));
    const atB = (): number => b.stats().byKey[rotated] ?? 0;
    for (let i = 0; i < 200 && atB() === 0; i++) expect((await chat('limits/l')).status).toBe(200);
    expect(atB()).toBeGreaterThan(0);
  });

  it('a plan that cannot be built changes nothing', async () => {
    const running = gw.plan;
    const bad = { ...config('a'), rules: [{ name: 'broken', priority: 1, when: 'headers["x"] ==', targets: [{ provider: 'a', model: 'mock-small' }] }] } as unknown as Config;
    const origins = Object.keys(running.pools.stats()).sort();
    await expect(gw.reload(bad)).rejects.toThrow();
    expect(gw.plan).toBe(running);
    // Its pools are still its own (a failed plan took none of them away).
    expect(Object.keys(running.pools.stats()).sort()).toEqual(origins);
    expect((await chat()).status).toBe(200);
  });
});

describe('reload and the request log', () => {
  it('names the provider of a request that finished on the old plan, though the new one numbers providers otherwise', async () => {
    const slow = await startMock({ name: 'slow', latencyMs: 300 }, { port: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'mg-reload-log-'));
    const make = (order: string[]): Config => {
      const all: Record<string, ConfigInput['providers'][string]> = {
        a: { baseUrl: a.baseUrl, keys: [{ name: 'ka', value: KEY }] },
        b: { baseUrl: b.baseUrl, keys: [{ name: 'kb', value: KEY }] },
        slow: { baseUrl: slow.baseUrl, keys: [{ name: 'ks', value: KEY }] },
      };
      return validateConfig({ version: 1, providers: Object.fromEntries(order.map((n) => [n, all[n]!])), telemetry: { log: { dir } } }, {});
    };
    const g = await startGateway(make(['slow', 'a']), { host: '127.0.0.1', port: 0 });
    const send = (model: string) =>
      request(`${g.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) }).then(async (r) => {
        await r.body.text();
        return r.statusCode;
      });
    try {
      const inFlight = send('slow/mock-small');
      await new Promise((r) => setTimeout(r, 50));
      // Ids follow the config's order: in the new plan, slow's and a's ids are b's and slow's.
      await g.reload(make(['b', 'slow', 'a']));
      expect(await send('a/mock-small')).toBe(200);
      expect(await inFlight).toBe(200);
    } finally {
      await g.close(2_000);
      await slow.close();
    }
    const lines = listLogFiles(dir).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== '')).map((l) => JSON.parse(l) as { requestedModel: string; attempts: Array<{ provider: string; key: string }> });
    expect(lines.map((l) => [l.requestedModel, l.attempts[0]?.provider, l.attempts[0]?.key]).sort()).toEqual([
      ['a/mock-small', 'a', 'ka'],
      ['slow/mock-small', 'slow', 'ks'],
    ]);
  });
});

describe('reload of a running process (two request threads)', () => {
  let child: ChildProcess | null = null;
  afterEach(() => void child?.kill('SIGKILL'));

  it('serving the bundled mock (no config), SIGHUP is answered with a line, not the end of the process', async () => {
    const gw2 = await startGatewayProcess(mkdtempSync(join(tmpdir(), 'mg-reload-mock-')), { args: ['--port', '0'] });
    child = gw2.child;
    child.kill('SIGHUP');
    expect(await eventually(gw2.stderr, (s) => s.includes('SIGHUP: nothing to reload'), 250, 20)).toContain('SIGHUP: nothing to reload');
    const r = await request(`${gw2.url}/v1/chat/completions`, { method: 'POST', reset: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }) });
    await r.body.text();
    expect(r.statusCode).toBe(200);
  });

  it('follows its config file and SIGHUP; a bad file keeps it serving, counted and shown with the JSON path', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mg-reload-'));
    const file = join(cwd, 'microgate.yaml');
    const yaml = (route: string, extra = '') =>
      `version: 1\nserver: { port: 0, workers: 2 }\ntelemetry: { enabled: false }\nproviders:\n  a: { baseUrl: ${a.baseUrl}, keys: [{ name: k, value: ${KEY} }] }\n  b: { baseUrl: ${b.baseUrl}, keys: [{ name: k, value: ${KEY} }] }\nmodels:\n  m: { targets: [{ provider: ${route}, model: mock-small }] }\n${extra}`;
    writeFileSync(file, yaml('a'));
    const gw2 = await startGatewayProcess(cwd);
    child = gw2.child;
    const url = gw2.url;
    const stderrOf = gw2.stderr;
    const providerOf = async (): Promise<string> => {
      const r = await request(`${url}/v1/chat/completions`, { method: 'POST', reset: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
      await r.body.text();
      expect(r.statusCode).toBe(200);
      return String(r.headers['x-microgate-provider']);
    };
    const reloads = async (): Promise<string> => {
      const r = await request(`${url}/metrics`, { reset: true });
      return (await r.body.text()).split('\n').filter((l) => l.startsWith('microgate_config_reload_total')).join('\n');
    };
    expect(await providerOf()).toBe('a');

    // The file changes: every thread takes the new route (connections of their own reach both threads).
    writeFileSync(file, yaml('b'));
    expect(await eventually(stderrOf, (s) => s.includes('config reloaded (file changed)'), 250, 20)).toContain('config reloaded (file changed)');
    for (let i = 0; i < 8; i++) expect(await providerOf()).toBe('b');

    // A bad value: still serving b; the error names its JSON path, never a secret.
    writeFileSync(file, yaml('b', 'routing: { deadlineMs: -5 }\n'));
    expect(await eventually(stderrOf, (s) => s.includes('config reload (file changed) failed'), 250, 20)).toContain('config reload (file changed) failed');
    expect(stderrOf()).toMatch(/routing\.deadlineMs/);
    expect(stderrOf()).not.toContain(KEY);
    expect(await providerOf()).toBe('b');
    expect(await reloads()).toBe('microgate_config_reload_total{result="ok"} 1\nmicrogate_config_reload_total{result="error"} 1');
    // Whichever thread answers the admin call shows it.
    for (let i = 0; i < 4; i++) {
      const shown = (await (await request(`${url}/admin/config`, { reset: true })).body.json()) as { reload: { outcome: string | null; error: string | null } };
      expect(shown.reload.outcome).toBe('failed');
      expect(shown.reload.error).toMatch(/routing\.deadlineMs/);
    }

    // Fixed, then SIGHUP (the file watch may see it first; either way a's route serves).
    writeFileSync(file, yaml('a'));
    expect((await eventually(stderrOf, (s) => s.split('config reloaded').length >= 3, 250, 20)).split('config reloaded').length).toBeGreaterThanOrEqual(3);
    child.kill('SIGHUP');
    expect(await eventually(stderrOf, (s) => s.includes('config reloaded (SIGHUP)'), 250, 20)).toContain('config reloaded (SIGHUP)');
    for (let i = 0; i < 8; i++) expect(await providerOf()).toBe('a');
    expect(await reloads()).toMatch(/result="ok"} 3/);
  }, 30_000);
});
