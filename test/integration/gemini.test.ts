// Gemini end to end: the OpenAI SDK and the Anthropic SDK reaching a Gemini provider through microgate.
// The Gemini mock is checked against @google/genai (test/mock-providers) and validates what translators break:
// turns that do not alternate, a functionResponse without a name, a function call sent back without its
// thought signature, an edited call under a signature. A wrong translation is therefore a 400 here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { vector } from '../../mock-providers/embeddings.ts';

let s: Stack;
let claude: Anthropic;
const KEY = 'gemini-key-0123456789abcdef';

beforeAll(async () => {
  s = await startStack({ g: { models: ['gemini-test', 'gemini-embed'], keys: { 'gemini-key-429': { status: 429, retryAfterSec: 30 } } }, down: { status: 503 } }, (m) => ({
    version: 1,
    routing: { keyCooldown: { rateLimitedMs: 1 } },
    providers: {
      gem: { type: 'gemini', baseUrl: `${new URL(m.g!.baseUrl).origin}/v1beta`, keys: [{ name: 'k', value: KEY }], models: ['gemini-test'], forwardHeaders: ['x-mock-*'] },
      gemlimited: { type: 'gemini', baseUrl: `${new URL(m.g!.baseUrl).origin}/v1beta`, keys: [{ name: 'limited', value: 'gemini-key-429' }, { name: 'good', value: 'gemini-key-good' }] },
      gemdown: { type: 'gemini', baseUrl: `${new URL(m.down!.baseUrl).origin}/v1beta`, keys: [{ name: 'k', value: 'gemini-key-down' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
      gpt: { baseUrl: m.g!.baseUrl, keys: [{ name: 'k', value: 'openai-key-1' }] },
    },
    models: { 'gemini-then-gpt': { targets: [{ provider: 'gemdown', model: 'gemini-test' }], fallbacks: ['gpt/mock-small'] } },
  }));
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'client-key-not-forwarded', maxRetries: 0 });
});
afterAll(() => s.close());

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city'] } },
};

