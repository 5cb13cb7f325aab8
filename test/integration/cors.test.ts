// Browser clients (server.cors): preflights answered for allowed origins, refused for others, and every
// answer to an allowed origin readable by the page (Access-Control-Allow-Origin, exposed headers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
const APP = 'https://app.example.com';

beforeAll(async () => {
  s = await startStack({ main: {} }, (m) => ({
    version: 1,
    server: { cors: { origins: [APP], maxAgeSeconds: 300 } },
    providers: { mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'cors-key-0123456789' }], models: ['mock-small'] } },
  }));
});
afterAll(() => s.close());

const preflight = (origin: string, headers = 'authorization, content-type, x-stainless-os') =>
  request(`${s.gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers } });

describe('CORS', () => {
  it('answers a preflight from an allowed origin: 204, the methods, the headers it asked for, max-age', async () => {
    const r = await preflight(APP);
    expect(r.statusCode).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-methods']).toBe('GET, POST, DELETE, OPTIONS');
    expect(r.headers['access-control-allow-headers']).toBe('authorization, content-type, x-stainless-os');
    expect(r.headers['access-control-max-age']).toBe('300');
    expect(r.headers.vary).toBe('Origin');
    await r.body.text();
  });

  it('refuses a preflight from another origin, and never echoes a malformed header list', async () => {
    const r = await preflight('https://evil.example.net');
    expect(r.statusCode).toBe(403);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('cors_origin_not_allowed');
    const bad = await preflight(APP, 'x-ok, "quoted"');
    expect(bad.headers['access-control-allow-headers']).toBeUndefined();
    await bad.body.text();
  });

  it("refuses under /v1/messages in Anthropic's shape, and says what an allowed origin's OPTIONS without a method lacks", async () => {
    const evil = await request(`${s.gw.url}/v1/messages`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' } });
    expect(evil.statusCode).toBe(403);
    expect(await evil.body.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    const methodless = await request(`${s.gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: APP } });
    expect(methodless.statusCode).toBe(403);
    expect(((await methodless.body.json()) as { error: { message: string } }).error.message).toContain('Access-Control-Request-Method');
  });

  it('an actual answer to an allowed origin can be read by the page, its ids and route headers too', async () => {
    const r = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(String(r.headers['access-control-expose-headers'])).toContain('x-request-id');
    await r.body.text();
    const models = await request(`${s.gw.url}/v1/models`, { headers: { origin: APP } });
    expect(models.headers['access-control-allow-origin']).toBe(APP);
    await models.body.text();
  });

  it('errors carry the headers too (a page must be able to read why it failed); other origins get none', async () => {
    const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/json' }, body: '{' });
    expect(r.statusCode).toBe(400);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    await r.body.text();
    const other = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://evil.example.net', 'content-type': 'application/json' }, body: '{' });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    await other.body.text();
    // An unknown path (404) and a wrong method (405) too.
    for (const [method, path, status] of [['POST', '/v1/nope', 404], ['GET', '/v1/chat/completions', 405]] as const) {
      const r = await request(`${s.gw.url}${path}`, { method, headers: { origin: APP } });
      expect(r.statusCode).toBe(status);
      expect(r.headers['access-control-allow-origin']).toBe(APP);
      await r.body.text();
    }
  });

  it('with no origins configured, OPTIONS is a 405 like any other method', async () => {
    const plain = await startStack({ m: {} }, (m) => ({ version: 1, providers: { mock: { baseUrl: m.m!.baseUrl, keys: [{ name: 'k', value: 'v-0123456789' }] } } }));
    try {
      const r = await request(`${plain.gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
      expect(r.statusCode).toBe(405);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      await r.body.text();
    } finally {
      await plain.close();
    }
  });
});
