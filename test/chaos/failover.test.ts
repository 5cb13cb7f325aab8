// Chaos: the mock fleet injects faults under concurrent load (thousands of requests, hundreds in
// flight) and each scenario asserts counts: client successes, attempts per provider and key, what
// the client saw. Never timings.
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import type { ConfigInput } from '../../src/config/schema.ts';
import { reweigh } from '../../src/upstream/adaptive.ts';
import type { MockConfig, MockHandle } from '../../mock-providers/index.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { eventually } from '../helpers/waits.ts';

const agent = new Agent({ connections: 512, pipelining: 1 });
let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface Reply {
  status: number;
  provider: string | undefined;
  attempts: number;
  route: string;
  text: string;
}

async function call(gwUrl: string, model: string, opts: { stream?: boolean; headers?: Record<string, string>; signal?: AbortSignal; body?: Record<string, unknown>; anthropic?: boolean } = {}): Promise<Reply> {
  const res = await request(`${gwUrl}${opts.anthropic === true ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({ model, stream: opts.stream ?? false, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }], ...opts.body }),
    signal: opts.signal,
  });
  const text = await res.body.text();
  const h = (n: string) => res.headers[n] as string | undefined;
  return { status: res.statusCode, provider: h('x-microgate-provider'), attempts: Number(h('x-microgate-attempts') ?? 0), route: h('x-microgate-route') ?? '', text };
}

/** `total` calls with at most `inFlight` outstanding at once. */
async function load(total: number, inFlight: number, one: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const out: Reply[] = new Array(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      out[i] = await one(i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return out;
}

const count = <T>(xs: T[], f: (x: T) => boolean) => xs.reduce((n, x) => n + (f(x) ? 1 : 0), 0);
const provider = (m: MockHandle, keys: string[], extra: Record<string, unknown> = {}) => ({ baseUrl: m.baseUrl, keys: keys.map((k) => ({ name: k, value: k })), ...extra });

async function start(mocks: Record<string, MockConfig>, config: (m: Record<string, MockHandle>) => Omit<ConfigInput, 'version'>): Promise<Stack> {
  stack = await startStack(mocks, (m) => ({ version: 1, ...config(m) }));
  return stack;
}

describe('chaos: failover under load', () => {
  it('across wire formats: an Anthropic primary with 25% 529 and 10% 500 falls over to an OpenAI provider, for both dialects, streamed and not', async () => {
    const s = await start(
      { claude: { seed: 11, errorRate: 0.35, errorStatuses: [529, 529, 529, 529, 529, 500, 500], streamChunks: 4 }, gpt: { streamChunks: 4 } },
      (m) => ({
        providers: {
          claude: { ...provider(m.claude!, ['c1']), type: 'anthropic', retry: { maxRetries: 1, baseMs: 1, capMs: 5 } },
          gpt: provider(m.gpt!, ['g1']),
        },
        models: { best: { targets: [{ provider: 'claude', model: 'claude-m' }], fallbacks: ['gpt/gpt-m'] } },
        routing: { circuit: { consecutiveFailures: 1000, errorRate: 1, minRequests: 100000 } },
      }),
    );
    const replies = await load(1200, 150, (i) => call(s.gw.url, 'best', { anthropic: i % 2 === 1, stream: i % 4 >= 2 }));
    expect(count(replies, (r) => r.status === 200)).toBe(1200);
    // Every stream ended as its dialect ends a complete stream, never with an error event.
    for (let i = 0; i < replies.length; i++) {
      if (i % 4 < 2) continue;
      const text = replies[i]!.text;
      if (i % 2 === 1) expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
      else expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(text.includes('"error"')).toBe(false);
    }
    const c = s.mocks.claude!.stats();
    const g = s.mocks.gpt!.stats();
    expect(c.requests + g.requests).toBe(replies.reduce((n, r) => n + r.attempts, 0));
    expect(count(replies, (r) => r.provider === 'gpt')).toBe(g.requests);
    expect(g.requests).toBeGreaterThan(0);
    expect(c.byPath['/v1/messages']).toBe(c.requests);
    expect(g.byPath['/v1/chat/completions']).toBe(g.requests);
  });

  it('a chain of three formats: Bedrock throttling 40%, then Gemini failing 30%, then OpenAI; both dialects, streamed and not', async () => {
    const s = await start(
      {
        aws: { seed: 5, errorRate: 0.4, errorStatuses: [429], streamChunks: 4 },
        gem: { seed: 6, errorRate: 0.3, errorStatuses: [503, 500], streamChunks: 4 },
        gpt: { streamChunks: 4 },
      },
      (m) => ({
        providers: {
          br: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'iam', accessKeyId: 'AKIDCHAOS', secretAccessKey: 'mock-secret' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
          gem: { type: 'gemini', baseUrl: `${m.gem!.url}/v1beta`, keys: [{ name: 'g', value: 'gemini-chaos' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
          gpt: provider(m.gpt!, ['o1']),
        },
        models: { chain: { targets: [{ provider: 'br', model: 'anthropic.claude-3-5-haiku-20241022-v1:0' }], fallbacks: ['gem/gemini-m', 'gpt/gpt-m'] } },
        // Every failure here is transient: no circuit or resting key may take a provider out of the chain.
        routing: { circuit: { consecutiveFailures: 100000, errorRate: 1, minRequests: 100000 }, keyCooldown: { rateLimitedMs: 1 }, retryBudget: { ratio: 1, minPerSecond: 100000 } },
      }),
    );
    const replies = await load(1200, 150, (i) => call(s.gw.url, 'chain', { anthropic: i % 2 === 1, stream: i % 4 >= 2 }));
    expect(count(replies, (r) => r.status === 200)).toBe(1200);
    for (let i = 0; i < replies.length; i++) {
      if (i % 4 < 2) continue;
      const text = replies[i]!.text;
      if (i % 2 === 1) expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
      else expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    }
    const [b, g, o] = [s.mocks.aws!.stats(), s.mocks.gem!.stats(), s.mocks.gpt!.stats()];
    // Each provider saw exactly the attempts the gateway reports, and each one answered who it says.
    expect(b.requests + g.requests + o.requests).toBe(replies.reduce((n, r) => n + r.attempts, 0));
    expect(count(replies, (r) => r.provider === 'br')).toBe(b.byStatus['200'] ?? 0);
    expect(count(replies, (r) => r.provider === 'gem')).toBe(g.byStatus['200'] ?? 0);
    expect(count(replies, (r) => r.provider === 'gpt')).toBe(o.requests);
    // Every request Bedrock did not answer went on to Gemini (some skipped Bedrock while its key rested after a
    // 429), and every one Gemini did not answer, to OpenAI.
    expect(b.byStatus['429']).toBeGreaterThan(0);
    expect(g.requests).toBe(1200 - (b.byStatus['200'] ?? 0));
    expect(o.requests).toBe(g.requests - (g.byStatus['200'] ?? 0));
    expect(o.requests).toBeGreaterThan(50);
    expect(b.byStatus['403']).toBeUndefined();
  });

  it('primary with 30% 429 and 10% 5xx, fallback healthy: every client succeeds', async () => {
    const s = await start(
      { primary: { seed: 7, errorRate: 0.4, errorStatuses: [429, 429, 429, 500], retryAfterSec: 1 }, backup: {} },
      (m) => ({
        providers: { primary: provider(m.primary!, ['p1', 'p2']), backup: provider(m.backup!, ['b1']) },
        models: { best: { targets: [{ provider: 'primary', model: 'm' }], fallbacks: ['backup/m'] } },
      }),
    );
    const replies = await load(3000, 200, () => call(s.gw.url, 'best'));
    expect(count(replies, (r) => r.status === 200)).toBe(3000);
    const p = s.mocks.primary!.stats();
    const b = s.mocks.backup!.stats();
    // Every attempt the gateway reports reached a mock, and each one is in the clients' route headers.
    expect(p.requests + b.requests).toBe(replies.reduce((n, r) => n + r.attempts, 0));
    expect(count(replies, (r) => r.provider === 'backup')).toBe(b.requests);
    expect(count(replies, (r) => r.provider === 'primary')).toBe(p.byStatus['200'] ?? 0);
    // Both keys of the primary served, and its 429s and 500s were absorbed, not passed on.
    expect(p.byKey.p1).toBeGreaterThan(0);
    expect(p.byKey.p2).toBeGreaterThan(0);
    expect((p.byStatus['429'] ?? 0) + (p.byStatus['500'] ?? 0)).toBeGreaterThan(0);
    expect(replies.filter((r) => r.route.includes(':429') || r.route.includes(':500')).every((r) => r.route.endsWith(':200'))).toBe(true);
  });

  it('a key that always answers 401 is not used again within its cooldown; no client sees an error', async () => {
    const s = await start({ main: { keys: { bad: { status: 401 } } } }, (m) => ({
      providers: { main: provider(m.main!, ['bad', 'good']) },
    }));
    const first = await load(1000, 100, () => call(s.gw.url, 'main/m'));
    expect(count(first, (r) => r.status === 200)).toBe(1000);
    const badAfterFirstWave = s.mocks.main!.stats().byKey.bad ?? 0;
    // At most the requests already in flight when the first 401 came back used it.
    expect(badAfterFirstWave).toBeGreaterThan(0);
    expect(badAfterFirstWave).toBeLessThanOrEqual(100);
    const second = await load(1000, 100, () => call(s.gw.url, 'main/m'));
    expect(count(second, (r) => r.status === 200)).toBe(1000);
    expect(s.mocks.main!.stats().byKey.bad ?? 0).toBe(badAfterFirstWave);
    expect(first.filter((r) => r.route.includes('#bad:401')).every((r) => r.route.endsWith('#good:200'))).toBe(true);
  });

  it('a primary that times out: the fallback answers within the deadline', async () => {
    const s = await start({ primary: { latencyMs: 10_000 }, backup: {} }, (m) => ({
      providers: {
        primary: provider(m.primary!, ['p1'], { timeouts: { connectMs: 1000, firstByteMs: 200, idleMs: 1000 }, retry: { maxRetries: 1, baseMs: 10, capMs: 50 } }),
        backup: provider(m.backup!, ['b1']),
      },
      models: { best: { targets: [{ provider: 'primary', model: 'm' }], fallbacks: ['backup/m'] } },
    }));
    const replies = await load(300, 150, () => call(s.gw.url, 'best', { headers: { 'x-microgate-timeout-ms': '5000' } }));
    expect(count(replies, (r) => r.status === 200 && r.provider === 'backup')).toBe(300);
    // A try timing out (UT), a retry while the key's circuit is still closed (it opens within the first
    // wave of timeouts, and a retry then goes to the backup instead), then the backup; once the circuit
    // is open, the backup at once. (Skipped targets show with their reason: "primary/m:open".)
    expect(replies.every((r) => /^(primary\/m:open > |(primary\/m#p1:UT > ){1,2})?backup\/m#b1:200$/.test(r.route))).toBe(true);
    expect(count(replies, (r) => r.attempts >= 2)).toBeGreaterThan(0);
    expect(count(replies, (r) => r.attempts === 3)).toBeLessThanOrEqual(100);
    expect(s.mocks.primary!.stats().requests).toBe(replies.reduce((n, r) => n + r.attempts - 1, 0));
  });

  it('a primary refusing connections trips its circuit: later requests go straight to the fallback', async () => {
    const s = await start({ backup: {} }, (m) => ({
      providers: {
        // Nothing listens on port 9 of loopback: every connect is refused.
        primary: { baseUrl: 'http://127.0.0.1:9/v1', keys: [{ name: 'p1', value: 'x' }], retry: { maxRetries: 1, baseMs: 1, capMs: 5 } },
        backup: provider(m.backup!, ['b1']),
      },
      models: { best: { targets: [{ provider: 'primary', model: 'm' }], fallbacks: ['backup/m'] } },
      routing: { circuit: { consecutiveFailures: 3, cooldownMs: 60_000 } },
    }));
    const warm = await load(20, 1, () => call(s.gw.url, 'best'));
    expect(count(warm, (r) => r.status === 200)).toBe(20);
    const later = await load(1000, 100, () => call(s.gw.url, 'best'));
    expect(count(later, (r) => r.status === 200 && r.attempts === 1 && r.route === 'primary/m:open > backup/m#b1:200')).toBe(1000);
    const stats = (await (await fetch(`${s.gw.url}/admin/stats`)).json()) as { circuits: Record<string, { state: string }> };
    expect(stats.circuits['primary/p1/m']?.state).toBe('open');
  });

  it('every provider failing: each client gets a clear 502/503/504 naming the attempts, and none hangs', async () => {
    const s = await start({ a: { status: 503 }, b: { errorRate: 1, errorStatuses: [500, 502] }, c: { resetRate: 1 } }, (m) => ({
      providers: { a: provider(m.a!, ['a1']), b: provider(m.b!, ['b1']), c: provider(m.c!, ['c1']) },
      models: { best: { targets: [{ provider: 'a', model: 'm' }], fallbacks: ['b/m', 'c/m'] } },
      routing: { retry: { maxRetries: 1, baseMs: 1, capMs: 5 } },
    }));
    const replies = await load(600, 200, () => call(s.gw.url, 'best'));
    expect(count(replies, (r) => [502, 503, 504].includes(r.status))).toBe(600);
    for (const r of replies) {
      const err = (JSON.parse(r.text) as { error: { message: string; code: string } }).error;
      // Each error after several attempts names them; once every circuit is open, one attempt at the
      // least bad target, whose own words the client reads unchanged.
      expect(r.attempts).toBeGreaterThanOrEqual(1);
      if (r.attempts > 1) expect(err.message).toMatch(/after \d+ attempts: [a-c]\/m/);
      else expect(err.message).toMatch(/\S/);
    }
    // Before the circuits opened, requests walked the whole chain.
    expect(count(replies, (r) => r.attempts >= 3)).toBeGreaterThan(0);
    expect(s.gw.server.inFlight).toBe(0);
  });

  it('an upstream cut mid-stream: every client receives the SSE error event, none a clean end', async () => {
    const s = await start({ cut: { disconnectAfterChunks: 2 } }, (m) => ({ providers: { cut: provider(m.cut!, ['k']) } }));
    const replies = await load(400, 200, () => call(s.gw.url, 'cut/m', { stream: true }));
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.text).toMatch(/data: \{"error":\{[^\n]*"code":"upstream_reset"/);
      expect(r.text).not.toContain('[DONE]');
    }
  });

  it('clients abort during a slow upstream: each upstream request is cancelled and no socket leaks', async () => {
    const s = await start({ slow: { latencyMs: 5_000 } }, (m) => ({ providers: { slow: provider(m.slow!, ['k']) } }));
    const controllers = Array.from({ length: 150 }, () => new AbortController());
    const pending = controllers.map((c) => call(s.gw.url, 'slow/m', { signal: c.signal }).catch((e: Error) => e));
    await eventually(() => s.mocks.slow!.stats().inFlight, (n) => n === 150, 250);
    for (const c of controllers) c.abort();
    const results = await Promise.all(pending);
    expect(results.every((r) => r instanceof Error)).toBe(true);
    expect(await eventually(() => s.mocks.slow!.stats().aborted, (n) => n === 150, 250)).toBe(150);
    const pool = await eventually(
      () => Object.values(s.gw.plan.pools.stats())[0]!,
      (p) => p.running === 0 && p.pending === 0 && p.connected === 0,
      250,
    );
    expect(pool).toMatchObject({ running: 0, pending: 0, connected: 0 });
    expect(s.gw.server.inFlight).toBe(0);
  });

  it("a retry does not go to a key whose circuit opened meanwhile: the fallback gets the request", async () => {
    const s = await start({ primary: { status: 503 }, backup: {} }, (m) => ({
      providers: { primary: provider(m.primary!, ['p1'], { retry: { maxRetries: 2, baseMs: 1, capMs: 5 } }), backup: provider(m.backup!, ['b1']) },
      models: { best: { targets: [{ provider: 'primary', model: 'm' }], fallbacks: ['backup/m'] } },
      // The first failure opens the key's circuit.
      routing: { circuit: { consecutiveFailures: 1, cooldownMs: 60_000 } },
    }));
    const r = await call(s.gw.url, 'best');
    expect(r.status).toBe(200);
    expect(r.route).toBe('primary/m#p1:503 > backup/m#b1:200');
    expect(s.mocks.primary!.stats().requests).toBe(1);
  });

  it('the primary recovers: traffic returns to it once its circuit closes', async () => {
    const s = await start({ primary: { status: 503 }, backup: {} }, (m) => ({
      providers: { primary: provider(m.primary!, ['p1'], { retry: { maxRetries: 0, baseMs: 1, capMs: 5 } }), backup: provider(m.backup!, ['b1']) },
      models: { best: { targets: [{ provider: 'primary', model: 'm' }], fallbacks: ['backup/m'] } },
      routing: { circuit: { consecutiveFailures: 3, cooldownMs: 300 } },
    }));
    const down = await load(200, 20, () => call(s.gw.url, 'best'));
    expect(count(down, (r) => r.status === 200 && r.provider === 'backup')).toBe(200);
    // While the circuit is open, the primary is not even tried.
    expect(count(down, (r) => r.attempts === 1)).toBeGreaterThan(100);

    s.mocks.primary!.setConfig({ name: 'primary' });
    // After the cooldown one probe goes through, succeeds, and the circuit closes.
    let lastWave: Reply[] = [];
    for (let i = 0; i < 100; i++) {
      lastWave = await load(50, 10, () => call(s.gw.url, 'best'));
      if (lastWave.every((r) => r.provider === 'primary')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(count(lastWave, (r) => r.status === 200 && r.provider === 'primary')).toBe(50);
  });

  it('adaptive weights move traffic away from a failing target and keep a share for it', async () => {
    const s = await start({ good: {}, flaky: { seed: 3, errorRate: 0.6, errorStatuses: [503] } }, (m) => ({
      providers: { good: provider(m.good!, ['g1']), flaky: provider(m.flaky!, ['f1'], { retry: { maxRetries: 0, baseMs: 1, capMs: 5 } }) },
      models: { best: { targets: [{ provider: 'good', model: 'm' }, { provider: 'flaky', model: 'm' }] } },
      routing: { adaptive: { enabled: false, minShare: 0.05 }, circuit: { consecutiveFailures: 1000, errorRate: 1, minRequests: 100_000 } },
    }));
    await load(600, 50, () => call(s.gw.url, 'best'));
    reweigh(s.gw.plan);
    const weights = ((await (await fetch(`${s.gw.url}/admin/stats`)).json()) as { routeWeights: Record<string, Record<string, number>> }).routeWeights.best!;
    expect(weights['flaky/m']!).toBeLessThan(weights['good/m']!);
    expect(weights['flaky/m']!).toBeGreaterThan(0);
    const before = s.mocks.flaky!.stats().requests;
    const after = await load(1000, 50, () => call(s.gw.url, 'best'));
    expect(count(after, (r) => r.status === 200)).toBe(1000);
    // First attempts at the flaky target now follow its reduced share (well under the configured half).
    expect(s.mocks.flaky!.stats().requests - before).toBeLessThan(400);
  });
});
