// The OpenAI Responses API dialect against its conformance fixtures (test/fixtures/conformance/responses/,
// written from openai-node 6.49 and providers.md by someone who had not seen the code; their README is
// the specification): Responses requests through the dialect and a provider's codec, provider answers
// and streams back as Responses objects and events. Matching as in conformance.test.ts, plus the
// README's named matcher `{{any:NAME}}` (one value per name, different names different values).
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { FORMATS } from '../../src/formats/index.ts';
import { responsesDialect, ResponsesStreamEncoder } from '../../src/formats/responses/index.ts';
import { StreamTranslation } from '../../src/formats/stream-translation.ts';
import { streamError } from '../../src/formats/errors.ts';
import { GatewayError, isGatewayError } from '../../src/errors/gateway-error.ts';
import { SseFramer } from '../../src/util/sse-framer.ts';

type FormatName = 'openai' | 'anthropic';
type Json = any;
const ROOT = resolve(import.meta.dirname, '../fixtures/conformance/responses');

function cases(folder: string): Array<[string, Json]> {
  return readdirSync(join(ROOT, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(ROOT, folder, f), 'utf8'))]);
}

/** One `it` per case, named by the case. */
function suite(folder: string, run: (fx: Json) => unknown): void {
  for (const [name, fx] of cases(folder)) it(name, () => run(fx));
}

const NAMED = /^\{\{any:(.+)\}\}$/;

/**
 * Deep equality where "{{any}}" in `want` matches any value (or none), and "{{any:NAME}}" any value
 * that every other occurrence of NAME also has, and no other NAME has. Key order is free, key sets exact.
 */
function matches(got: unknown, want: unknown, names: Map<string, unknown>, path = '$'): string[] {
  if (want === '{{any}}') return [];
  if (typeof want === 'string' && NAMED.test(want)) {
    const name = NAMED.exec(want)![1]!;
    if (names.has(name)) return Object.is(names.get(name), got) ? [] : [`${path}: {{any:${name}}} was ${JSON.stringify(names.get(name))}, here ${JSON.stringify(got)}`];
    for (const [other, v] of names) if (Object.is(v, got)) return [`${path}: {{any:${name}}} has the value of {{any:${other}}}: ${JSON.stringify(got)}`];
    if (got === undefined) return [`${path}: missing, expected {{any:${name}}}`];
    names.set(name, got);
    return [];
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return [`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`];
    return want.flatMap((w, i) => matches(got[i], w, names, `${path}[${i}]`));
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof got !== 'object' || got === null || Array.isArray(got)) return [`${path}: expected an object, got ${JSON.stringify(got)}`];
    const g = got as Record<string, unknown>;
    const w = want as Record<string, unknown>;
    const out: string[] = [];
    for (const k of new Set([...Object.keys(g), ...Object.keys(w)])) {
      if (!(k in w)) out.push(`${path}.${k}: not expected, got ${JSON.stringify(g[k])}`);
      else if (!(k in g) && w[k] !== '{{any}}') out.push(`${path}.${k}: missing, expected ${JSON.stringify(w[k])}`);
      else out.push(...matches(g[k], w[k], names, `${path}.${k}`));
    }
    return out;
  }
  return Object.is(got, want) ? [] : [`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`];
}

function expectMatch(got: unknown, want: unknown): void {
  const diffs = matches(got, want, new Map());
  if (diffs.length > 0) expect.fail(`${diffs.join('\n')}\n\ngot: ${JSON.stringify(got, null, 1)}`);
}

/** A Responses request as the gateway sends it on: checked, made canonical, written by the provider's codec. */
function translateRequest(to: FormatName, body: Json): Json {
  responsesDialect.check(body, 'responses');
  return JSON.parse(FORMATS[to].codec.fromCanonical(responsesDialect.toCanonical(body, 'responses'), body.model));
}

