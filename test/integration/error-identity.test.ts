// Errors keep their identity (issue 12): what a provider says reaches the client as the provider said
// it (code, type, param, message, status where it means something, request id, rate-limit headers),
// the gateway's own codes are for the gateway's own errors, every response carries a request id, and
// a client SDK is told not to retry what the gateway has already retried.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startHostile, type HostileProvider } from '../helpers/hostile.ts';
import { gzipSync } from 'node:zlib';

let s: Stack;
let h: HostileProvider;
let claude: Anthropic;
/** Each path of the hostile provider's base URL picks an answer (the provider name is the first segment). */
let answers: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {};

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

const CONTEXT = {
  error: {
    message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.",
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
};
const QUOTA = { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };

beforeAll(async () => {
  h = await startHostile();
  h.handle((req, res) => {
    const who = req.url!.split('/')[2]!;
    const answer = answers[who];
    if (answer === undefined) json(res, 500, { error: { message: `no answer for ${who}` } });
    else answer(req, res);
  });
  s = await startStack({ down: { status: 500 } }, (m) => {
    const at = (name: string, keys = ['k1']) => ({ baseUrl: `${h.baseUrl}/${name}`, keys: keys.map((k) => ({ name: k, value: `${name}-${k}-secret-0123456789` })), retry: { maxRetries: 0, baseMs: 1, capMs: 2 } });
    return {
      version: 1,
      providers: {
        context: at('context'),
        quota: at('quota', ['poor', 'rich']),
        limited: at('limited'),
        hinted: at('hinted'),
        empty: at('empty'),
        cdn: at('cdn'),
        disguised: at('disguised'),
        pair: at('pair', ['k1', 'k2']),
        down: { baseUrl: m.down!.baseUrl, keys: [{ name: 'k', value: 'down-key-0123456789' }], retry: { maxRetries: 2, baseMs: 1, capMs: 2 } },
        downonce: { baseUrl: m.down!.baseUrl, keys: [{ name: 'k', value: 'down-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
      },
    };
  });
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await s.close();
  await h.close();
});
beforeEach(() => {
  answers = {};
  h.reset();
});

const ask = (model: string, client = s.client) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const caught = <T>(p: Promise<T>) => p.then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);

describe("a provider's error, as the provider said it", () => {
  it("context_length_exceeded keeps its code, param, message and the provider's request id", async () => {
    answers.context = (_req, res) => json(res, 400, CONTEXT, { 'x-request-id': 'req_provider_abc123' });
    const err = await caught(ask('context/gpt-4o'));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err!.code).toBe('context_length_exceeded');
    expect(err!.param).toBe('messages');
    expect(err!.type).toBe('invalid_request_error');
    expect(err!.message).toContain(CONTEXT.error.message);
    expect(err!.requestID).toBe('req_provider_abc123');
  });

  it('the same reaches an Anthropic client in its shape: invalid_request_error, the provider\'s words', async () => {
    answers.context = (_req, res) => json(res, 400, CONTEXT);
    const err = await claude.messages.create({ model: 'context/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: CONTEXT.error.message } });
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/\S/);
  });

  it('insufficient_quota stays insufficient_quota (not a rate limit), and that key is not tried again', async () => {
    answers.quota = (req, res) => (String(req.headers.authorization).includes('poor') ? json(res, 429, QUOTA) : json(res, 200, { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));
    // Until the poor key has been met, a request may go to either; after, only to the rich one.
    for (let i = 0; i < 10; i++) await ask('quota/m');
    const before = h.requests;
    for (let i = 0; i < 10; i++) expect((await ask('quota/m')).choices[0]!.message.content).toBe('ok');
    expect(h.requests - before).toBe(10);
    expect((await s.gw.server.stats()).restingKeys).toMatchObject({ 'quota/poor': { reason: 'quota_exhausted' } });
  });

  it("a 429's rate-limit headers and retry-after-ms reach the client; no Retry-After is invented", async () => {
    answers.limited = (_req, res) => json(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s', 'retry-after-ms': '850' });
    const res = await s.client.chat.completions.create({ model: 'limited/m', messages: [{ role: 'user', content: 'x' }] }).asResponse().catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const err = res as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.type).toBe('requests');
    expect(err.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(err.headers!.get('retry-after-ms')).toBe('850');
    expect(err.headers!.get('retry-after')).toBeNull();
    answers.hinted = (_req, res) => json(res, 429, { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } });
    const bare = await caught(ask('hinted/m'));
    expect(bare!.headers!.get('retry-after')).toBeNull();
  });

  it("the gateway's own errors keep the gateway's codes, and carry its request id", async () => {
    const err = await caught(ask('no-such-model'));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err!.code).toBe('model_not_found');
    expect(err!.requestID).toMatch(/^mg/);
    expect(err!.headers!.get('x-microgate-request-id')).toBe(err!.requestID);
  });

  it('every success carries a request id too', async () => {
    const { response } = await s.client.models.list().withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^mg/); // the gateway's own answer, its own id
    answers.context = (_req, res) => json(res, 200, { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
    const { request_id } = await ask('context/m').then((r) => ({ request_id: (r as { _request_id?: string | null })._request_id }));
    expect(request_id).toMatch(/^mg/);
  });
});

describe('no stacked retries', () => {
  it('one SDK call against an always-500 provider makes exactly the gateway\'s attempts (x-should-retry: false)', async () => {
    const sdk = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'unused', maxRetries: 2 });
    const before = s.mocks.down!.stats().requests;
    const err = await caught(ask('down/m', sdk));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err!.headers!.get('x-should-retry')).toBe('false');
    expect(err!.headers!.get('x-microgate-attempts')).toBe('3');
    expect(s.mocks.down!.stats().requests - before).toBe(3);
  });

  it('a single attempt that failed leaves the retry to the client', async () => {
    const sdk = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'unused', maxRetries: 2 });
    const before = s.mocks.down!.stats().requests;
    const err = await caught(ask('downonce/m', sdk));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err!.headers!.get('x-should-retry')).toBeNull();
    // The SDK's three tries, one gateway attempt each.
    expect(s.mocks.down!.stats().requests - before).toBe(3);
  });
});

