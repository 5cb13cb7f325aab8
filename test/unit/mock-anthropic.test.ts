// The mock's /v1/messages route, driven by the real @anthropic-ai/sdk: if the SDK assembles our streams,
// raises the right typed errors and parses our bodies, a gateway tested against the mock meets the real wire.

import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsNonStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../mock-providers/index.ts';
import type { MockHandle } from '../../mock-providers/index.ts';
import { failure } from '../helpers/waits.ts';

const MODEL = 'mock-claude';
const HELLO = [{ role: 'user' as const, content: 'Hello, mock! How are you?' }]; // 25 chars → 7 input tokens

const WEATHER = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' }, unit: { enum: ['c', 'f'] } },
    required: ['city'],
  },
};
const NOW = { name: 'now', input_schema: { type: 'object' as const } }; // zero-argument tool

/** Bytes that start like the named format, base64-encoded. */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(16).fill(0)]).toString('base64');

function client(m: MockHandle, apiKey = 'test-key', opts: { logLevel?: 'off' } = {}): Anthropic {
  return new Anthropic({ apiKey, baseURL: m.url, maxRetries: 0, ...opts });
}

/** Raw POST, for what the SDK never sends (no version header, x-api-key) or hides (ping, event names). */
function post(m: MockHandle, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${m.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Named SSE frames as sent. */
function sseFrames(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('event: '))
    .map((f) => {
      const [event, data] = f.split('\n');
      return { event: event!.slice(7), data: JSON.parse(data!.slice(6)) };
    });
}

describe('mock provider: Anthropic Messages', () => {
  let m: MockHandle;
  let sdk: Anthropic;

  beforeAll(async () => {
    m = await startMock({
      name: 'anth',
      keys: { 'k-limited': { status: 429, retryAfterSec: 3 }, 'k-overloaded': { status: 529 } },
    });
    sdk = client(m);
  });
  afterAll(async () => {
    await m.close();
  });

  it('answers messages.create in Anthropic shape, with a request-id', async () => {
    const { data: msg, response } = await sdk.messages.create({ model: MODEL, max_tokens: 50, messages: HELLO }).withResponse();
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn', stop_sequence: null });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content).toHaveLength(1);
    const text = msg.content[0]!;
    expect(text.type).toBe('text');
    // Like the OpenAI route, the answer's size follows max_tokens (~4 bytes a token).
    expect(text.type === 'text' && text.text).toMatch(/^\[anth\] /);
    expect(text.type === 'text' && text.text.length).toBe(200);
    expect(msg.usage).toMatchObject({ input_tokens: 7, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(response.headers.get('request-id')).toMatch(/^req_/);
  });

  it("counts tokens for messages.countTokens as the message's usage would, and refuses what counting does not take", async () => {
    const system = 'Be brief.';
    const counted = await sdk.messages.countTokens({ model: MODEL, system, messages: HELLO, tools: [WEATHER] });
    const used = await sdk.messages.create({ model: MODEL, max_tokens: 10, system, messages: HELLO, tools: [WEATHER], tool_choice: { type: 'none' } });
    expect(counted).toEqual({ input_tokens: used.usage.input_tokens });
    expect(counted.input_tokens).toBe(9); // 25 + 9 characters of text, a quarter rounded up
    // A message's own fields are refused by count_tokens (Wei-Shaw/sub2api #4913), and so is a missing turn.
    const refused = await fetch(`${m.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: HELLO }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('max_tokens: Extra inputs are not permitted');
    await expect(sdk.messages.countTokens({ model: MODEL, messages: [] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('accepts x-api-key as well as the SDK bearer token, and counts both in the stats', async () => {
    m.resetStats();
    await sdk.messages.create({ model: MODEL, max_tokens: 10, messages: HELLO });
    const res = await post(m, { model: 'other-model', max_tokens: 10, messages: HELLO }, { 'x-api-key': 'raw-key' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    await res.arrayBuffer();
    const s = m.stats();
    expect(s.byPath['/v1/messages']).toBe(2);
    expect(s.byKey).toEqual({ 'test-key': 1, 'raw-key': 1 });
    expect(s.byModel).toEqual({ [MODEL]: 1, 'other-model': 1 });
    expect(s.byStatus).toEqual({ 200: 2 });
  });

  it('streams thinking, redacted thinking, text and tool calls that messages.stream() assembles', async () => {
    const stream = sdk.messages.stream({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [WEATHER, NOW],
      messages: [{ role: 'user', content: 'Use a tool, and keep it redacted.' }],
    });
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const msg = await stream.finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'text', 'tool_use', 'tool_use']);
    const [thinking, redacted, text, weather, now] = msg.content as any[];
    expect(thinking.thinking).toMatch(/^\[anth\] /);
    expect(thinking.signature).toMatch(/^sig_mock_/);
    expect(redacted.data.length).toBeGreaterThan(0);
    expect(texts).toHaveLength(8);
    expect(text.text).toBe(texts.join(''));
    expect(weather).toMatchObject({ name: 'get_weather', input: { city: 'x', days: 1, metric: true, unit: 'c' } });
    expect(weather.id).toMatch(/^toolu_/);
    expect(now).toMatchObject({ name: 'now', input: {} });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(8);
  });

  it('sends the raw events in order: named, with ping, signature last, no argument deltas for a zero-arg tool', async () => {
    const res = await post(m, {
      model: MODEL,
      max_tokens: 2048,
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [WEATHER, NOW],
      messages: [{ role: 'user', content: 'Call a tool.' }],
    }, { 'x-mock-chunks': '3' });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const frames = sseFrames(await res.text());
    for (const f of frames) expect(f.event).toBe(f.data.type);
    const seq = frames.map((f) => (f.event === 'content_block_delta' ? f.data.delta.type : f.event));
    expect(seq).toEqual([
      'message_start', 'ping',
      'content_block_start', 'thinking_delta', 'thinking_delta', 'signature_delta', 'content_block_stop',
      'content_block_start', 'text_delta', 'text_delta', 'text_delta', 'content_block_stop',
      'content_block_start', 'input_json_delta', 'input_json_delta', 'content_block_stop',
      'content_block_start', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    const start = frames[0]!.data.message;
    expect(start).toMatchObject({ content: [], stop_reason: null, usage: { output_tokens: 1 } });
    expect(start.usage.input_tokens).toBeGreaterThan(0);
    const starts = frames.filter((f) => f.event === 'content_block_start').map((f) => f.data);
    expect(starts.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(starts[2].content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const json = frames.filter((f) => f.data.delta?.type === 'input_json_delta').map((f) => f.data.delta.partial_json).join('');
    expect(JSON.parse(json)).toEqual({ city: 'x', days: 1, metric: true, unit: 'c' });
    const delta = frames.at(-2)!.data;
    expect(delta.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
    expect(delta.usage.output_tokens).toBeGreaterThan(3);
  });

  it('yields typed raw events through create({stream: true}), with cumulative usage in message_delta', async () => {
    const stream = await sdk.messages.create({ model: MODEL, max_tokens: 100, messages: HELLO, stream: true });
    const events: RawMessageStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.type)).toEqual([
      'message_start', 'content_block_start', ...new Array(8).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const last = events.at(-2)!;
    expect(last.type === 'message_delta' && last.usage.output_tokens).toBe(8);
    expect(last.type === 'message_delta' && last.delta.stop_reason).toBe('end_turn');
  });

  it('calls only the forced tool, one tool without parallel use, and none with tool_choice none', async () => {
    const base = { model: MODEL, max_tokens: 100, tools: [WEATHER, NOW] };
    const forced = await sdk.messages.create({ ...base, tool_choice: { type: 'tool', name: 'now' }, messages: HELLO });
    expect(forced.content.map((b) => (b.type === 'tool_use' ? b.name : b.type))).toEqual(['text', 'now']);
    const single = await sdk.messages.create({ ...base, tool_choice: { type: 'any', disable_parallel_tool_use: true }, messages: HELLO });
    expect(single.content.filter((b) => b.type === 'tool_use')).toHaveLength(1);
    expect(single.stop_reason).toBe('tool_use');
    const none = await sdk.messages.create({ ...base, tool_choice: { type: 'none' }, messages: [{ role: 'user', content: 'use a tool' }] });
    expect(none.content.map((b) => b.type)).toEqual(['text']);
    expect(none.stop_reason).toBe('end_turn');
  });

  it('reports stop_sequence and max_tokens stops', async () => {
    const stopped = await sdk.messages.create({ model: MODEL, max_tokens: 100, stop_sequences: ['END', 'FIN'], messages: [{ role: 'user', content: 'Please stop here.' }] });
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    const notStopped = await sdk.messages.create({ model: MODEL, max_tokens: 100, stop_sequences: ['END'], messages: HELLO });
    expect(notStopped).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });

    const cut = await sdk.messages.create({ model: MODEL, max_tokens: 3, tools: [NOW], tool_choice: { type: 'any' }, messages: HELLO });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.content.map((b) => b.type)).toEqual(['text']);
    expect(cut.usage.output_tokens).toBeLessThanOrEqual(3);
    const texts: string[] = [];
    const streamed = await sdk.messages.stream({ model: MODEL, max_tokens: 3, messages: HELLO }).on('text', (t) => texts.push(t)).finalMessage();
    expect(streamed.stop_reason).toBe('max_tokens');
    expect(texts).toHaveLength(3);
    expect(streamed.usage.output_tokens).toBe(3);
  });

  it('reports cache writes and reads only when the request has cache_control', async () => {
    const system = [{ type: 'text' as const, text: 'You are a mock.', cache_control: { type: 'ephemeral' as const } }];
    const write = await sdk.messages.create({ model: MODEL, max_tokens: 10, system, messages: [{ role: 'user', content: 'cache-write please' }] });
    expect(write.usage).toMatchObject({ cache_creation_input_tokens: 50, cache_read_input_tokens: 0 });
    const read = await sdk.messages.create({ model: MODEL, max_tokens: 10, system, messages: [{ role: 'user', content: 'cache-read please' }] });
    expect(read.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 100 });
    const streamed = await sdk.messages.stream({ model: MODEL, max_tokens: 10, system, messages: [{ role: 'user', content: 'cache-read' }] }).finalMessage();
    expect(streamed.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 100 });
    const uncached = await sdk.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'cache-read please' }] });
    expect(uncached.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('accepts a well-formed tool loop with thinking, an image, and a returned thinking block', async () => {
    const first = await sdk.messages.create({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [WEATHER, NOW],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Use a tool on this' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }],
    });
    const results = first.content.flatMap((b) => (b.type === 'tool_use' ? [{ type: 'tool_result' as const, tool_use_id: b.id, content: 'ok' }] : []));
    expect(results).toHaveLength(2);
    const second = await sdk.messages.create({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [WEATHER, NOW],
      messages: [
        { role: 'user', content: 'Use a tool' },
        { role: 'assistant', content: first.content as any },
        { role: 'user', content: [...results, { type: 'text', text: 'thanks' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });

  describe('rejects what Anthropic rejects with BadRequestError', () => {
    const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} };
    const result = { type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' };
    const thinkingOn = { thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048 };
    const cases: [string, Record<string, unknown>, string][] = [
      ['missing max_tokens', { max_tokens: undefined }, 'max_tokens: Field required'],
      ['max_tokens 0', { max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1'],
      ['fractional max_tokens', { max_tokens: 1.5 }, 'max_tokens: Input should be a valid integer'],
      ['no messages', { messages: [] }, 'messages: List should have at least 1 item'],
      ['a system role', { messages: [{ role: 'system', content: 'hi' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
      ['empty content', { messages: [{ role: 'user', content: '' }] }, 'messages.0: all messages must have non-empty content'],
      ['an empty text block', { messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, 'text content blocks must be non-empty'],
      ['temperature above 1', { temperature: 1.5 }, 'temperature: Input should be less than or equal to 1'],
      ['temperature below 0', { temperature: -0.1 }, 'temperature: Input should be greater than or equal to 0'],
      [
        'tool_result after text',
        { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [toolUse] }, { role: 'user', content: [{ type: 'text', text: 'here' }, result] }] },
        'messages.2: Did not find 1 tool_result block(s) at the beginning of this message. Messages following tool_use blocks must begin with a matching number of tool_result blocks.',
      ],
      [
        'a missing tool_result',
        { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [toolUse, { ...toolUse, id: 'toolu_2' }] }, { role: 'user', content: [result] }] },
        'messages.2: Did not find 1 tool_result block(s) at the beginning of this message.',
      ],
      [
        'an orphan tool_result',
        { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'sure' }, { role: 'user', content: [result] }] },
        'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1',
      ],
      [
        'tool_use with no reply',
        { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [toolUse] }] },
        'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1',
      ],
      [
        'an image whose bytes are not its media_type',
        { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } }] }] },
        'messages.0.content.0.source.base64.data: Image does not match the provided media type image/jpeg',
      ],
      [
        'a mismatched image inside a tool_result',
        {
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: [toolUse] },
            { role: 'user', content: [{ ...result, content: [{ type: 'image', source: { type: 'base64', media_type: 'image/gif', data: PNG } }] }] },
          ],
        },
        'Image does not match the provided media type',
      ],
      [
        'thinking on, and the last tool turn does not start with thinking',
        { ...thinkingOn, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [{ type: 'text', text: 'ok' }, toolUse] }, { role: 'user', content: [result] }] },
        'messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.',
      ],
      [
        'thinking on, and a tool turn that starts with tool_use',
        { ...thinkingOn, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [toolUse] }, { role: 'user', content: [result] }] },
        'Expected `thinking` or `redacted_thinking`, but found `tool_use`',
      ],
      [
        'an edited thinking block',
        {
          ...thinkingOn,
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: [{ type: 'thinking', thinking: 'edited', signature: 'sig_mock_00000000' }, toolUse] },
            { role: 'user', content: [result] },
          ],
        },
        'messages.1.content.0: Invalid `signature` in `thinking` block',
      ],
      ['a thinking budget under 1024', { thinking: { type: 'enabled', budget_tokens: 500 }, max_tokens: 2048 }, 'budget_tokens: Input should be greater than or equal to 1024'],
      ['max_tokens not above the budget', { thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 1024 }, '`max_tokens` must be greater than `thinking.budget_tokens`'],
      ['thinking with a forced tool', { ...thinkingOn, tools: [NOW], tool_choice: { type: 'any' } }, 'Thinking may not be enabled when tool_choice forces tool use.'],
      ['thinking with temperature', { ...thinkingOn, temperature: 0.5 }, '`temperature` may only be set to 1 when thinking is enabled'],
      ['a tool without input_schema', { tools: [{ name: 'x' }] }, 'tools.0.input_schema: Field required'],
    ];

    it.each(cases)('%s', async (_name, over, message) => {
      const params = { model: MODEL, max_tokens: 100, messages: HELLO, ...over } as unknown as MessageCreateParamsNonStreaming;
      const err = await failure(sdk.messages.create(params));
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect(err.status).toBe(400);
      expect(err.type).toBe('invalid_request_error');
      expect(err.apiMessage).toContain(message);
      expect(err.requestID).toMatch(/^req_/);
      expect(err.error.request_id).toBe(err.requestID);
    });
  });

  it('requires the anthropic-version header and a JSON object', async () => {
    const err = await failure(sdk.messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }, { headers: { 'anthropic-version': null } }));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.apiMessage).toBe('anthropic-version: header is required');
    const res = await post(m, '[1, 2]');
    expect(res.status).toBe(400);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('rejects a missing or unknown key with AuthenticationError, never echoing it', async () => {
    const strict = await startMock({ validKeys: ['good-key'] });
    const err = await failure(client(strict, 'sk-ant-secret-123').messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }));
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    expect(JSON.stringify(err.error)).not.toContain('secret');
    const raw = await post(strict, { model: MODEL, max_tokens: 10, messages: HELLO }, { 'x-api-key': 'sk-ant-secret-123' });
    expect(raw.status).toBe(401);
    expect(await raw.text()).not.toContain('secret');
    const missing = await post(m, { model: MODEL, max_tokens: 10, messages: HELLO }, { 'x-api-key': '' });
    expect(missing.status).toBe(401);
    await missing.arrayBuffer();
    expect((await client(strict, 'good-key').messages.create({ model: MODEL, max_tokens: 10, messages: HELLO })).type).toBe('message');
    await strict.close();
  });

  it('fails one key with RateLimitError and retry-after; the per-key behaviour follows x-api-key too', async () => {
    const err = await failure(client(m, 'k-limited').messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }));
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.type).toBe('rate_limit_error');
    expect(err.headers.get('retry-after')).toBe('3');
    const raw = await post(m, { model: MODEL, max_tokens: 10, messages: HELLO }, { 'x-api-key': 'k-limited' });
    expect(raw.status).toBe(429);
    expect(((await raw.json()) as any).error.type).toBe('rate_limit_error');
  });

  it('maps injected statuses to the SDK error classes and Anthropic error types', async () => {
    const overloaded = await failure(client(m, 'k-overloaded').messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }));
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError);
    expect(overloaded.status).toBe(529);
    expect(overloaded.type).toBe('overloaded_error');

    const table: [string, new (...args: any[]) => Error, string][] = [
      ['500', Anthropic.InternalServerError, 'api_error'],
      ['400', Anthropic.BadRequestError, 'invalid_request_error'],
      ['401', Anthropic.AuthenticationError, 'authentication_error'],
      ['403', Anthropic.PermissionDeniedError, 'permission_error'],
      ['404', Anthropic.NotFoundError, 'not_found_error'],
      ['413', Anthropic.ContentTooLargeError, 'request_too_large'],
    ];
    for (const [status, cls, type] of table) {
      const err = await failure(sdk.messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }, { headers: { 'x-mock-status': status } }));
      expect(err, status).toBeInstanceOf(cls);
      expect(err.status).toBe(Number(status));
      expect(err.type).toBe(type);
      expect(err.requestID).toMatch(/^req_/);
    }
  });

  it('surfaces an in-stream error event as an SDK APIError after N text deltas', async () => {
    const texts: string[] = [];
    const stream = sdk.messages.stream({ model: MODEL, max_tokens: 100, messages: HELLO }, { headers: { 'x-mock-stream-error-after': '2' } });
    stream.on('text', (t) => texts.push(t));
    const err = await failure(stream.finalMessage());
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.type).toBe('overloaded_error');
    expect(err.apiMessage).toBe('Overloaded');
    expect(err.status).toBeUndefined(); // the HTTP status was 200
    expect(texts).toHaveLength(2);

    const res = await post(m, { model: MODEL, max_tokens: 100, messages: HELLO, stream: true }, { 'x-mock-stream-error': 'api_error' });
    const frames = sseFrames(await res.text());
    expect(res.status).toBe(200);
    expect(frames.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } });
    expect(frames.some((f) => f.event === 'message_stop' || f.data.delta?.type === 'text_delta')).toBe(false);
  });

  it('applies the stream knobs to the text deltas: chunks, delays and disconnects', async () => {
    const texts: string[] = [];
    const msg = await sdk.messages
      .stream({ model: MODEL, max_tokens: 100, messages: HELLO }, { headers: { 'x-mock-chunks': '3', 'x-mock-chunk-delay-ms': '5' } })
      .on('text', (t) => texts.push(t))
      .finalMessage();
    expect(texts).toHaveLength(3);
    expect(msg.stop_reason).toBe('end_turn');

    const cutTexts: string[] = [];
    const cut = sdk.messages.stream({ model: MODEL, max_tokens: 100, messages: HELLO }, { headers: { 'x-mock-disconnect-after': '2' } });
    cut.on('text', (t) => cutTexts.push(t));
    expect(await failure(cut.finalMessage())).toBeInstanceOf(Anthropic.AnthropicError);
    expect(cutTexts).toHaveLength(2);
  });

  it('resets, holds and corrupts /v1/messages like the OpenAI routes', async () => {
    const before = m.stats();
    expect(await failure(sdk.messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }, { headers: { 'x-mock-reset': '1' } }))).toBeInstanceOf(
      Anthropic.APIConnectionError,
    );
    const held = await failure(sdk.messages.create({ model: MODEL, max_tokens: 10, messages: HELLO }, { headers: { 'x-mock-timeout': '1' }, timeout: 300 }));
    expect(held).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const s = m.stats();
    expect(s.resets).toBe(before.resets + 1);
    expect(s.timeouts).toBe(before.timeouts + 1);

    const broken = await post(m, { model: MODEL, max_tokens: 10, messages: HELLO }, { 'x-mock-malformed': '1' });
    expect(broken.status).toBe(200);
    const text = await broken.text();
    expect(() => JSON.parse(text)).toThrow();
    // The SDK logs the unparsable event before it throws: expected here, so kept out of the test output.
    const quiet = client(m, 'test-key', { logLevel: 'off' });
    const corrupt = quiet.messages.stream({ model: MODEL, max_tokens: 10, messages: HELLO }, { headers: { 'x-mock-malformed': '1' } });
    expect(await failure(corrupt.finalMessage())).toBeInstanceOf(Anthropic.AnthropicError);
  });
});