/** A refusal as the client reads it: the dialect's status and the `param` of the error body it renders. */
function expectRefusal(fn: () => unknown, want: { status: number; param: string }): void {
  try {
    fn();
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    const body = JSON.parse(responsesDialect.renderError(err));
    expect({ status: responsesDialect.status(err), param: body.error.param }).toEqual(want);
    expect(body.error.type).toBe('invalid_request_error');
    // The message quotes the Responses field too, never the chat field a codec named.
    expect(body.error.message).not.toMatch(/'(response_format|max_tokens|max_completion_tokens|reasoning_effort|messages)\b/);
    return;
  }
  expect.fail('expected the request to be refused');
}

interface Translated {
  /** The client's bytes. */
  wire: string;
  events: Array<{ event: string; data: Json }>;
}

/**
 * A provider's SSE events (one event per push) through its codec's decoder and the Responses encoder.
 * A provider's in-stream error ends the stream with the error event, rendered by the stream's own
 * encoder so that it is numbered after the events sent (the gateway's boundary calls the dialect's
 * renderStreamError today, which cannot know the position: see index.ts).
 */
function translateStream(from: FormatName, request: Json, sse: string[]): Translated {
  const req = responsesDialect.toCanonical(request, 'responses');
  const encoder = responsesDialect.streamEncoder(req, request) as ResponsesStreamEncoder;
  const t = new StreamTranslation(FORMATS[from].codec.streamDecoder(req), encoder);
  let wire = '';
  for (const e of sse) {
    wire += t.push(e);
    if (t.error !== null) {
      wire += encoder.error(streamError(from, 'p', t.error.errorType, t.error.message));
      break;
    }
  }
  expect(wire.endsWith('\n\n')).toBe(true);
  const events = wire
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const m = /^event: (.*)\ndata: (.*)$/.exec(block);
      if (m === null) expect.fail(`not an "event:" + "data:" block: ${JSON.stringify(block)}`);
      return { event: m![1]!, data: JSON.parse(m![2]!) };
    });
  // README "Matching": data.type is the event name, sequence_number its position.
  events.forEach((e, i) => {
    expect(e.data.type).toBe(e.event);
    expect(e.data.sequence_number).toBe(i);
  });
  return { wire, events };
}

const chatSse = (chunks: Json[]): string[] => chunks.map((c) => `data: ${c === '[DONE]' ? '[DONE]' : JSON.stringify(c)}\n\n`);
const anthropicSse = (events: Json[]): string[] => events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);

