// The mock's Azure OpenAI paths (/openai/deployments/{deployment}/…?api-version=…), driven by the real `openai`
// SDK's AzureOpenAI client: if it builds its URLs against the mock, authenticates with `api-key`, parses our bodies
// and copes with the stream's empty-choices first chunk, a gateway tested against the mock meets Azure's wire.

import OpenAI, { AuthenticationError, AzureOpenAI, BadRequestError, NotFoundError, RateLimitError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../mock-providers/index.ts';
import type { MockHandle } from '../../mock-providers/index.ts';
import { failure } from '../helpers/waits.ts';

const DEPLOYMENT = 'gpt4o-prod';
const API_VERSION = '2024-10-21';
const HELLO = 'Hello, mock! How are you?';
const messages = (content: string) => [{ role: 'user' as const, content }];

function azure(m: MockHandle, opts: { apiKey?: string; deployment?: string | null } = {}): AzureOpenAI {
  return new AzureOpenAI({
    endpoint: m.url,
    apiKey: opts.apiKey ?? 'az-key',
    apiVersion: API_VERSION,
    ...(opts.deployment === null ? {} : { deployment: opts.deployment ?? DEPLOYMENT }),
    maxRetries: 0,
  });
}

function post(m: MockHandle, path: string, body: unknown, headers: Record<string, string> = { 'api-key': 'az-key' }) {
  return fetch(`${m.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('mock provider: Azure OpenAI', () => {
  let m: MockHandle;
  let strict: MockHandle;
  let az: AzureOpenAI;

  beforeAll(async () => {
    m = await startMock({ name: 'az', keys: { 'az-limited': { status: 429, retryAfterSec: 7 } } });
    strict = await startMock({ name: 'az-strict', models: [DEPLOYMENT], validKeys: ['az-good'] });
    az = azure(m);
  });
  afterAll(async () => {
    await m.close();
    await strict.close();
  });

  it('answers chat at /openai/deployments/{deployment}/chat/completions?api-version with the api-key header', async () => {
    m.resetStats();
    const res = await az.chat.completions.create({ model: 'ignored-by-azure', messages: messages(HELLO), max_tokens: 25 });
    // The deployment plays the model's part: the answer names it, whatever the body said.
    expect(res.model).toBe(DEPLOYMENT);
    expect(res.choices[0]!.message.content).toMatch(/^\[az\] /);
    expect(res.choices[0]!.message.content).toHaveLength(100);
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect((res as any).prompt_filter_results[0].content_filter_results.hate).toEqual({ filtered: false, severity: 'safe' });
    const s = m.stats();
    expect(s.byPath).toEqual({ [`/openai/deployments/${DEPLOYMENT}/chat/completions`]: 1 });
    expect(s).toMatchObject({ byKey: { 'az-key': 1 }, byModel: { [DEPLOYMENT]: 1 } });
    expect(s.lastHeaders!['api-key']).toBe('az-key');
    expect(s.lastHeaders!.authorization).toBeUndefined();
  });

  it('takes the deployment from the body model when the client has none, and an Entra ID bearer token instead of a key', async () => {
    m.resetStats();
    const res = await azure(m, { deployment: null }).chat.completions.create({ model: 'gpt-35-turbo', messages: messages(HELLO) });
    expect(res.model).toBe('gpt-35-turbo');
    expect(m.stats().byPath).toEqual({ '/openai/deployments/gpt-35-turbo/chat/completions': 1 });
    // The body may omit `model` entirely on Azure.
    const raw = await post(m, `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${API_VERSION}`, { messages: messages(HELLO) });
    expect(raw.status).toBe(200);
    expect(((await raw.json()) as any).model).toBe(DEPLOYMENT);

    const legacy = await az.completions.create({ model: DEPLOYMENT, prompt: 'Once upon a time', max_tokens: 10 });
    expect(legacy).toMatchObject({ object: 'text_completion', model: DEPLOYMENT });
    expect(m.stats().byPath).toMatchObject({ [`/openai/deployments/${DEPLOYMENT}/completions`]: 1 });

    const entra = new AzureOpenAI({ endpoint: m.url, apiVersion: API_VERSION, deployment: DEPLOYMENT, azureADTokenProvider: async () => 'entra-token', maxRetries: 0 });
    await entra.chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO) });
    expect(m.stats().lastHeaders).toMatchObject({ authorization: 'Bearer entra-token' });
  });

  it('opens a stream with an empty-choices prompt_filter_results chunk; raw iteration sees it, the stream helper absorbs it', async () => {
    const stream = await az.chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO), stream: true, stream_options: { include_usage: true } });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    // Code that reads chunks[i].choices[0] unguarded crashes right here (providers.md §4.1).
    expect(chunks[0]!.choices).toEqual([]);
    expect(chunks[0]).toMatchObject({ id: '', model: '', object: '', created: 0 });
    expect((chunks[0] as any).prompt_filter_results).toHaveLength(1);
    expect(chunks[1]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1).every((c) => c.model === DEPLOYMENT)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toMatch(/^\[az\] The quick brown/);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 8 });

    // The SDK's accumulating helper merges each chunk's top-level fields over the first: the final id and model are
    // the real ones, and the first chunk's prompt_filter_results survive in the snapshot.
    const helper = az.chat.completions.stream({ model: DEPLOYMENT, messages: messages(HELLO) });
    const final = await helper.finalChatCompletion();
    expect(final.model).toBe(DEPLOYMENT);
    expect(final.id).toMatch(/^chatcmpl-mock-/);
    expect(final.choices[0]!.message.content).toMatch(/^\[az\] The quick brown/);
    expect((final as any).prompt_filter_results).toHaveLength(1);
  });

  it('answers embeddings for the deployment, with the same vectors as the OpenAI route', async () => {
    const res = await az.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], dimensions: 16 });
    expect(res.model).toBe(DEPLOYMENT);
    expect(res.data).toHaveLength(2);
    expect(res.data[0]!.embedding).toHaveLength(16);
    const openai = new OpenAI({ baseURL: m.baseUrl, apiKey: 'sk-test', maxRetries: 0 });
    const same = await openai.embeddings.create({ model: 'mock-embed', input: ['alpha', 'beta'], dimensions: 16 });
    expect(res.data.map((d) => d.embedding)).toEqual(same.data.map((d) => d.embedding));
    // The SDK asks for base64 unless told otherwise (openai-node PR #1312): the floats it decodes are the same
    // vector as encoding_format "float" returns, to float32 precision, and of unit length.
    const floats = await az.embeddings.create({ model: DEPLOYMENT, input: ['alpha', 'beta'], dimensions: 16, encoding_format: 'float' });
    floats.data[0]!.embedding.forEach((x, i) => expect(res.data[0]!.embedding[i]).toBeCloseTo(x, 6));
    expect(Math.hypot(...res.data[0]!.embedding)).toBeCloseTo(1, 5);
    expect(m.stats().byPath).toMatchObject({ [`/openai/deployments/${DEPLOYMENT}/embeddings`]: 2 });
  });

  it('is a typed 401 for a wrong key, and a 401 for a missing one; no api-version is a 404 "Resource not found"', async () => {
    const err = await failure(azure(strict, { apiKey: 'az-wrong' }).chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO) }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.code).toBe('401');
    expect(err.message).toMatch(/Access denied due to invalid subscription key or wrong API endpoint/);
    const ok = await azure(strict, { apiKey: 'az-good' }).chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO) });
    expect(ok.model).toBe(DEPLOYMENT);

    const none = await post(m, `/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=${API_VERSION}`, { messages: messages(HELLO) }, {});
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('401');
    const unversioned = await post(m, `/openai/deployments/${DEPLOYMENT}/chat/completions`, { messages: messages(HELLO) });
    expect(unversioned.status).toBe(404);
    expect(await unversioned.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  it('refuses an unknown deployment when models are listed, and says which operation a 429 throttled', async () => {
    const missing = await failure(azure(strict, { apiKey: 'az-good', deployment: 'gpt-5-nope' }).chat.completions.create({ model: 'x', messages: messages(HELLO) }));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.code).toBe('DeploymentNotFound');

    const limited = await failure(azure(m, { apiKey: 'az-limited' }).chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO) }));
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.message).toMatch(/ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 .* Please retry after 7 seconds/);
    const emb = await failure(azure(m, { apiKey: 'az-limited' }).embeddings.create({ model: DEPLOYMENT, input: 'x' }));
    expect(emb.message).toMatch(/Embeddings_Create Operation/);
  });

  it('filters: a flagged prompt is a 400 content_filter, a flagged answer ends with finish_reason content_filter', async () => {
    const err = await failure(az.chat.completions.create({ model: DEPLOYMENT, messages: messages('this trips the content-filter') }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.code).toBe('content_filter');
    expect(err.param).toBe('prompt');
    expect(err.error.innererror.code).toBe('ResponsibleAIPolicyViolation');

    const res = await az.chat.completions.create({ model: DEPLOYMENT, messages: messages('please filter-output') });
    expect(res.choices[0]!.finish_reason).toBe('content_filter');
    const stream = await az.chat.completions.create({ model: DEPLOYMENT, messages: messages('please filter-output'), stream: true });
    const reasons: Array<string | null> = [];
    for await (const c of stream) for (const choice of c.choices) reasons.push(choice.finish_reason);
    expect(reasons.at(-1)).toBe('content_filter');
  });

  it('applies the stream knobs after the filter chunk (per-request x-mock-* headers through the SDK)', async () => {
    const stream = await az.chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO), stream: true }, { headers: { 'x-mock-chunks': '3' } });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('[az] The quick ');

    const cut = await az.chat.completions.create({ model: DEPLOYMENT, messages: messages(HELLO), stream: true }, { headers: { 'x-mock-disconnect-after': '2' } });
    const seen: ChatCompletionChunk[] = [];
    const err = await failure(
      (async () => {
        for await (const c of cut) seen.push(c);
      })(),
    );
    expect(err).toBeInstanceOf(Error);
    expect(seen[0]!.choices).toEqual([]); // the filter chunk, then the role chunk and 2 content chunks
    expect(seen).toHaveLength(4);
  });
});
