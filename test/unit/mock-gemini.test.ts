// The mock's Gemini routes (/v1beta/models/{model}:{method}), driven by the real @google/genai SDK: if the SDK
// assembles our streams, raises its ApiError with the right status and parses our bodies, a gateway tested
// against the mock meets the real wire.

import { ApiError, FunctionCallingConfigMode, GoogleGenAI, Type } from '@google/genai';
import type { Content, GenerateContentParameters, GenerateContentResponse, Part } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMock } from '../../mock-providers/index.ts';
import type { MockHandle } from '../../mock-providers/index.ts';
import { failure, waitForStats } from '../helpers/waits.ts';

const MODEL = 'gemini-2.5-flash';
const HELLO = 'Hello, mock! How are you?'; // 25 chars → 7 prompt tokens
/** The REST body the SDK builds from HELLO, for raw requests. */
const RAW = { contents: [{ role: 'user', parts: [{ text: HELLO }] }] };

const WEATHER = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: Type.OBJECT,
    properties: { city: { type: Type.STRING }, days: { type: Type.INTEGER }, metric: { type: Type.BOOLEAN }, unit: { type: Type.STRING, enum: ['c', 'f'] } },
    required: ['city'],
  },
};
const NOW = { name: 'now', description: 'The time' }; // zero-argument function
const TOOLS = [{ functionDeclarations: [WEATHER, NOW] }];
const THINKING = { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } };

/** Bytes that start like a PNG, base64-encoded. */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(16).fill(0)]).toString('base64');

function client(m: MockHandle, apiKey = 'test-key', apiVersion?: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, apiVersion, httpOptions: { baseUrl: m.url } });
}

/** Per-call headers: how a test sets the mock's x-mock-* knobs through the SDK. */
const knobs = (headers: Record<string, string>) => ({ httpOptions: { headers } });