/** The client's bytes through the openai SDK's own stream reader: what `responses.stream()` makes of them. */
async function sdkStream(wire: string, request: Json): Promise<{ final: Json | null; error: unknown }> {
  const client = new OpenAI({
    apiKey: 'k',
    baseURL: 'http://gateway.test/v1',
    maxRetries: 0,
    fetch: async () => new Response(wire, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
  });
  try {
    const final = await client.responses.stream(request).finalResponse();
    return { final, error: null };
  } catch (error) {
    return { final: null, error };
  }
}

// ─── Requests ─────────────────────────────────────────────────────────────────────────────────────

describe('Responses client → OpenAI-format provider: requests', () => {
  suite('responses-to-openai-request', (fx) => {
    if (fx.error !== undefined) expectRefusal(() => translateRequest('openai', fx.responses), fx.error);
    else expectMatch(translateRequest('openai', fx.responses), fx.openai);
  });
});

describe('Responses client → Anthropic provider: requests', () => {
  suite('responses-to-anthropic-request', (fx) => {
    if (fx.error !== undefined) expectRefusal(() => translateRequest('anthropic', fx.responses), fx.error);
    else expectMatch(translateRequest('anthropic', fx.responses), fx.anthropic);
  });
});

// ─── Answers ──────────────────────────────────────────────────────────────────────────────────────

describe('OpenAI-format provider → Responses client: answers', () => {
  suite('openai-to-responses-response', (fx) => {
    const answer = FORMATS.openai.codec.toCanonicalResponse(Buffer.from(JSON.stringify(fx.openai)));
    expectMatch(JSON.parse(responsesDialect.renderResponse(answer, fx.request)), fx.responses);
  });
});

describe('Anthropic provider → Responses client: answers', () => {
  suite('anthropic-to-responses-response', (fx) => {
    const answer = FORMATS.anthropic.codec.toCanonicalResponse(Buffer.from(JSON.stringify(fx.anthropic)));
    expectMatch(JSON.parse(responsesDialect.renderResponse(answer, fx.request)), fx.responses);
  });
});

// ─── Streams ──────────────────────────────────────────────────────────────────────────────────────

describe('OpenAI-format provider → Responses client: streams', () => {
  suite('openai-to-responses-stream', async (fx) => {
    const { wire, events } = translateStream('openai', fx.request, chatSse(fx.chunks));
    expectMatch(events, fx.events);
    await expectSdkAgrees(wire, fx.request, events);
  });
});

describe('Anthropic provider → Responses client: streams', () => {
  suite('anthropic-to-responses-stream', async (fx) => {
    const { wire, events } = translateStream('anthropic', fx.request, anthropicSse(fx.events_in));
    expectMatch(events, fx.events);
    await expectSdkAgrees(wire, fx.request, events);
  });
});

/** The SDK reads the stream to the terminal event's Response, or raises the error event's message. */
async function expectSdkAgrees(wire: string, request: Json, events: Array<{ event: string; data: Json }>): Promise<void> {
  const last = events[events.length - 1]!;
  const { final, error } = await sdkStream(wire, request);
  if (last.event === 'error') {
    expect(error).not.toBeNull();
    expect(String((error as Error).message)).toContain(last.data.message);
    return;
  }
  expect(error).toBeNull();
  const { output_text: _text, output_parsed: _parsed, ...rest } = final as Json;
  // What the SDK adds of its own (parse helpers) is not on the wire.
  for (const item of rest.output) {
    if (item.type === 'message') for (const c of item.content) delete c.parsed;
    if (item.type === 'function_call') delete item.parsed_arguments;
  }
  expect(rest).toEqual(last.data.response);
}

// ─── The dialect's own rules ──────────────────────────────────────────────────────────────────────

describe('the Responses dialect', () => {
  const refused = (body: Json): { status: number; param: string | null; code: string } => {
    try {
      responsesDialect.check(body, 'responses');
      responsesDialect.toCanonical(body, 'responses');
    } catch (err) {
      if (!isGatewayError(err)) throw err;
      return { status: responsesDialect.status(err), param: JSON.parse(responsesDialect.renderError(err)).error.param, code: err.code };
    }
    throw new Error('not refused');
  };

  it('checks what routing needs: model, input, a boolean stream', () => {
    expect(refused({ input: 'hi' })).toEqual({ status: 400, param: 'model', code: 'missing_required_parameter' });
    expect(refused({ model: 'm' })).toEqual({ status: 400, param: 'input', code: 'missing_required_parameter' });
    expect(refused({ model: 'm', input: 42 })).toEqual({ status: 400, param: 'input', code: 'invalid_parameter' });
    expect(refused({ model: 'm', input: 'hi', stream: 'yes' })).toEqual({ status: 400, param: 'stream', code: 'invalid_parameter' });
    expect(responsesDialect.check({ model: 'm', input: [], stream: true }, 'responses')).toEqual({ model: 'm', stream: true });
  });

  it('refuses stored state and OpenAI-only items', () => {
    expect(refused({ model: 'm', input: 'hi', prompt: { id: 'pmpt_1' } }).param).toBe('prompt');
    expect(refused({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }).param).toBe('input');
    expect(refused({ model: 'm', input: [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }] }).param).toBe('input');
    expect(refused({ model: 'm', input: 'hi', tool_choice: { type: 'web_search_preview' } }).param).toBe('tool_choice');
    expect(refused({ model: 'm', input: 'hi', tools: [{ type: 'custom', name: 'x' }] }).param).toBe('tools');
  });

  it('names what it drops', () => {
    const r = responsesDialect.toCanonical({ model: 'm', input: 'hi', store: false, metadata: null, text: { verbosity: 'low' }, reasoning: { effort: 'low', summary: 'auto' }, seed: 1 }, 'responses');
    expect(r.dropped).toEqual(['store', 'seed', 'text.verbosity', 'reasoning.summary']);
  });

  it('hands thinking back: the reasoning items of an answer, sent back as input, are the blocks the provider wrote', () => {
    const fx = JSON.parse(readFileSync(join(ROOT, 'anthropic-to-responses-response/redacted-thinking-and-tool-use.json'), 'utf8'));
    const answer = FORMATS.anthropic.codec.toCanonicalResponse(Buffer.from(JSON.stringify(fx.anthropic)));
    const response = JSON.parse(responsesDialect.renderResponse(answer, fx.request));
    const call = response.output.find((i: Json) => i.type === 'function_call');
    const next = { ...fx.request, input: [{ role: 'user', content: fx.request.input }, ...response.output, { type: 'function_call_output', call_id: call.call_id, output: '3°C' }] };
    const body = translateRequest('anthropic', next);
    expect(body.messages[1]).toEqual({ role: 'assistant', content: fx.anthropic.content });
  });

  it('renders an error in the stream after the events sent, and as OpenAI codes it for Responses clients', () => {
    const req = responsesDialect.toCanonical({ model: 'm', input: 'hi', stream: true }, 'responses');
    const encoder = responsesDialect.streamEncoder(req, { model: 'm', input: 'hi', stream: true }) as ResponsesStreamEncoder;
    encoder.encode({ type: 'start', id: 'msg_1', model: 'm', usage: null });
    const event = (s: string) => JSON.parse(/^data: (.*)$/m.exec(s)![1]!);
    const err = streamError('anthropic', 'p', 'api_error', 'Internal server error');
    expect(event(encoder.error(err))).toEqual({ type: 'error', code: 'server_error', message: 'Internal server error', param: null, sequence_number: 2 });
    expect(event(responsesDialect.renderStreamError(err))).toEqual({ type: 'error', code: 'server_error', message: 'Internal server error', param: null, sequence_number: 0 });
    expect(event(encoder.error(streamError('anthropic', 'p', 'rate_limit_error', 'Slow down'))).code).toBe('rate_limit_exceeded');
    const gw = new GatewayError('upstream_reset', 'Provider ended the stream before it was complete.');
    expect(event(responsesDialect.renderStreamError(gw)).code).toBe('upstream_reset');
  });

  it('refuses a provider that interleaves the arguments of two calls, rather than losing them', () => {
    const req = responsesDialect.toCanonical({ model: 'm', input: 'hi', stream: true }, 'responses');
    const encoder = responsesDialect.streamEncoder(req, {});
    encoder.encode({ type: 'start', id: 'x', model: 'm', usage: null });
    encoder.encode({ type: 'tool_start', index: 0, id: 'a', name: 'f' });
    encoder.encode({ type: 'tool_start', index: 1, id: 'b', name: 'g' });
    expect(() => encoder.encode({ type: 'tool_args', index: 0, fragment: '{}' })).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
  });
});

