// Telemetry off the hot path: every finished request becomes one record in the worker, which feeds
// /metrics and the request log. Assert counts and contents, never timings.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Telemetry } from '../../src/telemetry/telemetry.ts';
import { SECRET, startStack, type Stack } from '../helpers/stack.ts';
import { eventually } from '../helpers/waits.ts';

const agent = new Agent({ connections: 256 });
let s: Stack | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

async function start(telemetry: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mg-tel-'));
  s = await startStack({ main: { keys: { [`${SECRET}-bad`]: { status: 401 }, [`${SECRET}-slow`]: { latencyMs: 3_000 } } } }, (m) => ({
    version: 1,
    providers: {
      p: {
        baseUrl: m.main!.baseUrl,
        keys: [{ name: 'good', value: SECRET }],
        models: ['m'],
        pricing: { m: { input: 2, output: 8 } },
      },
      broken: { baseUrl: m.main!.baseUrl, keys: [{ name: 'bad', value: `${SECRET}-bad` }] },
      slow: { baseUrl: m.main!.baseUrl, keys: [{ name: 'slow', value: `${SECRET}-slow` }] },
    },
    telemetry: { ...telemetry, log: { dir, ...(telemetry.log as object | undefined) } },
  }));
  return { s, dir };
}

async function send(url: string, n: number, model = 'p/m', inFlight = 50): Promise<number[]> {
  const statuses: number[] = [];
  let i = 0;
  const worker = async () => {
    while (i++ < n) {
      const r = await request(`${url}/v1/chat/completions`, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there' }] }) });
      await r.body.text();
      statuses.push(r.statusCode);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return statuses;
}

function logLines(dir: string): Array<Record<string, unknown>> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Prometheus text → {series → value}; throws on a line that is not a comment or a sample. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (m === null) throw new Error(`not Prometheus text: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('telemetry', () => {
  it('records arrive complete under load, in the log and in /metrics', async () => {
    const { s, dir } = await start();
    const ok = await send(s.gw.url, 1500);
    const bad = await send(s.gw.url, 100, 'broken/x', 20);
    expect(ok.every((c) => c === 200)).toBe(true);
    expect(bad.every((c) => c === 502)).toBe(true);
    await s.gw.server.telemetry.flush(5_000);

    const lines = logLines(dir);
    expect(lines).toHaveLength(1600);
    const good = lines.filter((l) => l.status === 200);
    expect(good).toHaveLength(1500);
    const one = good[0]!;
    expect(one).toMatchObject({ endpoint: 'chat', requestedModel: 'p/m', stream: false, aborted: false });
    expect((one.attempts as Array<Record<string, unknown>>)[0]).toMatchObject({ target: 'p/m', provider: 'p', model: 'm', key: 'good', status: 200 });
    expect((one.tokens as { prompt: number; completion: number }).completion).toBeGreaterThan(0);
    expect(one.cost).toBeGreaterThan(0);
    expect(typeof one.id).toBe('string');
    expect(lines.filter((l) => l.error === 'upstream_auth_failed')).toHaveLength(100);

    const metrics = parseProm(await (await request(`${s.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_requests_total{provider="p",model="m",status="200"}')).toBe(1500);
    expect(metrics.get('microgate_requests_total{provider="broken",model="x",status="502"}')).toBe(100);
    expect(metrics.get('microgate_errors_total{code="upstream_auth_failed"}')).toBe(100);
    expect(metrics.get('microgate_gateway_time_seconds_count')).toBe(1600);
    expect(metrics.get('microgate_telemetry_dropped_total')).toBe(0);
    expect([...metrics.keys()].some((k) => k.startsWith('microgate_event_loop_delay_seconds'))).toBe(true);
  });

  it('a request the client leaves keeps the attempt that reached the provider, in its line and its metric', async () => {
    const { s, dir } = await start();
    const gone = new AbortController();
    const pending = fetch(`${s.gw.url}/v1/chat/completions`, { method: 'POST', signal: gone.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'slow/m', messages: [{ role: 'user', content: 'hi' }] }) }).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    gone.abort();
    await pending;
    for (let i = 0; i < 100 && logLines(dir).length === 0; i++) {
      await s.gw.server.telemetry.flush(5_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const [line] = logLines(dir);
    expect(line).toMatchObject({ aborted: true, status: 0 });
    expect(line!.attempts).toMatchObject([{ provider: 'slow', model: 'm', key: 'slow', status: 0, flag: 'DC' }]);
    const metrics = parseProm(await (await request(`${s.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_requests_total{provider="slow",model="m",status="aborted"}')).toBe(1);
  });

  it('a provider key never appears in logs, metrics or errors', async () => {
    const { s, dir } = await start();
    const res = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'broken/x', messages: [{ role: 'user', content: 'x' }] }) });
    const error = await res.body.text();
    await send(s.gw.url, 50);
    await s.gw.server.telemetry.flush(5_000);
    const metrics = await (await request(`${s.gw.url}/metrics`)).body.text();
    const logs = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    for (const text of [error, metrics, logs]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(0, 10));
    }
    expect(logs.length).toBeGreaterThan(0);
  });

  it('drops and counts records when the worker falls behind; requests never wait', async () => {
    const { s, dir } = await start({ ringSlots: 64 });
    s.gw.server.telemetry.stall(true);
    await new Promise((r) => setTimeout(r, 50));
    const statuses = await send(s.gw.url, 600);
    expect(statuses.every((c) => c === 200)).toBe(true);
    const dropped = s.gw.server.telemetry.dropped;
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThanOrEqual(600 - 64);
    s.gw.server.telemetry.stall(false);
    await s.gw.server.telemetry.flush(5_000);
    // What was kept reached the log; what was dropped is counted; nothing else is lost.
    expect(logLines(dir).length + dropped).toBe(600);
    const metrics = parseProm(await (await request(`${s.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_telemetry_dropped_total')).toBe(dropped);
  });

  it('a dead worker is restarted and records keep flowing', async () => {
    const { s, dir } = await start();
    await send(s.gw.url, 100);
    const t = s.gw.server.telemetry as Telemetry;
    await t.flush(5_000);
    const hub = (t as unknown as { hub: { worker: { terminate(): Promise<number> } | null } }).hub;
    await hub.worker!.terminate();
    await eventually(() => t.restarts, (n) => n === 1);
    await eventually(() => hub.worker, (w) => w !== null);
    await send(s.gw.url, 100);
    await t.flush(5_000);
    expect(t.restarts).toBe(1);
    // The restarted worker resumed the ring: the second hundred joined the first in the log.
    expect(logLines(dir)).toHaveLength(200);
    const metrics = parseProm(await (await request(`${s.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_telemetry_worker_restarts_total')).toBe(1);
    // Its counters carried on from the dead worker's last state instead of starting again at zero.
    expect(metrics.get('microgate_requests_total{provider="p",model="m",status="200"}')).toBe(200);
    expect(metrics.get('microgate_gateway_time_seconds_count')).toBe(200);
  });

  it('a graceful shutdown under load loses no accepted request, and their records are flushed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-tel-'));
    s = await startStack({ slow: { latencyMs: 200 } }, (m) => ({
      version: 1,
      providers: { p: { baseUrl: m.slow!.baseUrl, keys: [{ name: 'k', value: 'v' }] } },
      telemetry: { log: { dir } },
    }));
    const stack = s;
    const pending = send(stack.gw.url, 100, 'p/m', 100);
    await eventually(() => stack.mocks.slow!.stats().inFlight, (n) => n === 100, 250);
    await stack.gw.close(5_000);
    expect((await pending).every((c) => c === 200)).toBe(true);
    expect(logLines(dir)).toHaveLength(100);
  });
});

describe('OpenTelemetry export', () => {
  it('sends one span per request and one per attempt to the configured collector', async () => {
    const { createServer } = await import('node:http');
    const bodies: Array<{ resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; kind: number; parentSpanId?: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }> }> }> }> = [];
    const collector = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(JSON.parse(data));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as { port: number }).port;
    await start({ otlp: { endpoint: `http://127.0.0.1:${port}`, intervalMs: 50 } });
    await send(s!.gw.url, 20);
    await s!.gw.server.telemetry.flush(5_000);
    const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans)));
    collector.close();
    const server = spans.filter((x) => x.kind === 2);
    const client = spans.filter((x) => x.kind === 3);
    expect(server).toHaveLength(20);
    expect(client).toHaveLength(20);
    expect(client.every((c) => c.parentSpanId !== undefined)).toBe(true);
    const attrs = Object.fromEntries(server[0]!.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    expect(attrs).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'p/m', 'gen_ai.response.model': 'm', 'gen_ai.system': 'p' });
    expect(JSON.stringify(spans)).not.toContain(SECRET);
  });

  it('spans a collector refuses are counted, not lost in silence', async () => {
    const { createServer } = await import('node:http');
    const collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401).end('{"error":"bad token"}'));
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as { port: number }).port;
    await start({ otlp: { endpoint: `http://127.0.0.1:${port}`, intervalMs: 50 } });
    await send(s!.gw.url, 7);
    await s!.gw.server.telemetry.flush(5_000);
    collector.close();
    const metrics = parseProm(await (await request(`${s!.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_telemetry_errors_total{stage="otlp"}')).toBe(7);
  });
});

describe('prompt and completion text in the request log', () => {
  const prompt = 'the secret recipe is forty-two lemons';

  it('is left out by default', async () => {
    const { s, dir } = await start();
    await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'p/m', messages: [{ role: 'user', content: prompt }] }) }).then((r) => r.body.text());
    await s.gw.server.telemetry.flush(5_000);
    const lines = logLines(dir);
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('lemons');
    expect(lines[0]!.request).toBeUndefined();
  });

  it('is logged with telemetry.log.payloads, for JSON answers and streams', async () => {
    const { s, dir } = await start({ log: { payloads: true } });
    const chat = (stream: boolean) =>
      request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'p/m', stream, messages: [{ role: 'user', content: prompt }] }) }).then((r) => r.body.text());
    const json = await chat(false);
    const sse = await chat(true);
    await send(s.gw.url, 30);
    await s.gw.server.telemetry.flush(5_000);
    const lines = logLines(dir);
    expect(lines).toHaveLength(32);
    const mine = lines.filter((l) => String(l.request).includes('lemons'));
    expect(mine).toHaveLength(2);
    expect(mine.find((l) => l.stream === false)!.response).toBe(json);
    expect(mine.find((l) => l.stream === true)!.response).toBe(sse);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    expect(mine.every((l) => l.truncated === undefined)).toBe(true);
    const metrics = parseProm(await (await request(`${s.gw.url}/metrics`)).body.text());
    expect(metrics.get('microgate_requests_total{provider="p",model="m",status="200"}')).toBe(32);
    // A request over 64 KiB is kept to 64 KiB, and the line says it was cut (it was kept whole).
    const big = JSON.stringify({ model: 'p/m', messages: [{ role: 'user', content: `oranges ${'z'.repeat(200_000)}` }] });
    await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big }).then((r) => r.body.text());
    await s.gw.server.telemetry.flush(5_000);
    const cut = logLines(dir).find((l) => String(l.request).includes('oranges'))!;
    expect(String(cut.request).length).toBe(65_536);
    expect(cut.truncated).toEqual({ request: true, response: false });
  });
});
