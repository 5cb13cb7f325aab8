// Azure OpenAI end to end: the deployment in the path, api-version in the query, the key in `api-key`;
// the body is OpenAI's, a pass-through. The mock answers as Azure does, including the stream's opening
// chunk with empty `choices` (prompt filter results) that breaks code reading choices[0] of every chunk,
// and a filtered prompt as a 400 `content_filter`. Checked against openai's AzureOpenAI client in
// test/unit/mock-azure.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { vector } from '../../mock-providers/embeddings.ts';

let s: Stack;
let claude: Anthropic;
const KEY = 'azure-key-0123456789abcdef';

beforeAll(async () => {
  s = await startStack({ az: { models: ['dep-4o', 'dep-embed'], validKeys: [KEY] } }, (m) => ({
    version: 1,
    providers: {
      azure: {
        type: 'azure-openai',
        baseUrl: m.az!.url,
        apiVersion: '2024-10-21',
        deployments: { 'gpt-4o': 'dep-4o', 'text-embedding-3-small': 'dep-embed' },
        keys: [{ name: 'k', value: KEY }],
        models: ['gpt-4o'],
      },
      aznative: { type: 'azure-openai', baseUrl: m.az!.url, responsesApi: 'native', deployments: { 'gpt-4o': 'dep-4o' }, keys: [{ name: 'k', value: KEY }], models: ['gpt-4o'] },
    },
  }));
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'client-key-not-forwarded', maxRetries: 0 });
});
afterAll(() => s.close());

describe('Azure OpenAI', () => {
  it('chat: the deployment the model maps to, api-version, the key in api-key and no Authorization', async () => {
    const r = await s.client.chat.completions.create({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    const st = s.mocks.az!.stats();
    expect(Object.keys(st.byPath)).toContain('/openai/deployments/dep-4o/chat/completions');
    expect(st.lastHeaders!['api-key']).toBe(KEY);
    expect(st.lastHeaders!.authorization).toBeUndefined();
  });

  it("the Responses API, native: Azure's v1 route with the deployment as the body's model, the key in api-key", async () => {
    // It went to /openai/deployments/gpt-4o/responses?api-version=…, which Azure does not have.
    const before = s.mocks.az!.stats().byModel['dep-4o'] ?? 0;
    const r = await s.client.responses.create({ model: 'aznative/gpt-4o', input: 'hello' });
    expect(r.output_text).toMatch(/\S/);
    const st = s.mocks.az!.stats();
    expect(Object.keys(st.byPath)).toContain('/openai/v1/responses');
    expect(st.byModel['dep-4o']).toBe(before + 1);
    expect(st.lastHeaders!['api-key']).toBe(KEY);
    expect(st.lastHeaders!.authorization).toBeUndefined();
  });

  it('a model without a mapping is its own deployment (refused here: the resource has no such deployment)', async () => {
    const err = await s.client.chat.completions.create({ model: 'azure/gpt-35', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(Object.keys(s.mocks.az!.stats().byPath)).toContain('/openai/deployments/gpt-35/chat/completions');
  });

  it('a request without a model (an image) is refused before sending: the deployment is the model', async () => {
    const before = s.mocks.az!.stats().requests;
    const res = await fetch(`${s.gw.url}/v1/images/generations`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-microgate-provider': 'azure' }, body: '{"prompt":"a cat"}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('model');
    expect(s.mocks.az!.stats().requests).toBe(before);
  });

  it('stream: the opening empty-choices filter chunk is relayed as Azure sent it, the usage chunk hidden unless asked', async () => {
    const res = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'azure/gpt-4o', stream: true, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const events = (await res.body.text()).split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]').map((e) => JSON.parse(e.slice(6)) as { choices: unknown[]; prompt_filter_results?: unknown; usage?: unknown });
    expect(events[0]!.choices).toEqual([]);
    expect(events[0]!.prompt_filter_results).toBeDefined();
    expect(events.slice(1).every((e) => e.choices.length === 1)).toBe(true);
    expect(events.some((e) => e.usage)).toBe(false);
    // The SDK's own stream helper absorbs the filter chunk.
    const final = await s.client.chat.completions.stream({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'hello' }] }).finalChatCompletion();
    expect(final.choices[0]!.message.content).toMatch(/\S/);
  });

  it('the Anthropic SDK, streamed: the filter chunk does not become an event, and the message is whole', async () => {
    const m = await claude.messages.stream({ model: 'azure/gpt-4o', max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] }).finalMessage();
    expect(m.content[0]!.type).toBe('text');
    expect((m.content[0] as Anthropic.TextBlock).text).toMatch(/\S/);
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage.output_tokens).toBeGreaterThan(0);
  });

  it('embeddings through the mapped deployment, vectors exact through the SDK (base64 by default)', async () => {
    const r = await s.client.embeddings.create({ model: 'azure/text-embedding-3-small', input: ['alpha', 'beta'] });
    const want = (t: string) => vector(t, r.data[0]!.embedding.length).split(',').map(Number);
    r.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(x).toBeCloseTo(want(['alpha', 'beta'][i]!)[j]!, 5)));
    expect(Object.keys(s.mocks.az!.stats().byPath)).toContain('/openai/deployments/dep-embed/embeddings');
  });

  it("a filtered prompt is Azure's 400 content_filter, for either client; a filtered answer finishes 'content_filter'", async () => {
    const err = await s.client.chat.completions.create({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'content-filter me' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('content_filter');
    const a = await claude.messages.create({ model: 'azure/gpt-4o', max_tokens: 20, messages: [{ role: 'user', content: 'content-filter me' }] }).catch((e: unknown) => e);
    expect(a).toBeInstanceOf(Anthropic.BadRequestError);
    const out = await s.client.chat.completions.create({ model: 'azure/gpt-4o', messages: [{ role: 'user', content: 'filter-output' }] });
    expect(out.choices[0]!.finish_reason).toBe('content_filter');
  });
});
