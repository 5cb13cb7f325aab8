import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../mock-providers/index.ts';
import type { MockConfig, MockHandle, MockStats } from '../../mock-providers/index.ts';
import { waitForStats } from '../helpers/waits.ts';

const CHAT = '/v1/chat/completions';
const MESSAGES = [{ role: 'user', content: 'Hello, mock! How are you?' }]; // 25 chars → 7 prompt tokens

function post(m: MockHandle, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(m.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-key', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/** Bodies are checked with toMatchObject and friends, so they are read loosely typed. */
async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}

/** The JSON payloads of an SSE body, with "[DONE]" kept as a string. */
function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

interface Chunk {
  object: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

function contentChunks(events: string[]): number {
  return events.filter((e) => e !== '[DONE]' && (JSON.parse(e) as Chunk).choices[0]?.delta.content).length;
}

/** Reads a streamed body until it ends, fails, or no more data comes for `quietMs`; returns what arrived. */
async function readUntilQuiet(res: Response, abort: AbortController, quietMs: number): Promise<{ text: string; failed: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timer = setTimeout(() => abort.abort(), quietMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, failed: false };
      text += decoder.decode(value, { stream: true });
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), quietMs);
    }
  } catch {
    return { text, failed: true };
  } finally {
    clearTimeout(timer);
  }
}

async function countErrors(config: MockConfig, n: number): Promise<number> {
  const m = await startMock(config);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES });
    await res.arrayBuffer();
    if (res.status !== 200) errors++;
  }
  await m.close();
  return errors;
}