// ─── Framing ──────────────────────────────────────────────────────────────────────────────────────

describe('a translated Responses stream split at every byte offset', () => {
  // Whole events are cut by the framer before translation: any split of the provider's bytes, even
  // inside a multi-byte character, gives the client the same events.
  const fx = JSON.parse(readFileSync(join(ROOT, 'anthropic-to-responses-stream/text-then-tool-use-input-json-delta.json'), 'utf8'));
  const events = [...(fx.events_in as Json[])];
  events.splice(3, 0, { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' héllo 👋 wörld' } } }, { event: 'ping', data: { type: 'ping' } });
  const wire = Buffer.from(anthropicSse(events).join(''), 'utf8');

  function run(parts: Buffer[]): string {
    const req = responsesDialect.toCanonical(fx.request, 'responses');
    const t = new StreamTranslation(FORMATS.anthropic.codec.streamDecoder(req), responsesDialect.streamEncoder(req, fx.request));
    const framer = new SseFramer();
    let out = '';
    for (const p of parts) {
      const whole = framer.push(p);
      if (whole !== null) out += t.push(whole.toString('utf8'));
    }
    expect(framer.pending).toBe(0);
    expect(t.ended).toBe(true);
    return out.replace(/"created_at":\d+/g, '"created_at":0');
  }

  it('every 2-way split gives the unsplit output', () => {
    const whole = run([wire]);
    expect(whole).toContain('héllo 👋 wörld');
    expect(whole.endsWith('\n\n')).toBe(true);
    for (let k = 1; k < wire.length; k++) {
      const got = run([wire.subarray(0, k), wire.subarray(k)]);
      if (got !== whole) expect(got, `split at ${k}`).toBe(whole);
    }
  });
});
