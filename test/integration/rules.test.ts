// Rules through the live server: routing by header and by complexity, the decision visible in
// x-microgate-route, deny as an OpenAI-shaped error, and /v1/route/explain never reaching a provider.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { eventuallyAsync } from '../helpers/waits.ts';
import type { LogLine } from '../../src/telemetry/log-line.ts';

let s: Stack;
beforeAll(async () => {
  s = await startStack({ frontier: {}, cheap: {} }, (m) => ({
    version: 1,
    providers: {
      frontier: { baseUrl: m.frontier!.baseUrl, keys: [{ name: 'f', value: 'f' }], models: ['big'] },
      cheap: { baseUrl: m.cheap!.baseUrl, keys: [{ name: 'c', value: 'c' }], models: ['small'] },
    },
    models: { auto: { targets: [{ provider: 'frontier', model: 'big' }] } },
    rules: [
      { name: 'premium', priority: 1, when: 'headers["x-tier"] == "premium"', targets: [{ provider: 'frontier', model: 'big' }], tag: 'paid' },
      { name: 'blocked', priority: 2, when: 'headers["x-team"] == "banned"', deny: { message: 'This team may not use the gateway.' } },
      { name: 'cheap-simple', priority: 10, when: 'model == "auto" && complexity_tier == "SIMPLE"', targets: [{ provider: 'cheap', model: 'small' }] },
      { name: 'costly-budget', priority: 20, when: 'budget_used > 85.0', targets: [{ provider: 'cheap' }] },
      { name: 'watch', priority: 30, when: '"x-watch" in headers && request.message_count >= 1', tag: 'watched' },
    ],
  }));
});
afterAll(() => s.close());

async function chat(content: string, headers: Record<string, string> = {}, path = '/v1/chat/completions') {
  const res = await request(`${s.gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }),
  });
  return { status: res.statusCode, route: res.headers['x-microgate-route'] as string | undefined, provider: res.headers['x-microgate-provider'], json: (await res.body.json()) as Record<string, unknown> };
}

it('a premium header sends the request to the frontier model, without classifying it', async () => {
  const r = await chat('hi', { 'x-tier': 'premium' });
  expect(r.provider).toBe('frontier');
  expect(r.route).toMatch(/^rule:premium > frontier\/big#f:200$/);
});

it('a simple prompt goes to the cheap model, and the route header says why', async () => {
  const r = await chat('hi, thanks!');
  expect(r.provider).toBe('cheap');
  expect(r.route).toMatch(/^rule:cheap-simple tier:SIMPLE > cheap\/small#c:200$/);
});

it('a hard prompt stays on the alias target; the tier is still shown', async () => {
  const r = await chat('Prove that the square root of 2 is irrational, step by step, and then derive a general condition for sqrt(n) to be rational.');
  expect(r.provider).toBe('frontier');
  expect(r.route).toMatch(/^tier:(COMPLEX|REASONING) > frontier\/big#f:200$/);
});

it("records every matched rule's tag, a shadow rule's too: in the request log (searchable by tag) and in /metrics", async () => {
  const tagged = async (tag: string): Promise<number> => {
    const line = (await (await fetch(`${s.gw.url}/metrics`)).text()).split('\n').find((l) => l.startsWith(`microgate_rule_tags_total{tag="${tag}"} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  const paid = await tagged('paid');
  const r = await chat('hi', { 'x-tier': 'premium', 'x-watch': 'yes' });
  expect(r.route).toMatch(/^rule:premium > frontier\/big#f:200$/);
  await chat('hi', { 'x-tier': 'premium' });
  // The log and the metrics are written off the request path, by the telemetry worker: poll.
  const lines = await eventuallyAsync(async () => ((await (await fetch(`${s.gw.url}/admin/requests?tag=watched`)).json()) as { data: LogLine[] }).data, (d) => d.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ rule: 'premium', matched: ['premium', 'watch'], tags: ['paid', 'watched'] });
  expect(await eventuallyAsync(() => tagged('paid'), (n) => n === paid + 2)).toBe(paid + 2);
  expect(await tagged('watched')).toBe(1);
});

it('deny answers 403 in OpenAI\'s error shape', async () => {
  const r = await chat('hi', { 'x-team': 'banned' });
  expect(r.status).toBe(403);
  expect(r.json.error).toMatchObject({ code: 'request_denied', message: 'This team may not use the gateway.' });
});

it('explain returns the decision, sends nothing upstream, and is not counted as a match of the rule', async () => {
  const before = s.mocks.cheap!.stats().requests + s.mocks.frontier!.stats().requests;
  const matches = async () => ((await (await fetch(`${s.gw.url}/admin/stats`)).json()) as { rules: { matches: Record<string, number> } }).rules.matches['cheap-simple'] ?? 0;
  const counted = await matches();
  const r = await chat('hi', {}, '/v1/route/explain');
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ model: 'auto', rule: 'cheap-simple', targets: ['cheap/small'], complexity: { tier: 'SIMPLE' } });
  expect(s.mocks.cheap!.stats().requests + s.mocks.frontier!.stats().requests).toBe(before);
  expect(await matches()).toBe(counted);
});

it('explain shows the signals that decided the tier', async () => {
  const r = await chat('Prove by induction that 1 + 2 + ... + n = n(n+1)/2.', {}, '/v1/route/explain');
  const c = r.json.complexity as {
    tier: string; model: string;
    signals: { cues: Record<string, string[]>; probabilities: Record<string, number>; questionChars: number; topFeatures: { feature: string; contribution: number }[] };
  };
  expect(c.tier).toBe('REASONING');
  expect(c.model).toBe('learned');
  expect(c.signals.cues.reasoningStrong).toEqual(expect.arrayContaining(['prove', 'by induction']));
  expect(c.signals.probabilities.REASONING).toBeGreaterThan(0.5);
  expect(c.signals.questionChars).toBeGreaterThan(40);
  expect(c.signals.topFeatures.length).toBeGreaterThan(0);
});

it('admin stats count matches per rule', async () => {
  const matches = async () => ((await (await fetch(`${s.gw.url}/admin/stats`)).json()) as { rules: { matches: Record<string, number> } }).rules.matches;
  const before = await matches();
  expect(before.premium).toBeGreaterThanOrEqual(1);
  expect((await chat('hi')).status).toBe(200);
  expect((await matches())['cheap-simple']).toBe((before['cheap-simple'] ?? 0) + 1);
});
