// Provider types as presets: the OpenAI-compatible family's known deviations, applied from data
// (config/provider-kinds.ts). Each provider here is a strict fake that refuses what the real one refuses
// (providers.md §4.3), so a missing deviation is a 400, and the test reads the body it was sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startHostile, type HostileProvider } from '../helpers/hostile.ts';

let s: Stack;
let h: HostileProvider;
let seen: Array<Record<string, unknown>> = [];

const COMPLETION = (model: string) =>
  JSON.stringify({ id: 'cmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

function sse(res: ServerResponse, model: string, withUsage: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (o: object) => res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, ...o })}\n\n`);
  chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] });
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  if (withUsage) chunk({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } });
  res.end('data: [DONE]\n\n');
}

/** What each real provider refuses with a 400 (providers.md §4.3). */
function strictness(body: Record<string, unknown>, who: string): string | null {
  if (who === 'groq') for (const f of ['logprobs', 'logit_bias', 'top_logprobs']) if (body[f] !== undefined) return `${f} is not supported`;
  if (who === 'groq' && (body.messages as Array<Record<string, unknown>>).some((m) => m.name !== undefined)) return "'messages.0' : for 'role:user' the following must be satisfied[('messages.0.name' : property 'name' is unsupported)]";
  if (who === 'mistral') {
    for (const m of body.messages as Array<Record<string, unknown>>) {
      const ids = [m.tool_call_id, ...((m.tool_calls as Array<{ id: string }> | undefined) ?? []).map((c) => c.id)].filter((x) => x !== undefined);
      for (const id of ids) if (!/^[a-zA-Z0-9]{9}$/.test(String(id))) return `Tool call id was ${String(id)} but must be a-z, A-Z, 0-9, with a length of 9.`;
    }
  }
  if (who === 'perplexity' && body.stream_options !== undefined) return 'stream_options is not supported';
  if (who === 'cerebras' && body.tool_choice !== undefined && body.tool_choice !== 'auto' && body.tool_choice !== 'none') return 'tool_choice must be auto or none';
  return null;
}

beforeAll(async () => {
  h = await startHostile();
  s = await startStack({ openai: {} }, (m) => ({
    version: 1,
    providers: {
      groq: { type: 'groq', baseUrl: `${h.baseUrl}/groq`, keys: [{ name: 'k', value: 'groq-key-1' }] },
      mistral: { type: 'mistral', baseUrl: `${h.baseUrl}/mistral`, keys: [{ name: 'k', value: 'mistral-key-1' }] },
      perplexity: { type: 'perplexity', baseUrl: `${h.baseUrl}/perplexity`, keys: [{ name: 'k', value: 'pplx-key-1' }] },
      ollama: { type: 'ollama', baseUrl: `${h.baseUrl}/ollama` },
      cerebras: { type: 'cerebras', baseUrl: `${h.baseUrl}/cerebras`, keys: [{ name: 'k', value: 'cerebras-key-1' }] },
      // Broad patterns on purpose: credentials and framing headers must still never pass.
      onechunk: { baseUrl: `${h.baseUrl}/onechunk`, keys: [{ name: 'k', value: 'one-key-0123456789' }] },
      fwd: { baseUrl: `${h.baseUrl}/fwd`, keys: [{ name: 'k', value: 'fwd-key-0123456789' }], forwardHeaders: ['openai-organization', 'openai-project', 'a*', 'c*', 'x-*'] },
      openai: { baseUrl: m.openai!.baseUrl, keys: [{ name: 'k', value: 'openai-key-1' }], models: ['mock-small'] },
    },
  }));
});
afterAll(async () => {
  await s.close();
  await h.close();
});
beforeEach(() => {
  seen = [];
  h.reset();
  h.handle((req: IncomingMessage, res: ServerResponse, text: string) => {
    const who = req.url!.split('/')[2]!;
    const body = JSON.parse(text) as Record<string, unknown>;
    seen.push({ ...body, _auth: req.headers.authorization ?? null });
    const refusal = strictness(body, who);
    if (refusal !== null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: refusal, type: 'invalid_request_error' } }));
      return;
    }
    if (body.stream === true) sse(res, String(body.model), who === 'perplexity' || (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION(String(body.model)));
  });
});

const post = (body: object) => request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('provider presets', () => {
  it("Groq: the parameters it refuses are taken out before sending and named in x-microgate-dropped", async () => {
    const res = await post({ model: 'groq/llama-3.3-70b-versatile', logprobs: true, top_logprobs: 2, temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(res.headers['x-microgate-dropped']).toBe('logprobs,top_logprobs');
    expect(seen[0]).not.toHaveProperty('logprobs');
    expect(seen[0]!.temperature).toBe(0.2);
    expect(seen[0]!._auth).toBe('Bearer groq-key-1');
  });

  it("Groq: a message's name is taken out (a 400 there: a fallback to Groq failed the request), and named in x-microgate-dropped", async () => {
    const res = await post({ model: 'groq/llama-3.3-70b-versatile', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', name: 'alice', content: 'hi' }] });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(res.headers['x-microgate-dropped']).toBe('messages[].name');
    const sent = seen[seen.length - 1]!.messages as Array<Record<string, unknown>>;
    expect(sent).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }]);
  });

  it("Cerebras: a forced tool choice (required, or an Anthropic client's any) becomes auto, named in x-microgate-dropped; auto passes as it is", async () => {
    const tools = [{ type: 'function', function: { name: 'w', parameters: { type: 'object', properties: {} } } }];
    const forced = await post({ model: 'cerebras/llama-3.3-70b', tool_choice: 'required', tools, messages: [{ role: 'user', content: 'hi' }] });
    expect(forced.statusCode).toBe(200);
    await forced.body.text();
    expect(forced.headers['x-microgate-dropped']).toBe('tool_choice');
    expect(seen[seen.length - 1]!.tool_choice).toBe('auto');
    const claude = await request(`${s.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'cerebras/llama-3.3-70b', max_tokens: 20, tool_choice: { type: 'any' }, tools: [{ name: 'w', input_schema: { type: 'object', properties: {} } }], messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(claude.statusCode).toBe(200);
    await claude.body.text();
    expect(seen[seen.length - 1]!.tool_choice).toBe('auto');
    const auto = await post({ model: 'cerebras/llama-3.3-70b', tool_choice: 'auto', tools, messages: [{ role: 'user', content: 'hi' }] });
    expect(auto.statusCode).toBe(200);
    await auto.body.text();
    expect(auto.headers['x-microgate-dropped']).toBeUndefined();
  });

  it('Mistral: tool-call ids from other providers become nine alphanumerics, the call and its answer alike', async () => {
    const history = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc123XYZ_from_openai', type: 'function', function: { name: 'w', arguments: '{}' } }, { id: 'toolu_01Anthropic', type: 'function', function: { name: 'w', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_abc123XYZ_from_openai', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_01Anthropic', content: 'rain' },
    ];
    const res = await post({ model: 'mistral/mistral-small-latest', messages: history });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const sent = seen[0]!.messages as Array<Record<string, unknown>>;
    const callIds = (sent[1]!.tool_calls as Array<{ id: string }>).map((c) => c.id);
    expect(callIds.every((id) => /^[a-zA-Z0-9]{9}$/.test(id))).toBe(true);
    expect(callIds[0]).not.toBe(callIds[1]);
    expect([sent[2]!.tool_call_id, sent[3]!.tool_call_id]).toEqual(callIds);
    // The same history is renamed the same way: a conversation stays consistent across turns.
    await (await post({ model: 'mistral/mistral-small-latest', messages: history })).body.text();
    expect((seen[1]!.messages as Array<Record<string, unknown>>)[2]!.tool_call_id).toBe(callIds[0]);
  });

  it('Mistral through the Anthropic SDK: toolu_ ids are renamed too', async () => {
    const res = await request(`${s.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'mistral/mistral-small-latest',
        max_tokens: 50,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01XyZ', name: 'w', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01XyZ', content: 'sunny' }] },
        ],
      }),
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { type: string }).type).toBe('message');
  });

  it('Perplexity: no stream_options sent; its unasked usage chunk is kept from a client that did not ask, and still counted', async () => {
    const res = await post({ model: 'perplexity/sonar', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(seen[0]).not.toHaveProperty('stream_options');
    expect(text).toContain('"hi"');
    expect(text).not.toContain('"usage"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // Records reach /metrics through the telemetry worker: poll, bounded.
    const want = /microgate_tokens_total\{provider="perplexity",model="sonar",direction="output"\} 5\b/;
    let metrics = '';
    for (let i = 0; i < 100 && !want.test(metrics); i++) {
      metrics = await (await request(`${s.gw.url}/metrics`)).body.text();
      if (!want.test(metrics)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(metrics).toMatch(want);
  });

  it("Perplexity: a client's own stream_options is taken out too (a 400 there), and its usage chunk reaches the client that asked", async () => {
    const res = await post({ model: 'perplexity/sonar', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(seen[seen.length - 1]).not.toHaveProperty('stream_options');
    expect(res.headers['x-microgate-dropped']).toBe('stream_options');
    expect(text).toContain('"usage"');
  });

  it('Perplexity through the Anthropic SDK, streamed: no stream_options either, and the usage reaches message_delta', async () => {
    const res = await request(`${s.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'perplexity/sonar', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(seen[0]).not.toHaveProperty('stream_options');
    expect(text).toContain('event: message_stop');
    expect(text).toMatch(/"output_tokens":5/);
  });

  it('an OpenAI-format stream: usage is always asked of the provider, and hidden from a client that did not ask', async () => {
    const res = await post({ model: 'groq/llama-3.1-8b-instant', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await res.body.text();
    expect(seen[0]!.stream_options).toEqual({ include_usage: true });
    expect(text).not.toContain('"usage"');
    const asked = await post({ model: 'groq/llama-3.1-8b-instant', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    expect(await asked.body.text()).toContain('"usage":{"prompt_tokens":11');
  });

  it('a local server (ollama) needs no key, and is sent none', async () => {
    const res = await post({ model: 'ollama/llama3.2', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(seen[0]!._auth).toBeNull();
  });

  it('forwardHeaders passes the OpenAI organization and project on, never the client\'s credentials or framing', async () => {
    const res = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-own-key', 'openai-organization': 'org-123', 'openai-project': 'proj_abc', accept: 'application/json', cookie: 'session=1', 'x-microgate-timeout-ms': '5000', 'x-trace-id': 't-1' },
      body: JSON.stringify({ model: 'fwd/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const got = h.lastHeaders;
    expect(got['openai-organization']).toBe('org-123');
    expect(got['openai-project']).toBe('proj_abc');
    expect(got['x-trace-id']).toBe('t-1');
    expect(got.authorization).toBe('Bearer fwd-key-0123456789');
    expect(got.cookie).toBeUndefined();
    expect(got['x-microgate-timeout-ms']).toBeUndefined();
    expect(got['content-type']).toBe('application/json');
  });

  it('a whole stream in one write still has its usage counted (the first events are scanned too)', async () => {
    h.handle((_req, res) => {
      const chunk = (o: object) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', ...o })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }) + chunk({ choices: [], usage: { prompt_tokens: 13, completion_tokens: 29, total_tokens: 42 } }) + 'data: [DONE]\n\n');
    });
    const res = await post({ model: 'onechunk/m', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    await res.body.text();
    const want = /microgate_tokens_total\{provider="onechunk",model="m",direction="output"\} 29\b/;
    let metrics = '';
    for (let i = 0; i < 100 && !want.test(metrics); i++) {
      metrics = await (await request(`${s.gw.url}/metrics`)).body.text();
      if (!want.test(metrics)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(metrics).toMatch(want);
  });
});
