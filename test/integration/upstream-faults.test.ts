// What a client sees when the provider misbehaves: a clear OpenAI-shaped error with the right
// status, never a provider key, never a hang, and never a cut stream dressed up as a clean 200.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { SECRET, startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
const LIMITED = 'sk-limited-key-0000000000';

beforeAll(async () => {
  s = await startStack(
    {
      faults: {
        // The mock answers per API key: each gateway key below meets one failure.
        keys: {
          [SECRET]: { status: 401 },
          [LIMITED]: { status: 429, retryAfterSec: 7 },
          'key-500': { status: 503 },
          'key-malformed': { malformedRate: 1 },
          'key-reset': { resetRate: 1 },
          'key-cut': { disconnectAfterChunks: 2 },
          'key-slow-400': { status: 400, latencyMs: 60 },
        },
      },
    },
    (m) => {
      const provider = (key: string) => ({ baseUrl: m.faults!.baseUrl, keys: [{ name: 'k', value: key }] });
      return {
        version: 1,
        providers: {
          auth: provider(SECRET),
          limited: provider(LIMITED),
          broken: provider('key-500'),
          garbled: provider('key-malformed'),
          resets: provider('key-reset'),
          cuts: provider('key-cut'),
          slow400: provider('key-slow-400'),
          // 503s, with a backoff longer than any deadline (a wait in [0, 10 min)), before a working fallback.
          patient: { ...provider('key-500'), retry: { maxRetries: 1, baseMs: 600_000, capMs: 600_000 } },
          fine: provider('key-fine'),
          // Nothing listens on port 9 (discard) on loopback: connection refused.
          nowhere: { baseUrl: 'http://127.0.0.1:9/v1', keys: [{ name: 'k', value: 'x' }] },
        },
        models: { slow: { targets: [{ provider: 'patient', model: 'm' }], fallbacks: ['fine/m'] } },
      };
    },
  );
});
afterAll(() => s.close());

async function chat(model: string, stream = false) {
  const res = await request(`${s.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as { error: { code: string; message: string; type: string } } };
}

describe('provider errors', () => {
  it("an error answer's server-timing counts the provider's time as the provider's, not the gateway's", async () => {
    // The provider takes at least 60 ms to refuse: that wait is upstream time (it was reported as 0).
    const r = await chat('slow400/m');
    expect(r.status).toBe(400);
    const timing = String(r.headers['server-timing']);
    const dur = (name: string) => Number(new RegExp(`${name};dur=([\\d.]+)`).exec(timing)?.[1]);
    expect(dur('upstream'), timing).toBeGreaterThanOrEqual(59);
  });

  it('401 from the provider becomes 502 upstream_auth_failed naming the key, never its value', async () => {
    const r = await chat('auth/m');
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_auth_failed');
    expect(r.json().error.message).toContain("key 'k'");
    expect(r.text).not.toContain(SECRET);
    expect(r.text).not.toContain(SECRET.slice(0, 12));
    expect(r.headers['x-microgate-flag']).toBe('UAUTH');
  });

  it("429 passes through with the provider's code, message and Retry-After", async () => {
    const r = await chat('limited/m');
    expect(r.status).toBe(429);
    expect(r.json().error).toMatchObject({ code: 'rate_limit_exceeded', message: 'Rate limit reached for requests (mock).' });
    expect(r.headers['x-microgate-flag']).toBe('URL');
    expect(r.headers['retry-after']).toBe('7');
    expect(r.text).not.toContain(LIMITED);
  });

  it("a provider's 503 stays a 503 with its own words (flag U5); the gateway retried, so the SDK is told not to", async () => {
    const r = await chat('broken/m');
    expect(r.status).toBe(503);
    expect(r.json().error).toMatchObject({ type: 'server_error', code: 'server_error' });
    expect(r.json().error.message).toContain('mock 503');
    expect(r.headers['x-microgate-flag']).toBe('U5');
    expect(r.headers['x-microgate-attempts']).toBe('3');
    expect(r.headers['x-should-retry']).toBe('false');
  });

  it('a truncated JSON body becomes 502 upstream_bad_response', async () => {
    const r = await chat('garbled/m');
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_bad_response');
  });

  it('a reset before the answer becomes 502 upstream_reset', async () => {
    const r = await chat('resets/m');
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_reset');
  });

  it('connection refused becomes 502 upstream_connect_failed', async () => {
    const r = await chat('nowhere/m');
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_connect_failed');
  });

  it('a stream cut mid-way ends with an SSE error event, not [DONE]', async () => {
    const r = await chat('cuts/m', true);
    expect(r.status).toBe(200);
    const events = r.text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.at(-1)).toMatch(/^data: \{"error":\{.*"code":"upstream_reset"/);
    expect(r.text).not.toContain('[DONE]');
    // the role chunk and two content chunks came first, whole
    expect(events.slice(0, -1).every((e) => JSON.parse(e.slice(6)).object === 'chat.completion.chunk')).toBe(true);
  });
});

describe('the gateway survives all of it', () => {
  it('serves a mixed burst of failing requests concurrently, answering every one', async () => {
    const models = ['auth/m', 'limited/m', 'broken/m', 'garbled/m', 'resets/m', 'nowhere/m'];
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => chat(models[i % models.length]!)));
    expect(results.every((r) => r.status >= 400 && r.json().error.code.length > 0)).toBe(true);
    expect(s.gw.server.inFlight).toBe(0);
  });
});

describe('a backoff longer than the time left', () => {
  it('goes to the fallback instead of waiting out the deadline', async () => {
    const res = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-microgate-timeout-ms': '3000' },
      body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(String(res.headers['x-microgate-route'])).toMatch(/^patient\/m#k:503 > fine\/m#k:200$/);
  });
});
