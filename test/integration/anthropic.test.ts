// Anthropic both ways, with the vendors' own SDKs: the OpenAI SDK reaching an Anthropic-format
// provider (translated), the Anthropic SDK on /v1/messages reaching an Anthropic provider (pass-through)
// and an OpenAI one (translated), errors in each client's dialect, and failover across formats.
// The Anthropic mock validates what translators break (tool_result placement, thinking first on tool
// turns, image media types, temperature range), so a wrong translation is a 400 here.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startHostile, type HostileProvider } from '../helpers/hostile.ts';

let s: Stack;
let h: HostileProvider;
let claude: Anthropic;
const PNG_AS_JPEG_URL = 'data:image/jpeg;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

beforeAll(async () => {
  h = await startHostile();
  // Keys ending in -429 are rate limited by the mock: a key that rests after a 429 must not be one
  // the other tests use.
  s = await startStack({ main: { keys: { 'anthropic-key-429': { status: 429 }, 'openai-key-429': { status: 429 } } }, overloaded: { status: 529 }, broken: { status: 500 } }, (m) => ({
    version: 1,
    providers: {
      claude: { type: 'anthropic', baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-1' }], models: ['claude-test'], forwardHeaders: ['x-mock-*'] },
      gpt: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'openai-key-1' }], models: ['gpt-test'], forwardHeaders: ['x-mock-*'] },
      claudelimited: { type: 'anthropic', baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-429' }] },
      gptlimited: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'openai-key-429' }] },
      claudedown: { type: 'anthropic', baseUrl: m.overloaded!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-2' }], retry: { maxRetries: 1, baseMs: 1, capMs: 2 } },
      gptdown: { baseUrl: m.broken!.baseUrl, keys: [{ name: 'k', value: 'openai-key-2' }], retry: { maxRetries: 1, baseMs: 1, capMs: 2 } },
      hostile: { baseUrl: h.baseUrl, keys: [{ name: 'k', value: 'hostile-key-1' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
      hostileclaude: { type: 'anthropic', baseUrl: h.baseUrl, keys: [{ name: 'k', value: 'hostile-key-2' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
    },
    models: {
      'claude-then-gpt': { targets: [{ provider: 'claudedown', model: 'claude-test' }], fallbacks: ['gpt/gpt-test'] },
      'gpt-then-claude': { targets: [{ provider: 'gptdown', model: 'gpt-test' }], fallbacks: ['claude/claude-test'] },
    },
    // These tests count attempts on providers that always fail: circuits stay closed here (a retry
    // skips a key whose circuit opened, which the chaos tests cover), whatever ran before.
    routing: { circuit: { consecutiveFailures: 1000, errorRate: 1, minRequests: 100000 } },
  }));
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'client-key-not-forwarded', maxRetries: 0 });
});
afterAll(async () => {
  await s.close();
  await h.close();
});
beforeEach(() => h.reset());

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('the OpenAI SDK reaches an Anthropic provider', () => {
  it("a tool schema nested too deeply to translate is the client's 400, naming the field", async () => {
    let schema = '{"type":"string"}';
    for (let i = 0; i < 12_000; i++) schema = `{"type":"object","properties":{"a":${schema}}}`;
    const body = `{"model":"claude/claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]}`;
    const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const e = ((await r.body.json()) as { error: { param: string; message: string } }).error;
    expect(r.statusCode).toBe(400);
    expect(e.param).toBe('tools');
    expect(e.message).toMatch(/nested too deeply to forward \(in 'tools'\)/);
  });

  it('chat: text, a finish reason, usage, the provider id', async () => {
    const r = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 50, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
    expect(r.id).toMatch(/^msg_/);
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(s.mocks.main!.stats().lastHeaders!['x-api-key']).toBe('anthropic-key-1');
    expect(s.mocks.main!.stats().lastHeaders!['anthropic-version']).toBe('2023-06-01');
  });

  it('stream: role first, text deltas, the usage chunk when asked, then [DONE]', async () => {
    const stream = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 30, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toMatch(/\S/);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('tools: a tool call with JSON arguments and a tool_calls finish, non-streamed and streamed', async () => {
    const r = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool for Paris' }] });
    const call = r.choices[0]!.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect((call as { function: { name: string; arguments: string } }).function.name).toBe('get_weather');
    expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toEqual({ city: 'x' });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');

    const final = await s.client.chat.completions.stream({ model: 'claude/claude-test', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool for Paris' }] }).finalChatCompletion();
    const streamed = final.choices[0]!.message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
    expect(streamed.id).toMatch(/\S/);
    expect(JSON.parse(streamed.function.arguments)).toEqual({ city: 'x' });
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('runTools: the tool results go back in the shape Anthropic requires, and the turn completes', async () => {
    const calls: string[] = [];
    const runner = s.client.chat.completions.runTools({
      model: 'claude/claude-test',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'use the tool for Paris and Rome' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: weatherTool.function.description,
            parameters: weatherTool.function.parameters,
            parse: JSON.parse,
            function: (args: { city: string }) => {
              calls.push(args.city);
              return `sunny in ${args.city}`;
            },
          },
        },
      ],
    });
    const text = await runner.finalContent();
    expect(calls).toEqual(['x']);
    expect(text).toMatch(/\S/);
  });

  it("history written elsewhere reaches Claude: Kimi-style tool-call ids and an assistant turn that said nothing", async () => {
    // The mock refuses what Anthropic refuses: ids outside [a-zA-Z0-9_-], and empty messages.
    const id = 'functions.get_weather:0';
    const res = await s.client.chat.completions.create({
      model: 'claude/claude-test',
      max_tokens: 50,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: id, content: 'sunny' },
      ],
    });
    expect(res.choices[0]!.message.content ?? res.choices[0]!.message.tool_calls).toBeTruthy();
  });

  it('thinking survives the round trip: blocks come back on the tool turn, first, byte-exact', async () => {
    const first = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 3000, reasoning_effort: 'low', tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool for Paris' }] } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const message = first.choices[0]!.message as OpenAI.ChatCompletionMessage & { thinking_blocks?: unknown[]; reasoning_content?: string };
    expect(message.thinking_blocks).toHaveLength(1);
    expect(message.reasoning_content).toMatch(/\S/);
    const call = message.tool_calls![0]!;
    // The mock checks the signature against the thinking text and that the tool turn starts with thinking.
    const second = await s.client.chat.completions.create({
      model: 'claude/claude-test',
      max_tokens: 3000,
      reasoning_effort: 'low',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'use the tool for Paris' }, message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(second.choices[0]!.finish_reason).toBe('stop');
  });

  it("an image whose data URL names the wrong type is sent with the type its bytes have", async () => {
    const r = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 20, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PNG_AS_JPEG_URL } }, { type: 'text', text: 'what is this?' }] }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
  });

  it('what has no mapping is refused in OpenAI\'s shape; what is dropped is named', async () => {
    const err = await s.client.chat.completions.create({ model: 'claude/claude-test', n: 2, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const res = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude/claude-test', seed: 7, presence_penalty: 0.1, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }) });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-microgate-dropped']).toBe('seed,presence_penalty');
    // What Claude's own rules leave out is named too: top_p beside temperature, a whitespace-only stop.
    const ruled = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude/claude-test', n: 1, temperature: 0.5, top_p: 0.9, stop: ['\n\n', 'END'], max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }) });
    await ruled.body.text();
    expect(ruled.statusCode).toBe(200);
    expect(ruled.headers['x-microgate-dropped']).toBe('top_p,stop');
  });

  it("typed errors: the provider's 429 is a RateLimitError with OpenAI's code, its 529 a retryable 503", async () => {
    const limited = await s.client.chat.completions.create({ model: 'claudelimited/claude-test', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.APIError>).code).toBe('rate_limit_exceeded');
    const overloaded = await s.client.chat.completions.create({ model: 'claudedown/claude-test', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(OpenAI.InternalServerError);
    expect((overloaded as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((overloaded as InstanceType<typeof OpenAI.APIError>).code).toBe('overloaded_error');
  });

  it("an in-stream error event ends the OpenAI stream with an error, not [DONE]", async () => {
    const stream = await s.client.chat.completions.create({ model: 'claude/claude-test', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-mock-stream-error-after': '2' } });
    let got = '';
    const err = await (async () => {
      for await (const c of stream) got += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(got).toMatch(/\S/);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(String((err as Error).message)).toMatch(/overloaded/i);
  });
});

describe('the Anthropic SDK on /v1/messages', () => {
  it('reaches an Anthropic provider as a pass-through, anthropic-beta included', async () => {
    const m = await claude.messages.create({ model: 'claude/claude-test', max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } });
    expect(m.type).toBe('message');
    expect(m.content[0]!.type).toBe('text');
    expect(m.stop_reason).toBe('end_turn');
    const seen = s.mocks.main!.stats().lastHeaders!;
    expect(seen['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    expect(seen['x-api-key']).toBe('anthropic-key-1');
  });

  it('streams from an Anthropic provider: messages.stream().finalMessage() with tools and thinking', async () => {
    const m = await claude.messages
      .stream({ model: 'claude/claude-test', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }], messages: [{ role: 'user', content: 'use the tool' }] })
      .finalMessage();
    expect(m.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect((m.content[2] as Anthropic.ToolUseBlock).input).toEqual({});
    expect(m.stop_reason).toBe('tool_use');
  });

  it('reaches an OpenAI provider, translated: create and stream', async () => {
    const m = await claude.messages.create({ model: 'gpt/gpt-test', max_tokens: 40, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] });
    expect(m.type).toBe('message');
    expect(m.id).toMatch(/\S/);
    expect((m.content[0] as Anthropic.TextBlock).text).toMatch(/\S/);
    expect(m.usage.output_tokens).toBeGreaterThan(0);
    expect(s.mocks.main!.stats().lastHeaders!.authorization).toBe('Bearer openai-key-1');

    const events: string[] = [];
    const stream = claude.messages.stream({ model: 'gpt/gpt-test', max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] });
    stream.on('streamEvent', (e) => events.push(e.type));
    const final = await stream.finalMessage();
    expect((final.content[0] as Anthropic.TextBlock).text).toMatch(/\S/);
    expect(events[0]).toBe('message_start');
    expect(events.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('tools from an OpenAI provider: tool_use blocks with input objects, and stop on a tool turn is tool_use', async () => {
    // An OpenAI-compatible provider that says "stop" on a turn with tool calls (Bifrost #3638).
    const answer = { id: 'chatcmpl-t', object: 'chat.completion', created: 1, model: 'gpt-t', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"paris"}' } }] }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } };
    const chunks = [
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }] }, finish_reason: null }] },
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }, finish_reason: null }] },
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"paris"}' } }] }, finish_reason: null }] },
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1, model: 'gpt-t', choices: [], usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } },
    ];
    let sentBody: Record<string, unknown> = {};
    h.handle((_req, res, body) => {
      sentBody = JSON.parse(body) as Record<string, unknown>;
      if (sentBody.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`);
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    const tools: Anthropic.Tool[] = [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }];
    const m = await claude.messages.create({ model: 'hostile/gpt-t', max_tokens: 40, tools, tool_choice: { type: 'any', disable_parallel_tool_use: true }, messages: [{ role: 'user', content: 'find paris' }] });
    expect(sentBody.tool_choice).toBe('required');
    expect(sentBody.parallel_tool_calls).toBe(false);
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'paris' } }]);

    const streamed = await claude.messages.stream({ model: 'hostile/gpt-t', max_tokens: 40, tools, messages: [{ role: 'user', content: 'find paris' }] }).finalMessage();
    expect(sentBody.stream_options).toEqual({ include_usage: true });
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'paris' } }]);
    expect(streamed.usage.input_tokens).toBe(9);
    expect(streamed.usage.output_tokens).toBe(5);
  });

  it("validation by Anthropic's rules, errors in Anthropic's shape", async () => {
    const noMax = await claude.messages.create({ model: 'claude/claude-test', messages: [{ role: 'user', content: 'x' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError);
    expect((noMax as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const unknown = await claude.messages.create({ model: 'nope/nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect((unknown as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const raw = await request(`${s.gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
    expect(raw.statusCode).toBe(400);
    expect(await raw.body.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it("provider errors keep their identity: an OpenAI provider's 429 is a rate_limit_error, an Anthropic 529 an OverloadedError", async () => {
    const limited = await claude.messages.create({ model: 'gptlimited/gpt-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'rate_limit_error' } });
    const overloaded = await claude.messages.create({ model: 'claudedown/claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  it("an in-stream error reaches the Anthropic SDK as an error event, from either format", async () => {
    for (const model of ['claude/claude-test', 'gpt/gpt-test']) {
      const headers = model.startsWith('claude') ? { 'x-mock-stream-error-after': '2' } : { 'x-mock-disconnect-after': '2' };
      const err = await claude.messages.stream({ model, max_tokens: 30, messages: [{ role: 'user', content: 'hello' }] }, { headers }).finalMessage().catch((e: unknown) => e);
      expect(err, model).toBeInstanceOf(Anthropic.APIError);
    }
  });
});

describe('failover across formats', () => {
  it('an OpenAI client: an overloaded Claude (529, retried) falls over to GPT', async () => {
    const raw = await s.client.chat.completions.create({ model: 'claude-then-gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    expect(raw.data.choices[0]!.message.content).toMatch(/\S/);
    expect(raw.response.headers.get('x-microgate-provider')).toBe('gpt');
    expect(raw.response.headers.get('x-microgate-route')).toBe('claudedown/claude-test#k:529 > claudedown/claude-test#k:529 > gpt/gpt-test#k:200');
  });

  it('an Anthropic client: a failing GPT falls over to Claude, streamed too', async () => {
    const m = await claude.messages.create({ model: 'gpt-then-claude', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] });
    expect(m.id).toMatch(/^msg_/);
    const final = await claude.messages.stream({ model: 'gpt-then-claude', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] }).finalMessage();
    expect(final.id).toMatch(/^msg_/);
    expect((final.content[0] as Anthropic.TextBlock).text).toMatch(/\S/);
  });

  it('a 400 from either side is returned in the client\'s dialect and never retried', async () => {
    h.handle((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 300000 tokens > 200000 maximum' } })));
    const err = await s.client.chat.completions.create({ model: 'hostileclaude/c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('context_length_exceeded');
    expect(h.requests).toBe(1);
  });
});

describe('upstream errors (fixtures)', () => {
  const dir = resolve(import.meta.dirname, '../fixtures/conformance/anthropic/upstream-errors');
  const fixtures = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { name: string; stream: boolean; upstream: { status?: number; headers?: Record<string, string>; body?: unknown; failure?: string }; expect: { status: number; headers?: Record<string, string>; error?: Record<string, string> } });
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', async (_name, fx) => {
    h.handle((_req, res) => {
      const u = fx.upstream;
      if (u.failure === 'connection_reset') res.socket?.destroy();
      else if (u.failure === 'timeout') return; // never answers; the provider's firstByteMs is short here
      else res.writeHead(u.status!, { 'content-type': 'application/json', ...u.headers }).end(JSON.stringify(u.body));
    });
    const res = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-microgate-timeout-ms': '400' },
      body: JSON.stringify({ model: 'hostileclaude/claude-test', max_tokens: 5, stream: fx.stream, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = (await res.body.json()) as { error: Record<string, string> };
    // A provider that never answers meets the request's deadline here (504 either way).
    expect(res.statusCode).toBe(fx.expect.status);
    for (const [k, v] of Object.entries(fx.expect.headers ?? {})) expect(res.headers[k]).toBe(v);
    for (const [k, v] of Object.entries(fx.expect.error ?? {})) expect(body.error[k]).toBe(v);
  });
});
