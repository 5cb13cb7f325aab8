import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OtlpExporter, toExportRequest, MICROGATE_VERSION } from '../../src/telemetry/otlp.ts';
import type { AttemptRecord, TelemetryRecord } from '../../src/telemetry/types.ts';

// ---- fixtures -------------------------------------------------------------------------------

function attempt(over: Partial<AttemptRecord> = {}): AttemptRecord {
  return { target: 'openai/gpt-4o-mini', provider: 'openai', model: 'gpt-4o-mini', key: 'main', status: 200, flag: '', latencyUs: 1000, ...over };
}

let seq = 0;
function record(over: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return {
    id: `req-${++seq}`,
    start: 1_700_000_000_123.456,
    endpoint: 'chat',
    dialect: 'openai',
    requestedModel: 'fast',
    status: 200,
    error: '',
    stream: false,
    streamFailed: false,
    aborted: false,
    totalUs: 5000,
    gatewayUs: 120,
    upstreamUs: 1000,
    ttfbUs: 0,
    rule: '',
    matched: [],
    tags: [],
    tier: '',
    attempts: [attempt()],
    promptTokens: 12,
    completionTokens: 34,
    cost: 0.000123,
    tenant: { virtualKey: '', team: '', customer: '' },
    ...over,
  };
}

// Loose views of the encoded body, for assertions.
type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: AnyValue }[];
  events?: { timeUnixNano: string; name: string }[];
  status: { code: number; message?: string };
}
interface Body {
  resourceSpans: { resource: { attributes: { key: string; value: AnyValue }[] }; scopeSpans: { scope: { name: string; version: string }; spans: Span[] }[] }[];
}

const encode = (records: TelemetryRecord[], service = 'microgate'): Body => JSON.parse(JSON.stringify(toExportRequest(records, service))) as Body;
const spansOf = (b: Body): Span[] => b.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
const attr = (s: Span, key: string): AnyValue | undefined => s.attributes.find((a) => a.key === key)?.value;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const NANOS = /^[1-9][0-9]*$/;

// ---- toExportRequest ------------------------------------------------------------------------