describe('the OpenAI SDK reaches a Gemini provider', () => {
  it('chat: system instruction, text, stop, usage, the key in x-goog-api-key and never in the URL', async () => {
    const r = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 50, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('gemini-test');
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    const st = s.mocks.g!.stats();
    expect(st.lastHeaders!['x-goog-api-key']).toBe(KEY);
    expect(Object.keys(st.byPath).some((p) => p.includes('gemini-test:generateContent') && !p.includes(KEY))).toBe(true);
  });

  it('stream: role first, text, stop, then the usage chunk when asked and [DONE]', async () => {
    const stream = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 30, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toMatch(/\S/);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("a finish reason in its own trailing chunk (newer models) still ends the stream once, with 'stop'", async () => {
    const stream = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'trailing please' }] });
    const finishes: (string | null)[] = [];
    for await (const c of stream) if (c.choices[0]?.finish_reason) finishes.push(c.choices[0].finish_reason);
    expect(finishes).toEqual(['stop']);
  });

  it("tools: calls get ids Gemini did not give, finish 'tool_calls' (Gemini says STOP), and the results go back by name", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'use the tool for Paris' }];
    const r = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 100, tools: [weatherTool], messages });
    const msg = r.choices[0]!.message;
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(msg.tool_calls).toHaveLength(1);
    const call = msg.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/\S/);
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'x', unit: 'c' });
    // The mock refuses a functionResponse whose name is missing: the gateway recovers it from the call's id.
    const next = await s.client.chat.completions.create({
      model: 'gem/gemini-test',
      max_tokens: 100,
      tools: [weatherTool],
      messages: [...messages, msg, { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' }, { role: 'user', content: 'thanks' }],
    });
    expect(next.choices[0]!.finish_reason).toBe('stop');
  });

  it('streamed tool calls: one complete call per index, arguments as a JSON string', async () => {
    const stream = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 100, stream: true, tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool ids' }] });
    const calls = new Map<number, { id: string; name: string; args: string }>();
    let finish: string | null = null;
    for await (const c of stream) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) {
        const cur = calls.get(t.index) ?? { id: '', name: '', args: '' };
        cur.id ||= t.id ?? '';
        cur.name += t.function?.name ?? '';
        cur.args += t.function?.arguments ?? '';
        calls.set(t.index, cur);
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect([...calls.values()]).toEqual([{ id: expect.stringMatching(/^mock-fc-/), name: 'get_weather', args: '{"city":"x","unit":"c"}' }]);
    expect(finish).toBe('tool_calls');
  });

  it('thinking: the thought signature comes back in extra_content.google and goes back verified; reasoning is reported', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'use the tool for Rome' }];
    const r = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 2000, reasoning_effort: 'low', tools: [weatherTool], messages });
    const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(msg.reasoning_content).toMatch(/think/);
    expect(r.usage!.completion_tokens_details?.reasoning_tokens).toBeGreaterThan(0);
    const call = msg.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall & { extra_content?: { google?: { thought_signature?: string } } };
    expect(call.extra_content?.google?.thought_signature).toMatch(/^[A-Za-z0-9+/=]+$/);
    const toolTurn: OpenAI.ChatCompletionMessageParam = { role: 'tool', tool_call_id: call.id, content: '{"temp": 25}' };
    const ok = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 2000, reasoning_effort: 'low', tools: [weatherTool], messages: [...messages, msg, toolTurn] });
    expect(ok.choices[0]!.finish_reason).toBe('stop');
    // An edited call under its signature is what Gemini refuses; the mock verifies as Gemini does.
    const edited = { ...call, function: { ...call.function, arguments: '{"city":"Milan"}' } };
    const refused = await s.client.chat.completions
      .create({ model: 'gem/gemini-test', max_tokens: 2000, reasoning_effort: 'low', tools: [weatherTool], messages: [...messages, { ...msg, tool_calls: [edited] }, toolTurn] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('history from another provider (no signature) is sent with the documented stand-in, which Gemini accepts', async () => {
    const r = await s.client.chat.completions.create({
      model: 'gem/gemini-test',
      max_tokens: 2000,
      reasoning_effort: 'low',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_from_gpt', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
        { role: 'tool', tool_call_id: 'call_from_gpt', content: '{"temp": 3}' },
      ],
    });
    expect(r.choices[0]!.finish_reason).toBe('stop');
  });

  it("a blocked prompt is a 400 content_filter, as Azure OpenAI answers one, never an empty choices list", async () => {
    const err = await s.client.chat.completions.create({ model: 'gem/gemini-test', messages: [{ role: 'user', content: 'something unsafe' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('content_filter');
    expect((err as Error).message).toMatch(/SAFETY/);
  });

  it("recitation is a content_filter finish; a short max_tokens is 'length'", async () => {
    const rec = await s.client.chat.completions.create({ model: 'gem/gemini-test', messages: [{ role: 'user', content: 'recitation' }] });
    expect(rec.choices[0]!.finish_reason).toBe('content_filter');
    const short = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 2, messages: [{ role: 'user', content: 'hello' }] });
    expect(short.choices[0]!.finish_reason).toBe('length');
  });

  it('embeddings: one batchEmbedContents call, vectors in input order', async () => {
    const r = await s.client.embeddings.create({ model: 'gem/gemini-embed', input: ['one', 'two', 'three'] });
    expect(r.object).toBe('list');
    expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
    // The SDK asks for base64 by default and decodes it: the vectors must be Gemini's, value for value.
    const want = (text: string) => vector(text, r.data[0]!.embedding.length).split(',').map(Number);
    expect(r.data[0]!.embedding.length).toBeGreaterThanOrEqual(8);
    r.data.forEach((d, i) => d.embedding.forEach((x, j) => expect(x).toBeCloseTo(want(['one', 'two', 'three'][i]!)[j]!, 5)));
    const floats = await s.client.embeddings.create({ model: 'gem/gemini-embed', input: 'one', encoding_format: 'float' });
    expect(floats.data[0]!.embedding).toEqual(want('one'));
    expect(Object.keys(s.mocks.g!.stats().byPath).some((p) => p.includes('gemini-embed:batchEmbedContents'))).toBe(true);
  });

  it("Google's 429 rotates to the next key, and the limited one rests as long as RetryInfo in the body says", async () => {
    const before = s.mocks.g!.stats().byKey['gemini-key-429'] ?? 0;
    // The first request may meet the limited key, which is then rotated past; none after it may.
    for (let i = 0; i < 6; i++) {
      const r = await s.client.chat.completions.create({ model: 'gemlimited/gemini-test', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0]!.finish_reason).toBe('stop');
    }
    const after = s.mocks.g!.stats().byKey['gemini-key-429'] ?? 0;
    // rateLimitedMs is 1 ms here: only the 30 s of RetryInfo keeps the key out of rotation.
    expect(after - before).toBeLessThanOrEqual(1);
  });

  it('an in-stream error ends the OpenAI stream with an error, not [DONE]', async () => {
    const stream = await s.client.chat.completions.create({ model: 'gem/gemini-test', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-mock-stream-error-after': '1', 'x-mock-stream-chunks': '4' } });
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });
});

describe('the Anthropic SDK reaches a Gemini provider', () => {
  it('create: text blocks, end_turn, usage', async () => {
    const m = await claude.messages.create({ model: 'gem/gemini-test', max_tokens: 40, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] });
    expect(m.type).toBe('message');
    expect(m.content[0]!.type).toBe('text');
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(m.usage.output_tokens).toBeGreaterThan(0);
  });

  it('stream: finalMessage() with tool_use and stop_reason tool_use, then the tool_result round trip', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const first = await claude.messages.stream({ model: 'gem/gemini-test', max_tokens: 200, tools, messages: [{ role: 'user', content: 'use the tool' }] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(use.input).toEqual({ city: 'x' });
    const second = await claude.messages.create({
      model: 'gem/gemini-test',
      max_tokens: 200,
      tools,
      messages: [{ role: 'user', content: 'use the tool' }, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(second.stop_reason).toBe('end_turn');
  });

  it('thinking: a thinking block first, and the signed tool turn goes back accepted', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const ask: Anthropic.MessageParam = { role: 'user', content: 'use the tool' };
    const first = await claude.messages.create({ model: 'gem/gemini-test', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools, messages: [ask] });
    expect(first.content[0]!.type).toBe('thinking');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    const second = await claude.messages.create({
      model: 'gem/gemini-test',
      max_tokens: 3000,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools,
      messages: [ask, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }],
    });
    expect(second.stop_reason).toBe('end_turn');
  });

  it("Google's errors reach the Anthropic SDK in Anthropic's shape", async () => {
    const err = await claude.messages.create({ model: 'gemdown/gemini-test', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const body = (err as InstanceType<typeof Anthropic.APIError>).error as { type: string; error: { type: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toMatch(/api_error|overloaded_error/);
  });
});

describe('failover and bad input', () => {
  it('a Gemini provider that is down falls over to an OpenAI one, streamed too', async () => {
    const r = await s.client.chat.completions.create({ model: 'gemini-then-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    const m = await claude.messages.stream({ model: 'gemini-then-gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(m.stop_reason).toBe('end_turn');
  });

  it("what Gemini cannot take is refused before sending, in the client's dialect", async () => {
    const before = s.mocks.g!.stats().requests;
    const res = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gem/gemini-test', n: 3, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = (await res.body.json()) as { error: { type: string; param: string } };
    expect(res.statusCode).toBe(400);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.param).toBe('n');
    expect(s.mocks.g!.stats().requests).toBe(before);
  });
});