describe('an OpenAI-format stream with no chunk before [DONE]', () => {
  it('is no answer: an Anthropic client gets a 502 in its shape, not a message_stop without a message_start', async () => {
    // An empty stream, or one whose only data is not JSON: [DONE] ends it before any chunk.
    answers.empty = (_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: {not json}\n\ndata: [DONE]\n\n');
    const res = await fetch(`${s.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'unused', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'empty/gpt-4o', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(502);
    expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(text).not.toContain('message_stop');
  });
});

describe('a provider behind a CDN that compresses what it may', () => {
  it('is asked for its answer as it is (accept-encoding: identity), which undici would not decode', async () => {
    const seen: Array<string | undefined> = [];
    // Without Accept-Encoding any coding is acceptable (RFC 9110 §12.5.3): this one gzips unless told not to.
    answers.cdn = (req, res) => {
      const accept = req.headers['accept-encoding'];
      seen.push(accept);
      const body = JSON.stringify({ id: 'chatcmpl-cdn', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'plain' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
      if (accept === 'identity') json(res, 200, JSON.parse(body));
      else res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(body));
    };
    const r = await ask('cdn/gpt-4o');
    expect(r.choices[0]!.message.content).toBe('plain');
    expect(seen).toEqual(['identity']);
  });
});

describe('an error a provider answers with a 2xx status', () => {
  it('is a failure of the provider with the status its body gives, not an answer relayed as a success', async () => {
    // OpenRouter's shape: the status in error.code.
    answers.disguised = (_req, res) => json(res, 200, { error: { message: 'Rate limit exceeded: free-models-per-min.', code: 429 } });
    const limited = await caught(ask('disguised/gpt-4o'));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited!.message).toContain('Rate limit exceeded: free-models-per-min.');
    // No status in it: a 502; and a body of null is no answer either.
    answers.disguised = (_req, res) => json(res, 200, { error: { message: 'upstream model crashed', type: 'server_error' } });
    expect((await caught(ask('disguised/gpt-4o')))!.status).toBe(502);
    answers.disguised = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    expect((await caught(ask('disguised/gpt-4o')))!.status).toBe(502);
  });

  it('is the same failure for a client of another format, whose answer is translated (an Anthropic client, the Responses API)', async () => {
    answers.disguised = (_req, res) => json(res, 200, { error: { message: 'Rate limit exceeded: free-models-per-min.', code: 429 } });
    const err = (await claude.messages.create({ model: 'disguised/gpt-4o', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.message).toContain('Rate limit exceeded: free-models-per-min.');
    const responses = await caught(s.client.responses.create({ model: 'disguised/gpt-4o', input: 'hi' }));
    expect(responses).toBeInstanceOf(OpenAI.RateLimitError);
    expect(responses!.message).toContain('Rate limit exceeded: free-models-per-min.');
  });
});

describe('every key of a provider resting', () => {
  it('the keys are tried in turn, and one that answers is resting no more', async () => {
    let all401 = true;
    answers.pair = (req, res) => {
      const key = String(req.headers.authorization);
      if (all401) json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      else if (key.includes('pair-k1')) json(res, 429, { error: { message: 'Rate limit reached.', type: 'requests', code: 'rate_limit_exceeded' } });
      else json(res, 200, { id: 'chatcmpl-pair', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'k2 serves' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    };
    // One burst of 401s rests both keys (authFailedMs: minutes).
    expect((await caught(ask('pair/gpt-4o')))!.status).toBe(502);
    expect(Object.keys((await s.gw.server.stats()).restingKeys as Record<string, unknown>).filter((k) => k.startsWith('pair/')).sort()).toEqual(['pair/k1', 'pair/k2']);
    // The keys work again: k1 is rate-limited, k2 serves. Every key rests, so one is tried anyway, and
    // a 429 from it moves on to the other rather than end the request.
    all401 = false;
    const r = await s.client.chat.completions.create({ model: 'pair/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(r.data.choices[0]!.message.content).toBe('k2 serves');
    expect(r.response.headers.get('x-microgate-route')).toContain('#k2:200');
    // k2 answered: its rest is over, and it is chosen as any fresh key is.
    expect(Object.keys((await s.gw.server.stats()).restingKeys as Record<string, unknown>).filter((k) => k.startsWith('pair/'))).toEqual(['pair/k1']);
    const next = await s.client.chat.completions.create({ model: 'pair/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(next.response.headers.get('x-microgate-route')).toBe('pair/gpt-4o#k2:200');
  });
});
