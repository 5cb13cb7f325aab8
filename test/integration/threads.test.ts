// Two request threads on one port (server.workers: 2, threads/supervisor.ts): both answer, they agree
// on shared state (a key rested by a 429 in one is rested in the other; a virtual key made through one
// works on the other at once), one scrape counts every thread's requests, and a thread that fails is
// replaced while the other serves, its requests in flight answered and counted. Counts, never timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startCluster, type Cluster } from '../../src/threads/supervisor.ts';
import { listLogFiles } from '../../src/telemetry/log-file.ts';
import { eventually } from '../helpers/waits.ts';

const ADMIN = 'admin-key-threads-0123456789abcdef';
const LIMITED = 'provider-key-limited-0123456789';
const GOOD = 'provider-key-good-0123456789ab';

let mock: MockHandle;
let limits: MockHandle;
let slow: MockHandle;
let cluster: Cluster;
let logDir: string;
let baseConfig: ReturnType<typeof validateConfig>;

type ThreadRow = { thread: number; alive: boolean; requests: number; inFlight: number; lost: number; restarts: number };
type Stats = { requests: number; lost: number; threads: ThreadRow[]; answeredBy: number; restingKeys: Record<string, unknown> };

beforeAll(async () => {
  // Every answer of the key "limited" is a 429 asking for a minute's rest.
  mock = await startMock({ name: 'mock' }, { port: 0 });
  limits = await startMock({ name: 'limits', keys: { [LIMITED]: { status: 429, retryAfterSec: 60 } } }, { port: 0 });
  slow = await startMock({ name: 'slow', latencyMs: 400 }, { port: 0 });
  logDir = mkdtempSync(join(tmpdir(), 'mg-threads-logs-'));
  const config = validateConfig(
    {
      version: 1,
      server: { workers: 2 },
      providers: {
        mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: GOOD }], models: ['m'] },
        limits: { baseUrl: limits.baseUrl, keys: [{ name: 'limited', value: LIMITED }, { name: 'good', value: GOOD }], models: ['m'] },
        slow: { baseUrl: slow.baseUrl, keys: [{ name: 'k', value: GOOD }], models: ['s'] },
      },
      governance: { adminKey: ADMIN, db: join(mkdtempSync(join(tmpdir(), 'mg-threads-db-')), 'gov.db') },
      telemetry: { log: { dir: logDir } },
    },
    {},
  );
  baseConfig = config;
  cluster = await startCluster(config, 2, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await cluster?.close(1_000);
  await mock?.close();
  await limits?.close();
  await slow?.close();
});

