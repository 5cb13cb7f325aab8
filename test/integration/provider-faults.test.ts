// Provider faults and what the gateway makes of them. A stream is committed to the client (no failover after) only
// once part of its answer has come: a provider that fails right after a content-free start (OpenAI's
// role chunk, Anthropic's message_start: LiteLLM #5512) is failed over like one that failed before its
// first byte. A stream that fails after its answer started counts against the provider's circuit (it
// used to count as the success its first event was). A 429 rests the key and leaves the circuit alone.
// A 503 that says when to come back is not asked again sooner.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
/** OpenRouter's mid-stream error: a chunk with an `error` after its id, then [DONE]. */
let openRouter: Server;
beforeAll(async () => {
  openRouter = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const head = '"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m"';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        `data: {${head},"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n` +
          `data: {${head},"error":{"code":502,"message":"Upstream provider failed"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n` +
          'data: [DONE]\n\n',
      );
    });
  });
  await new Promise<void>((r) => openRouter.listen(0, '127.0.0.1', r));
  const orPort = (openRouter.address() as { port: number }).port;
  s = await startStack(
    {
      good: {},
      // Each fails every stream: an error chunk right after the role chunk or message_start, or a cut
      // after one delta; `limited` answers 429 to everything.
      erring: { streamErrorType: 'overloaded_error' },
      cutting: { disconnectAfterChunks: 1, streamChunks: 6 },
      limited: { status: 429 },
      busy: { status: 503, unavailableRetryAfterSec: 5 },
    },
    (m) => ({
      version: 1,
      providers: {
        good: { baseUrl: m.good!.baseUrl, keys: [{ name: 'k', value: 'good-key-0123456789' }] },
        erring: { baseUrl: m.erring!.baseUrl, keys: [{ name: 'k', value: 'erring-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
        claude: { type: 'anthropic', baseUrl: m.erring!.baseUrl, keys: [{ name: 'k', value: 'claude-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
        cutting: { baseUrl: m.cutting!.baseUrl, keys: [{ name: 'k', value: 'cutting-key-0123456789' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
        limited: { baseUrl: m.limited!.baseUrl, keys: [{ name: 'k', value: 'limited-key-0123456789' }] },
        busy: { baseUrl: m.busy!.baseUrl, keys: [{ name: 'k', value: 'busy-key-0123456789' }], retry: { maxRetries: 2, baseMs: 1, capMs: 100 } },
        openrouter: { baseUrl: `http://127.0.0.1:${orPort}/v1`, keys: [{ name: 'k', value: 'or-key-0123456789abcdef' }] },
      },
      models: {
        'openai-first': { targets: [{ provider: 'erring', model: 'm' }], fallbacks: ['good/m'] },
        'claude-first': { targets: [{ provider: 'claude', model: 'claude-test' }], fallbacks: ['good/m'] },
        // Declared: its circuit exists from the start, whatever it records.
        'limited-only': { targets: [{ provider: 'limited', model: 'm' }] },
        'busy-first': { targets: [{ provider: 'busy', model: 'm' }], fallbacks: ['good/m'] },
      },
      routing: { circuit: { consecutiveFailures: 3, minRequests: 1000, cooldownMs: 60_000 } },
    }),
  );
});
afterAll(async () => {
  await s.close();
  openRouter.close();
});

async function chatStream(model: string): Promise<{ status: number; route: string; body: string }> {
  const r = await request(`${s.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: r.statusCode, route: String(r.headers['x-microgate-route']), body: await r.body.text() };
}

type Logged = { error: string; attempts: Array<{ provider: string; status: number; flag?: string }> };
/** The newest request-log record whose first attempt went to `provider` (the log is written off the request path: polled). */
async function lastLogged(provider: string): Promise<Logged | undefined> {
  for (let i = 0; i < 100; i++) {
    const log = (await (await request(`${s.gw.url}/admin/requests?limit=1`)).body.json()) as { data: Logged[] };
    if (log.data[0]?.attempts[0]?.provider === provider) return log.data[0];
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

const circuit = async (name: string): Promise<string | undefined> => {
  const stats = (await (await request(`${s.gw.url}/admin/stats`)).body.json()) as { circuits: Record<string, { state: string }> };
  return Object.entries(stats.circuits).find(([id]) => id.startsWith(name))?.[1].state;
};

describe('a stream that fails before any part of its answer fails over', () => {
  it('an OpenAI-format provider whose error chunk follows its role chunk: the fallback answers', async () => {
    const r = await chatStream('openai-first');
    expect(r.status).toBe(200);
    expect(r.route).toBe('erring/m#k:529 > good/m#k:200');
    expect(r.body).not.toContain('"error"');
    expect(r.body).toContain('data: [DONE]');
  });

  it("Anthropic's overloaded_error after message_start: an OpenAI client (translated) and an Anthropic client (relayed) get the fallback's answer", async () => {
    const r = await chatStream('claude-first');
    expect(r.route).toBe('claude/claude-test#k:529 > good/m#k:200');
    expect(r.body).not.toContain('"error"');
    const claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'unused', maxRetries: 0 });
    const { data, response } = await claude.messages.stream({ model: 'claude-first', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-microgate-route')).toBe('claude/claude-test#k:529 > good/m#k:200');
    const message = await data.finalMessage();
    expect(message.content[0]!.type).toBe('text');
    expect(message.stop_reason).toBe('end_turn');
  });
});

describe("what counts against a provider's circuit", () => {
  it('streams cut after their answer started: each client gets the error event, and the third opens the circuit; the log and /metrics say UR', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await chatStream('cutting/m');
      expect(r.status).toBe(200);
      expect(r.body).toContain('"error"');
    }
    expect(await circuit('cutting/')).toBe('open');
    expect((await lastLogged('cutting'))?.attempts[0]).toMatchObject({ status: 200, flag: 'UR' });
    const metrics = await (await request(`${s.gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(/microgate_upstream_attempts_total\{provider="cutting",model="m",result="UR"\} 3/);
  });

  it("a relayed stream whose provider sent its own error event, then [DONE] (OpenRouter), is a failure: in the log, and in its circuit's window", async () => {
    const r = await chatStream('openrouter/m');
    expect(r.body).toContain('Upstream provider failed');
    expect(r.body.endsWith('data: [DONE]\n\n')).toBe(true);
    const logged = await lastLogged('openrouter');
    expect(logged?.error).toBe('upstream_error');
    expect(logged?.attempts[0]).toMatchObject({ status: 200, flag: 'U5' });
    const stats = (await (await request(`${s.gw.url}/admin/stats`)).body.json()) as { circuits: Record<string, { errorRate: number }> };
    expect(Object.entries(stats.circuits).find(([id]) => id.startsWith('openrouter/'))?.[1].errorRate).toBe(1);
  });

  it('429s rest the key and leave its circuit closed', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'limited-only', messages: [{ role: 'user', content: 'hi' }] }) });
      await r.body.text();
      expect(r.statusCode).toBe(429);
    }
    expect(await circuit('limited/')).toBe('closed');
  });
});

describe('Retry-After on a 503', () => {
  it('longer than the backoff allows: not retried at once, the next target serves', async () => {
    // It was retried twice, 33 and 119 ms after saying 5 s.
    const r = await request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'busy-first', messages: [{ role: 'user', content: 'hi' }] }) });
    await r.body.text();
    expect(r.headers['x-microgate-route']).toBe('busy/m#k:503 > good/m#k:200');
  });
});
