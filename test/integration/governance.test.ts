// Governance in one gateway process: deny by default, a key's models and providers, each limit at each
// level (key, team, customer), budgets spent by answers and by streams, the headers the OpenAI SDK reads
// (and whether it waits for Retry-After), rules that see tenants and budgets, the admin API with a
// restart in between, and no key value anywhere it should not be. Counts, never timings.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import OpenAI, { toFile } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { waitForStats } from '../helpers/waits.ts';

const V = {
  a: 'vk-value-alpha-0123456789abcdef',
  b: 'vk-value-bravo-0123456789abcdef',
  t: 'vk-value-tokens-0123456789abcdef',
  scope: 'vk-value-scope-0123456789abcdef',
  budget: 'vk-value-budget-0123456789abcdef',
  stream: 'vk-value-stream-0123456789abcdef',
  rules: 'vk-value-rules-0123456789abcdef',
  conc: 'vk-value-concurrent-0123456789abcdef',
  leave: 'vk-value-leave-0123456789abcdef',
  files: 'vk-value-files-0123456789abcdef',
  priced: 'vk-value-priced-0123456789abcdef',
};
const ADMIN = 'admin-key-0123456789abcdefghij';
const PROVIDER_KEY = 'provider-key-0123456789abcdef';

let mock: MockHandle;
let gw: Gateway;
let logDir: string;
let dbDir: string;

function config(): ConfigInput {
  return {
    version: 1,
    providers: {
      mock: {
        baseUrl: mock.baseUrl,
        keys: [{ name: 'k', value: PROVIDER_KEY }],
        models: ['mock-small', 'mock-large'],
        // $1 per thousand tokens: a few answers spend a cent.
        pricing: { 'mock-small': { input: 1000, output: 1000 }, 'mock-large': { input: 2000, output: 2000 } },
        forwardHeaders: ['x-mock-*'],
      },
      other: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: PROVIDER_KEY }], models: ['mock-small'] },
    },
    // `other` has no price for mock-small: a budgeted key's request must not reach it.
    models: { 'unpriced-first': { targets: [{ provider: 'other', model: 'mock-small' }], fallbacks: ['mock/mock-small'] } },
    rules: [{ name: 'thrifty', scope: { team: 'rulesTeam' }, when: 'budget_used > 50.0', targets: [{ provider: 'mock', model: 'mock-small' }] }],
    governance: {
      adminKey: ADMIN,
      db: join(dbDir, 'gov.db'),
      customers: { cRPM: { limits: { requestsPerMinute: 8 } }, cFree: {} },
      teams: { tShared: { customer: 'cRPM' }, tTokens: { limits: { tokensPerMinute: 300 } }, rulesTeam: { customer: 'cFree' } },
      virtualKeys: [
        { id: 'vk-a', value: V.a, team: 'tShared', limits: { requestsPerMinute: 5 } },
        { id: 'vk-b', value: V.b, team: 'tShared' },
        { id: 'vk-t', value: V.t, team: 'tTokens' },
        { id: 'vk-scope', value: V.scope, models: ['mock-small', 'mock/mock-small'], providers: ['mock'] },
        { id: 'vk-budget', value: V.budget, limits: { budget: { usd: 0.05, period: '1d' } } },
        { id: 'vk-stream', value: V.stream, limits: { budget: { usd: 0.05, period: '1d' } } },
        { id: 'vk-rules', value: V.rules, team: 'rulesTeam', limits: { budget: { usd: 1, period: '1d' } } },
        { id: 'vk-conc', value: V.conc, limits: { budget: { usd: 0.1, period: '1d' } } },
        { id: 'vk-leave', value: V.leave, limits: { budget: { usd: 5, period: '1d' } } },
        { id: 'vk-files', value: V.files },
        { id: 'vk-priced', value: V.priced, limits: { budget: { usd: 100, period: '1d' } } },
      ],
    },
    telemetry: { log: { dir: logDir } },
  };
}