describe('toExportRequest', () => {
  it('has the ExportTraceServiceRequest shape with resource and scope', () => {
    const body = encode([record()], 'gw-test');
    expect(body.resourceSpans).toHaveLength(1);
    const rs = body.resourceSpans[0]!;
    const res = Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value]));
    expect(res['service.name']).toEqual({ stringValue: 'gw-test' });
    expect(res['service.version']).toEqual({ stringValue: MICROGATE_VERSION });
    expect(res['telemetry.sdk.name']).toEqual({ stringValue: 'microgate' });
    expect(rs.scopeSpans).toHaveLength(1);
    expect(rs.scopeSpans[0]!.scope).toEqual({ name: 'microgate', version: MICROGATE_VERSION });
    expect(rs.scopeSpans[0]!.spans).toHaveLength(2);
  });

  it('links attempt spans to the request span: same trace, parentSpanId, hex ids of the right length', () => {
    const r = record({ attempts: [attempt({ status: 429, latencyUs: 800 }), attempt({ provider: 'anthropic', model: 'claude-haiku', target: 'anthropic/claude-haiku', latencyUs: 1500 })] });
    const spans = spansOf(encode([r, record()]));
    expect(spans).toHaveLength(5);
    const [req, a1, a2, req2, b1] = spans as [Span, Span, Span, Span, Span];
    for (const s of spans) {
      expect(s.traceId).toMatch(HEX32);
      expect(s.spanId).toMatch(HEX16);
      expect(s.traceId).not.toBe('0'.repeat(32));
      expect(s.spanId).not.toBe('0'.repeat(16));
    }
    expect(req.parentSpanId).toBeUndefined();
    expect(req.kind).toBe(2); // SPAN_KIND_SERVER
    for (const a of [a1, a2]) {
      expect(a.kind).toBe(3); // SPAN_KIND_CLIENT
      expect(a.traceId).toBe(req.traceId);
      expect(a.parentSpanId).toBe(req.spanId);
      expect(a.parentSpanId).toMatch(HEX16);
    }
    expect(b1.parentSpanId).toBe(req2.spanId);
    expect(req2.traceId).not.toBe(req.traceId);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(5);

    expect(req.name).toBe('chat fast');
    expect(a1.name).toBe('chat gpt-4o-mini');
    expect(a2.name).toBe('chat claude-haiku');
  });

  it('names operations after the GenAI conventions', () => {
    const spans = spansOf(
      encode([
        record({ endpoint: 'completions', requestedModel: 'davinci', attempts: [attempt({ model: 'gpt-3.5-turbo-instruct' })] }),
        record({ endpoint: 'embeddings', requestedModel: 'embed', attempts: [attempt({ model: 'text-embedding-3-small' })], completionTokens: -1 }),
      ]),
    );
    expect(spans.map((s) => s.name)).toEqual(['text_completion davinci', 'text_completion gpt-3.5-turbo-instruct', 'embeddings embed', 'embeddings text-embedding-3-small']);
    expect(attr(spans[0]!, 'gen_ai.operation.name')).toEqual({ stringValue: 'text_completion' });
    expect(attr(spans[3]!, 'gen_ai.operation.name')).toEqual({ stringValue: 'embeddings' });
    expect(attr(spans[2]!, 'gen_ai.usage.output_tokens')).toBeUndefined();
  });

  it('sets the request span attributes with the right value types', () => {
    const r = record({ rule: 'cheap-first', matched: ['cheap-first', 'watch'], tags: ['budget', 'watched'], tier: 'simple', stream: true, ttfbUs: 900, upstreamUs: 3000, attempts: [attempt({ status: 503, latencyUs: 1000 }), attempt({ provider: 'groq', model: 'llama-3.1-8b', target: 'groq/llama-3.1-8b', key: 'backup' })] });
    const [req] = spansOf(encode([r])) as [Span];
    expect(attr(req, 'gen_ai.operation.name')).toEqual({ stringValue: 'chat' });
    expect(attr(req, 'gen_ai.system')).toEqual({ stringValue: 'groq' });
    expect(attr(req, 'gen_ai.request.model')).toEqual({ stringValue: 'fast' });
    expect(attr(req, 'gen_ai.response.model')).toEqual({ stringValue: 'llama-3.1-8b' });
    expect(attr(req, 'gen_ai.usage.input_tokens')).toEqual({ intValue: '12' });
    expect(attr(req, 'gen_ai.usage.output_tokens')).toEqual({ intValue: '34' });
    expect(attr(req, 'http.response.status_code')).toEqual({ intValue: '200' });
    expect(attr(req, 'error.type')).toBeUndefined();
    expect(attr(req, 'microgate.request_id')).toEqual({ stringValue: r.id });
    expect(attr(req, 'microgate.rule')).toEqual({ stringValue: 'cheap-first' });
    expect(attr(req, 'microgate.tags')).toEqual({ arrayValue: { values: [{ stringValue: 'budget' }, { stringValue: 'watched' }] } });
    expect(attr(req, 'microgate.tier')).toEqual({ stringValue: 'simple' });
    expect(attr(req, 'microgate.attempts')).toEqual({ intValue: '2' });
    expect(attr(req, 'microgate.gateway_time_us')).toEqual({ intValue: '120' });
    expect(attr(req, 'microgate.stream')).toEqual({ boolValue: true });
    expect(attr(req, 'microgate.ttfb_us')).toEqual({ intValue: '900' });
    expect(attr(req, 'microgate.key')).toEqual({ stringValue: 'backup' });
    expect(attr(req, 'microgate.cost_usd')).toEqual({ doubleValue: 0.000123 });
    expect(req.status).toEqual({ code: 1 });
    expect(req.events).toEqual([{ timeUnixNano: '1700000000124356000', name: 'microgate.first_byte', attributes: [] }]);
    // Every intValue is a decimal string, every doubleValue a number, every boolValue a boolean.
    for (const s of spansOf(encode([r]))) {
      for (const { value } of s.attributes) {
        const kinds = Object.keys(value);
        expect(kinds).toHaveLength(1);
        if (value.intValue !== undefined) expect(value.intValue).toMatch(/^-?[0-9]+$/);
        if (value.doubleValue !== undefined) expect(typeof value.doubleValue).toBe('number');
        if (value.boolValue !== undefined) expect(typeof value.boolValue).toBe('boolean');
        if (value.stringValue !== undefined) expect(typeof value.stringValue).toBe('string');
      }
    }
  });

  it('omits what is unknown: tokens and cost at -1, empty rule and tier, status 0', () => {
    const [req] = spansOf(encode([record({ promptTokens: -1, completionTokens: -1, cost: -1, status: 0, aborted: true })])) as [Span];
    for (const k of ['gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'microgate.cost_usd', 'microgate.rule', 'microgate.tags', 'microgate.tier', 'http.response.status_code']) {
      expect(attr(req, k), k).toBeUndefined();
    }
    expect(attr(req, 'error.type')).toEqual({ stringValue: 'client_aborted' });
    expect(req.status.code).toBe(2);
  });

  it('sets attempt span attributes, and flags failed attempts as errors', () => {
    const r = record({
      status: 502,
      error: 'upstream_connect_failed',
      attempts: [attempt({ status: 0, flag: 'UF', latencyUs: 300 }), attempt({ status: 500, latencyUs: 700, provider: 'azure', key: 'eu' })],
    });
    const [req, a1, a2] = spansOf(encode([r])) as [Span, Span, Span];
    expect(req.status).toEqual({ code: 2, message: 'upstream_connect_failed' });
    expect(attr(req, 'error.type')).toEqual({ stringValue: 'upstream_connect_failed' });
    expect(attr(req, 'http.response.status_code')).toEqual({ intValue: '502' });

    expect(attr(a1, 'gen_ai.system')).toEqual({ stringValue: 'openai' });
    expect(attr(a1, 'gen_ai.request.model')).toEqual({ stringValue: 'gpt-4o-mini' });
    expect(attr(a1, 'http.response.status_code')).toBeUndefined();
    expect(attr(a1, 'error.type')).toEqual({ stringValue: 'UF' });
    expect(attr(a1, 'microgate.key')).toEqual({ stringValue: 'main' });
    expect(attr(a1, 'microgate.target')).toEqual({ stringValue: 'openai/gpt-4o-mini' });
    expect(attr(a1, 'microgate.attempt')).toEqual({ intValue: '1' });
    expect(attr(a1, 'microgate.request_id')).toEqual({ stringValue: r.id });
    expect(a1.status).toEqual({ code: 2, message: 'UF' });

    expect(attr(a2, 'gen_ai.system')).toEqual({ stringValue: 'azure' });
    expect(attr(a2, 'error.type')).toEqual({ stringValue: '500' });
    expect(attr(a2, 'http.response.status_code')).toEqual({ intValue: '500' });
    expect(attr(a2, 'microgate.key')).toEqual({ stringValue: 'eu' });
    expect(attr(a2, 'microgate.attempt')).toEqual({ intValue: '2' });
    expect(a2.status).toEqual({ code: 2, message: 'HTTP 500' });

    const ok = spansOf(encode([record()]))[1]!;
    expect(ok.status).toEqual({ code: 1 });
    expect(attr(ok, 'error.type')).toBeUndefined();
  });

  it('writes times as ns strings: request from start to start+total, attempts one after another', () => {
    const r = record({ totalUs: 6000, upstreamUs: 3500, attempts: [attempt({ status: 429, latencyUs: 1000 }), attempt({ latencyUs: 2000 })] });
    const [req, a1, a2] = spansOf(encode([r])) as [Span, Span, Span];
    for (const s of [req, a1, a2]) {
      expect(s.startTimeUnixNano).toMatch(NANOS);
      expect(s.endTimeUnixNano).toMatch(NANOS);
    }
    // 1_700_000_000_123.456 ms = 1_700_000_000_123_456 µs, exactly (no float rounding in the digits).
    expect(req.startTimeUnixNano).toBe('1700000000123456000');
    expect(req.endTimeUnixNano).toBe('1700000000129456000');
    expect(a1.startTimeUnixNano).toBe('1700000000123456000');
    expect(a1.endTimeUnixNano).toBe('1700000000124456000');
    // 500 µs of upstream time not in any attempt (backoff) goes between them.
    expect(a2.startTimeUnixNano).toBe('1700000000124956000');
    expect(a2.endTimeUnixNano).toBe('1700000000126956000');
  });

  it('handles a request with no attempts (rejected before routing)', () => {
    const r = record({ status: 400, error: 'invalid_json', attempts: [], promptTokens: -1, completionTokens: -1, cost: -1 });
    const spans = spansOf(encode([r]));
    expect(spans).toHaveLength(1);
    const req = spans[0]!;
    expect(attr(req, 'gen_ai.system')).toBeUndefined();
    expect(attr(req, 'gen_ai.response.model')).toBeUndefined();
    expect(attr(req, 'microgate.key')).toBeUndefined();
    expect(attr(req, 'microgate.attempts')).toEqual({ intValue: '0' });
    expect(req.status).toEqual({ code: 2, message: 'invalid_json' });
  });

  it('never invents a string: every string attribute comes from the record or a fixed vocabulary, and none looks like a key', () => {
    const r = record({
      rule: 'r1',
      tier: 'complex',
      status: 502,
      error: 'upstream_auth_failed',
      attempts: [attempt({ key: 'main', status: 401, flag: '' }), attempt({ key: 'main', status: 0, flag: 'UT' })],
      tenant: { virtualKey: 'vk_team_a', team: 'team-a', customer: 'acme' },
    });
    const body = encode([r], 'microgate');
    const fromRecord = new Set<string>([r.id, r.endpoint, r.requestedModel, r.error, r.rule, r.tier, r.tenant.virtualKey, r.tenant.team, r.tenant.customer]);
    for (const a of r.attempts) for (const v of [a.target, a.provider, a.model, a.key, a.flag, String(a.status)]) fromRecord.add(v);
    const vocabulary = new Set(['chat', 'text_completion', 'embeddings', 'microgate', 'nodejs', MICROGATE_VERSION]);
    const all = [...body.resourceSpans[0]!.resource.attributes, ...spansOf(body).flatMap((s) => s.attributes)];
    for (const { key, value } of all) {
      if (value.stringValue === undefined) continue;
      expect(fromRecord.has(value.stringValue) || vocabulary.has(value.stringValue), `${key}=${value.stringValue}`).toBe(true);
      expect(value.stringValue).not.toMatch(/^(sk-|Bearer |key-|AKIA)|[A-Za-z0-9_-]{32,}/);
    }
    const keys = spansOf(body).map((s) => attr(s, 'microgate.key')?.stringValue);
    expect(keys).toEqual(['main', 'main', 'main']);
    // The only key-ish attribute on any span is microgate.key.
    for (const s of spansOf(body)) for (const a of s.attributes) if (/key/i.test(a.key)) expect(['microgate.key', 'microgate.virtual_key']).toContain(a.key);
  });
});

