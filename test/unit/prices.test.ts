import { describe, it, expect, afterEach, vi } from 'vitest';
import { calcPrice, findProvider, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';
import { PriceBook, MAX_CACHED_MODELS, type PriceOverride, type UsageForPrice } from '../../src/governance/prices.ts';

// Expected figures come from the catalog itself (its model entries, or its own calcPrice), so a bump of
// @pydantic/genai-prices that changes a price does not break these tests; only the "anchors" below are
// typed by hand, each with the provider's pricing page.

const NO_OVERRIDES: ReadonlyMap<string, ReadonlyMap<string, PriceOverride>> = new Map();
const book = () => new PriceBook(NO_OVERRIDES);

/** The gateway's provider types and the catalog's ids, as src/governance/prices.ts maps them. */
const MAPPED: readonly [string, string][] = [
  ['openai', 'openai'],
  ['anthropic', 'anthropic'],
  ['gemini', 'google'],
  ['bedrock', 'aws'],
  ['azure-openai', 'azure'],
  ['groq', 'groq'],
  ['mistral', 'mistral'],
  ['deepseek', 'deepseek'],
  ['together', 'together'],
  ['fireworks', 'fireworks'],
  ['xai', 'x-ai'],
  ['cerebras', 'cerebras'],
  ['perplexity', 'perplexity'],
  ['openrouter', 'openrouter'],
];

function model(providerId: string, id: string): ModelInfo {
  const m = findProvider({ providerId })?.models.find((x) => x.id === id);
  if (m === undefined) throw new Error(`catalog has no ${providerId}/${id}`);
  return m;
}

/** A model's flat prices (USD/Mtok) as the catalog publishes them. */
function flat(providerId: string, id: string): Record<string, number> {
  const p = model(providerId, id).prices;
  if (Array.isArray(p)) throw new Error(`${providerId}/${id} has dated prices`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(p)) if (typeof v === 'number') out[k] = v;
  return out;
}

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0): UsageForPrice => ({ input, output, cacheRead, cacheWrite });

/** The catalog's own answer: its input_tokens include cache reads and writes. */
function catalogCost(providerId: string, name: string, u: UsageForPrice, at?: Date): number | null {
  const r = calcPrice(
    { input_tokens: u.input + u.cacheRead + u.cacheWrite, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite },
    name,
    at === undefined ? { providerId } : { providerId, timestamp: at },
  );
  return r === null ? null : r.total_price;
}

function expectUsd(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-12 + 1e-15);
}

describe('PriceBook: known models, priced as the catalog publishes them', () => {
  const u = usage(12_345, 678);

  it('OpenAI, Anthropic, Gemini, Groq, Mistral, xAI, Cerebras: input and output at the catalog prices', () => {
    const b = book();
    const cases: [string, string, string][] = [
      ['openai', 'openai', 'gpt-4o'],
      ['openai', 'openai', 'gpt-4.1'],
      ['anthropic', 'anthropic', 'claude-opus-4-1'],
      ['gemini', 'google', 'gemini-2.5-flash'],
      ['groq', 'groq', 'llama-3.3-70b-versatile'],
      ['mistral', 'mistral', 'mistral-small-latest'],
      ['xai', 'x-ai', 'grok-3'],
      ['cerebras', 'cerebras', 'gpt-oss-120b'],
    ];
    for (const [type, pid, id] of cases) {
      const p = flat(pid, id);
      expect(p.input_mtok, `${pid}/${id}`).toBeGreaterThan(0);
      expectUsd(b.costUsd(type, type, id, u), (u.input * p.input_mtok! + u.output * p.output_mtok!) / 1e6);
    }
  });

  it('anchors: a few list prices typed from the providers’ pages still match the catalog', () => {
    const b = book();
    // openai.com/api/pricing: gpt-4o $2.50 input, $1.25 cached input, $10.00 output per 1M tokens.
    expectUsd(b.costUsd('openai', 'oa', 'gpt-4o', usage(1e6, 1e6, 1e6)), 2.5 + 10 + 1.25);
    // docs.claude.com/en/docs/about-claude/pricing: Claude Haiku 4.5 $1 input, $1.25 5-minute cache
    // write, $0.10 cache hit, $5 output per MTok.
    expectUsd(b.costUsd('anthropic', 'an', 'claude-haiku-4-5', usage(1e6, 1e6, 1e6, 1e6)), 1 + 5 + 0.1 + 1.25);
    // ai.google.dev/gemini-api/docs/pricing: Gemini 2.5 Pro $1.25 / $10 for prompts ≤ 200k tokens,
    // $2.50 / $15 above.
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', usage(100_000, 1e6)), 0.125 + 10);
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', usage(300_000, 1e6)), 0.75 + 15);
  });

  it('OpenRouter, Together, Fireworks and Perplexity ids (Perplexity adds its per-request fee)', () => {
    const b = book();
    for (const [type, pid, name] of [
      ['openrouter', 'openrouter', 'openai/gpt-4o'],
      ['together', 'together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo'],
      ['fireworks', 'fireworks', 'accounts/fireworks/models/llama-v3p1-8b-instruct'],
      ['perplexity', 'perplexity', 'sonar'],
    ] as const) {
      const want = catalogCost(pid, name, u);
      expect(want, name).not.toBeNull();
      expectUsd(b.costUsd(type, type, name, u), want!);
    }
    const sonar = flat('perplexity', 'sonar');
    expect(sonar.requests_kcount).toBeGreaterThan(0);
    expectUsd(b.costUsd('perplexity', 'pp', 'sonar', usage(0, 0)), sonar.requests_kcount! / 1000);
  });
});

