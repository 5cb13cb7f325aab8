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
