// A hostile client and a hostile provider, each defect the security review reproduced (issue 9):
// response splitting, provider keys relayed, one bad stream or body holding memory and time, clients
// opening circuits for everyone, and client-chosen strings growing state without bound.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { CHAT_OK, drip, startHostile, type HostileProvider } from '../helpers/hostile.ts';

// A key that looks like no well-known key shape: only the configured-secret redaction can catch it.
const KEY = 'MGSECRETq8v2n5x7k1z3j6w9p4r0t2i1o';
const MASKED = `${KEY.slice(0, 8)}*****${KEY.slice(-4)}`;

let s: Stack;
let h: HostileProvider;

beforeAll(async () => {
  h = await startHostile();
  s = await startStack({ main: {}, slow: { latencyMs: 1500 } }, (m) => ({
    version: 1,
    server: { maxStreamEventBytes: 64 * 1024, maxResponseBytes: 512 * 1024, maxBufferedBytes: 1024 * 1024 },
    providers: {
      h: { baseUrl: h.baseUrl, keys: [{ name: 'hk', value: KEY }], forwardHeaders: ['x-forward-*'], retry: { maxRetries: 0, baseMs: 1, capMs: 1 } },
      mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'mock-key-1' }], models: ['mock-small'] },
      slow: { baseUrl: m.slow!.baseUrl, keys: [{ name: 'k', value: 'slow-key-1' }], models: ['mock-small'] },
    },
    models: { alpha: { targets: [{ provider: 'slow', model: 'mock-small' }], fallbacks: ['mock/mock-small'] } },
    telemetry: { enabled: true },
  }));
});
afterAll(async () => {
  await s.close();
  await h.close();
});
beforeEach(() => h.reset());

async function chat(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await request(`${s.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, error: () => (JSON.parse(text) as { error: { code: string; param: string | null; message: string } }).error };
}

/** Raw bytes on a fresh connection; resolves with what came back once the server closes or `waitMs` passes. */
function raw(bytes: Buffer | string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(s.gw.port, '127.0.0.1', () => sock.write(bytes));
    let data = '';
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', () => {});
    const done = () => resolve(data);
    sock.on('close', done);
    setTimeout(() => {
      sock.destroy();
      done();
    }, waitMs);
  });
}

const sse = (events: string[]) => events.map((e) => `data: ${e}\n\n`).join('');
const CHUNK = JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] });

describe('no header injection', () => {
  it('a model name with CR/LF is refused at parse, and no header is forged', async () => {
    for (const model of ['h/x\r\nSet-Cookie: injected=1', 'h/x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', 'mock/mock-small\nx: y']) {
      const r = await chat({ model });
      expect(r.status).toBe(400);
      expect(r.error().code).toBe('invalid_parameter');
      expect(r.error().param).toBe('model');
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect(h.requests).toBe(0);
  });

  it('the same holds for a stream and for a model the provider does not know', async () => {
    const stream = await chat({ model: 'h/x\r\nSet-Cookie: injected=1', stream: true });
    expect(stream.status).toBe(400);
    const unknown = await chat({ model: 'nope\r\nSet-Cookie: a=1' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers['set-cookie']).toBeUndefined();
  });

  it('a 100 KB model name is refused with a short message, not echoed into 100 KB of headers', async () => {
    const r = await chat({ model: `h/${'a'.repeat(100_000)}` });
    expect(r.status).toBe(400);
    expect(r.error().code).toBe('invalid_parameter');
    expect(r.text.length).toBeLessThan(1000);
    expect(JSON.stringify(r.headers).length).toBeLessThan(2000);
  });

  it('a non-ASCII model name reaches the provider and is percent-encoded in the response headers', async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(CHAT_OK));
    const r = await chat({ model: 'h/modèle-ü' });
    expect(r.status).toBe(200);
    expect(r.headers['x-microgate-model']).toBe('mod%C3%A8le-%C3%BC');
  });

  it('fallbacks are model names too: checked the same way', async () => {
    const r = await chat({ model: 'mock/mock-small', fallbacks: ['h/x\r\ny: z'] });
    expect(r.status).toBe(400);
    expect(r.error().param).toBe('fallbacks');
  });
});

describe('provider secrets never reach the client', () => {
  it('only allow-listed provider headers are relayed, and their values are redacted', async () => {
    h.handle((_req, res) =>
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'x-upstream-debug-auth': `Bearer ${KEY}`,
          'set-cookie': 'session=1',
          'x-request-id': `req-${KEY}`,
          'x-ratelimit-remaining-requests': '99',
          'cache-control': 'private',
        })
        .end(CHAT_OK),
    );
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream-debug-auth']).toBeUndefined();
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.headers['cache-control']).toBeUndefined();
    expect(r.headers['x-ratelimit-remaining-requests']).toBe('99');
    expect(r.headers['x-request-id']).toBe('req-[redacted]');
    expect(JSON.stringify(r.headers)).not.toContain(KEY.slice(0, 8));
  });

  it("a provider's in-band SSE error event quoting the key is redacted", async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(sse([CHUNK, JSON.stringify({ error: { message: `key ${KEY} is over quota`, type: 'server_error' } }), '[DONE]']));
    });
    const r = await chat({ model: 'h/x', stream: true });
    expect(r.status).toBe(200);
    expect(r.text).toContain('[redacted]');
    expect(r.text).not.toContain(KEY.slice(0, 8));
  });

  it('a masked partial echo of a key that matches no well-known shape is redacted', async () => {
    h.handle((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `Invalid key ${MASKED} for this model`, type: 'invalid_request_error' } })));
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain(KEY.slice(0, 8));
    expect(r.text).not.toContain(KEY.slice(-4));
  });

  it('a key straddling the read window of a non-JSON error body leaks no byte of it', async () => {
    for (const pad of [4090, 4093, 65_530]) {
      // Whitespace, so the message the gateway quotes (trimmed, then cut to 300 characters) starts at the key.
      h.handle((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${' '.repeat(pad)}${KEY} trailing`));
      const r = await chat({ model: 'h/x' });
      expect(r.status).toBe(502);
      expect(r.text).not.toContain(KEY.slice(0, 4));
    }
  });

  it('a key echoed in a 200 body is redacted', async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(CHAT_OK.replace('hello', `your key is ${KEY}`)));
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(KEY.slice(0, 8));
    expect(JSON.parse(r.text).choices[0].message.content).toBe('your key is [redacted]');
  });
});

