// The mock's OpenAI surface beyond chat (mock-providers/surface.ts and the route files it mounts), driven by the
// real `openai` SDK: if the SDK's resources parse our bodies, accumulate our Responses stream, upload through our
// multipart parser and map our injected faults to its typed errors, a gateway tested against the mock meets
// OpenAI's wire on these routes too.

import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError, toFile } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startMock } from '../../mock-providers/index.ts';
import type { MockHandle } from '../../mock-providers/index.ts';
import { FormReader } from '../../mock-providers/multipart.ts';
import type { Form } from '../../mock-providers/multipart.ts';
import { ResponseLog } from '../../mock-providers/responses-route.ts';
import { failure } from '../helpers/waits.ts';

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
    required: ['city', 'unit', 'days'],
    additionalProperties: false,
  },
  strict: true,
};
const TIME_TOOL = { type: 'function' as const, name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false };

/** The SSE events of a raw body: [event line, parsed data]. */
function sseEvents(text: string): Array<[string, any]> {
  return text
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((e) => {
      const lines = e.split('\n');
      return [lines.find((l) => l.startsWith('event: '))!.slice(7), JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6))];
    });
}

describe('mock provider: the OpenAI surface through the openai SDK', () => {
  let m: MockHandle;
  let strict: MockHandle;
  let client: OpenAI;

  beforeAll(async () => {
    m = await startMock({
      name: 'oai',
      keys: { limited: { status: 429, retryAfterSec: 7 }, flaky: { status: 429, retryAfterSec: 0.001 }, broken: { status: 503 } },
    });
    strict = await startMock({ name: 'strict', validKeys: ['good-key'] });
    client = new OpenAI({ baseURL: m.baseUrl, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await m.close();
    await strict.close();
  });

  describe('POST /v1/responses', () => {
    it('answers text input with a completed Response and counts it', async () => {
      m.resetStats();
      const res = await client.responses.create({ model: 'gpt-5', instructions: 'Be brief.', input: 'Hello, mock!', max_output_tokens: 25, metadata: { run: 't1' } });
      expect(res).toMatchObject({
        object: 'response',
        status: 'completed',
        model: 'gpt-5',
        error: null,
        incomplete_details: null,
        instructions: 'Be brief.',
        tools: [],
        tool_choice: 'auto',
        parallel_tool_calls: true,
        temperature: 1,
        top_p: 1,
        text: { format: { type: 'text' } },
        metadata: { run: 't1' },
        max_output_tokens: 25,
        previous_response_id: null,
      });
      expect(res.id).toMatch(/^resp_/);
      expect(typeof res.created_at).toBe('number');
      expect(res.output).toHaveLength(1);
      const msg = res.output[0]!;
      expect(msg).toMatchObject({ type: 'message', status: 'completed', role: 'assistant' });
      if (msg.type !== 'message') throw new Error('not a message');
      expect(msg.id).toMatch(/^msg_/);
      expect(msg.content[0]).toMatchObject({ type: 'output_text', annotations: [] });
      // The SDK derives output_text; the text follows max_output_tokens like the chat route's max_tokens.
      expect(res.output_text).toMatch(/^\[oai\] /);
      expect(res.output_text).toHaveLength(100);
      // "Be brief." + "Hello, mock!": 21 characters, ~4 a token.
      expect(res.usage).toEqual({
        input_tokens: 6,
        input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        output_tokens: 25,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 31,
      });
      const s = m.stats();
      expect(s).toMatchObject({ requests: 1, byPath: { '/v1/responses': 1 }, byStatus: { 200: 1 }, byKey: { 'sk-test': 1 }, byModel: { 'gpt-5': 1 } });
      expect(s.lastHeaders!.authorization).toBe('Bearer sk-test');
    });

    it('calls function tools with arguments sampled from their schemas, and takes the results back', async () => {
      const res = await client.responses.create({
        model: 'gpt-5',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Use the tool for Paris' }] }],
        tools: [WEATHER_TOOL, TIME_TOOL],
      });
      const calls = res.output.filter((o) => o.type === 'function_call');
      expect(calls.map((c) => c.name)).toEqual(['get_weather', 'get_time']);
      expect(calls[0]).toMatchObject({ type: 'function_call', status: 'completed' });
      expect(calls[0]!.id).toMatch(/^fc_/);
      expect(calls[0]!.call_id).toMatch(/^call_/);
      expect(JSON.parse(calls[0]!.arguments)).toEqual({ city: 'x', unit: 'celsius', days: 1 });
      expect(JSON.parse(calls[1]!.arguments)).toEqual({});

      // The results come back as function_call_output items chained by previous_response_id: no new calls.
      const next = await client.responses.create({
        model: 'gpt-5',
        previous_response_id: res.id,
        input: calls.map((c) => ({ type: 'function_call_output' as const, call_id: c.call_id, output: '{"temp":21}' })),
        tools: [WEATHER_TOOL, TIME_TOOL],
      });
      expect(next.output.map((o) => o.type)).toEqual(['message']);
      expect(next.previous_response_id).toBe(res.id);

      // Or restated in the input itself, without previous_response_id.
      const restated = await client.responses.create({
        model: 'gpt-5',
        input: [
          { role: 'user', content: 'Use the tool' },
          { type: 'function_call', call_id: 'call_own', name: 'get_time', arguments: '{}' },
          { type: 'function_call_output', call_id: 'call_own', output: 'noon' },
        ],
        tools: [TIME_TOOL],
      });
      expect(restated.output.map((o) => o.type)).toEqual(['message']);
    });

    it('follows tool_choice and parallel_tool_calls', async () => {
      const named = await client.responses.create({ model: 'gpt-5', input: 'hi', tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: { type: 'function', name: 'get_time' } });
      expect(named.output.filter((o) => o.type === 'function_call').map((c) => (c as { name: string }).name)).toEqual(['get_time']);
      const required = await client.responses.create({ model: 'gpt-5', input: 'hi', tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: 'required', parallel_tool_calls: false });
      expect(required.output.filter((o) => o.type === 'function_call')).toHaveLength(1);
      const none = await client.responses.create({ model: 'gpt-5', input: 'use a tool', tools: [WEATHER_TOOL], tool_choice: 'none' });
      expect(none.output.map((o) => o.type)).toEqual(['message']);
      const noWord = await client.responses.create({ model: 'gpt-5', input: 'hello', tools: [WEATHER_TOOL] });
      expect(noWord.output.map((o) => o.type)).toEqual(['message']);
    });

    it('adds a reasoning item and counts reasoning tokens when reasoning is set', async () => {
      const res = await client.responses.create({ model: 'o4-mini', input: 'Think about it', reasoning: { effort: 'high', summary: 'auto' } });
      expect(res.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
      const r = res.output[0]!;
      if (r.type !== 'reasoning') throw new Error('not reasoning');
      expect(r.id).toMatch(/^rs_/);
      expect(r.summary[0]!.type).toBe('summary_text');
      expect(r.summary[0]!.text).toContain('high');
      expect(res.reasoning).toEqual({ effort: 'high', summary: 'auto' });
      expect(res.usage!.output_tokens_details.reasoning_tokens).toBe(128);
      expect(res.usage!.output_tokens).toBeGreaterThan(128);
      expect(res.usage!.total_tokens).toBe(res.usage!.input_tokens + res.usage!.output_tokens);
    });

    it('answers text.format json_schema with JSON that responses.parse validates against the zod schema', async () => {
      const Weather = z.object({ city: z.string(), temperature: z.number(), unit: z.enum(['c', 'f']), raining: z.boolean(), tags: z.array(z.string()) });
      const res = await client.responses.parse({ model: 'gpt-5', input: 'Weather in Oslo as JSON', text: { format: zodTextFormat(Weather, 'weather') } });
      expect(res.output_parsed).toEqual({ city: 'x', temperature: 1, unit: 'c', raining: true, tags: [] });
      expect(res.text!.format).toMatchObject({ type: 'json_schema', name: 'weather', strict: true });
    });

    it('streams the documented event sequence, with a sequence_number on each and no [DONE]', async () => {
      m.resetStats();
      const stream = client.responses.stream({ model: 'gpt-5', input: 'Stream please' });
      const events: Array<{ type: string; sequence_number: number }> = [];
      for await (const ev of stream) events.push(ev);
      const types = events.map((e) => e.type);
      expect(types).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        ...Array(8).fill('response.output_text.delta'),
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => (e as unknown as { delta: string }).delta);
      const final = await stream.finalResponse();
      expect(final.status).toBe('completed');
      expect(final.output_text).toBe(deltas.join(''));
      expect(final.output_text).toMatch(/^\[oai\] /);
      expect(final.usage).toMatchObject({ output_tokens: 8, total_tokens: final.usage!.input_tokens + 8 });
      expect(m.stats()).toMatchObject({ streamsCompleted: 1, byStatus: { 200: 1 } });

      // On the wire: an `event:` line naming each data's type, and the last event is response.completed.
      const raw = await fetch(`${m.baseUrl}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-mock-chunks': '3' },
        body: JSON.stringify({ model: 'gpt-5', input: 'hi', stream: true }),
      });
      expect(raw.headers.get('content-type')).toBe('text/event-stream');
      const text = await raw.text();
      expect(text).not.toContain('[DONE]');
      const wire = sseEvents(text);
      for (const [event, data] of wire) expect(event).toBe(data.type);
      expect(wire.filter(([e]) => e === 'response.output_text.delta')).toHaveLength(3);
      expect(wire[wire.length - 1]![0]).toBe('response.completed');
    });

    it('streams reasoning summaries and function-call arguments, and finalResponse() assembles them', async () => {
      const stream = client.responses.stream({ model: 'gpt-5', input: 'call the tool', tools: [WEATHER_TOOL], reasoning: { effort: 'low' } });
      const types: string[] = [];
      const argDeltas: string[] = [];
      stream.on('event', (ev) => types.push(ev.type));
      stream.on('response.function_call_arguments.delta', (ev) => argDeltas.push(ev.delta));
      const final = await stream.finalResponse();
      expect(types).toContain('response.reasoning_summary_text.delta');
      expect(types.filter((t) => t === 'response.function_call_arguments.delta')).toHaveLength(2);
      expect(types).toContain('response.function_call_arguments.done');
      expect(final.output.map((o) => o.type)).toEqual(['reasoning', 'message', 'function_call']);
      const call = final.output[2]!;
      if (call.type !== 'function_call') throw new Error('not a call');
      expect(argDeltas.join('')).toBe(call.arguments);
      expect(JSON.parse(call.arguments)).toEqual({ city: 'x', unit: 'celsius', days: 1 });
      expect(final.usage!.output_tokens_details.reasoning_tokens).toBe(32);
    });

    it('cuts a stream with an error event, response.failed, a disconnect or a stall, as the knobs say', async () => {
      // `error` event: ResponseStream rejects finalResponse() with the event itself.
      const errored = client.responses.stream({ model: 'gpt-5', input: 'hi' }, { headers: { 'x-mock-stream-error-after': '2' } });
      const seen: string[] = [];
      errored.on('event', (ev) => seen.push(ev.type));
      const err = await failure(errored.finalResponse());
      expect(err).toMatchObject({ type: 'error', code: 'overloaded_error', param: null, sequence_number: 6 });
      expect(seen.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);

      // A ResponseError code: response.failed carries it, and the SDK resolves with the failed response.
      const failed = await client.responses
        .stream({ model: 'gpt-5', input: 'hi' }, { headers: { 'x-mock-stream-error-after': '1', 'x-mock-stream-error': 'server_error' } })
        .finalResponse();
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ code: 'server_error' });

      // A disconnect after 3 deltas: the SDK sees the connection end mid-stream.
      const cut = client.responses.stream({ model: 'gpt-5', input: 'hi' }, { headers: { 'x-mock-disconnect-after': '3' } });
      let deltas = 0;
      cut.on('response.output_text.delta', () => deltas++);
      expect(await failure(cut.finalResponse())).toBeInstanceOf(Error);
      expect(deltas).toBe(3);

      // A stall after 2 deltas holds the stream open until the client gives up.
      const stalled = await client.responses.create({ model: 'gpt-5', input: 'hi', stream: true }, { headers: { 'x-mock-stall-after': '2' } });
      const stallTypes: string[] = [];
      const reading = (async () => {
        for await (const ev of stalled) {
          stallTypes.push(ev.type);
          if (stallTypes.filter((t) => t === 'response.output_text.delta').length === 2) stalled.controller.abort();
        }
      })();
      await reading;
      expect(stallTypes).not.toContain('response.completed');
    });

    it('rejects an unknown previous_response_id, an unanswered call output and bad input with 400s', async () => {
      const prev = await failure(client.responses.create({ model: 'gpt-5', input: 'hi', previous_response_id: 'resp_unknown' }));
      expect(prev).toBeInstanceOf(BadRequestError);
      expect(prev).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id', type: 'invalid_request_error' });
      // A response created with store: false cannot be chained.
      const unstored = await client.responses.create({ model: 'gpt-5', input: 'hi', store: false });
      expect(await failure(client.responses.create({ model: 'gpt-5', input: 'again', previous_response_id: unstored.id }))).toBeInstanceOf(BadRequestError);
      const orphan = await failure(client.responses.create({ model: 'gpt-5', input: [{ type: 'function_call_output', call_id: 'call_nowhere', output: 'x' }] }));
      expect(orphan).toBeInstanceOf(BadRequestError);
      expect(orphan.message).toContain('call_nowhere');
      const badPart = await failure(client.responses.create({ model: 'gpt-5', input: [{ role: 'user', content: [{ type: 'input_video', text: 'x' } as never] }] }));
      expect(badPart).toMatchObject({ status: 400, param: 'input[0].content[0].type' });
      const noModel = await failure(client.responses.create({ input: 'hi' } as never));
      expect(noModel).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'model' });
    });
  });

  describe('models, moderations, images', () => {
    it('retrieves a listed model and 404s another with model_not_found', async () => {
      m.resetStats();
      const model = await client.models.retrieve('mock-large');
      expect(model).toEqual({ id: 'mock-large', object: 'model', created: 1700000000, owned_by: 'oai' });
      const err = await failure(client.models.retrieve('gpt-9'));
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
      expect(m.stats()).toMatchObject({ byPath: { '/v1/models/mock-large': 1, '/v1/models/gpt-9': 1 }, byStatus: { 200: 1, 404: 1 } });
    });

    it('moderates each string of the input, flagging the one that mentions killing', async () => {
      m.resetStats();
      const res = await client.moderations.create({ input: ['What a lovely day', 'I will KILL the process'] });
      expect(res.id).toMatch(/^modr-/);
      expect(res.model).toBe('omni-moderation-latest');
      expect(res.results.map((r) => r.flagged)).toEqual([false, true]);
      expect(res.results[1]!.categories.violence).toBe(true);
      expect(res.results[1]!.categories.hate).toBe(false);
      expect(res.results[1]!.category_scores.violence).toBeGreaterThan(0.5);
      expect(Object.keys(res.results[0]!.categories)).toHaveLength(13);
      expect(res.results[0]!.category_applied_input_types.violence).toEqual(['text']);
      // Multi-modal parts are one input, and images are applied to the categories that take them.
      const mixed = await client.moderations.create({
        model: 'omni-moderation-2024-09-26',
        input: [{ type: 'text', text: 'fine' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }],
      });
      expect(mixed.results).toHaveLength(1);
      expect(mixed.results[0]!.category_applied_input_types.violence).toEqual(['text', 'image']);
      expect(mixed.results[0]!.category_applied_input_types.hate).toEqual(['text']);
      expect(m.stats().byModel).toEqual({ 'omni-moderation-latest': 1, 'omni-moderation-2024-09-26': 1 });
    });

    it('generates n images as base64 PNGs or as URLs the mock serves', async () => {
      const b64 = await client.images.generate({ model: 'dall-e-2', prompt: 'a fox', n: 2, response_format: 'b64_json' });
      expect(b64.data).toHaveLength(2);
      const png = Buffer.from(b64.data![0]!.b64_json!, 'base64');
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.toString('latin1', 12, 16)).toBe('IHDR');
      const urls = await client.images.generate({ prompt: 'a fox', response_format: 'url' });
      expect(urls.data).toHaveLength(1);
      const fetched = await fetch(urls.data![0]!.url!);
      expect(fetched.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await fetched.arrayBuffer())).toEqual(png);
      // gpt-image models always answer base64, with token usage.
      const gpt = await client.images.generate({ model: 'gpt-image-1', prompt: 'a fox' });
      expect(gpt.data![0]!.b64_json).toBeDefined();
      expect(gpt.usage).toMatchObject({ input_tokens: 2, input_tokens_details: { text_tokens: 2 } });
      expect(await failure(client.images.generate({ model: 'dall-e-3', prompt: 'a fox', n: 2 }))).toMatchObject({ status: 400, param: 'n' });
    });
  });

  describe('audio', () => {
    it('transcribes an uploaded 3 MB file in every response format, proving the whole file arrived', async () => {
      m.resetStats();
      const bytes = 3 * 1024 * 1024;
      const file = () => toFile(Buffer.alloc(bytes, 7), 'speech.mp3', { type: 'audio/mpeg' });
      const json = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' });
      expect(json.text).toBe(`[oai] mock transcript of ${bytes} bytes`);
      const text = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe', response_format: 'text' });
      expect(text).toBe(`[oai] mock transcript of ${bytes} bytes\n`);
      const verbose = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] });
      expect(verbose).toMatchObject({ language: 'english', text: json.text });
      expect(verbose.duration).toBeGreaterThan(0);
      expect(verbose.segments![0]!.text).toBe(json.text);
      expect(verbose.words!.map((w) => w.word).join(' ')).toBe(json.text);
      const srt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'srt' });
      expect(srt).toMatch(/^1\n00:00:00,000 --> \d\d:\d\d:\d\d,\d{3}\n\[oai\] mock transcript/);
      const vtt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'vtt' });
      expect(vtt).toMatch(/^WEBVTT\n\n00:00:00\.000 --> /);
      const s = m.stats();
      expect(s.byModel).toEqual({ 'whisper-1': 4, 'gpt-4o-transcribe': 1 });
      expect(s.byPath).toEqual({ '/v1/audio/transcriptions': 5 });
      expect(s.lastHeaders!['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    });

    it('takes a 25 MB upload, and answers 413 over 25 MiB', async () => {
      const big = await client.audio.transcriptions.create({ file: await toFile(Buffer.alloc(25_000_000, 1), 'long.wav'), model: 'whisper-1' });
      expect(big.text).toContain('of 25000000 bytes');
      const tooBig = await failure(client.audio.transcriptions.create({ file: await toFile(Buffer.alloc(25 * 1024 * 1024 + 1), 'huge.wav'), model: 'whisper-1' }));
      expect(tooBig).toBeInstanceOf(APIError);
      expect(tooBig.status).toBe(413);
    });

    it('translates an upload, and 400s one without a file or model', async () => {
      const res = await client.audio.translations.create({ file: await toFile(Buffer.alloc(4321), 'de.mp3'), model: 'whisper-1' });
      expect(res.text).toBe('[oai] mock translation of 4321 bytes');
      const form = new FormData();
      form.set('model', 'whisper-1');
      const raw = await fetch(`${m.baseUrl}/audio/translations`, { method: 'POST', body: form });
      expect(raw.status).toBe(400);
      expect(await raw.json()).toMatchObject({ error: { param: 'file', code: 'missing_required_parameter' } });
      const notForm = await fetch(`${m.baseUrl}/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(notForm.status).toBe(400);
    });

    it('speaks: audio bytes of the requested format, streamed in chunks', async () => {
      m.resetStats();
      const mp3 = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello from the mock provider.' });
      expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
      const bytes = Buffer.from(await mp3.arrayBuffer());
      expect(bytes.length).toBeGreaterThanOrEqual(2048);
      expect(bytes.length).toBeLessThan(20_000);
      expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfb]);
      const wav = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Hi', response_format: 'wav' });
      expect(wav.headers.get('content-type')).toBe('audio/wav');
      const wavBytes = Buffer.from(await wav.arrayBuffer());
      expect(wavBytes.toString('latin1', 0, 4)).toBe('RIFF');
      expect(wavBytes.readUInt32LE(4)).toBe(wavBytes.length - 8);
      expect(m.stats()).toMatchObject({ byModel: { 'tts-1': 1, 'gpt-4o-mini-tts': 1 }, streamsCompleted: 2 });
      // A disconnect after 2 chunks: the body ends early and the SDK's reader fails.
      const cut = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x'.repeat(100) }, { headers: { 'x-mock-disconnect-after': '2' } });
      expect(await failure(cut.arrayBuffer())).toBeInstanceOf(Error);
    });
  });

  describe('files and batches', () => {
    it('uploads, lists, retrieves, downloads and deletes a file', async () => {
      m.resetStats();
      const content = '{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{}}\n';
      const created = await client.files.create({ file: await toFile(Buffer.from(content), 'requests.jsonl'), purpose: 'batch' });
      expect(created).toMatchObject({ object: 'file', bytes: content.length, filename: 'requests.jsonl', purpose: 'batch', status: 'processed' });
      expect(created.id).toMatch(/^file-/);
      const other = await client.files.create({ file: await toFile(Buffer.from('abc'), 'notes.txt'), purpose: 'user_data' });
      const all = await client.files.list();
      expect(all.data.map((f) => f.id)).toEqual([other.id, created.id]);
      const batchOnly = await client.files.list({ purpose: 'batch' });
      expect(batchOnly.data.map((f) => f.id)).toEqual([created.id]);
      const page = await client.files.list({ limit: 1, order: 'asc' });
      expect(page.data.map((f) => f.id)).toEqual([created.id]);
      expect(page.has_more).toBe(true);
      expect((await page.getNextPage()).data.map((f) => f.id)).toEqual([other.id]);
      expect(await client.files.retrieve(created.id)).toEqual(created);
      const download = await client.files.content(created.id);
      expect(await download.text()).toBe(content);
      expect(await client.files.delete(other.id)).toEqual({ id: other.id, object: 'file', deleted: true });
      expect(await failure(client.files.retrieve(other.id))).toBeInstanceOf(NotFoundError);
      // Two uploads and four list pages share the path; ids make their own.
      expect(m.stats().byPath).toMatchObject({ '/v1/files': 6, [`/v1/files/${created.id}/content`]: 1, [`/v1/files/${other.id}`]: 2 });
    });

    it('creates, retrieves, cancels and lists batches, and 404s unknown files and batches', async () => {
      const file = await client.files.create({ file: await toFile(Buffer.from('{}\n'), 'in.jsonl'), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h', metadata: { job: 'nightly' } });
      expect(batch).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h', metadata: { job: 'nightly' } });
      expect(batch.id).toMatch(/^batch_/);
      expect(await client.batches.retrieve(batch.id)).toEqual(batch);
      const cancelling = await client.batches.cancel(batch.id);
      expect(cancelling.status).toBe('cancelling');
      expect(typeof cancelling.cancelling_at).toBe('number');
      expect((await client.batches.retrieve(batch.id)).status).toBe('cancelled');
      const second = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const list = await client.batches.list();
      expect(list.data.map((b) => b.id)).toEqual([second.id, batch.id]);
      expect(await failure(client.batches.retrieve('batch_nope'))).toBeInstanceOf(NotFoundError);
      expect(await failure(client.batches.cancel('batch_nope'))).toBeInstanceOf(NotFoundError);
      const noFile = await failure(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/responses', completion_window: '24h' }));
      expect(noFile).toBeInstanceOf(NotFoundError);
      const wrongPurpose = await client.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'user_data' });
      expect(await failure(client.batches.create({ input_file_id: wrongPurpose.id, endpoint: '/v1/responses', completion_window: '24h' }))).toBeInstanceOf(BadRequestError);
    });
  });

  describe('faults and auth', () => {
    it('maps an injected 429 to RateLimitError with retry-after on every route', async () => {
      const limited = new OpenAI({ baseURL: m.baseUrl, apiKey: 'limited', maxRetries: 0 });
      const calls: Array<() => Promise<unknown>> = [
        () => limited.responses.create({ model: 'gpt-5', input: 'hi' }),
        () => limited.models.retrieve('mock-small'),
        () => limited.moderations.create({ input: 'hi' }),
        () => limited.images.generate({ prompt: 'x' }),
        async () => limited.audio.transcriptions.create({ file: await toFile(Buffer.alloc(10), 'a.mp3'), model: 'whisper-1' }),
        () => limited.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x' }),
        () => limited.files.list(),
        () => limited.batches.list(),
      ];
      for (const call of calls) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(RateLimitError);
        expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
        expect(err.headers.get('retry-after')).toBe('7');
        expect(err.headers.get('retry-after-ms')).toBe('7000');
      }
      // A header forces another status on one request.
      const err = await failure(client.files.list({}, { headers: { 'x-mock-status': '503' } }));
      expect(err).toBeInstanceOf(InternalServerError);
      expect(err.status).toBe(503);
    });

    it('is retried by the SDK, multipart uploads included, each attempt counted', async () => {
      m.resetStats();
      const flaky = new OpenAI({ baseURL: m.baseUrl, apiKey: 'flaky', maxRetries: 2 });
      expect(await failure(flaky.audio.transcriptions.create({ file: await toFile(Buffer.alloc(1000), 'a.wav'), model: 'whisper-1' }))).toBeInstanceOf(RateLimitError);
      expect(await failure(flaky.responses.create({ model: 'gpt-5', input: 'hi', stream: true }))).toBeInstanceOf(RateLimitError);
      const s = m.stats();
      expect(s.byPath).toEqual({ '/v1/audio/transcriptions': 3, '/v1/responses': 3 });
      expect(s.byStatus).toEqual({ 429: 6 });
      expect(s.lastHeaders!['x-stainless-retry-count']).toBe('2');
    });

    it('resets, holds and malforms answers as told', async () => {
      m.resetStats();
      expect(await failure(client.moderations.create({ input: 'x' }, { headers: { 'x-mock-reset': '1' } }))).toBeInstanceOf(APIConnectionError);
      expect(await failure(client.batches.list({}, { headers: { 'x-mock-timeout': '1' }, timeout: 300 }))).toBeInstanceOf(APIConnectionTimeoutError);
      expect(await failure(client.models.retrieve('mock-small', { headers: { 'x-mock-malformed': '1' } }))).toBeInstanceOf(SyntaxError);
      // A client that does not log the unparsable event it meets.
      const quiet = new OpenAI({ baseURL: m.baseUrl, apiKey: 'sk-test', maxRetries: 0, logLevel: 'off' });
      const broken = quiet.responses.stream({ model: 'gpt-5', input: 'hi' }, { headers: { 'x-mock-malformed': '1' } });
      expect(await failure(broken.finalResponse())).toBeInstanceOf(Error);
      expect(m.stats()).toMatchObject({ resets: 1, timeouts: 1, malformed: 2 });
    });

    it('answers a key outside validKeys with 401 on every route, and accepts the valid one', async () => {
      const bad = new OpenAI({ baseURL: strict.baseUrl, apiKey: 'bad-key', maxRetries: 0 });
      const good = new OpenAI({ baseURL: strict.baseUrl, apiKey: 'good-key', maxRetries: 0 });
      const calls: Array<() => Promise<unknown>> = [
        () => bad.responses.create({ model: 'gpt-5', input: 'hi' }),
        async () => bad.files.create({ file: await toFile(Buffer.from('x'), 'x.txt'), purpose: 'user_data' }),
        () => bad.batches.retrieve('batch_x'),
        () => bad.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x' }),
      ];
      for (const call of calls) {
        const err = await failure(call());
        expect(err).toBeInstanceOf(AuthenticationError);
        expect(err.code).toBe('invalid_api_key');
        expect(err.message).not.toContain('bad-key');
      }
      expect((await good.moderations.create({ input: 'hi' })).results).toHaveLength(1);
    });
  });
});

describe('response log', () => {
  it('keeps the last 1000 response ids for previous_response_id, with their call ids', () => {
    const log = new ResponseLog();
    for (let i = 0; i <= 1000; i++) log.remember(`resp_${i}`, [`call_${i}`]);
    expect(log.get('resp_0')).toBeUndefined();
    expect(log.get('resp_1')).toEqual(['call_1']);
    expect(log.get('resp_1000')).toEqual(['call_1000']);
  });
});

describe('multipart reader', () => {
  /** A form serialized the way the SDK's fetch sends it (undici's FormData). */
  async function encoded(): Promise<{ body: Buffer; boundary: string; file: Buffer }> {
    const file = Buffer.alloc(70_000);
    for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >> 7)) & 0xff;
    // Bytes that look like the start of a delimiter must stay file content.
    file.write('\r\n--', 1000, 'latin1');
    const form = new FormData();
    form.set('model', 'whisper-1');
    form.append('timestamp_granularities[]', 'word');
    form.append('timestamp_granularities[]', 'segment');
    form.set('file', new Blob([file], { type: 'audio/wav' }), 'name "quoted".wav');
    form.set('prompt', 'ünïcödé\r\nline two');
    const req = new Request('http://x/', { method: 'POST', body: form });
    const boundary = /boundary=(.+)$/.exec(req.headers.get('content-type')!)![1]!;
    return { body: Buffer.from(await req.arrayBuffer()), boundary, file };
  }

  it('reads the same form whatever the chunk sizes, a delimiter split across chunks included', async () => {
    const { body, boundary, file } = await encoded();
    for (const size of [1, 2, 3, 7, 64, boundary.length + 3, 4096, 65_536, body.length]) {
      const reader = new FormReader(boundary, { keep: true, maxFileBytes: 1 << 20 });
      for (let i = 0; i < body.length; i += size) reader.write(body.subarray(i, i + size));
      const form = reader.finish() as Form;
      expect(form.file, `chunk size ${size}`).toMatchObject({ filename: 'name "quoted".wav', contentType: 'audio/wav', bytes: file.length });
      expect(form.file!.data!.equals(file), `chunk size ${size}`).toBe(true);
      expect(form.fields.get('model')).toEqual(['whisper-1']);
      expect(form.fields.get('timestamp_granularities[]')).toEqual(['word', 'segment']);
      expect(form.fields.get('prompt')).toEqual(['ünïcödé\r\nline two']);
    }
  });

  it('reports a body cut before its closing boundary, and a file over the limit', async () => {
    const { body, boundary } = await encoded();
    const cut = new FormReader(boundary, { keep: false, maxFileBytes: 1 << 20 });
    cut.write(body.subarray(0, body.length - 10));
    expect(cut.finish()).toMatchObject({ status: 400, code: 'invalid_multipart' });
    const small = new FormReader(boundary, { keep: true, maxFileBytes: 1000 });
    small.write(body);
    expect(small.finish()).toMatchObject({ status: 413, param: 'file' });
  });
});
