// The rest of what a current OpenAI client calls, through microgate with the real `openai` SDK: the
// Responses API, model lookup, moderations, images, audio (uploads streamed as multipart, speech as
// bytes), files and batches; with the same failover, errors and telemetry as chat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
let sdk: OpenAI;

beforeAll(async () => {
  s = await startStack({ oa: { models: ['gpt-4o-mini', 'whisper-1', 'tts-1', 'gpt-image-1', 'omni-moderation-latest'] }, down: { status: 500 } }, (m) => ({
    version: 1,
    providers: {
      openai: { baseUrl: m.oa!.baseUrl, keys: [{ name: 'k', value: 'surface-key-0123456789' }], models: ['gpt-4o-mini', 'whisper-1', 'tts-1'] },
      broken: { baseUrl: m.down!.baseUrl, keys: [{ name: 'k', value: 'broken-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
    },
    models: {
      transcriber: { targets: [{ provider: 'openai', model: 'whisper-1' }] },
      moderator: { targets: [{ provider: 'broken', model: 'omni-moderation-latest' }], fallbacks: ['openai/omni-moderation-latest'] },
    },
    routing: { defaultProvider: 'openai' },
  }));
  sdk = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => s.close());

const stats = () => s.mocks.oa!.stats();

describe('the Responses API, passed through to an OpenAI provider', () => {
  it('responses.create: text, usage, the provider\'s ids', async () => {
    const r = await sdk.responses.create({ model: 'openai/gpt-4o-mini', input: 'Say hello' });
    expect(r.id).toMatch(/^resp_/);
    expect(r.output_text).toMatch(/\S/);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(Object.keys(stats().byPath)).toContain('/v1/responses');
  });

  it('responses.stream: events through to response.completed (no [DONE]), a clean end', async () => {
    const stream = sdk.responses.stream({ model: 'openai/gpt-4o-mini', input: 'Say hello' });
    const types = new Set<string>();
    for await (const e of stream) types.add(e.type);
    const final = await stream.finalResponse();
    expect(types.has('response.output_text.delta')).toBe(true);
    expect(types.has('response.completed')).toBe(true);
    expect(final.status).toBe('completed');
  });
});

describe('models, moderations, images', () => {
  it('models.retrieve: a listed model, a provider/model, and a 404 for a name nothing routes', async () => {
    expect((await sdk.models.retrieve('gpt-4o-mini')).owned_by).toBe('openai');
    expect((await sdk.models.retrieve('openai/gpt-4o-mini')).id).toBe('openai/gpt-4o-mini');
    const plain = await startStack({ x: {} }, (m) => ({ version: 1, providers: { only: { baseUrl: m.x!.baseUrl, keys: [{ name: 'k', value: 'v-0123456789' }], models: ['a'] } } }));
    try {
      const err = await new OpenAI({ baseURL: `${plain.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 }).models.retrieve('nope').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
    } finally {
      await plain.close();
    }
  });

  it('moderations.create fails over like chat: the broken primary, then OpenAI', async () => {
    const r = await sdk.moderations.create({ model: 'moderator', input: ['hello', 'I will kill the process'] }).withResponse();
    expect(r.data.results.map((x) => x.flagged)).toEqual([false, true]);
    expect(r.response.headers.get('x-microgate-route')).toMatch(/^broken\/omni-moderation-latest#k:500 > openai\/omni-moderation-latest#k:200$/);
  });

  it('a moderation that names no model goes to routing.defaultProvider', async () => {
    const r = await sdk.moderations.create({ input: 'hello' }).withResponse();
    expect(r.response.headers.get('x-microgate-provider')).toBe('openai');
    expect(r.data.results).toHaveLength(1);
  });

  it('images.generate as base64', async () => {
    const r = await sdk.images.generate({ model: 'openai/gpt-image-1', prompt: 'a cat', n: 2, response_format: 'b64_json' });
    expect(r.data).toHaveLength(2);
    expect(Buffer.from(r.data![0]!.b64_json!, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('audio', () => {
  it('a 3 MB transcription upload arrives whole, and an alias puts its model in the form', async () => {
    const audio = Buffer.alloc(3 * 1024 * 1024, 7);
    const r = await sdk.audio.transcriptions.create({ file: await toFile(audio, 'talk.mp3'), model: 'transcriber' });
    expect(r.text).toContain(`${audio.length} bytes`);
    expect(stats().byModel['whisper-1']).toBeGreaterThan(0);
  });

  it('response_format text and srt come back as text, not JSON', async () => {
    const text = await sdk.audio.transcriptions.create({ file: await toFile(Buffer.from('abc'), 'a.mp3'), model: 'openai/whisper-1', response_format: 'text' });
    expect(typeof text).toBe('string');
    expect(text).toMatch(/\S/);
    const srt = await sdk.audio.translations.create({ file: await toFile(Buffer.from('abc'), 'a.mp3'), model: 'openai/whisper-1', response_format: 'srt' });
    expect(String(srt)).toMatch(/-->/);
  });

  it('speech: audio bytes relayed with their content type', async () => {
    const r = await sdk.audio.speech.create({ model: 'openai/tts-1', voice: 'alloy', input: 'hello there' });
    expect(r.headers.get('content-type')).toMatch(/^audio\//);
    expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('a form without a model is a 400 naming it, in OpenAI\'s shape', async () => {
    const fd = new FormData();
    fd.append('file', new Blob([Buffer.from('abc')]), 'a.mp3');
    const res = await fetch(`${s.gw.url}/v1/audio/transcriptions`, { method: 'POST', body: fd });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('model');
    // Two model fields: the gateway would route by one and the provider might serve the other.
    const twice = new FormData();
    twice.append('model', 'openai/whisper-1');
    twice.append('file', new Blob([Buffer.from('abc')]), 'a.mp3');
    twice.append('model', 'openai/gpt-4o-mini');
    const refused = await fetch(`${s.gw.url}/v1/audio/transcriptions`, { method: 'POST', body: twice });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { param: string; message: string } }).error.message).toContain("more than one 'model'");
  });
});

describe('files and batches belong to one provider', () => {
  it('files: create, list, retrieve, content, delete; a batch over that file: create, retrieve, cancel, list', async () => {
    const content = Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{}}\n');
    const f = await sdk.files.create({ file: await toFile(content, 'batch.jsonl'), purpose: 'batch' });
    expect(f.id).toMatch(/^file-/);
    expect((await sdk.files.list()).data.some((x) => x.id === f.id)).toBe(true);
    expect((await sdk.files.retrieve(f.id)).bytes).toBe(content.length);
    expect(Buffer.from(await (await sdk.files.content(f.id)).arrayBuffer())).toEqual(content);
    const b = await sdk.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect((await sdk.batches.retrieve(b.id)).id).toBe(b.id);
    expect((await sdk.batches.cancel(b.id)).status).toMatch(/cancel/);
    expect((await sdk.batches.list()).data.some((x) => x.id === b.id)).toBe(true);
    expect((await sdk.files.delete(f.id)).deleted).toBe(true);
    const gone = await sdk.files.retrieve(f.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("without virtual keys, lists are answered with the gateway's ids, and the SDK pages through them", async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await sdk.files.create({ file: await toFile(Buffer.from(`{"n":${i}}\n`), `f${i}.jsonl`), purpose: 'batch' })).id);
    // One file a page: the `after` cursor is a sealed id, which the gateway opens before asking the provider.
    const seen: string[] = [];
    for await (const f of sdk.files.list({ limit: 1 })) {
      seen.push(f.id);
      if (seen.length > 50) break; // a cursor the provider cannot read restarts the list: fail, not loop
    }
    expect(seen).toEqual(expect.arrayContaining(made));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of made) await sdk.files.delete(id);
  });

  it('the x-microgate-provider header picks the provider; an unknown one is a 400', async () => {
    const r = await request(`${s.gw.url}/v1/files`, { headers: { 'x-microgate-provider': 'broken' } });
    // The broken provider answered (its 500 is the gateway's 502): the header chose it over the default.
    expect(r.statusCode).toBe(502);
    expect(r.headers['x-microgate-provider']).toBe('broken');
    await r.body.text();
    const bad = await request(`${s.gw.url}/v1/files`, { headers: { 'x-microgate-provider': 'nobody' } });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as { error: { param: string } }).error.param).toBe('x-microgate-provider');
  });

  it('a path with dot segments or escapes never reaches a provider', async () => {
    const before = stats().requests;
    const r = await request(`${s.gw.url}/v1/files/..%2F..%2Fadmin`);
    expect(r.statusCode).toBe(400);
    await r.body.text();
    expect(stats().requests).toBe(before);
  });
});
