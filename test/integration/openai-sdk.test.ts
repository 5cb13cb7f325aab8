// The drop-in promise: the real OpenAI SDK, with only its baseURL changed, against microgate in
// front of the mock provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { APIError } from 'openai';
import { SECRET, startStack, type Stack } from '../helpers/stack.ts';
import { eventually } from '../helpers/waits.ts';

let s: Stack;

beforeAll(async () => {
  s = await startStack(
    {
      main: { streamChunks: 6 },
      slow: { latencyMs: 2_000 },
      stalls: { stallAfterChunks: 2 },
    },
    (m) => ({
      version: 1,
      providers: {
        mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k1', value: SECRET }], models: ['mock-small', 'mock-embed'] },
        slow: { baseUrl: m.slow!.baseUrl, keys: [{ name: 'k1', value: SECRET }], timeouts: { connectMs: 1000, firstByteMs: 300, idleMs: 1000 } },
        stalls: { baseUrl: m.stalls!.baseUrl, keys: [{ name: 'k1', value: SECRET }], timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 300 } },
      },
      models: { best: { targets: [{ provider: 'mock', model: 'mock-small' }] } },
    }),
  );
});
afterAll(() => s.close());

const messages = [{ role: 'user' as const, content: 'Say hello' }];

describe('chat completions', () => {
  it('answers a non-streaming request and says where it went', async () => {
    const { data, response } = await s.client.chat.completions.create({ model: 'mock-small', messages }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toMatch(/\S/);
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-microgate-provider')).toBe('mock');
    expect(response.headers.get('x-microgate-model')).toBe('mock-small');
    expect(response.headers.get('server-timing')).toMatch(/^gateway;dur=\d+\.\d+, upstream;dur=\d+\.\d+$/);
  });

  it('sends the provider key, not the client key, and no hop-by-hop headers', async () => {
    await s.client.chat.completions.create({ model: 'mock-small', messages }, { headers: { connection: 'keep-alive', 'x-client-only': 'yes' } });
    const h = s.mocks.main!.stats().lastHeaders!;
    expect(h.authorization).toBe(`Bearer ${SECRET}`);
    expect(h['x-client-only']).toBeUndefined();
    expect(h['content-type']).toBe('application/json');
  });

  it('rewrites "provider/model" and aliases to the upstream model name', async () => {
    const before = s.mocks.main!.stats().byModel['mock-small'] ?? 0;
    const a = await s.client.chat.completions.create({ model: 'mock/mock-small', messages });
    const b = await s.client.chat.completions.create({ model: 'best', messages });
    expect(a.model).toBe('mock-small');
    expect(b.model).toBe('mock-small');
    expect(s.mocks.main!.stats().byModel['mock-small']).toBe(before + 2);
  });

  it('streams every chunk to the SDK iterator, then the usage chunk', async () => {
    const stream = await s.client.chat.completions.create({ model: 'mock-small', messages, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    // role chunk + 6 content chunks + finish chunk + usage chunk
    expect(chunks).toHaveLength(9);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.slice(1, 7).every((c) => typeof c.choices[0]?.delta.content === 'string')).toBe(true);
    expect(chunks[7]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks[8]?.choices).toHaveLength(0);
    expect(chunks[8]?.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('streams without a usage chunk when include_usage is not set', async () => {
    const stream = await s.client.chat.completions.create({ model: 'mock-small', messages, stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks).toHaveLength(8);
    expect(chunks.every((c) => c.usage == null)).toBe(true);
  });
});

describe('other endpoints', () => {
  it('embeddings', async () => {
    const r = await s.client.embeddings.create({ model: 'mock-embed', input: ['a', 'b', 'c'] });
    expect(r.data).toHaveLength(3);
    expect(r.data[0]?.embedding.length).toBeGreaterThan(0);
  });

  it('legacy completions', async () => {
    const r = await s.client.completions.create({ model: 'mock/mock-small', prompt: 'Once upon a time' });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]?.text).toMatch(/\S/);
  });

  it('lists every model the config makes reachable', async () => {
    const ids = [];
    for await (const m of s.client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['best', 'mock/mock-small', 'mock/mock-embed', 'mock-small', 'mock-embed']));
  });
});

describe('errors arrive as the SDK typed errors', () => {
  it('400 names the missing parameter', async () => {
    const err = await s.client.chat.completions.create({ model: 'mock-small' } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as APIError).param).toBe('messages');
  });

  it('404 model_not_found says how to address models', async () => {
    const err = await s.client.chat.completions.create({ model: 'no-such-model', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as APIError).code).toBe('model_not_found');
    expect((err as APIError).message).toContain('provider/model');
  });

  it('413 when the body is over the limit', async () => {
    const huge = 'x'.repeat(51 * 1024 * 1024); // over the 50 MiB default
    const err = await s.client.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: huge }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as APIError).status).toBe(413);
    expect((err as APIError).code).toBe('request_too_large');
  });

  it('504 when the provider sends nothing within the first-byte timeout', async () => {
    const err = await s.client.chat.completions.create({ model: 'slow/any', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as APIError).status).toBe(504);
    expect((err as APIError).code).toBe('upstream_timeout');
  });

  it('a stream that goes silent ends with an error event the SDK raises, not a clean end', async () => {
    const stream = await s.client.chat.completions.create({ model: 'stalls/any', messages, stream: true });
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toMatch(/went silent/);
    // the role chunk and the two content chunks before the stall were delivered
    expect(got).toHaveLength(3);
  });
});

describe('client abort', () => {
  it('cancels the upstream request: the provider sees the disconnect', async () => {
    const before = s.mocks.slow!.stats().aborted;
    const ac = new AbortController();
    const slowClient = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 10_000 });
    const p = slowClient.chat.completions.create({ model: 'slow/any', messages }, { signal: ac.signal }).catch((e: unknown) => e);
    await eventually(() => s.mocks.slow!.stats().inFlight, (n) => n > 0);
    ac.abort();
    expect(await p).toBeInstanceOf(OpenAI.APIUserAbortError);
    const after = await eventually(() => s.mocks.slow!.stats().aborted, (n) => n > before);
    expect(after).toBe(before + 1);
    const stats = await eventually(() => s.gw.server.inFlight, (n) => n === 0);
    expect(stats).toBe(0);
  });
});