async function start(): Promise<void> {
  gw = await startGateway(validateConfig(config(), {}), { host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  logDir = mkdtempSync(join(tmpdir(), 'mg-gov-logs-'));
  dbDir = mkdtempSync(join(tmpdir(), 'mg-gov-db-'));
  mock = await startMock({ name: 'mock' }, { port: 0 });
  await start();
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});

const sdk = (key: string, maxRetries = 0) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries });
const ask = (key: string, model = 'mock/mock-small', extra: Record<string, unknown> = {}) =>
  sdk(key).chat.completions.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hello' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming);
const caught = <T>(p: Promise<T>) => p.then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);

/** Minute windows: a test that counts within one waits out the last seconds of the current minute first. */
async function awayFromMinuteEdge(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 4_000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('deny by default', () => {
  it('no key, an unknown bearer, Basic auth: 401 invalid_api_key, before the provider is reached', async () => {
    const before = mock.stats().requests;
    expect(await caught(ask('nope-not-a-key'))).toBeInstanceOf(OpenAI.AuthenticationError);
    const none = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"mock/mock-small","messages":[]}' });
    expect(none.statusCode).toBe(401);
    expect(((await none.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const basic = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`u:${V.a}`).toString('base64')}` }, body: '{}' });
    expect(basic.statusCode).toBe(401);
    await basic.body.text();
    expect(mock.stats().requests).toBe(before);
    // The model list names every routable model and provider: it needs a key too, as OpenAI's does.
    for (const path of ['/v1/models', '/v1/models/mock-small']) {
      const anonymous = await request(`${gw.url}${path}`);
      expect(anonymous.statusCode).toBe(401);
      expect(((await anonymous.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
      const known = await request(`${gw.url}${path}`, { headers: { authorization: `Bearer ${V.a}` } });
      expect(known.statusCode).toBe(200);
      await known.body.text();
    }
  });

  it('a known key works with the OpenAI SDK (Bearer) and the Anthropic SDK (x-api-key)', async () => {
    expect((await ask(V.b)).choices[0]!.message.content).toMatch(/\S/);
    const claude = new Anthropic({ baseURL: gw.url, apiKey: V.b, maxRetries: 0 });
    const m = await claude.messages.create({ model: 'mock/mock-small', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.type).toBe('message');
  });

  it('a key outside its models or providers gets 403 permission_denied', async () => {
    expect((await ask(V.scope)).choices).toHaveLength(1);
    const wrongModel = await caught(ask(V.scope, 'mock/mock-large'));
    expect(wrongModel).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(wrongModel!.code).toBe('permission_denied');
    const wrongProvider = await caught(ask(V.scope, 'mock-small')); // the bare name is shared by mock and other
    expect(wrongProvider).toBeNull(); // the target at "other" is left out, "mock" serves it
    // A fallback the key may not use is refused like the model, before any provider is reached.
    const wrongFallback = await caught(ask(V.scope, 'mock/mock-small', { fallbacks: ['mock/mock-large'] }));
    expect(wrongFallback).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(wrongFallback!.param).toBe('fallbacks');
    expect(await caught(ask(V.scope, 'mock/mock-small', { fallbacks: ['mock/mock-small'] }))).toBeNull();
    // Files and batches are the provider account's: a key held to some models (or a budget) may not
    // reach them; a key without either may.
    const files = (key: string) => request(`${gw.url}/v1/files`, { headers: { authorization: `Bearer ${key}`, 'x-microgate-provider': 'mock' } });
    const held = await files(V.scope);
    expect(held.statusCode).toBe(403);
    expect(((await held.body.json()) as { error: { code: string } }).error.code).toBe('permission_denied');
    // A request that names no model (a moderation may) would get the provider's default: refused too.
    const unnamed = await request(`${gw.url}/v1/moderations`, { method: 'POST', headers: { authorization: `Bearer ${V.scope}`, 'content-type': 'application/json', 'x-microgate-provider': 'mock' }, body: '{"input":"x"}' });
    expect(unnamed.statusCode).toBe(403);
    expect(((await unnamed.body.json()) as { error: { param: string } }).error.param).toBe('model');
    // A key without either may reach them, by the ids it was given (test/integration/files-tenancy.test.ts);
    // a list would show every tenant's, so it is refused too, for another reason.
    const free = await files(V.files);
    expect(free.statusCode).toBe(403);
    expect(((await free.body.json()) as { error: { message: string } }).error.message).toMatch(/every tenant's/);
  });
});

describe('limits at every level', () => {
  it("a key's requests per minute: OpenAI's headers, then a 429 the SDK raises as RateLimitError", async () => {
    await awayFromMinuteEdge();
    const first = await sdk(V.a).chat.completions.create({ model: 'mock/mock-small', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('4');
    expect(first.response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d)?s$|^\d+ms$/);
    for (let i = 0; i < 4; i++) await ask(V.a);
    const err = await caught(ask(V.a));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err!.code).toBe('rate_limit_exceeded');
    expect(err!.message).toContain('virtual key vk-a');
    expect(err!.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(err!.headers!.get('retry-after'))).toBeGreaterThan(0);
    expect(err!.headers!.get('x-should-retry')).toBeNull();
    // The same refusal to an Anthropic client, in its own shape: the SDK raises RateLimitError too.
    const claude = new Anthropic({ baseURL: gw.url, apiKey: V.a, maxRetries: 0 });
    const refused = await claude.messages.create({ model: 'mock/mock-small', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).then(
      () => null,
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    expect((refused!.error as { type: string; error: { type: string; message: string } }).error.type).toBe('rate_limit_error');
    expect((refused!.error as { error: { message: string } }).error.message).toContain('virtual key vk-a');
    expect(Number(refused!.headers!.get('retry-after'))).toBeGreaterThan(0);
  });

  it("a customer's limit is shared by its teams' keys: vk-b gets what vk-a left of cRPM's 8", async () => {
    await awayFromMinuteEdge();
    // This minute may already hold vk-a's and vk-b's requests: count what is left, then exhaust it.
    let admitted = 0;
    let refused: InstanceType<typeof OpenAI.APIError> | null = null;
    for (let i = 0; i < 12 && refused === null; i++) {
      const e = await caught(ask(V.b));
      if (e === null) admitted++;
      else refused = e;
    }
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused!.message).toContain('customer cRPM');
    expect(admitted).toBeLessThanOrEqual(8);
  });

  it("a team's tokens per minute: input and output tokens counted, then a 429 naming tokens", async () => {
    await awayFromMinuteEdge();
    // The remaining tokens an answer reports are after its own reservation (prompt bytes / 4 + max_tokens),
    // as its remaining requests are after its own permit.
    const first = await sdk(V.t).chat.completions.create({ model: 'mock/mock-small', max_tokens: 60, messages: [{ role: 'user', content: 'count these tokens please' }] }).withResponse();
    expect(Number(first.response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThanOrEqual(300 - 60);
    let refused: InstanceType<typeof OpenAI.APIError> | null = null;
    let answered = 0;
    for (let i = 0; i < 30 && refused === null; i++) {
      const e = await caught(sdk(V.t).chat.completions.create({ model: 'mock/mock-small', max_tokens: 60, messages: [{ role: 'user', content: 'count these tokens please' }] }));
      if (e === null) answered++;
      else refused = e;
    }
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect(refused!.message).toContain('tokens per minute of team tTokens');
    // Refused once the request's estimate (prompt bytes / 4 + max_tokens) no longer fits in what is left.
    const left = Number(refused!.headers!.get('x-ratelimit-remaining-tokens'));
    expect(left).toBeGreaterThanOrEqual(0);
    expect(left).toBeLessThan(60 + 60);
    expect(answered).toBeGreaterThan(1);
    expect(Number(refused!.headers!.get('retry-after'))).toBeGreaterThan(0);
    // A request whose estimate alone exceeds the limit (no max_tokens: 1,024 reserved, over the team's
    // 300) never fits: said so, with no Retry-After and x-should-retry false, not "retry in 52s" forever.
    const tooLarge = await caught(sdk(V.t).chat.completions.create({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'hi' }] }));
    expect(tooLarge).toBeInstanceOf(OpenAI.RateLimitError);
    expect(tooLarge!.message).toContain('Request too large for the limit of 300 tokens per minute of team tTokens');
    expect(tooLarge!.headers!.get('retry-after')).toBeNull();
    expect(tooLarge!.headers!.get('x-should-retry')).toBe('false');
    // Each of n choices may write max_tokens: 10 × 60 is over the team's 300, though one is not.
    const many = await caught(sdk(V.t).chat.completions.create({ model: 'mock/mock-small', n: 10, max_tokens: 60, messages: [{ role: 'user', content: 'hi' }] }));
    expect(many!.message).toContain('Request too large');
    // Files are the provider account's, and a batch's tokens are never charged: refused to a key with a token limit.
    const files = await caught(sdk(V.t).files.create({ file: await toFile(Buffer.from('{}\n'), 'batch.jsonl'), purpose: 'batch' }, { headers: { 'x-microgate-provider': 'mock' } }));
    expect(files!.status, files!.message).toBe(403);
    expect(files!.message).toContain('token limits');
  });

  it('a budget spent by answers: the cost header, then 402 budget_exceeded that tells the SDK not to retry', async () => {
    let cost = 0;
    let refused: InstanceType<typeof OpenAI.APIError> | null = null;
    for (let i = 0; i < 40 && refused === null; i++) {
      const r = await sdk(V.budget).chat.completions.create({ model: 'mock/mock-small', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).withResponse().catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
      if ('response' in r) cost += Number(r.response.headers.get('x-microgate-cost-usd'));
      else refused = r;
    }
    expect(refused!.status).toBe(402);
    expect(refused!.code).toBe('budget_exceeded');
    expect(refused!.headers!.get('x-should-retry')).toBe('false');
    // Admitted while under the budget; the last one may cross it by its own cost.
    expect(cost).toBeGreaterThanOrEqual(0.05);
    expect(cost).toBeLessThan(0.05 + 0.02);
  });

  it('a budget spent by streams: usage from the stream is charged when it ends', async () => {
    let refused: InstanceType<typeof OpenAI.APIError> | null = null;
    let streams = 0;
    for (let i = 0; i < 40 && refused === null; i++) {
      try {
        const s = await sdk(V.stream).chat.completions.create({ model: 'mock/mock-small', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
        for await (const _ of s) void _;
        streams++;
      } catch (e) {
        refused = e as InstanceType<typeof OpenAI.APIError>;
      }
    }
    expect(refused!.code).toBe('budget_exceeded');
    expect(streams).toBeGreaterThan(0);
    const usage = (await (await request(`${gw.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { virtualKeys: Array<{ id: string; usage: { budget?: { spentUsd: number } } }> };
    expect(usage.virtualKeys.find((k) => k.id === 'vk-stream')!.usage.budget!.spentUsd).toBeGreaterThanOrEqual(0.05);
  });

  it('a stream the client leaves before its usage arrives is charged its reservation, not refunded', async () => {
    // 40 slow chunks; the client reads one and goes. The provider wrote (and bills) an answer whose
    // usage never reached the gateway: refunding the reservation would make it free.
    const s = await sdk(V.leave).chat.completions.create(
      { model: 'mock/mock-small', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-mock-chunks': '40', 'x-mock-chunk-delay-ms': '25' } },
    );
    const aborted = mock.stats().aborted;
    for await (const _ of s) break;
    // The gateway settles when it sees the client gone, then cancels the upstream request.
    await waitForStats(mock, (st) => st.aborted > aborted);
    const u = (await (await request(`${gw.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { virtualKeys: Array<{ id: string; usage: { budget: { spentUsd: number } } }> };
    const usd = u.virtualKeys.find((k) => k.id === 'vk-leave')!.usage.budget.spentUsd;
    // The reservation ($1 per 1,000 tokens, 100 of them output at least) stays spent.
    expect(usd).toBeGreaterThanOrEqual(0.1);
  });

  it('a request the client leaves once it was sent is charged its reservation too: the provider bills what it started', async () => {
    const spent = async () =>
      ((await (await request(`${gw.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { virtualKeys: Array<{ id: string; usage: { budget: { spentUsd: number } } }> }).virtualKeys.find((k) => k.id === 'vk-leave')!.usage.budget.spentUsd;
    const before = await spent();
    const gone = new AbortController();
    const received = mock.stats().requests;
    const pending = sdk(V.leave).chat.completions.create({ model: 'mock/mock-small', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-mock-latency-ms': '2000' }, signal: gone.signal }).catch(() => null);
    await waitForStats(mock, (st) => st.requests > received);
    gone.abort();
    await pending;
    // Settled when the gateway sees the client gone (off the request path for the usage read: polled).
    let after = before;
    for (let i = 0; i < 100 && after < before + 0.1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await spent();
    }
    expect(after).toBeGreaterThanOrEqual(before + 0.1);
  });

  it('requests in flight together cannot overshoot a budget: each reserves its estimate when admitted', async () => {
    // 40 at once: none has been charged when the others arrive; their reservations are.
    const results = await Promise.all(Array.from({ length: 40 }, () => caught(sdk(V.conc).chat.completions.create({ model: 'mock/mock-small', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }))));
    const admitted = results.filter((e) => e === null).length;
    expect(results.filter((e) => e !== null).every((e) => e!.code === 'budget_exceeded')).toBe(true);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(40);
    const usage = (await (await request(`${gw.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { virtualKeys: Array<{ id: string; usage: { budget: { spentUsd: number } } }> };
    // Spent: the answers' real cost, reservations settled. At most the budget plus one answer's overrun of its estimate.
    expect(usage.virtualKeys.find((k) => k.id === 'vk-conc')!.usage.budget.spentUsd).toBeLessThanOrEqual(0.1);
  });

  it("the SDK waits for Retry-After before retrying a 429 (it reads retry-after), then raises it", async () => {
    await awayFromMinuteEdge();
    // Exhaust vk-a's minute first (it may already be).
    while ((await caught(ask(V.a))) === null);
    const seen = () => gw.server.requests;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const p = caught(sdk(V.a, 1).chat.completions.create({ model: 'mock/mock-small', messages: [{ role: 'user', content: 'x' }] }));
      // The first refusal arrives; the SDK then sleeps for the Retry-After it was given.
      const before = seen();
      await vi.waitFor(() => expect(seen()).toBe(before + 1), { timeout: 2_000, interval: 5 });
      const retryAfterS = 60 - Math.floor((Date.now() % 60_000) / 1000);
      await vi.advanceTimersByTimeAsync((retryAfterS - 2) * 1000);
      expect(seen()).toBe(before + 1); // still waiting
      await vi.advanceTimersByTimeAsync(4_000);
      await vi.waitFor(() => expect(seen()).toBe(before + 2), { timeout: 2_000, interval: 5 });
      expect(await p).toBeInstanceOf(OpenAI.RateLimitError);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a budget needs a price', () => {
  it("a budgeted key is refused a model no one has priced (it was served free, for ever); a fallback with a price serves it; a key without a budget is not held to prices", async () => {
    const refused = await caught(ask(V.priced, 'other/mock-small'));
    expect(refused!.status).toBe(403);
    expect(refused!.message).toContain("The budget of virtual key 'vk-priced' cannot be kept on 'other/mock-small': its price is unknown (set providers.other.pricing in the config).");
    const served = await ask(V.priced, 'unpriced-first').withResponse();
    expect(served.response.headers.get('x-microgate-provider')).toBe('mock');
    expect((await ask(V.files, 'other/mock-small')).choices).toHaveLength(1);
  });

  it('a budgeted key is refused images and speech, which no answer prices in tokens (200 HD images were charged $0); a key without a budget is not', async () => {
    const image = await caught(sdk(V.priced).images.generate({ model: 'mock/dall-e-3', prompt: 'a cat' }));
    expect(image!.status).toBe(403);
    expect(image!.message).toContain("The virtual key 'vk-priced' has a budget, and images cannot be charged to it");
    const speech = await caught(sdk(V.priced).audio.speech.create({ model: 'mock/tts-1', input: 'hi', voice: 'alloy' }));
    expect(speech!.status).toBe(403);
    expect((await sdk(V.files).images.generate({ model: 'mock/dall-e-3', prompt: 'a cat' })).data).toHaveLength(1);
  });
});

describe('rules see the tenant', () => {
  it("a rule scoped to a team reads budget_used: past half the key's budget, its requests go to the cheaper model", async () => {
    const model = async () => (await sdk(V.rules).chat.completions.create({ model: 'mock/mock-large', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }).withResponse()).response.headers.get('x-microgate-model');
    expect(await model()).toBe('mock-large');
    let last = '';
    for (let i = 0; i < 40 && last !== 'mock-small'; i++) last = (await model())!;
    expect(last).toBe('mock-small');
  });
});

describe('the admin API', () => {
  const admin = (method: string, path: string, body?: unknown, key = ADMIN) =>
    request(`${gw.url}${path}`, { method: method as 'GET', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }));

  it('needs the admin key; config entities are read-only', async () => {
    expect((await admin('GET', '/admin/virtual-keys', undefined, 'wrong-admin-key')).status).toBe(401);
    expect((await admin('GET', '/admin/stats', undefined, V.a)).status).toBe(401);
    const list = await admin('GET', '/admin/virtual-keys');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(V.a);
    expect((await admin('DELETE', '/admin/virtual-keys/vk-a')).status).toBe(409);
  });

  it('a second gateway on the same SQLite file follows changes made through the first', async () => {
    const other = await startGateway(validateConfig(config(), {}), { host: '127.0.0.1', port: 0 });
    try {
      const made = await admin('POST', '/admin/virtual-keys', { id: 'vk-follow' });
      const value = made.body.value as string;
      let status = 0;
      for (let i = 0; i < 60 && status !== 200; i++) {
        const r = await request(`${other.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${value}` }, body: JSON.stringify({ model: 'mock/mock-small', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
        await r.body.text();
        status = r.statusCode;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      expect((await admin('DELETE', '/admin/virtual-keys/vk-follow')).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('resets a budget: the key is served again', async () => {
    expect((await caught(ask(V.budget)))!.code).toBe('budget_exceeded');
    expect((await admin('POST', '/admin/budgets/reset', { virtualKey: 'vk-budget' })).status).toBe(200);
    expect((await ask(V.budget)).choices).toHaveLength(1);
  });
  it('creates a team and a key (its value shown once), applies a limit change at once, and the key survives a restart', async () => {
    expect((await admin('PUT', '/admin/teams/api-team', { limits: { requestsPerMinute: 100 } })).status).toBe(201);
    const made = await admin('POST', '/admin/virtual-keys', { id: 'vk-api', team: 'api-team', limits: { requestsPerMinute: 50 } });
    expect(made.status).toBe(201);
    const value = made.body.value as string;
    expect(value).toMatch(/^mgk-/);
    expect((await ask(value)).choices).toHaveLength(1);
    expect(JSON.stringify((await admin('GET', '/admin/virtual-keys/vk-api')).body)).not.toContain(value);
    // Unknown references are refused before anything is written.
    expect((await admin('POST', '/admin/virtual-keys', { id: 'vk-bad', team: 'no-such-team' })).status).toBe(409);
    // So is a customer that is not its team's (it was silently replaced by the team's).
    const mismatch = await admin('POST', '/admin/virtual-keys', { id: 'vk-bad', team: 'tShared', customer: 'cFree' });
    expect(mismatch.status).toBe(409);
    expect(JSON.stringify(mismatch.body)).toContain('is not the customer of its team');
    // A limit change applies to the next request.
    await awayFromMinuteEdge();
    expect((await admin('PATCH', '/admin/virtual-keys/vk-api', { limits: { requestsPerMinute: 1 } })).status).toBe(200);
    const a = await caught(ask(value));
    const b = await caught(ask(value));
    expect([a, b].filter((e) => e instanceof OpenAI.RateLimitError)).toHaveLength(a === null ? 1 : 2);
    // Restart: the key, kept in SQLite, still works (with its limit raised again).
    expect((await admin('PATCH', '/admin/virtual-keys/vk-api', { limits: { requestsPerMinute: 100 } })).status).toBe(200);
    // A patch that does not mention the limits keeps them.
    expect((await admin('PATCH', '/admin/virtual-keys/vk-api', { name: 'renamed' })).status).toBe(200);
    const renamed = (await admin('GET', '/admin/virtual-keys/vk-api')).body as { name?: string; limits?: unknown };
    expect(renamed.name).toBe('renamed');
    expect(renamed.limits).toEqual({ requestsPerMinute: 100 });
    await gw.close();
    await start();
    expect((await ask(value)).choices).toHaveLength(1);
    // Rotation: the old value stops working, the new one works.
    const rotated = await admin('POST', '/admin/virtual-keys/vk-api/rotate');
    expect(await caught(ask(value))).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((await ask(rotated.body.value as string)).choices).toHaveLength(1);
    expect((await admin('DELETE', '/admin/virtual-keys/vk-api')).status).toBe(200);
    expect(await caught(ask(rotated.body.value as string))).toBeInstanceOf(OpenAI.AuthenticationError);
  });

});

describe('the last virtual key', () => {
  // Keys made only through the admin API: deny by default must not end because the last one went.
  async function gatewayWithoutKeys(requireVirtualKey: boolean): Promise<Gateway> {
    const c = validateConfig({ version: 1, providers: { mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: PROVIDER_KEY }] } }, governance: { adminKey: ADMIN, requireVirtualKey, db: join(mkdtempSync(join(tmpdir(), 'mg-lastkey-')), 'gov.db') }, telemetry: { enabled: false } }, {});
    return startGateway(c, { host: '127.0.0.1', port: 0 });
  }
  const call = (g: Gateway, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    request(`${g.url}${path}`, { method: method as 'GET', headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }));
  const chat = (g: Gateway, key?: string) => call(g, 'POST', '/v1/chat/completions', key === undefined ? {} : { authorization: `Bearer ${key}` }, { model: 'mock/mock-small', messages: [{ role: 'user', content: 'hi' }] });
  const asAdmin = { authorization: `Bearer ${ADMIN}` };

  it('is kept unless the deletion says it opens the gateway', async () => {
    const g = await gatewayWithoutKeys(false);
    try {
      expect((await chat(g)).status).toBe(200);
      const made = await call(g, 'POST', '/admin/virtual-keys', asAdmin, { id: 'vk-only' });
      expect((await chat(g)).status).toBe(401);
      expect((await chat(g, made.body.value as string)).status).toBe(200);
      const refused = await call(g, 'DELETE', '/admin/virtual-keys/vk-only', asAdmin);
      expect(refused.status).toBe(409);
      expect(String((refused.body.error as { message: string }).message)).toMatch(/openGateway=true|requireVirtualKey/);
      expect((await chat(g)).status).toBe(401);
      expect((await call(g, 'DELETE', '/admin/virtual-keys/vk-only?openGateway=true', asAdmin)).status).toBe(200);
      expect((await chat(g)).status).toBe(200);
    } finally {
      await g.close();
    }
  });

  it('with governance.requireVirtualKey, every request needs a key even while none exists', async () => {
    const g = await gatewayWithoutKeys(true);
    try {
      expect((await chat(g)).status).toBe(401);
      const made = await call(g, 'POST', '/admin/virtual-keys', asAdmin, { id: 'vk-only' });
      expect((await chat(g, made.body.value as string)).status).toBe(200);
      expect((await call(g, 'DELETE', '/admin/virtual-keys/vk-only', asAdmin)).status).toBe(200);
      expect((await chat(g)).status).toBe(401);
    } finally {
      await g.close();
    }
  });
});

describe('no secret anywhere', () => {
  it('no key value (virtual, admin or provider) in a log line, /metrics, an error or a response', async () => {
    const errs = [await caught(ask(`${V.a}x`)), await caught(ask(V.scope, 'mock/mock-large'))];
    // Records reach /metrics through the telemetry worker: poll, bounded.
    const want = /microgate_tenant_requests_total\{virtual_key="vk-scope",team="",customer="",status="403"\} 1/;
    let metrics = '';
    for (let i = 0; i < 100 && !want.test(metrics); i++) {
      metrics = await (await request(`${gw.url}/metrics`)).body.text();
      if (!want.test(metrics)) await new Promise((r) => setTimeout(r, 20));
    }
    await gw.close(); // flushes the log
    const logs = readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('\n');
    expect(logs).toContain('vk-a'); // the key's id is recorded
    const everything = [metrics, logs, ...errs.map((e) => JSON.stringify({ m: e?.message, e: e?.error, h: [...(e?.headers?.entries() ?? [])] }))].join('\n');
    for (const secret of [...Object.values(V), ADMIN, PROVIDER_KEY]) expect(everything).not.toContain(secret);
    expect(metrics).toMatch(want);
    await start();
  });
});
