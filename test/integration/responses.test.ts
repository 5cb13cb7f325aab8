// The Responses API translated through the seam, with the real `openai` SDK: responses.create,
// responses.stream and responses.parse against an Anthropic provider, a chat-only OpenAI-compatible
// provider, Gemini and Bedrock; tool calls and reasoning round trips; errors, in-stream too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
let sdk: OpenAI;

beforeAll(async () => {
  s = await startStack({ m: {} }, (m) => ({
    version: 1,
    providers: {
      claude: { type: 'anthropic', baseUrl: m.m!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-0123456789' }], forwardHeaders: ['x-mock-*'] },
      groq: { type: 'groq', baseUrl: m.m!.baseUrl, keys: [{ name: 'k', value: 'groq-key-0123456789' }] },
      gem: { type: 'gemini', baseUrl: `${m.m!.url}/v1beta`, keys: [{ name: 'k', value: 'gemini-key-0123456789' }] },
      br: { type: 'bedrock', baseUrl: m.m!.url, keys: [{ name: 'k', accessKeyId: 'AKIDRESP', secretAccessKey: 'mock-secret' }] },
      // Nothing listens on port 9 of loopback: a native Responses provider that is down.
      oadown: { baseUrl: 'http://127.0.0.1:9/v1', keys: [{ name: 'k', value: 'openai-key-0123456789' }], retry: { maxRetries: 0 } },
      oa: { baseUrl: m.m!.baseUrl, keys: [{ name: 'k', value: 'openai-key-9876543210' }] },
    },
    models: {
      smart: { targets: [{ provider: 'oadown', model: 'gpt-4o' }], fallbacks: ['claude/claude-test'] },
      claudefirst: { targets: [{ provider: 'claude', model: 'claude-test' }], fallbacks: ['oa/mock-small'] },
    },
  }));
  sdk = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => s.close());

const weather = { type: 'function' as const, name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true };

describe('the Responses API to an Anthropic provider', () => {
  it('create: output_text, a completed status, usage, a resp_ id', async () => {
    const r = await sdk.responses.create({ model: 'claude/claude-test', instructions: 'Be brief.', input: 'Say hello', max_output_tokens: 50 });
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe('completed');
    expect(r.output_text).toMatch(/\S/);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(s.mocks.m!.stats().byPath['/v1/messages']).toBeGreaterThan(0);
  });

  it('stream: the SDK assembles the same response from the translated events', async () => {
    const stream = sdk.responses.stream({ model: 'claude/claude-test', input: 'Say hello', max_output_tokens: 40 });
    let deltas = '';
    for await (const e of stream) if (e.type === 'response.output_text.delta') deltas += e.delta;
    const final = await stream.finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(deltas);
  });

  it('tools: a function_call item, then its output sent back, and the turn completes', async () => {
    const first = await sdk.responses.create({ model: 'claude/claude-test', input: 'use the tool for Paris', tools: [weather], max_output_tokens: 200 });
    const call = first.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;
    expect(call.name).toBe('get_weather');
    expect(JSON.parse(call.arguments)).toEqual({ city: expect.any(String) });
    const second = await sdk.responses.create({
      model: 'claude/claude-test',
      tools: [weather],
      max_output_tokens: 200,
      input: [{ role: 'user', content: 'use the tool for Paris' }, ...first.output.filter((o) => o.type !== 'message'), { type: 'function_call_output', call_id: call.call_id, output: '{"temp": 21}' }] as OpenAI.Responses.ResponseInput,
    });
    expect(second.status).toBe('completed');
  });

  it('reasoning: thinking comes back as a reasoning item and goes back byte-exact (the mock checks the signature)', async () => {
    const first = await sdk.responses.create({ model: 'claude/claude-test', input: 'use the tool', tools: [weather], reasoning: { effort: 'low' }, max_output_tokens: 3000 });
    const reasoning = first.output.find((o) => o.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.summary[0]!.text).toMatch(/\S/);
    expect(reasoning.encrypted_content).toMatch(/\S/);
    const call = first.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call')!;
    const second = await sdk.responses.create({
      model: 'claude/claude-test',
      tools: [weather],
      reasoning: { effort: 'low' },
      max_output_tokens: 3000,
      input: [{ role: 'user', content: 'use the tool' }, ...first.output.filter((o) => o.type !== 'message'), { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] as OpenAI.Responses.ResponseInput,
    });
    expect(second.status).toBe('completed');
  });

  it('max_output_tokens reached: incomplete, with the reason', async () => {
    const r = await sdk.responses.create({ model: 'claude/claude-test', input: 'Tell me a long story', max_output_tokens: 2 });
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details?.reason).toBe('max_output_tokens');
  });

  it('what cannot be translated is refused before sending: previous_response_id names its param', async () => {
    const before = s.mocks.m!.stats().requests;
    const err = await sdk.responses.create({ model: 'claude/claude-test', input: 'hi', previous_response_id: 'resp_123' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('previous_response_id');
    expect(s.mocks.m!.stats().requests).toBe(before);
  });

  it('a field the answer echoes, nested thousands deep, is refused before sending, not blamed on the provider', async () => {
    const before = s.mocks.m!.stats().requests;
    // Written as text: JSON.stringify itself cannot write it (that is the point).
    const deep = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
    const res = await fetch(`${s.gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"model":"claude/claude-test","input":"hi","metadata":{"a":${deep}}}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('metadata');
    expect(s.mocks.m!.stats().requests).toBe(before);
    // The same depth in a chat request's tool schema, translated for Anthropic: the client's 400, not a 500.
    const chat = await fetch(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"model":"claude/claude-test","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","x":${deep}}}}]}` });
    expect(chat.status).toBe(400);
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect(s.mocks.m!.stats().requests).toBe(before);
  });

  it("a fallback that cannot carry the request is passed over: the client learns why the provider before it failed", async () => {
    // previous_response_id goes to a native Responses provider as it is, and has no translation for Claude.
    const res = await fetch(`${s.gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'smart', input: 'hi', previous_response_id: 'resp_123' }) });
    const body = (await res.json()) as { error: { code: string } };
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(body.error.code).not.toBe('invalid_parameter');
    expect(res.headers.get('x-microgate-route')).toMatch(/^oadown\/gpt-4o#k:\w+ > claude\/claude-test:untranslatable$/);
  });

  it('a first target that cannot carry the request is passed over for a fallback that can; with none, it is the client\'s 400', async () => {
    // logprobs has no place at Claude, and OpenAI takes it.
    const body = (model: string) => JSON.stringify({ model, logprobs: true, messages: [{ role: 'user', content: 'hi' }] });
    const served = await fetch(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body('claudefirst') });
    expect(served.status).toBe(200);
    expect(served.headers.get('x-microgate-route')).toMatch(/^claude\/claude-test:untranslatable > oa\/mock-small#k:200$/);
    const refused = await fetch(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body('claude/claude-test') });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { param: string } }).error.param).toBe('logprobs');
  });

  it('an in-stream provider error ends the stream as an error the SDK raises', async () => {
    const stream = sdk.responses.stream({ model: 'claude/claude-test', input: 'Say hello', max_output_tokens: 40 }, { headers: { 'x-mock-stream-error-after': '1' } });
    const err = await (async () => {
      for await (const _ of stream) void _;
      return stream.finalResponse();
    })().catch((e: unknown) => e);
    expect(err).toBeTruthy();
    expect(String((err as { message?: string }).message ?? JSON.stringify(err))).toMatch(/overloaded/i);
  });
});

describe('the Responses API to other providers', () => {
  it('a chat-only OpenAI-compatible provider (Groq): translated to chat completions, streamed too', async () => {
    const before = s.mocks.m!.stats().byPath['/v1/chat/completions'] ?? 0;
    const r = await sdk.responses.create({ model: 'groq/llama-3.3-70b-versatile', input: 'Say hello' });
    expect(r.output_text).toMatch(/\S/);
    const final = await sdk.responses.stream({ model: 'groq/llama-3.3-70b-versatile', input: 'Say hello' }).finalResponse();
    expect(final.status).toBe('completed');
    expect(s.mocks.m!.stats().byPath['/v1/chat/completions']).toBe(before + 2);
  });

  it('parse with a zod schema: structured output through the chat translation', async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    const r = await sdk.responses.parse({ model: 'groq/llama-3.3-70b-versatile', input: 'Weather in Paris as JSON', text: { format: zodTextFormat(Weather, 'weather') } });
    expect(Weather.safeParse(r.output_parsed).success).toBe(true);
  });

  it('Gemini and Bedrock answer it too', async () => {
    const g = await sdk.responses.create({ model: 'gem/gemini-test', input: 'Say hello' });
    expect(g.output_text).toMatch(/\S/);
    const b = await sdk.responses.create({ model: 'br/anthropic.claude-3-5-haiku-20241022-v1:0', input: 'Say hello' });
    expect(b.output_text).toMatch(/\S/);
  });
});
