// x-microgate-route tells an operator why a request went where it went: the targets passed over
// without an attempt appear with their reason (open circuit, resting keys), among the attempts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ bad: { status: 500 }, limited: { status: 429, retryAfterSec: 60 }, good: {} }, (m) => ({
    version: 1,
    providers: {
      broken: { baseUrl: m.bad!.baseUrl, keys: [{ name: 'k', value: 'broken-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
      limited: { baseUrl: m.limited!.baseUrl, keys: [{ name: 'k', value: 'limited-key-0123456789' }] },
      good: { baseUrl: m.good!.baseUrl, keys: [{ name: 'k', value: 'good-key-0123456789' }] },
      throttled: { baseUrl: m.limited!.baseUrl, keys: [{ name: 'k1', value: 'throttled-key-1-0123456789' }, { name: 'k2', value: 'throttled-key-2-0123456789' }] },
    },
    models: { chain: { targets: [{ provider: 'broken', model: 'm' }], fallbacks: ['limited/m', 'good/m'] } },
    routing: { circuit: { consecutiveFailures: 1, minRequests: 1000, cooldownMs: 60_000 } },
  }));
});
afterAll(() => s.close());

const route = async () => {
  const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'chain', messages: [{ role: 'user', content: 'hi' }] }) });
  await r.body.text();
  expect(r.statusCode).toBe(200);
  return String(r.headers['x-microgate-route']);
};

it('shows targets skipped for an open circuit or resting keys, with the reason, among the attempts', async () => {
  // First: every target is tried; the failures open broken's circuit and rest limited's key (Retry-After 60 s).
  expect(await route()).toBe('broken/m#k:500 > limited/m#k:429 > good/m#k:200');
  // Then neither is tried, and the header says why.
  expect(await route()).toBe('broken/m:open > limited/m:resting > good/m#k:200');
});

const send = async (model: string) => {
  const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  await r.body.text();
  return { status: r.statusCode, route: String(r.headers['x-microgate-route']), attempts: Number(r.headers['x-microgate-attempts']) };
};

it('every key resting after 429s with Retry-After: a request tries one of them, not each in turn', async () => {
  const first = await send('throttled/m');
  expect(first.status).toBe(429);
  expect(first.attempts).toBe(2);
  // Both rest for a minute; with no other target, the least rested is tried anyway, and its 429 ends it.
  const next = await send('throttled/m');
  expect(next.status).toBe(429);
  expect(next.attempts).toBe(1);
});