describe('one bad answer holds neither memory nor time', () => {
  it('a stream with no blank line ends with upstream_response_too_large, fetched once, and neighbours are served', async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      drip(res, `data: ${'y'.repeat(16 * 1024)}`, 0);
    });
    const [bad, ...neighbours] = await Promise.all([chat({ model: 'h/x', stream: true }), ...Array.from({ length: 20 }, () => chat({ model: 'mock/mock-small' }))]);
    expect(bad.status).toBe(502);
    expect(bad.error().code).toBe('upstream_response_too_large');
    expect(neighbours.every((n) => n.status === 200)).toBe(true);
    expect(h.requests).toBe(1);
    expect(h.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a stream answering a request that asked for none is a bad answer, not relayed past the answer limits', async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      drip(res, `data: ${CHUNK}\n\n`, 0);
    });
    const r = await chat({ model: 'h/x', stream: false });
    expect(r.status).toBe(502);
    expect(r.error().code).toBe('upstream_bad_response');
    expect(r.error().message).toContain('answered with a stream to a request that asked for none');
    expect(h.bytesSent).toBeLessThan(16 * 1024 * 1024);
  });

  it('an endless body is cut at the request deadline, and the deadline does not count against the provider', async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      drip(res, ' ', 20);
    });
    const r = await chat({ model: 'h/x' }, { 'x-microgate-timeout-ms': '300' });
    expect(r.status).toBe(504);
    expect(r.error().code).toBe('deadline_exceeded');
    // The attempt the deadline cut is counted, as the route header shows it.
    expect(r.error().message).toBe("The request's deadline passed after 1 attempt, cut short.");
    expect(Object.values(s.gw.plan.health.snapshot(s.gw.plan.keysById, performance.now())).every((c) => c.errorRate === 0 || c.state === 'closed')).toBe(true);
  });

  it('x-microgate-timeout-ms takes digits only: "0x10" and "1e3" are the client\'s 400, not 16 and 1000 ms', async () => {
    h.handle((_req, res) => res.writeHead(500).end());
    for (const v of ['0x10', '1e3', '1.5', '0', '-5']) {
      const r = await chat({ model: 'h/x' }, { 'x-microgate-timeout-ms': v });
      expect(r.status, v).toBe(400);
      expect(r.error().code).toBe('invalid_parameter');
    }
    expect(h.requests).toBe(0);
  });

  it('keep-alive comments without an event do not commit a stream: the deadline still ends it', async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      drip(res, ': PROCESSING\n\n', 20);
    });
    const r = await chat({ model: 'h/x', stream: true }, { 'x-microgate-timeout-ms': '300' });
    expect(r.status).toBe(504);
    expect(r.error().code).toBe('deadline_exceeded');
  });

  it('an endless error body is read only as far as its message, then the attempt ends', async () => {
    h.handle((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      drip(res, 'e'.repeat(64 * 1024), 0);
    });
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(502);
    expect(r.error().code).toBe('upstream_error');
    expect(h.requests).toBe(1);
    expect(h.bytesSent).toBeLessThan(8 * 1024 * 1024);
  });

  it('a response over maxResponseBytes is refused once, never fetched again on retry or fallback', async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"x":"${'z'.repeat(600 * 1024)}"}`));
    const r = await chat({ model: 'h/x', fallbacks: ['mock/mock-small'] });
    expect(r.status).toBe(502);
    expect(r.error().code).toBe('upstream_response_too_large');
    expect(h.requests).toBe(1);
  });

  it('buffered answers share one memory budget; past it an attempt gets 503 and the budget is returned', async () => {
    let waiting: Array<() => void> = [];
    h.handle((_req, res) => {
      // Hold every answer until all four requests are in, then send 320 KB each, slowly: 1.25 MB in all
      // against a budget of 1 MB.
      waiting.push(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"x":"');
        drip(res, 'q'.repeat(16 * 1024), 2, 20);
        setTimeout(() => res.end('"}'), 300);
      });
      if (waiting.length === 4) for (const go of waiting) go();
    });
    const results = await Promise.all(Array.from({ length: 4 }, () => chat({ model: 'h/x' })));
    waiting = [];
    const codes = results.map((r) => (r.status === 200 ? 'ok' : r.error().code)).sort();
    expect(codes.filter((c) => c === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(codes.every((c) => c === 'ok' || c === 'gateway_overloaded')).toBe(true);
    expect(codes).toContain('gateway_overloaded');
    for (const r of results) if (r.status === 200) expect(JSON.parse(r.text).x).toHaveLength(20 * 16 * 1024);
    expect(s.gw.plan.bufferBudget.bytes).toBe(0);
  });

  it('request bodies count in the same budget: past it a body is drained and refused as overload, and its bytes come back', async () => {
    const big = JSON.stringify({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'x'.repeat(1_500_000) }] });
    const r = await chat(JSON.parse(big) as Record<string, unknown>);
    expect(r.status).toBe(503);
    expect(r.error().code).toBe('gateway_overloaded');
    expect(s.gw.plan.bufferBudget.bytes).toBe(0);
    expect((await chat({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect(s.gw.plan.bufferBudget.bytes).toBe(0);
  });

  it("a provider's 200 whose body is not JSON is a failed attempt, not a 200", async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{this is not json}'));
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(502);
    expect(r.error().code).toBe('upstream_bad_response');
  });

  it("a provider's 302 is never relayed with its Location", async () => {
    h.handle((_req, res) => res.writeHead(302, { location: 'https://evil.example/', 'content-type': 'application/json' }).end('{}'));
    const r = await chat({ model: 'h/x' });
    expect(r.status).toBe(502);
    expect(r.headers.location).toBeUndefined();
    expect(r.error().code).toBe('upstream_bad_response');
  });

  it('a stream carries cache-control once', async () => {
    h.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.end(sse([CHUNK, '[DONE]']));
    });
    const r = await raw(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${JSON.stringify({ model: 'h/x', stream: true, messages: [{ role: 'user', content: 'x' }] }).length}\r\n\r\n${JSON.stringify({ model: 'h/x', stream: true, messages: [{ role: 'user', content: 'x' }] })}`, 800);
    const head = r.slice(0, r.indexOf('\r\n\r\n'));
    expect(head.match(/^cache-control:/gim)).toHaveLength(1);
  });
});