describe('PriceBook: cache reads and writes', () => {
  it('are priced apart from input and from each other (Anthropic)', () => {
    const p = flat('anthropic', 'claude-haiku-4-5');
    expect(p.cache_read_mtok).toBeLessThan(p.input_mtok!);
    expect(p.cache_write_mtok).toBeGreaterThan(p.input_mtok!);
    const u = usage(1_000, 500, 40_000, 3_000);
    const want = (1_000 * p.input_mtok! + 500 * p.output_mtok! + 40_000 * p.cache_read_mtok! + 3_000 * p.cache_write_mtok!) / 1e6;
    expectUsd(book().costUsd('anthropic', 'an', 'claude-haiku-4-5', u), want);
    expectUsd(book().costUsd('anthropic', 'an', 'claude-haiku-4-5', u), catalogCost('anthropic', 'claude-haiku-4-5', u)!);
  });

  it('cache reads of OpenAI models are discounted; writes (not billed by OpenAI) are input', () => {
    const p = flat('openai', 'gpt-4o');
    expect(p.cache_write_mtok).toBeUndefined();
    const u = usage(2_000, 100, 8_000, 500);
    expectUsd(book().costUsd('openai', 'oa', 'gpt-4o', u), ((2_000 + 500) * p.input_mtok! + 100 * p.output_mtok! + 8_000 * p.cache_read_mtok!) / 1e6);
  });

  it('without cache prices in the catalog, cache tokens cost the input price', () => {
    const p = flat('groq', 'llama-3.3-70b-versatile');
    expect(p.cache_read_mtok).toBeUndefined();
    expect(p.cache_write_mtok).toBeUndefined();
    const b = book();
    expectUsd(b.costUsd('groq', 'gq', 'llama-3.3-70b-versatile', usage(100, 10, 900, 50)), b.costUsd('groq', 'gq', 'llama-3.3-70b-versatile', usage(1_050, 10))!);
  });
});

describe('PriceBook: long-context tiers', () => {
  const tiered = (x: ModelPrice[string]) => x as { base: number; tiers: { start: number; price: number }[] };

  it('switch on the total input, cached tokens included (Gemini 2.5 Pro)', () => {
    const p = model('google', 'gemini-2.5-pro').prices as ModelPrice;
    const inP = tiered(p.input_mtok);
    const outP = tiered(p.output_mtok);
    const crP = tiered(p.cache_read_mtok);
    const start = inP.tiers[0]!.start;
    expect(inP.tiers[0]!.price).toBeGreaterThan(inP.base);
    const b = book();
    // At the threshold: base prices.
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', usage(start, 1_000)), (start * inP.base + 1_000 * outP.base) / 1e6);
    // One token past it: every token at the long-context prices.
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', usage(start + 1, 1_000)), ((start + 1) * inP.tiers[0]!.price + 1_000 * outP.tiers[0]!.price) / 1e6);
    // Past it only with the cached part counted: the tier applies to the cache reads too.
    const u = usage(start - 10_000, 1_000, 20_000);
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', u), ((start - 10_000) * inP.tiers[0]!.price + 1_000 * outP.tiers[0]!.price + 20_000 * crP.tiers[0]!.price) / 1e6);
    expectUsd(b.costUsd('gemini', 'gm', 'gemini-2.5-pro', u), catalogCost('google', 'gemini-2.5-pro', u)!);
  });

  it('Anthropic long-context prices (Sonnet 4.5 past 200k), cache writes included', () => {
    const b = book();
    for (const u of [usage(150_000, 2_000, 0, 50_000), usage(150_000, 2_000, 0, 50_001), usage(10, 2_000, 250_000, 0)]) {
      expectUsd(b.costUsd('anthropic', 'an', 'claude-sonnet-4-5', u), catalogCost('anthropic', 'claude-sonnet-4-5', u)!);
    }
    expect(b.costUsd('anthropic', 'an', 'claude-sonnet-4-5', usage(150_000, 0, 0, 50_001))! / 200_001).toBeGreaterThan(
      b.costUsd('anthropic', 'an', 'claude-sonnet-4-5', usage(150_000, 0, 0, 50_000))! / 200_000,
    );
  });
});