describe('mock provider', () => {
  let m: MockHandle;

  beforeAll(async () => {
    m = await startMock({ name: 'unit', keys: { 'k-limited': { status: 429, retryAfterSec: 3 } } });
  });
  afterAll(async () => {
    await m.close();
  });

  it('answers a chat completion in OpenAI shape', async () => {
    const res = await post(m, CHAT, { model: 'mock-large', messages: MESSAGES });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await json(res);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'mock-large',
      choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'stop' }],
    });
    expect(body.id).toMatch(/^chatcmpl-mock-\d+$/);
    expect(typeof body.created).toBe('number');
    expect(body.choices[0].message.content).toMatch(/^\[unit\] /);
    expect(body.usage.prompt_tokens).toBe(7);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('pads non-stream content to about responseBytes', async () => {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-response-bytes': '5000' });
    const body = await json(res);
    expect(body.choices[0].message.content.length).toBe(5000);
    expect(body.usage.completion_tokens).toBe(1250);
  });

  it('streams chunks ending with [DONE], without usage unless asked', async () => {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && !('usage' in c))).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(contentChunks(events)).toBe(8);
    expect(chunks.at(-1)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
  });

  it('adds a usage chunk with empty choices when include_usage is set', async () => {
    const res = await post(
      m,
      CHAT,
      { model: 'mock-small', messages: MESSAGES, stream: true, stream_options: { include_usage: true } },
      { 'x-mock-chunks': '3' },
    );
    const events = sseData(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(contentChunks(events)).toBe(3);
  });

  it('spaces stream events by chunkDelayMs and still completes', async () => {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true }, { 'x-mock-chunks': '3', 'x-mock-chunk-delay-ms': '5' });
    const events = sseData(await res.text());
    expect(contentChunks(events)).toBe(3);
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('answers legacy completions, plain and streamed', async () => {
    const plain = await json(post(m, '/v1/completions', { model: 'mock-small', prompt: 'Say hi' }));
    expect(plain).toMatchObject({ object: 'text_completion', choices: [{ index: 0, logprobs: null, finish_reason: 'stop' }] });
    expect(plain.id).toMatch(/^cmpl-mock-\d+$/);
    const events = sseData(await (await post(m, '/v1/completions', { model: 'mock-small', prompt: 'Say hi', stream: true })).text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { object: string; choices: { text: string }[] });
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.filter((c) => c.choices[0]!.text !== '')).toHaveLength(8);
  });

  it('returns deterministic embeddings of the requested dimensions', async () => {
    const one = await json(post(m, '/v1/embeddings', { model: 'mock-embed', input: 'hello' }));
    expect(one).toMatchObject({ object: 'list', model: 'mock-embed', usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect(one.data).toHaveLength(1);
    expect(one.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    expect(one.data[0].embedding).toHaveLength(8);

    const many = await json(post(m, '/v1/embeddings', { model: 'mock-embed', input: ['hello', 'world'], dimensions: 16 }));
    expect(many.data.map((d: { index: number }) => d.index)).toEqual([0, 1]);
    expect(many.data[0].embedding).toHaveLength(16);
    const again = await json(post(m, '/v1/embeddings', { model: 'mock-embed', input: ['hello'], dimensions: 16 }));
    expect(again.data[0].embedding).toEqual(many.data[0].embedding);
    expect(many.data[1].embedding).not.toEqual(many.data[0].embedding);

    const tokens = await json(post(m, '/v1/embeddings', { model: 'mock-embed', input: [[1, 2, 3], [4, 5]] }));
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(5);

    expect((await post(m, '/v1/embeddings', { model: 'mock-embed', input: [{}] })).status).toBe(400);
  });

  it('lists the configured models', async () => {
    const res = await fetch(`${m.baseUrl}/models`, { headers: { authorization: 'Bearer test-key' } });
    const body = await json(res);
    expect(body.object).toBe('list');
    expect(body.data.map((d: { id: string }) => d.id)).toEqual(['mock-small', 'mock-large', 'mock-embed']);
    expect(body.data[0]).toMatchObject({ object: 'model', owned_by: 'unit' });
  });

  it('answers bad JSON, a missing model and unknown paths with OpenAI-shaped errors', async () => {
    const bad = await post(m, CHAT, '{"model": ');
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ type: 'invalid_request_error', param: null });
    expect((await post(m, CHAT, { messages: MESSAGES })).status).toBe(400);
    const missing = await post(m, '/v1/nope', {});
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe('unknown_url');
  });

  it('fails one key with 429 and retry-after while another key succeeds', async () => {
    const limited = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { authorization: 'Bearer k-limited' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.headers.get('retry-after-ms')).toBe('3000');
    expect((await json(limited)).error).toMatchObject({ type: 'rate_limit_exceeded', code: 'rate_limit_exceeded' });
    const other = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { authorization: 'Bearer k-ok' });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it('lets headers override the per-key behaviour', async () => {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { authorization: 'Bearer k-limited', 'x-mock-status': '200' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const forced = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-status': '503' });
    expect(forced.status).toBe(503);
    expect((await json(forced)).error.type).toBe('server_error');
  });

  it('records stats and the last request headers', async () => {
    m.resetStats();
    await (await post(m, CHAT, { model: 'mock-large', messages: MESSAGES }, { 'x-trace': 'abc' })).arrayBuffer();
    const s = m.stats();
    expect(s).toMatchObject({ requests: 1, byStatus: { 200: 1 }, byKey: { 'test-key': 1 }, byModel: { 'mock-large': 1 }, inFlight: 0 });
    expect(s.byPath[CHAT]).toBe(1);
    expect(s.lastHeaders).toMatchObject({ authorization: 'Bearer test-key', 'x-trace': 'abc' });
  });

  it('rejects keys outside validKeys with 401 without echoing the key', async () => {
    const strict = await startMock({ validKeys: ['good-key'] });
    const res = await post(strict, CHAT, { model: 'mock-small', messages: MESSAGES }, { authorization: 'Bearer sk-secret-123' });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain('sk-secret-123');
    expect(JSON.parse(text).error.code).toBe('invalid_api_key');
    const ok = await post(strict, CHAT, { model: 'mock-small', messages: MESSAGES }, { authorization: 'Bearer good-key' });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    await strict.close();
  });

  it('injects errors reproducibly with a seed', async () => {
    const config: MockConfig = { seed: 42, errorRate: 0.3, errorStatuses: [429, 500, 503] };
    const first = await countErrors(config, 200);
    const second = await countErrors(config, 200);
    expect(first).toBe(second);
    expect(first).toBeGreaterThan(30);
    expect(first).toBeLessThan(90);
  });

  it('resets the connection without a response', async () => {
    await expect(post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-reset': '1' })).rejects.toThrow();
    expect(m.stats().resets).toBeGreaterThan(0);
  });

  it('stalls a stream after exactly N content chunks', async () => {
    const abort = new AbortController();
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true }, { 'x-mock-stall-after': '3' }, abort.signal);
    const { text, failed } = await readUntilQuiet(res, abort, 300);
    expect(failed).toBe(true); // the stream never ended: the reader was aborted
    const events = sseData(text);
    expect(contentChunks(events)).toBe(3);
    expect(events).not.toContain('[DONE]');
  });

  it('disconnects a stream after N content chunks', async () => {
    const abort = new AbortController();
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true }, { 'x-mock-disconnect-after': '2' }, abort.signal);
    const { text, failed } = await readUntilQuiet(res, abort, 5_000);
    expect(failed).toBe(true);
    expect(abort.signal.aborted).toBe(false); // the mock closed it, not our timer
    expect(contentChunks(sseData(text))).toBe(2);
  });

  it('counts a client abort of a slow request', async () => {
    const before = m.stats().aborted;
    const abort = new AbortController();
    const pending = post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-latency-ms': '10000' }, abort.signal);
    await waitForStats(m, (s) => s.inFlight > 0);
    abort.abort();
    await expect(pending).rejects.toThrow();
    const s = await waitForStats(m, (st) => st.aborted > before);
    expect(s.aborted).toBe(before + 1);
    expect(s.inFlight).toBe(0);
  });

  it('holds a timed-out request until the client gives up', async () => {
    const before = m.stats();
    const abort = new AbortController();
    const pending = post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-timeout': '1' }, abort.signal);
    await waitForStats(m, (s) => s.timeouts > before.timeouts);
    abort.abort();
    await expect(pending).rejects.toThrow();
    await waitForStats(m, (s) => s.aborted > before.aborted && s.inFlight === 0);
  });

  it('sends invalid JSON, or a broken stream event, when malformed', async () => {
    const res = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES }, { 'x-mock-malformed': '1' });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();

    const stream = await post(m, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true }, { 'x-mock-malformed': '1' });
    const events = sseData(await stream.text());
    expect(events).not.toContain('[DONE]');
    expect(() => events.forEach((e) => JSON.parse(e))).toThrow();
  });

  it('changes behaviour through the control endpoints', async () => {
    const ctl = await startMock();
    const set = await fetch(`${ctl.url}/_mock/config`, { method: 'POST', body: JSON.stringify({ status: 503 }) });
    expect(set.status).toBe(200);
    await set.arrayBuffer();
    expect(await json(fetch(`${ctl.url}/_mock/config`))).toEqual({ status: 503 });
    const failing = await post(ctl, CHAT, { model: 'mock-small', messages: MESSAGES });
    expect(failing.status).toBe(503);
    await failing.arrayBuffer();

    await (await fetch(`${ctl.url}/_mock/config`, { method: 'POST', body: '{}' })).arrayBuffer();
    const ok = await post(ctl, CHAT, { model: 'mock-small', messages: MESSAGES });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();

    const stats = (await json(fetch(`${ctl.url}/_mock/stats`))) as MockStats;
    expect(stats.byStatus).toEqual({ 200: 1, 503: 1 });
    await (await fetch(`${ctl.url}/_mock/reset`, { method: 'POST' })).arrayBuffer();
    expect(ctl.stats().requests).toBe(0);
    await ctl.close();
  });

  it('closes with a request in flight, and no timer fires afterwards', async () => {
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    try {
      const slow = await startMock({ latencyMs: 200, chunkDelayMs: 50 });
      const pending = post(slow, CHAT, { model: 'mock-small', messages: MESSAGES }).catch((e: unknown) => e);
      const streaming = post(slow, CHAT, { model: 'mock-small', messages: MESSAGES, stream: true }, { 'x-mock-latency-ms': '0' })
        .then((r) => r.text())
        .catch((e: unknown) => e);
      await waitForStats(slow, (s) => s.inFlight === 2);
      await slow.close();
      expect(slow.stats()).toMatchObject({ inFlight: 0, aborted: 0 });
      expect(await pending).toBeInstanceOf(Error);
      expect(await streaming).toBeInstanceOf(Error);
      await new Promise((r) => setTimeout(r, 400)); // past the latency and every chunk delay
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