/** One request on a connection of its own, so the kernel picks a thread for each. */
async function chat(model: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(`${cluster.url}/v1/chat/completions`, {
    method: 'POST',
    reset: true,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.body.text();
  return r.statusCode;
}

async function stats(): Promise<Stats> {
  const r = await request(`${cluster.url}/admin/stats`, { reset: true, headers: { authorization: `Bearer ${ADMIN}` } });
  return (await r.body.json()) as Stats;
}

async function metrics(): Promise<Map<string, number>> {
  const r = await request(`${cluster.url}/metrics`, { reset: true, headers: { authorization: `Bearer ${ADMIN}` } });
  const out = new Map<string, number>();
  for (const line of (await r.body.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const requestsOf = (s: Stats) => s.threads.map((t) => t.requests);

describe('two request threads', () => {
  it('answer on one port, each counted in /admin/stats, whichever thread answers it', async () => {
    const before = requestsOf(await stats());
    const codes = await Promise.all(Array.from({ length: 200 }, () => chat('mock/m')));
    expect(codes.every((c) => c === 200)).toBe(true);
    const after = await stats();
    const served = after.threads.map((t, i) => t.requests - before[i]!);
    expect(served[0]! + served[1]!).toBe(200);
    // The kernel spreads fresh connections over both listeners: neither thread is idle.
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
    expect(after.threads.every((t) => t.alive)).toBe(true);
    // Both threads answer /admin/stats, and each answers for the whole process.
    const answeredBy = new Set<number>();
    for (let i = 0; i < 40 && answeredBy.size < 2; i++) {
      const s = await stats();
      answeredBy.add(s.answeredBy);
      expect(s.requests).toBe(after.requests);
    }
    expect(answeredBy).toEqual(new Set([0, 1]));
  });

  it('one /metrics scrape counts every thread\'s requests exactly', async () => {
    const m0 = await metrics();
    const before = m0.get('microgate_requests_total{provider="mock",model="m",status="200"}') ?? 0;
    const threadsBefore = requestsOf(await stats());
    const codes = await Promise.all(Array.from({ length: 150 }, () => chat('mock/m')));
    expect(codes.every((c) => c === 200)).toBe(true);
    const threadsAfter = requestsOf(await stats());
    expect(threadsAfter.every((n, i) => n > threadsBefore[i]!)).toBe(true);
    for (let i = 0; i < 4; i++) {
      // Any thread may take the scrape; each answer holds all 150.
      const m = await metrics();
      expect(m.get('microgate_requests_total{provider="mock",model="m",status="200"}')! - before).toBe(150);
      expect(m.get('microgate_request_threads')).toBe(2);
    }
  });

  it('a key rested by a 429 in one thread is rested in the other', async () => {
    // One at a time until the limited key has been tried once (the 429 is retried on the good key).
    for (let i = 0; i < 200 && (limits.stats().byKey[LIMITED] ?? 0) === 0; i++) expect(await chat('limits/m')).toBe(200);
    expect(limits.stats().byKey[LIMITED]).toBe(1);
    const before = requestsOf(await stats());
    const codes = await Promise.all(Array.from({ length: 200 }, () => chat('limits/m')));
    expect(codes.every((c) => c === 200)).toBe(true);
    const after = await stats();
    // Both threads served, and neither sent the resting key anything.
    expect(after.threads.every((t, i) => t.requests > before[i]!)).toBe(true);
    expect(limits.stats().byKey[LIMITED]).toBe(1);
    expect(Object.keys(after.restingKeys)).toEqual(['limits/limited']);
  });

  it('a virtual key made through one thread works on every thread as soon as it is answered', async () => {
    const made = await request(`${cluster.url}/admin/virtual-keys`, {
      method: 'POST',
      reset: true,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'vk-threads' }),
    });
    expect(made.statusCode).toBe(201);
    const { value } = (await made.body.json()) as { value: string };
    // Deny by default now holds in both threads, and the new key passes in both.
    const before = requestsOf(await stats());
    const codes = await Promise.all(Array.from({ length: 60 }, () => chat('mock/m', { authorization: `Bearer ${value}` })));
    expect(codes.every((c) => c === 200)).toBe(true);
    expect((await stats()).threads.every((t, i) => t.requests > before[i]!)).toBe(true);
    const refused = await Promise.all(Array.from({ length: 20 }, () => chat('mock/m')));
    expect(refused.every((c) => c === 401)).toBe(true);
    // The last key goes only when asked in so many words: without it, every client gets in.
    const kept = await request(`${cluster.url}/admin/virtual-keys/vk-threads`, { method: 'DELETE', reset: true, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(kept.statusCode).toBe(409);
    await kept.body.text();
    const gone = await request(`${cluster.url}/admin/virtual-keys/vk-threads?openGateway=true`, { method: 'DELETE', reset: true, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(gone.statusCode).toBe(200);
    await gone.body.text();
  });

  it('a thread that fails is replaced while the other serves; its requests in flight are answered and counted', async () => {
    const s0 = await stats();
    const m0 = await metrics();
    // Slow requests spread over both threads, then thread 0 fails while they are in flight.
    const inFlight = Array.from({ length: 40 }, () => chat('slow/s'));
    expect(await eventually(() => slow.stats().inFlight, (n) => n === 40, 200)).toBe(40);
    const served = await stats();
    const onThread0 = served.threads[0]!.inFlight;
    expect(onThread0).toBeGreaterThan(0);
    cluster.crash(0);
    const codes = await Promise.all(inFlight);
    // The failed thread's requests got a 500 (internal_error), the other's finished normally.
    expect(codes.filter((c) => c === 500)).toHaveLength(onThread0);
    expect(codes.filter((c) => c === 200)).toHaveLength(40 - onThread0);
    // Meanwhile the other thread takes every new connection.
    const during = await Promise.all(Array.from({ length: 50 }, () => chat('mock/m')));
    expect(during.every((c) => c === 200)).toBe(true);
    let after = await stats();
    for (let i = 0; i < 100 && !(after.threads[0]!.alive && after.threads[0]!.restarts === 1); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await stats();
    }
    expect(after.threads[0]).toMatchObject({ alive: true, restarts: 1, inFlight: 0, lost: 0 });
    expect(after.threads[1]).toMatchObject({ alive: true, restarts: 0 });
    // The replacement serves: fresh connections reach both threads again.
    const again = requestsOf(after);
    expect((await Promise.all(Array.from({ length: 100 }, () => chat('mock/m')))).every((c) => c === 200)).toBe(true);
    expect(requestsOf(await stats()).every((n, i) => n > again[i]!)).toBe(true);
    // Every request of the failed thread is in the metrics, as the error its client received.
    const m = await metrics();
    const failed = (m.get('microgate_errors_total{code="internal_error"}') ?? 0) - (m0.get('microgate_errors_total{code="internal_error"}') ?? 0);
    expect(failed).toBe(onThread0);
    expect(m.get('microgate_request_thread_restarts_total')).toBe(1);
    expect(m.get('microgate_requests_lost_total')).toBe(0);
    expect(s0.threads[0]!.restarts).toBe(0);
  });

  it('a reload every thread refuses (a CEL typo) is not what a replacement starts on', async () => {
    const bad = { ...baseConfig, rules: validateConfig({ version: 1, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: GOOD }], models: ['m'] } }, rules: [{ name: 'typo', when: 'headers["x-tier"] ==', targets: [{ provider: 'mock', model: 'm' }] }] }, {}).rules };
    const failed = await cluster.reload(bad);
    expect(failed).toHaveLength(2);
    expect(failed.every((f) => f.includes('typo'))).toBe(true);
    const before = (await stats()).threads[1]!.restarts;
    cluster.crash(1);
    // A connection the dying thread had accepted is reset: polled until the replacement is up.
    let after = await stats().catch(() => null);
    for (let i = 0; i < 100 && !(after !== null && after.threads[1]!.alive && after.threads[1]!.restarts === before + 1); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await stats().catch(() => null);
    }
    expect(after?.threads[1]).toMatchObject({ alive: true, restarts: before + 1 });
    expect((await Promise.all(Array.from({ length: 20 }, () => chat('mock/m')))).every((c) => c === 200)).toBe(true);
  });

  it('one log, written by the telemetry worker alone, holds every thread\'s requests', async () => {
    const { requests } = await stats();
    // Stopping flushes every ring to the log: one line per request any thread took.
    expect(await cluster.close(1_000)).toBe(true);
    const lines = listLogFiles(logDir).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
    expect(lines).toHaveLength(requests);
    for (const l of lines) expect(typeof (JSON.parse(l) as { status: number }).status).toBe('number');
  });
});