describe('PriceBook: matching model names', () => {
  const u = usage(10_000, 1_000, 2_000, 0);

  it('a dated OpenAI id costs what its model does', () => {
    const b = book();
    expect(b.costUsd('openai', 'oa', 'gpt-4o-2024-08-06', u)).toBe(b.costUsd('openai', 'oa', 'gpt-4o', u));
    expect(b.costUsd('openai', 'oa', 'gpt-4o-mini-2024-07-18', u)).toBe(b.costUsd('openai', 'oa', 'gpt-4o-mini', u));
    expect(b.costUsd('anthropic', 'an', 'claude-3-5-haiku-20241022', u)).toBe(b.costUsd('anthropic', 'an', 'claude-3-5-haiku-latest', u));
  });

  it('Bedrock ids: plain, with a cross-region prefix, and as an inference-profile ARN', () => {
    const b = book();
    const p = flat('aws', 'regional.anthropic.claude-3-5-haiku-20241022-v1:0');
    const want = (10_000 * p.input_mtok! + 1_000 * p.output_mtok! + 2_000 * p.cache_read_mtok!) / 1e6;
    for (const id of [
      'anthropic.claude-3-5-haiku-20241022-v1:0',
      'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
    ]) {
      expectUsd(b.costUsd('bedrock', 'br', id, u), want);
    }
    expect(b.costUsd('bedrock', 'br', 'amazon.nova-pro-v1:0', u)).toBeGreaterThan(0);
  });

  it('Gemini with and without the API’s "models/" prefix', () => {
    const b = book();
    expect(b.costUsd('gemini', 'gm', 'models/gemini-2.5-flash', u)).toBe(b.costUsd('gemini', 'gm', 'gemini-2.5-flash', u));
    expect(b.costUsd('gemini', 'gm', 'gemini-2.5-flash', u)).toBeGreaterThan(0);
  });

  it('Azure model names, Azure spellings (gpt-35-turbo) included', () => {
    const b = book();
    expect(b.costUsd('azure-openai', 'az', 'gpt-4o', u)).toBe(b.costUsd('openai', 'oa', 'gpt-4o', u));
    expect(b.costUsd('azure-openai', 'az', 'gpt-35-turbo', u)).toBe(catalogCost('azure', 'gpt-35-turbo', u));
    expect(b.costUsd('azure-openai', 'az', 'gpt-35-turbo', u)).toBeGreaterThan(0);
  });

  it('every model of every mapped provider costs what the catalog’s calcPrice says', () => {
    const b = book();
    // Two usages (below and above every long-context threshold) at three instants: before and inside
    // DeepSeek's time-of-day windows, and now.
    const usages = [usage(3_000, 700, 1_100, 400), usage(1_200_000, 5_000, 30_000, 20_000)];
    const instants = [new Date('2026-10-01T02:00:00Z'), new Date('2026-10-01T12:00:00Z'), new Date('2026-10-01T20:00:00Z'), new Date()];
    let compared = 0;
    for (const [type, pid] of MAPPED) {
      const provider = findProvider({ providerId: pid });
      expect(provider?.id, `catalog provider for ${type}`).toBe(pid);
      for (const m of provider!.models) {
        for (const u of usages) {
          for (const at of instants) {
            let want: number | null;
            try {
              want = catalogCost(pid, m.id, u, at);
            } catch {
              want = null; // the catalog cannot price its own entry: so neither do we
            }
            const got = b.costUsd(type, `sweep-${type}`, m.id, u, at.getTime());
            if (want === null) expect(got, `${pid}/${m.id}`).toBeNull();
            else if (got === null) expect(want, `${pid}/${m.id}: priced by audio, images or pages only`).toBe(0);
            else {
              expect(Math.abs(got - want), `${pid}/${m.id} at ${at.toISOString()}`).toBeLessThanOrEqual(Math.abs(want) * 1e-12 + 1e-15);
              compared++;
            }
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(900 * usages.length * instants.length); // 982 models of 1,694 in 0.1.8
  });
});

describe('PriceBook: prices that depend on the date or the time of day', () => {
  it('DeepSeek: standard hours and off-peak hours, as the catalog has them', () => {
    const m = model('deepseek', 'deepseek-chat');
    expect(Array.isArray(m.prices)).toBe(true);
    const b = book();
    const u = usage(100_000, 10_000, 50_000);
    const peak = new Date('2026-10-01T12:00:00Z');
    const offPeak = new Date('2026-10-01T20:00:00Z');
    expectUsd(b.costUsd('deepseek', 'ds', 'deepseek-chat', u, peak.getTime()), catalogCost('deepseek', 'deepseek-chat', u, peak)!);
    expectUsd(b.costUsd('deepseek', 'ds', 'deepseek-chat', u, offPeak.getTime()), catalogCost('deepseek', 'deepseek-chat', u, offPeak)!);
    expect(b.costUsd('deepseek', 'ds', 'deepseek-chat', u, offPeak.getTime())).toBeLessThan(b.costUsd('deepseek', 'ds', 'deepseek-chat', u, peak.getTime())!);
  });

  it('a dated price change applies from its date (OpenAI o3)', () => {
    const b = book();
    const u = usage(1e6, 1e6);
    const before = new Date('2025-06-01T00:00:00Z');
    const after = new Date('2025-07-01T00:00:00Z');
    expectUsd(b.costUsd('openai', 'oa', 'o3', u, before.getTime()), catalogCost('openai', 'o3', u, before)!);
    expectUsd(b.costUsd('openai', 'oa', 'o3', u, after.getTime()), catalogCost('openai', 'o3', u, after)!);
    expect(b.costUsd('openai', 'oa', 'o3', u, after.getTime())).not.toBe(b.costUsd('openai', 'oa', 'o3', u, before.getTime()));
  });
});

describe('PriceBook: free models and models priced in other units', () => {
  it('a model the catalog lists with no price is free', () => {
    expect(model('openrouter', 'deepseek/deepseek-r1:free').prices).toEqual({});
    expect(book().costUsd('openrouter', 'or', 'deepseek/deepseek-r1:free', usage(1e6, 1e6))).toBe(0);
  });

  it('a model priced by audio hours only (Whisper) has no token price: null', () => {
    expect(flat('openai', 'whisper-1').input_mtok).toBeUndefined();
    expect(book().costUsd('openai', 'oa', 'whisper-1', usage(1e6, 1e6))).toBeNull();
  });
});

describe('PriceBook: overrides, unknown models, local servers', () => {
  const u = usage(1_000_000, 1_000_000, 1_000_000, 1_000_000);

  it('an override wins over the catalog, for its provider only', () => {
    const b = new PriceBook(
      new Map([
        ['oa-contract', new Map<string, PriceOverride>([['gpt-4o', { input: 1, output: 2, cacheRead: 0.5, cacheWrite: 1.5 }]])],
        ['oa-plain', new Map<string, PriceOverride>([['gpt-4o', { input: 3, output: 4 }]])],
      ]),
    );
    expectUsd(b.costUsd('openai', 'oa-contract', 'gpt-4o', u), 1 + 2 + 0.5 + 1.5);
    // No cache prices in the override: cache tokens at its input price.
    expectUsd(b.costUsd('openai', 'oa-plain', 'gpt-4o', u), 3 + 4 + 3 + 3);
    expectUsd(b.costUsd('openai', 'oa-other', 'gpt-4o', u), catalogCost('openai', 'gpt-4o', u)!);
    // Only the exact name is overridden; a dated id goes to the catalog.
    expectUsd(b.costUsd('openai', 'oa-contract', 'gpt-4o-2024-08-06', u), catalogCost('openai', 'gpt-4o', u)!);
  });

  it('an override prices a model the catalog does not know, and a DeepInfra model', () => {
    const b = new PriceBook(
      new Map([
        ['az', new Map<string, PriceOverride>([['my-prod-deployment', { input: 2, output: 8 }]])],
        ['di', new Map<string, PriceOverride>([['meta-llama/Meta-Llama-3.1-8B-Instruct', { input: 0.03, output: 0.05 }]])],
      ]),
    );
    expectUsd(b.costUsd('azure-openai', 'az', 'my-prod-deployment', usage(1e6, 1e6)), 10);
    expectUsd(b.costUsd('deepinfra', 'di', 'meta-llama/Meta-Llama-3.1-8B-Instruct', usage(1e6, 1e6)), 0.08);
  });

  it('an unknown model, an unknown provider type, and DeepInfra without override are null', () => {
    const b = book();
    expect(b.costUsd('openai', 'oa', 'no-such-model-xyz', u)).toBeNull();
    expect(b.costUsd('anthropic', 'an', 'gpt-4o', u)).toBeNull(); // the catalog's Anthropic does not sell it
    expect(b.costUsd('azure-openai', 'az', 'my-prod-deployment', u)).toBeNull();
    expect(b.costUsd('deepinfra', 'di', 'meta-llama/Meta-Llama-3.1-8B-Instruct', u)).toBeNull();
    expect(b.costUsd('some-future-type', 'x', 'gpt-4o', u)).toBeNull();
    expect(b.costUsd('openai', 'oa', 'gpt-4o'.padEnd(300, 'x'), u)).toBeNull();
  });

  it('local servers cost 0 unless overridden', () => {
    const b = new PriceBook(new Map([['gpu-box', new Map<string, PriceOverride>([['llama3', { input: 0.2, output: 0.2 }]])]]));
    for (const type of ['ollama', 'vllm', 'lmstudio']) expect(b.costUsd(type, `local-${type}`, 'llama3', u)).toBe(0);
    expectUsd(b.costUsd('vllm', 'gpu-box', 'llama3', usage(1e6, 1e6)), 0.4);
    expect(b.costUsd('vllm', 'gpu-box', 'qwen3', u)).toBe(0);
  });

  it('broken counts do not make the cost NaN or negative', () => {
    const got = book().costUsd('openai', 'oa', 'gpt-4o', { input: Number.NaN, output: -5, cacheRead: 0, cacheWrite: 0 });
    expect(got).toBe(0);
  });
});

describe('PriceBook: offline, cached, bounded', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('never reaches for the network', () => {
    const fetchSpy = vi.fn(() => {
      throw new Error('no network');
    });
    vi.stubGlobal('fetch', fetchSpy);
    const b = book();
    for (const [type] of MAPPED) b.costUsd(type, type, 'gpt-4o', usage(10, 10));
    b.costUsd('deepseek', 'ds', 'deepseek-chat', usage(10, 10));
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('remembers at most MAX_CACHED_MODELS names per provider, and still prices after evicting', () => {
    const b = book();
    for (let i = 0; i < MAX_CACHED_MODELS + 500; i++) b.costUsd('groq', 'gq', `client-made-up-${i}`, usage(1, 1));
    expect(b.cachedModels('gq')).toBe(MAX_CACHED_MODELS);
    expect(b.costUsd('groq', 'gq', 'llama-3.1-8b-instant', usage(1e6, 0))).toBe(flat('groq', 'llama-3.1-8b-instant').input_mtok);
    expect(b.cachedModels('gq')).toBe(MAX_CACHED_MODELS);
  });

  it('a remembered model costs well under a microsecond (measured, loose bound)', () => {
    const b = book();
    const models = ['gpt-4o', 'gpt-4o-2024-08-06', 'gpt-4.1-mini', 'o4-mini'];
    const u = usage(1_234, 567, 89, 0);
    const t0 = performance.now();
    for (const m of models) b.costUsd('openai', 'oa', m, u);
    const firstMs = (performance.now() - t0) / models.length;
    const N = 200_000;
    let sink = 0;
    const t1 = performance.now();
    for (let i = 0; i < N; i++) sink += b.costUsd('openai', 'oa', models[i & 3]!, u)!;
    const perCallUs = ((performance.now() - t1) * 1000) / N;
    console.log(`prices: first call ${firstMs.toFixed(3)} ms, cached ${perCallUs.toFixed(3)} µs/call`);
    expect(sink).toBeGreaterThan(0);
    expect(perCallUs).toBeLessThan(5); // ~0.05 µs on a dev machine; the bound only catches a lost cache
  });
});