/** Raw POST, for what the SDK never sends (no key, ?key=, no alt=sse) or hides (framing, headers). */
function post(m: MockHandle, path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'test-key' }) {
  return fetch(`${m.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The Google error body the SDK keeps as its ApiError message. */
const googleError = (err: ApiError): { code: number; message: string; status: string; details?: any[] } => JSON.parse(err.message).error;

/** Collects a stream's chunks; if it fails, the chunks before the failure and the error. */
async function drain(stream: AsyncGenerator<GenerateContentResponse>): Promise<{ chunks: GenerateContentResponse[]; error: any }> {
  const chunks: GenerateContentResponse[] = [];
  try {
    for await (const c of stream) chunks.push(c);
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}

const partsOf = (r: GenerateContentResponse): Part[] => r.candidates?.[0]?.content?.parts ?? [];
const textOf = (chunks: GenerateContentResponse[]): string => chunks.flatMap(partsOf).filter((p) => p.text !== undefined && !p.thought).map((p) => p.text).join('');

describe('mock provider: Gemini generateContent', () => {
  let m: MockHandle;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    m = await startMock({ name: 'gem', keys: { 'k-limited': { status: 429, retryAfterSec: 3 }, 'k-busy': { status: 503 } } });
    ai = client(m);
  });
  afterAll(async () => {
    await m.close();
  });

  it('answers generateContent in Gemini shape at /v1beta/models/{model}:generateContent with x-goog-api-key', async () => {
    m.resetStats();
    const res = await ai.models.generateContent({ model: MODEL, contents: HELLO, config: { maxOutputTokens: 50 } });
    expect(res.candidates).toHaveLength(1);
    const c = res.candidates![0]!;
    expect(c).toMatchObject({ finishReason: 'STOP', index: 0, content: { role: 'model' } });
    // Like the other routes, the answer's size follows maxOutputTokens (~4 bytes a token).
    expect(res.text).toMatch(/^\[gem\] /);
    expect(res.text).toHaveLength(200);
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 7, candidatesTokenCount: 50, totalTokenCount: 57 });
    expect(res.usageMetadata!.thoughtsTokenCount).toBeUndefined();
    expect(res.modelVersion).toBe(MODEL);
    expect(res.responseId).toMatch(/^mock-gemini-/);
    const s = m.stats();
    expect(s.byPath).toEqual({ [`/v1beta/models/${MODEL}:generateContent`]: 1 });
    expect(s).toMatchObject({ byKey: { 'test-key': 1 }, byModel: { [MODEL]: 1 }, byStatus: { 200: 1 } });
    expect(s.lastHeaders).toMatchObject({ 'x-goog-api-key': 'test-key' });
    expect(s.lastHeaders!.authorization).toBeUndefined();
  });

  it("counts tokens for the SDK's countTokens (contents only) and for a whole generateContentRequest, as generateContent's usage would", async () => {
    m.resetStats();
    const counted = await ai.models.countTokens({ model: MODEL, contents: HELLO });
    expect(counted.totalTokens).toBe(7);
    expect(m.stats().byPath).toEqual({ [`/v1beta/models/${MODEL}:countTokens`]: 1 });
    // The generate request form counts the system instruction too (https://ai.google.dev/api/tokens).
    const generate = { contents: [{ role: 'user', parts: [{ text: HELLO }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] } };
    const whole = await post(m, `/v1beta/models/${MODEL}:countTokens`, { generateContentRequest: { model: `models/${MODEL}`, ...generate } });
    const used = await post(m, `/v1beta/models/${MODEL}:generateContent`, generate);
    const n = ((await whole.json()) as { totalTokens: number }).totalTokens;
    expect(n).toBe(((await used.json()) as { usageMetadata: { promptTokenCount: number } }).usageMetadata.promptTokenCount);
    expect(n).toBe(9);
    // Both forms at once, or a generate request for another model, are refused.
    expect((await post(m, `/v1beta/models/${MODEL}:countTokens`, { contents: generate.contents, generateContentRequest: { model: `models/${MODEL}`, ...generate } })).status).toBe(400);
    expect((await post(m, `/v1beta/models/${MODEL}:countTokens`, { generateContentRequest: { model: 'models/other', ...generate } })).status).toBe(400);
  });

  it('takes the key from ?key=, a models/ prefix, and the v1 API version', async () => {
    m.resetStats();
    const raw = await post(m, `/v1beta/models/${MODEL}:generateContent?key=q-key`, { contents: [{ parts: [{ text: HELLO }] }] }, {}); // no role: a user turn
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('application/json');
    expect(((await raw.json()) as any).candidates[0].content.parts[0].text).toMatch(/^\[gem\] /);
    const prefixed = await ai.models.generateContent({ model: `models/${MODEL}`, contents: HELLO });
    expect(prefixed.modelVersion).toBe(MODEL);
    await client(m, 'test-key', 'v1').models.generateContent({ model: 'gemini-1.5-pro-002', contents: HELLO });
    const s = m.stats();
    expect(s.byKey).toEqual({ 'q-key': 1, 'test-key': 2 });
    expect(s.byPath).toEqual({ [`/v1beta/models/${MODEL}:generateContent`]: 2, '/v1/models/gemini-1.5-pro-002:generateContent': 1 });
  });

  it('calls every declared function (at most 2) without ids, args from the schema, and still says STOP', async () => {
    const res = await ai.models.generateContent({ model: MODEL, contents: 'Use a tool please', config: { tools: TOOLS } });
    const parts = partsOf(res);
    expect(parts.map((p) => (p.functionCall ? 'call' : 'text'))).toEqual(['text', 'call', 'call']);
    expect(res.functionCalls).toEqual([
      { name: 'get_weather', args: { city: 'x', days: 1, metric: true, unit: 'c' } },
      { name: 'now', args: {} },
    ]);
    expect(res.functionCalls!.every((fc) => fc.id === undefined)).toBe(true);
    expect(res.candidates![0]!.finishReason).toBe('STOP');
    expect(parts.some((p) => p.thoughtSignature !== undefined)).toBe(false);

    const withIds = await ai.models.generateContent({ model: MODEL, contents: 'Use a tool, with ids', config: { tools: TOOLS } });
    expect(withIds.functionCalls!.map((fc) => fc.id)).toEqual([expect.stringMatching(/^mock-fc-/), expect.stringMatching(/^mock-fc-/)]);
    const plain = await ai.models.generateContent({ model: MODEL, contents: HELLO, config: { tools: TOOLS } });
    expect(plain.functionCalls).toBeUndefined();
  });

  it('follows functionCallingConfig: ANY forces calls (only the allowed names), NONE suppresses them', async () => {
    const any = await ai.models.generateContent({
      model: MODEL,
      contents: HELLO,
      config: { tools: TOOLS, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: ['now'] } } },
    });
    expect(any.functionCalls).toEqual([{ name: 'now', args: {} }]);
    const none = await ai.models.generateContent({
      model: MODEL,
      contents: 'use a tool',
      config: { tools: TOOLS, toolConfig: { functionCallingConfig: { mode: FunctionCallingConfigMode.NONE } } },
    });
    expect(none.functionCalls).toBeUndefined();
  });

  it('thinks first and signs every call; a replayed tool step needs its thoughtSignature', async () => {
    const first = await ai.models.generateContent({ model: MODEL, contents: 'Use a tool', config: { tools: TOOLS, ...THINKING } });
    const parts = partsOf(first);
    expect(parts[0]).toMatchObject({ thought: true, text: expect.stringMatching(/^\[gem\] /) });
    const calls = parts.filter((p) => p.functionCall);
    expect(calls).toHaveLength(2);
    for (const p of calls) expect(Buffer.from(p.thoughtSignature!, 'base64').toString()).toMatch(/^mock-thought:[0-9a-f]{8}$/);
    const u = first.usageMetadata!;
    expect(u.thoughtsTokenCount).toBeGreaterThan(0);
    expect(u.totalTokenCount).toBe(u.promptTokenCount! + u.candidatesTokenCount! + u.thoughtsTokenCount!);
    expect(textOf([first])).toMatch(/^\[gem\] The quick/);

    const model = first.candidates![0]!.content!;
    const answers: Content = { role: 'user', parts: first.functionCalls!.map((fc) => ({ functionResponse: { name: fc.name, response: { output: 'ok' } } })) };
    const history = (turn: Content): Content[] => [{ role: 'user', parts: [{ text: 'Use a tool' }] }, turn, answers];
    const second = await ai.models.generateContent({ model: MODEL, contents: history(model), config: { tools: TOOLS, ...THINKING } });
    expect(second.functionCalls).toBeUndefined();
    expect(second.candidates![0]!.finishReason).toBe('STOP');

    const unsigned: Content = { role: 'model', parts: model.parts!.map(({ thoughtSignature: _drop, ...p }) => p) };
    const err = await failure(ai.models.generateContent({ model: MODEL, contents: history(unsigned), config: { tools: TOOLS, ...THINKING } }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(googleError(err)).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(googleError(err).message).toContain('Function call is missing a thought_signature in functionCall parts.');
    expect(googleError(err).message).toContain('function call `default_api:get_weather` , position 2.');

    // Google signs only the first call of a parallel set, so only that one is required.
    const firstOnly: Content = { role: 'model', parts: model.parts!.map((p, i) => (i === 3 ? { functionCall: p.functionCall } : p)) };
    expect((await ai.models.generateContent({ model: MODEL, contents: history(firstOnly), config: { tools: TOOLS, ...THINKING } })).text).toBeDefined();
    // The documented dummy signature passes; an edited call does not; without thinking nothing is checked.
    const dummy: Content = { role: 'model', parts: unsigned.parts!.map((p) => (p.functionCall ? { ...p, thoughtSignature: 'skip_thought_signature_validator' } : p)) };
    expect((await ai.models.generateContent({ model: MODEL, contents: history(dummy), config: { tools: TOOLS, ...THINKING } })).text).toBeDefined();
    const edit = (p: Part): Part => (p.functionCall?.name === 'get_weather' ? { ...p, functionCall: { ...p.functionCall, args: { city: 'Paris' } } } : p);
    const edited: Content = { role: 'model', parts: model.parts!.map(edit) };
    const corrupt = await failure(ai.models.generateContent({ model: MODEL, contents: history(edited), config: { tools: TOOLS, ...THINKING } }));
    expect(googleError(corrupt).message).toBe('Corrupted thought signature.');
    expect((await ai.models.generateContent({ model: MODEL, contents: history(unsigned), config: { tools: TOOLS } })).text).toBeDefined();
    // Only the current turn is validated: an unsigned call before the last user message is history.
    const older = [...history(unsigned), { role: 'model', parts: [{ text: 'It is sunny.' }] }, { role: 'user', parts: [{ text: 'thanks' }] }];
    expect((await ai.models.generateContent({ model: MODEL, contents: older, config: { tools: TOOLS, ...THINKING } })).text).toBeDefined();
  });

  it('leaves the thought part out with includeThoughts false, and thinking off with thinkingBudget 0', async () => {
    const hidden = await ai.models.generateContent({ model: MODEL, contents: HELLO, config: { thinkingConfig: { includeThoughts: false } } });
    expect(partsOf(hidden).some((p) => p.thought)).toBe(false);
    expect(hidden.usageMetadata!.thoughtsTokenCount).toBeGreaterThan(0);
    const off = await ai.models.generateContent({ model: MODEL, contents: 'use a tool', config: { tools: TOOLS, thinkingConfig: { thinkingBudget: 0 } } });
    expect(off.usageMetadata!.thoughtsTokenCount).toBeUndefined();
    expect(partsOf(off).some((p) => p.thoughtSignature)).toBe(false);
  });

  it('blocks an unsafe prompt: promptFeedback and no candidates', async () => {
    const res = await ai.models.generateContent({ model: MODEL, contents: 'something unsafe' });
    expect(res.candidates).toBeUndefined();
    expect(res.promptFeedback).toMatchObject({ blockReason: 'SAFETY' });
    expect(res.promptFeedback!.safetyRatings![0]).toMatchObject({ blocked: true });
    expect(res.text).toBeUndefined();
    expect(res.usageMetadata).toMatchObject({ promptTokenCount: 4, totalTokenCount: 4 });
  });

  it('reports RECITATION without content, MAX_TOKENS under 5 tokens, and cached tokens for cachedContent', async () => {
    const recited = await ai.models.generateContent({ model: MODEL, contents: 'a recitation please', config: { tools: TOOLS } });
    expect(recited.candidates![0]).toEqual({ finishReason: 'RECITATION', index: 0 });
    expect(recited.text).toBeUndefined();
    const cut = await ai.models.generateContent({ model: MODEL, contents: 'use a tool', config: { maxOutputTokens: 3, tools: TOOLS, ...THINKING } });
    expect(cut.candidates![0]!.finishReason).toBe('MAX_TOKENS');
    expect(partsOf(cut).map((p) => Object.keys(p))).toEqual([['text']]);
    expect(cut.usageMetadata!.candidatesTokenCount).toBeLessThanOrEqual(3);
    const cached = await ai.models.generateContent({ model: MODEL, contents: HELLO, config: { cachedContent: 'cachedContents/abc' } });
    expect(cached.usageMetadata).toMatchObject({ cachedContentTokenCount: 100, promptTokenCount: 107 });
  });

  it('streams text chunks the SDK assembles, with growing usage and the finishReason on the last chunk', async () => {
    m.resetStats();
    const { chunks, error } = await drain(await ai.models.generateContentStream({ model: MODEL, contents: HELLO }));
    expect(error).toBeNull();
    expect(chunks).toHaveLength(8);
    expect(textOf(chunks)).toMatch(/^\[gem\] The quick brown fox/);
    expect(chunks.slice(0, -1).every((c) => c.candidates![0]!.finishReason === undefined)).toBe(true);
    expect(chunks.at(-1)!.candidates![0]!.finishReason).toBe('STOP');
    const totals = chunks.map((c) => c.usageMetadata!.totalTokenCount!);
    for (let i = 1; i < totals.length; i++) expect(totals[i]).toBeGreaterThan(totals[i - 1]!);
    expect(chunks.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 7, candidatesTokenCount: 8, totalTokenCount: 15 });
    expect(chunks.every((c) => c.modelVersion === MODEL && c.responseId === chunks[0]!.responseId)).toBe(true);
    const s = m.stats();
    expect(s.byPath).toEqual({ [`/v1beta/models/${MODEL}:streamGenerateContent`]: 1 });
    expect(s.streamsCompleted).toBe(1);
  });

  it('streams the thought, then text, then each function call whole in its own chunk', async () => {
    const stream = await ai.models.generateContentStream({ model: MODEL, contents: 'Use a tool', config: { tools: TOOLS, ...THINKING, ...knobs({ 'x-mock-chunks': '3' }) } });
    const { chunks } = await drain(stream);
    expect(chunks.map((c) => partsOf(c).map((p) => (p.thought ? 'thought' : p.functionCall ? `call:${p.functionCall.name}` : 'text')))).toEqual([
      ['thought'], ['text'], ['text'], ['text'], ['call:get_weather'], ['call:now'],
    ]);
    const weather = partsOf(chunks[4]!)[0]!;
    expect(weather.functionCall).toEqual({ name: 'get_weather', args: { city: 'x', days: 1, metric: true, unit: 'c' } });
    expect(weather.thoughtSignature).toBeDefined();
    expect(chunks.at(-1)!.candidates![0]!.finishReason).toBe('STOP');
    expect(chunks.at(-1)!.usageMetadata!.thoughtsTokenCount).toBeGreaterThan(0);
  });

  it('sends the finishReason in a trailing chunk with empty parts when asked', async () => {
    const { chunks } = await drain(await ai.models.generateContentStream({ model: MODEL, contents: 'use a tool, trailing', config: { tools: TOOLS } }));
    const last = chunks.at(-1)!;
    expect(last.candidates![0]).toMatchObject({ content: { role: 'model', parts: [] }, finishReason: 'STOP' });
    const before = chunks.at(-2)!;
    expect(partsOf(before)[0]!.functionCall?.name).toBe('now');
    expect(before.candidates![0]!.finishReason).toBeUndefined();
    expect(last.usageMetadata).toEqual(before.usageMetadata);
  });

  it('streams a blocked prompt as one promptFeedback chunk, and MAX_TOKENS within the budget', async () => {
    const blocked = await drain(await ai.models.generateContentStream({ model: MODEL, contents: 'unsafe stuff' }));
    expect(blocked.error).toBeNull();
    expect(blocked.chunks).toHaveLength(1);
    expect(blocked.chunks[0]!.promptFeedback?.blockReason).toBe('SAFETY');
    const cut = await drain(await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: { maxOutputTokens: 3 } }));
    expect(cut.chunks).toHaveLength(3);
    expect(cut.chunks.at(-1)!.candidates![0]!.finishReason).toBe('MAX_TOKENS');
    const recited = await drain(await ai.models.generateContentStream({ model: MODEL, contents: 'recitation', config: knobs({ 'x-mock-chunks': '2' }) }));
    expect(recited.chunks.map((c) => c.candidates![0]!.finishReason ?? null)).toEqual([null, null, 'RECITATION']);
    expect(recited.chunks.at(-1)!.candidates![0]!.content).toBeUndefined();
  });

  it('frames alt=sse as data events ending in CRLF CRLF without [DONE], and streams a JSON array without it', async () => {
    const sse = await post(m, `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, RAW, { 'x-goog-api-key': 'test-key', 'x-mock-chunks': '2' });
    expect(sse.headers.get('content-type')).toBe('text/event-stream');
    const text = await sse.text();
    const events = text.split('\r\n\r\n');
    expect(events.pop()).toBe('');
    expect(events).toHaveLength(2);
    expect(events.every((e) => e.startsWith('data: {'))).toBe(true);
    expect(text).not.toContain('[DONE]');
    expect(JSON.parse(events[1]!.slice(6)).candidates[0].finishReason).toBe('STOP');

    const array = await post(m, `/v1beta/models/${MODEL}:streamGenerateContent`, RAW, { 'x-goog-api-key': 'test-key', 'x-mock-chunks': '2' });
    expect(array.headers.get('content-type')).toBe('application/json');
    const items = JSON.parse(await array.text());
    expect(items).toHaveLength(2);
    expect(items[1].candidates[0].finishReason).toBe('STOP');
  });

  it('embeds through batchEmbedContents for one or several contents, like the SDK calls it', async () => {
    m.resetStats();
    const one = await ai.models.embedContent({ model: 'text-embedding-004', contents: 'hello' });
    expect(one.embeddings).toHaveLength(1);
    expect(one.embeddings![0]!.values).toHaveLength(8);
    const several = await ai.models.embedContent({ model: 'text-embedding-004', contents: ['hello', 'world'], config: { outputDimensionality: 16 } });
    expect(several.embeddings!.map((e) => e.values!.length)).toEqual([16, 16]);
    expect(several.embeddings![0]!.values!.slice(0, 8)).not.toEqual(one.embeddings![0]!.values);
    const again = await ai.models.embedContent({ model: 'text-embedding-004', contents: ['hello'] });
    expect(again.embeddings![0]!.values).toEqual(one.embeddings![0]!.values);
    // The Gemini Developer API path of @google/genai never calls :embedContent.
    expect(m.stats().byPath).toEqual({ '/v1beta/models/text-embedding-004:batchEmbedContents': 3 });

    const single = await post(m, '/v1beta/models/text-embedding-004:embedContent', { content: { parts: [{ text: 'hello' }] } });
    expect(((await single.json()) as any).embedding.values).toEqual(one.embeddings![0]!.values);
    // The same text embeds the same way on the OpenAI route.
    const openai = await post(m, '/v1/embeddings', { model: 'mock-embed', input: 'hello' }, { authorization: 'Bearer test-key' });
    expect(((await openai.json()) as any).data[0].embedding).toEqual(one.embeddings![0]!.values);
    const mismatched = await post(m, '/v1beta/models/text-embedding-004:batchEmbedContents', { requests: [{ model: 'models/other', content: { parts: [{ text: 'x' }] } }] });
    expect(mismatched.status).toBe(400);
    expect(((await mismatched.json()) as any).error.status).toBe('INVALID_ARGUMENT');
    const empty = await failure(ai.models.embedContent({ model: 'text-embedding-004', contents: [{ parts: [] }] }));
    expect(empty.status).toBe(400);
  });

  describe('rejects what Gemini rejects with 400 INVALID_ARGUMENT', () => {
    const call = (name: string, id?: string): Part => ({ functionCall: { name, args: {}, ...(id ? { id } : {}) } });
    const answer = (name: string | undefined, id?: string): Part => ({ functionResponse: { name, response: { output: 'ok' }, ...(id ? { id } : {}) } as any });
    const user = (...parts: (Part | string)[]): Content => ({ role: 'user', parts: parts.map((p) => (typeof p === 'string' ? { text: p } : p)) });
    const model = (...parts: Part[]): Content => ({ role: 'model', parts });
    const FR_AFTER_FC = 'Please ensure that function response turn comes immediately after a function call turn.';
    const FR_COUNT = 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    const BAD_ROLE = 'Please use a valid role: user, model.';
    const cases: [string, Partial<GenerateContentParameters>, string][] = [
      ['a system role', { contents: [{ role: 'system', parts: [{ text: 'hi' }] }] }, BAD_ROLE],
      ['the legacy function role for tool results', { contents: [user('hi'), model(call('now')), { role: 'function', parts: [answer('now')] }] }, BAD_ROLE],
      ['empty parts', { contents: [user('hi'), model(), user('again')] }, '* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n'],
      ['an empty text part', { contents: [user('hi'), model({ text: '' }), user('again')] }, "contents[1].parts[0].data: required oneof field 'data' must have one initialized field"],
      [
        'a functionResponse without a name',
        { contents: [user('hi'), model(call('now')), user(answer(undefined))] },
        '* GenerateContentRequest.contents[2].parts[0].function_response.name: Name cannot be empty.\n',
      ],
      [
        'a string functionResponse.response',
        { contents: [user('hi'), model(call('now')), user({ functionResponse: { name: 'now', response: 'ok' as any } })] },
        "Invalid value at 'contents[2].parts[0].function_response.response' (type.googleapis.com/google.protobuf.Struct)",
      ],
      ['a functionResponse after text', { contents: [user('hi'), model({ text: 'sure' }), user(answer('now'))] }, FR_AFTER_FC],
      ['a functionResponse in a model turn', { contents: [user('hi'), model(call('now')), model(answer('now'))] }, FR_AFTER_FC],
      ['one response for two calls', { contents: [user('hi'), model(call('now'), call('get_weather')), user(answer('now'))] }, FR_COUNT],
      ['a call answered by text', { contents: [user('hi'), model(call('now')), user('what?')] }, FR_COUNT],
      ['a response to another function', { contents: [user('hi'), model(call('now')), user(answer('get_weather'))] }, 'none has the name `get_weather`'],
      ['a response with the wrong id', { contents: [user('hi'), model(call('now', 'fc-1')), user(answer('now', 'fc-2'))] }, 'none has the id `fc-2`'],
      [
        'a conversation opening with a call',
        { contents: [model(call('now')), user(answer('now'))] },
        'Please ensure that function call turn comes immediately after a user turn or after a function response turn.',
      ],
      ['an image whose bytes are not its mimeType', { contents: [user('look', { inlineData: { mimeType: 'image/jpeg', data: PNG } })] }, 'Unable to process input image.'],
      [
        'a systemInstruction without parts',
        { config: { systemInstruction: { parts: [] } } },
        '* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.\n',
      ],
      ['a fractional maxOutputTokens', { config: { maxOutputTokens: 2.5 } }, "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 2.5"],
      [
        'a function name with a slash',
        { config: { tools: [{ functionDeclarations: [{ name: 'mcp/search' }] }] } },
        'tools[0].function_declarations[0].name: [FIELD_INVALID] Invalid function name.',
      ],
    ];

    it.each(cases)('%s', async (_name, over, message) => {
      const params = { model: MODEL, contents: HELLO, ...over } as GenerateContentParameters;
      const err = await failure(ai.models.generateContent(params));
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(400);
      const body = googleError(err);
      expect(body).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(body.message).toContain(message);
    });
  });

  it('accepts a well-formed tool loop with ids, an image and a system instruction', async () => {
    const first = await ai.models.generateContent({
      model: MODEL,
      contents: [{ role: 'user', parts: [{ text: 'Use a tool on this, ids' }, { inlineData: { mimeType: 'image/png', data: PNG } }] }],
      config: { tools: TOOLS, systemInstruction: 'You are a mock.' },
    });
    const results: Part[] = first.functionCalls!.reverse().map((fc) => ({ functionResponse: { id: fc.id, name: fc.name, response: { output: 'ok' } } }));
    const second = await ai.models.generateContent({
      model: MODEL,
      contents: [{ role: 'user', parts: [{ text: 'Use a tool on this, ids' }] }, first.candidates![0]!.content!, { role: 'user', parts: results }],
      config: { tools: TOOLS, systemInstruction: 'You are a mock.' },
    });
    expect(second.functionCalls).toBeUndefined();
    expect(second.text).toMatch(/^\[gem\] /);
  });

  it('answers a missing key with 403 PERMISSION_DENIED and an unknown one with 400 API_KEY_INVALID, never echoing it', async () => {
    const missing = await post(m, `/v1beta/models/${MODEL}:generateContent`, RAW, {});
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as any).error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    // apiKey '' makes the SDK send an empty x-goog-api-key (and warn). Never leave apiKey undefined here: the SDK
    // then falls back to Google's application default credentials, which probe the GCE metadata server.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const keyless = client(m, '');
    warn.mockRestore();
    const denied = await failure(keyless.models.generateContent({ model: MODEL, contents: HELLO }));
    expect(denied).toBeInstanceOf(ApiError);
    expect(denied.status).toBe(403);
    expect(googleError(denied).message).toContain("Method doesn't allow unregistered callers");

    const strict = await startMock({ validKeys: ['good-key'] });
    const err = await failure(client(strict, 'AIza-secret-123').models.generateContent({ model: MODEL, contents: HELLO }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    const body = googleError(err);
    expect(body).toMatchObject({ status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
    expect(body.details![0]).toMatchObject({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' });
    expect(err.message).not.toContain('secret');
    const stream = await failure(client(strict, 'AIza-secret-123').models.generateContentStream({ model: MODEL, contents: HELLO }));
    expect(stream.status).toBe(400);
    expect((await client(strict, 'good-key').models.generateContent({ model: MODEL, contents: HELLO })).text).toBeDefined();
    await strict.close();
  });

  it('fails one key with 429 RESOURCE_EXHAUSTED and RetryInfo in the body, no retry-after header, no SDK retry', async () => {
    m.resetStats();
    const err = await failure(client(m, 'k-limited').models.generateContent({ model: MODEL, contents: HELLO }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    const body = googleError(err);
    expect(body.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.details).toContainEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '3s' });
    expect(m.stats().requests).toBe(1);
    const raw = await post(m, `/v1beta/models/${MODEL}:generateContent`, RAW, { 'x-goog-api-key': 'k-limited' });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBeNull();
    await raw.arrayBuffer();
    const busy = await failure(client(m, 'k-busy').models.generateContentStream({ model: MODEL, contents: HELLO }));
    expect(busy.status).toBe(503);
    expect(googleError(busy).status).toBe('UNAVAILABLE');
  });

  it('maps injected statuses to Google status names, and answers unknown methods with 404', async () => {
    const table: [string, string][] = [
      ['400', 'INVALID_ARGUMENT'], ['403', 'PERMISSION_DENIED'], ['404', 'NOT_FOUND'], ['500', 'INTERNAL'], ['503', 'UNAVAILABLE'], ['504', 'DEADLINE_EXCEEDED'],
    ];
    for (const [status, name] of table) {
      const err = await failure(ai.models.generateContent({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-status': status }) }));
      expect(err, status).toBeInstanceOf(ApiError);
      expect(err.status).toBe(Number(status));
      expect(googleError(err)).toMatchObject({ code: Number(status), status: name });
    }
    const unknown = await post(m, `/v1beta/models/${MODEL}:predictLong`, RAW);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.status).toBe('NOT_FOUND');
  });

  it('ends a stream with an in-stream error chunk that the SDK raises as ApiError after N text chunks', async () => {
    const stream = await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-stream-error-after': '2' }) });
    const { chunks, error } = await drain(stream);
    expect(chunks).toHaveLength(2);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(503);
    expect(error.message).toContain('UNAVAILABLE');

    const raw = await post(m, `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, RAW, { 'x-goog-api-key': 'test-key', 'x-mock-stream-error': 'RESOURCE_EXHAUSTED' });
    expect(raw.status).toBe(200);
    const events = (await raw.text()).split('\r\n\r\n').filter(Boolean);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.slice(6))).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });

  it('applies the stream knobs to the text chunks: count, delay, disconnect and stall', async () => {
    const slow = await drain(await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-chunks': '3', 'x-mock-chunk-delay-ms': '5' }) }));
    expect(slow.chunks).toHaveLength(3);
    expect(slow.chunks.at(-1)!.candidates![0]!.finishReason).toBe('STOP');

    const before = m.stats();
    const cut = await drain(await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-disconnect-after': '2' }) }));
    expect(cut.chunks).toHaveLength(2);
    expect(cut.error).toBeInstanceOf(Error);
    expect(m.stats().resets).toBe(before.resets + 1);

    const abort = new AbortController();
    const stalled = await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: { abortSignal: abort.signal, ...knobs({ 'x-mock-stall-after': '2' }) } });
    const seen: GenerateContentResponse[] = [];
    for await (const c of stalled) {
      seen.push(c);
      if (seen.length === 2) break; // the third chunk never comes: stop reading and leave
    }
    abort.abort();
    expect(seen.every((c) => c.candidates![0]!.finishReason === undefined)).toBe(true);
    const s = await waitForStats(m, (x) => x.aborted > before.aborted);
    expect(s.streamsCompleted).toBe(before.streamsCompleted);
  });

  it('resets, holds and corrupts the Gemini routes like the others', async () => {
    const before = m.stats();
    expect(await failure(ai.models.generateContent({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-reset': '1' }) }))).toBeInstanceOf(Error);
    const held = await failure(ai.models.generateContent({ model: MODEL, contents: HELLO, config: { httpOptions: { timeout: 300, headers: { 'x-mock-timeout': '1' } } } }));
    expect(held).toBeInstanceOf(Error);
    const s = m.stats();
    expect(s.resets).toBe(before.resets + 1);
    expect(s.timeouts).toBe(before.timeouts + 1);

    const broken = await post(m, `/v1beta/models/${MODEL}:generateContent`, RAW, { 'x-goog-api-key': 'test-key', 'x-mock-malformed': '1' });
    expect(broken.status).toBe(200);
    const text = await broken.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(await failure(ai.models.generateContent({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-malformed': '1' }) }))).toBeInstanceOf(Error);
    const corrupt = await drain(await ai.models.generateContentStream({ model: MODEL, contents: HELLO, config: knobs({ 'x-mock-malformed': '1' }) }));
    expect(corrupt.error).toBeInstanceOf(Error);
    expect(m.stats().malformed).toBe(before.malformed + 3);
  });
});