// ---- OtlpExporter against a real collector --------------------------------------------------

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Body;
}

interface Collector {
  url: string;
  received: Received[];
  maxConcurrent: number;
  close(): Promise<void>;
}

/** A local OTLP/HTTP receiver. `respond` decides each answer (default 200 {}). */
async function collector(respond?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Collector> {
  const received: Received[] = [];
  let concurrent = 0;
  const c: Collector = { url: '', received, maxConcurrent: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    concurrent++;
    c.maxConcurrent = Math.max(c.maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body });
      if (respond !== undefined) respond(req, res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  c.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return c;
}

/** Bounded poll: waits until cond() holds, failing after `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const requestSpansIn = (rcv: Received[]): Span[] => rcv.flatMap((r) => spansOf(r.body)).filter((s) => s.kind === 2);

describe('OtlpExporter', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(respond?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Collector> {
    const c = await collector(respond);
    cleanups.push(() => c.close());
    return c;
  }
  function exporter(opts: ConstructorParameters<typeof OtlpExporter>[0]): OtlpExporter {
    const e = new OtlpExporter(opts);
    cleanups.push(() => e.close());
    return e;
  }

  it('sends a batch as soon as maxBatch records wait, one POST at a time, then flush() sends the rest', async () => {
    // Slow answers so that batches pile up while one is on the wire.
    const c = await setup((_req, res) => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 30));
    const e = exporter({ endpoint: c.url + '/', headers: { authorization: 'Bearer collector-token' }, maxBatch: 3, flushIntervalMs: 60_000, serviceName: 'mg-test' });
    const records = Array.from({ length: 7 }, () => record());
    e.add(records.slice(0, 4));
    e.add(records.slice(4));
    await until(() => c.received.length >= 2);
    await until(() => e.stats.exported === 6);
    expect(c.received.map((r) => requestSpansIn([r]).length)).toEqual([3, 3]);
    expect(c.maxConcurrent).toBe(1);

    await e.flush();
    expect(c.received).toHaveLength(3);
    expect(requestSpansIn(c.received).map((s) => attr(s, 'microgate.request_id')?.stringValue)).toEqual(records.map((r) => r.id));
    expect(spansOf(c.received[2]!.body)).toHaveLength(2); // the 7th request and its attempt
    expect(e.stats).toEqual({ exported: 7, dropped: 0, failedPosts: 0 });

    const first = c.received[0]!;
    expect(first.path).toBe('/v1/traces');
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers.authorization).toBe('Bearer collector-token');
    expect(first.body.resourceSpans[0]!.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'mg-test' } });
  });

  it('sends what is queued on the interval without a flush', async () => {
    const c = await setup();
    const e = exporter({ endpoint: c.url, maxBatch: 100, flushIntervalMs: 25 });
    e.add([record(), record()]);
    e.add([record()]);
    await until(() => requestSpansIn(c.received).length === 3);
    await until(() => e.stats.exported === 3);
    expect(e.stats.failedPosts).toBe(0);
  });

  it('flush() with nothing queued resolves without a POST', async () => {
    const c = await setup();
    const e = exporter({ endpoint: c.url, flushIntervalMs: 60_000 });
    await e.flush();
    expect(c.received).toHaveLength(0);
  });

  it('counts a collector answering 500 as a failed POST, drops the batch and does not throw', async () => {
    const c = await setup((_req, res) => res.writeHead(500).end('boom'));
    const e = exporter({ endpoint: c.url, flushIntervalMs: 60_000 });
    e.add([record(), record()]);
    await expect(e.flush()).resolves.toBeUndefined();
    expect(c.received).toHaveLength(1);
    expect(e.stats).toEqual({ exported: 0, dropped: 0, failedPosts: 1 });
    expect(e.lastError).toBe('HTTP 500');
    // Not retried: the next flush has nothing to send.
    await e.flush();
    expect(c.received).toHaveLength(1);
  });

  it('reads a bounded part of an endless answer and goes on; follows no redirect, so its headers reach no other host', async () => {
    let written = 0;
    const endless = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const write = () => {
        if (res.destroyed) return;
        written += 64 * 1024;
        if (res.write('x'.repeat(64 * 1024))) setImmediate(write);
        else res.once('drain', write);
      };
      write();
    });
    const e = exporter({ endpoint: endless.url, flushIntervalMs: 60_000, timeoutMs: 3_000 });
    e.add([record()]);
    await e.flush();
    expect(e.stats).toEqual({ exported: 1, dropped: 0, failedPosts: 0 });
    // Read until the timeout, the answer was gigabytes held in memory; now its first 64 KiB, and the
    // socket's buffers.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    const elsewhere = await setup();
    const redirecting = await setup((_req, res) => res.writeHead(307, { location: `${elsewhere.url}/v1/traces` }).end());
    const r = exporter({ endpoint: redirecting.url, headers: { 'x-api-key': 'otlp-collector-secret' }, flushIntervalMs: 60_000 });
    r.add([record()]);
    await r.flush();
    expect(redirecting.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
    expect(r.stats.failedPosts).toBe(1);
  });

  it('counts a refused connection as a failed POST and does not throw', async () => {
    const c = await collector();
    const closedUrl = c.url;
    await c.close(); // nothing listens on that port any more
    const e = exporter({ endpoint: closedUrl, flushIntervalMs: 60_000 });
    e.add([record()]);
    await expect(e.flush()).resolves.toBeUndefined();
    expect(e.stats).toEqual({ exported: 0, dropped: 0, failedPosts: 1 });
    expect(e.lastError).not.toBeNull();
  });

  it('gives up on a collector that does not answer within timeoutMs', async () => {
    const hung: ServerResponse[] = [];
    const c = await setup((_req, res) => void hung.push(res));
    const e = exporter({ endpoint: c.url, flushIntervalMs: 60_000, timeoutMs: 150 });
    e.add([record()]);
    await e.flush();
    expect(c.received).toHaveLength(1);
    expect(e.stats.failedPosts).toBe(1);
    expect(e.lastError).toMatch(/Timeout|abort/i);
    for (const res of hung) res.destroy();
  });

  it('drops and counts records beyond maxQueue', async () => {
    const c = await setup();
    const e = exporter({ endpoint: c.url, maxQueue: 5, maxBatch: 100, flushIntervalMs: 60_000 });
    e.add([record(), record(), record()]);
    e.add([record(), record(), record(), record(), record()]);
    expect(e.stats.dropped).toBe(3);
    await e.flush();
    expect(requestSpansIn(c.received)).toHaveLength(5);
    expect(e.stats).toEqual({ exported: 5, dropped: 3, failedPosts: 0 });
    // Room again once sent.
    e.add([record()]);
    await e.flush();
    expect(e.stats).toEqual({ exported: 6, dropped: 3, failedPosts: 0 });
  });

  it('add() never throws, whatever it is given', async () => {
    const c = await setup();
    const e = exporter({ endpoint: c.url, flushIntervalMs: 60_000 });
    const odd = record({ start: Number.NaN, totalUs: -5, cost: Number.POSITIVE_INFINITY, attempts: [attempt({ latencyUs: -1 })] });
    expect(() => e.add([odd])).not.toThrow();
    await e.flush();
    expect(e.stats.exported).toBe(1);
    const spans = spansOf(c.received[0]!.body);
    expect(attr(spans[0]!, 'microgate.cost_usd')).toBeUndefined();
  });

  it('close() sends what is queued, stops the timer, and counts later records as dropped', async () => {
    const c = await setup();
    const e = new OtlpExporter({ endpoint: c.url, maxBatch: 100, flushIntervalMs: 20 });
    e.add([record(), record()]);
    await e.close();
    expect(requestSpansIn(c.received)).toHaveLength(2);
    e.add([record()]);
    await new Promise((r) => setTimeout(r, 100)); // five intervals: nothing may be sent
    expect(requestSpansIn(c.received)).toHaveLength(2);
    expect(e.stats).toEqual({ exported: 2, dropped: 1, failedPosts: 0 });
    await e.close(); // idempotent
  });

  it('does not keep a process alive: its timer is unref\'d', async () => {
    const mod = fileURLToPath(new URL('../../src/telemetry/otlp.ts', import.meta.url));
    const script = `const { OtlpExporter } = await import(${JSON.stringify(mod)}); new OtlpExporter({ endpoint: 'http://127.0.0.1:9', flushIntervalMs: 50 }); console.log('ok');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => {
        child.kill();
        reject(new Error('the process did not exit'));
      }, 15_000);
      child.on('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(out.trim()).toBe('ok');
  });
});