describe('a client cannot open circuits for everyone', () => {
  it("clients' own short deadlines are not provider failures: the alias keeps its primary", async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => chat({ model: 'alpha' }, { 'x-microgate-timeout-ms': '100' })));
    expect(results.every((r) => r.status === 504 && r.error().code === 'deadline_exceeded')).toBe(true);
    const circuits = s.gw.plan.health.snapshot(s.gw.plan.keysById, performance.now());
    expect(circuits['slow/k/mock-small']?.state ?? 'closed').toBe('closed');
    expect(circuits['slow/k/mock-small']?.errorRate ?? 0).toBe(0);
    const next = await chat({ model: 'alpha' });
    expect(next.status).toBe(200);
    expect(next.headers['x-microgate-provider']).toBe('slow');
  });

  it('a forwarded header with a byte undici refuses is a 400 before any provider sees it', async () => {
    const body = JSON.stringify({ model: 'h/x', messages: [{ role: 'user', content: 'x' }] });
    // 0x7f (DEL) reaches the gateway; 0xff is not UTF-8. (Other control bytes never reach a handler:
    // uWS holds such a head until its idle timeout, README "Request head limits".)
    for (const bad of [0x7f, 0xff]) {
      const head = Buffer.concat([Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Forward-Me: a`), Buffer.from([bad]), Buffer.from(`b\r\nContent-Length: ${body.length}\r\n\r\n${body}`)]);
      const r = await raw(head, 800);
      expect(r).toMatch(/^HTTP\/1\.1 400 /);
      expect(r).toContain('x-forward-me');
    }
    expect(h.requests).toBe(0);
  });

  it('a forwarded non-ASCII header value reaches the provider as the client wrote it', async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(CHAT_OK));
    // undici writes header strings as latin1: this sends the UTF-8 bytes of "caféx".
    const r = await chat({ model: 'h/x' }, { 'x-forward-me': Buffer.from('caféx').toString('latin1') });
    expect(r.status).toBe(200);
    expect(Buffer.from(h.lastHeaders['x-forward-me'] as string, 'latin1').toString('utf8')).toBe('caféx');
  });
});

describe('smaller ones', () => {
  it('a duplicate model key is a 400, not two models', async () => {
    const body = '{"model":"mock/mock-small","messages":[{"role":"user","content":"x"}],"model":"h/x"}';
    const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.statusCode).toBe(400);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const escaped = '{"mod\\u0065l":"h/x","messages":[{"role":"user","content":"x"}],"model":"mock/mock-small"}';
    expect((await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: escaped })).statusCode).toBe(400);
    expect(h.requests).toBe(0);
  });

  it('a valid 100k-deep body with a duplicate model key is a 400, and one without is served', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const dup = `{"model":"mock/mock-small","x":${deep},"messages":[{"role":"user","content":"x"}],"model":"mock/mock-small"}`;
    const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: dup });
    expect(r.statusCode).toBe(400);
    await r.body.text();
    const one = `{"model":"mock/mock-small","x":${deep},"messages":[{"role":"user","content":"x"}]}`;
    const ok = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: one });
    await ok.body.text();
    expect(ok.statusCode).toBe(200);
  });
});

describe('bounded state per client-chosen string', () => {
  it('distinct model names fold into "other" in /metrics past the cap, and the worker survives', async () => {
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(CHAT_OK));
    for (let i = 0; i < 260; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => chat({ model: `h/${'m'.repeat(200)}-${i + j}` })));
    await s.gw.server.telemetry.flush(5_000);
    const text = await (await request(`${s.gw.url}/metrics`)).body.text();
    const models = new Set([...text.matchAll(/microgate_requests_total\{provider="h",model="([^"]*)"/g)].map((m) => m[1]));
    expect(models.size).toBeLessThanOrEqual(101);
    expect(models.has('other')).toBe(true);
    expect(Number(/microgate_label_overflow_total\{label="model"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(2_000_000);
    expect(s.gw.server.telemetry.restarts).toBe(0);
  });

  it('circuits of client-named models are label values for 100 models at most', async () => {
    h.handle((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}'));
    for (let i = 0; i < 140; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => chat({ model: `h/junk-${i + j}` })));
    const text = await (await request(`${s.gw.url}/metrics`)).body.text();
    const models = new Set([...text.matchAll(/microgate_circuit_state\{provider="[^"]*",key="[^"]*",model="([^"]*)"/g)].map((m) => m[1]));
    expect(models.size).toBe(100);
  });
});

describe('large answers', () => {
  let big: Stack;
  beforeAll(async () => {
    big = await startStack({}, () => ({ version: 1, providers: { h: { baseUrl: h.baseUrl, keys: [{ name: 'hk', value: KEY }] } }, telemetry: { enabled: false } }));
  });
  afterAll(() => big.close());

  it('a large answer to a client that does not read arrives whole later, and stays in the budget until sent', async () => {
    const content = 'w'.repeat(24 * 1024 * 1024); // more than loopback's socket buffers hold
    h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ x: content })));
    const body = JSON.stringify({ model: 'h/x', messages: [{ role: 'user', content: 'x' }] });
    const sock = connect(big.gw.port, '127.0.0.1');
    sock.pause(); // a client that does not read: the kernel buffers fill, uWS must wait for them to drain
    sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    // Counted once the answer has come from the provider (polled: a busy machine takes longer).
    for (let i = 0; i < 500 && big.gw.plan.bufferBudget.bytes === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(big.gw.plan.bufferBudget.bytes).toBeGreaterThan(0);
    const received = await new Promise<Buffer>((resolve) => {
      // Joined once the head is read and once at the end: joining every read copied 24 MB ~400 times.
      const parts: Buffer[] = [];
      let bytes = 0;
      let bodyStart = -1;
      let length = 0;
      sock.on('data', (d: Buffer) => {
        parts.push(d);
        bytes += d.length;
        if (bodyStart < 0) {
          const all = Buffer.concat(parts);
          const headEnd = all.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          bodyStart = headEnd + 4;
          length = Number(/content-length: (\d+)/i.exec(all.subarray(0, headEnd).toString())?.[1]);
        }
        if (bytes - bodyStart >= length) resolve(Buffer.concat(parts).subarray(bodyStart));
      });
      sock.resume();
    });
    sock.destroy();
    expect(JSON.parse(received.toString()).x).toBe(content);
    expect(big.gw.plan.bufferBudget.bytes).toBe(0);
  });

});
