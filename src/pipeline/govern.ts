// Governance stage, after routing: a virtual key reaches only its models and providers (403
// permission_denied otherwise), and only within its limits and those of its team and customer
// (governance/admission.ts: 429 rate_limit_exceeded, 402 budget_exceeded). At the end of the request
// its tokens and cost are charged. Authentication itself happens before the body is read
// (server/app.ts): an unknown key never costs a parse.
//
// Two steps: govern() checks access and returns what admission must wait for (null nearly always: a
// shared store's round trip for a small limit's permit, state/quota-redis.ts), then admitRequest().
import { GatewayError } from '../errors/gateway-error.ts';
import { DEFAULT_MAX_OUTPUT, admit, charge, checkSpend, type Admitted, type Reservation } from '../governance/admission.ts';
import type { EndpointName } from '../formats/canonical.ts';
import type { RequestContext } from '../request/context.ts';
import type { Target } from '../plan/types.ts';
import type { Pricer } from '../governance/governance.ts';

export function govern(ctx: RequestContext, explain: boolean): Promise<void> | null {
  const key = ctx.vk;
  if (key === null) return null;
  if (ctx.endpoint === 'files' || ctx.endpoint === 'batches') {
    // Files and batches are the provider account's, shared by every key, and a batch runs whatever
    // models its file names, uncharged: a key held to some models, a budget or a token limit would
    // step outside them.
    if (key.models !== null || key.levels.some((l) => l.budget !== null || l.tpm !== null)) {
      throw new GatewayError('permission_denied', `The virtual key '${key.id}' may not use ${ctx.endpoint}: they reach the provider account's shared resources, outside the key's models, budget and token limits.`);
    }
  } else if (key.models !== null) checkModels(ctx, key.id, key.models);
  if (key.providers !== null) {
    // Targets at providers the key may not reach are left out; the others keep their order.
    const allowed = ctx.targets.filter((t) => key.providers!.has(t.provider.name));
    if (allowed.length === 0) throw new GatewayError('permission_denied', `The virtual key '${key.id}' may not reach the provider${ctx.targets.length > 1 ? 's' : ''} serving '${ctx.model || ctx.endpoint}'.`, { param: 'model' });
    if (allowed.length !== ctx.targets.length) ctx.targets = allowed;
  }
  if (key.levels.some((l) => l.budget !== null)) {
    if (COUNTED_IN_TOKENS.has(ctx.endpoint)) keepPriced(ctx, key.id);
    // Priced per image, per character or per minute of audio, which no answer reports in tokens: a
    // budgeted key got 200 HD images for a $0.01 budget, spending $0 of it.
    else if (UNPRICED.has(ctx.endpoint)) throw new GatewayError('permission_denied', `The virtual key '${key.id}' has a budget, and ${ctx.endpoint} cannot be charged to it: the gateway prices answers by their tokens.`);
  }
  // Explaining a decision spends nothing.
  if (explain) return null;
  // A shared store's spend this thread has not read lately is read first: admitted on an old total,
  // each thread of each replica could spend a whole budget again (state/quota-redis.ts staleSpend).
  const fresh = key.spend.length > 0 ? (ctx.plan.governance.store.staleSpend?.(key.spend, Date.now()) ?? null) : null;
  if (key.permits.length === 0) return fresh;
  if (fresh !== null) return fresh.then(() => (ctx.aborted || ctx.done ? undefined : (permitsFor(ctx) ?? undefined)));
  return permitsFor(ctx);
}

const NO_USAGE = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

/** Whether the config or the catalog knows the target's price (PriceBook caches the answer per model). */
function priced(prices: Pricer, t: Target): boolean {
  return prices.costUsd(t.provider.type, t.provider.name, t.model, NO_USAGE) !== null;
}

/**
 * A budget is kept in dollars: a target whose price neither the config (`pricing`) nor the catalog
 * knows would serve a budgeted key for free, for ever (20 of 20 requests to an Azure deployment name
 * admitted on a $0.0002 budget). Such targets are left out for keys with a budget; none left is a 403
 * that says what the operator must add.
 */
function keepPriced(ctx: RequestContext, keyId: string): void {
  const prices = ctx.plan.governance.prices;
  const targets = ctx.targets;
  let all = true;
  for (let i = 0; i < targets.length && all; i++) all = priced(prices, targets[i]!);
  if (all) return;
  const kept = targets.filter((t) => priced(prices, t));
  if (kept.length === 0) {
    const t = ctx.targets[0]!;
    throw new GatewayError('permission_denied', `The budget of virtual key '${keyId}' cannot be kept on '${t.provider.name}/${t.model}': its price is unknown (set providers.${t.provider.name}.pricing in the config).`, { param: 'model' });
  }
  ctx.targets = kept;
}

/** What admission must wait for before this request's permits can be taken, or null (nearly always). */
function permitsFor(ctx: RequestContext): Promise<void> | null {
  const key = ctx.vk!;
  const gov = ctx.plan.governance;
  const store = gov.store;
  const now = Date.now();
  if (store.lacksPermits?.(key.permits, now) !== true) return null;
  // A request about to wait for a permit is held to its budgets and token limits first: one they refuse
  // must not take a permit from the window (a spent key's retries would starve its team's other keys).
  checkSpend(key, store, gov.failure, now, (ctx.admitted = { requests: null, tokens: null }), reservation(ctx));
  const waiting = store.fetchPermits!(key.permits, now);
  // Once more if the permit is not there after all (the window rolled or was reset during the wait, or
  // another request took it): two round trips at most, then admission decides.
  return waiting === null ? null : waiting.then(() => (ctx.aborted || ctx.done ? undefined : (store.fetchPermits!(key.permits, Date.now()) ?? undefined)));
}

/** A request that waited for permits and will not use them (refused, or its client left) gives them back. */
export function releasePermits(ctx: RequestContext): void {
  const key = ctx.vk;
  if (key !== null && key.permits.length > 0) ctx.plan.governance.store.release?.(key.permits, Date.now());
}

/** Admits the request within its key's limits (or throws the refusal) and charges its reservation. */
export function admitRequest(ctx: RequestContext): void {
  const key = ctx.vk;
  if (key === null) return;
  const gov = ctx.plan.governance;
  const admitted: Admitted = { requests: null, tokens: null };
  ctx.admitted = admitted;
  const reserve = reservation(ctx);
  const now = Date.now();
  admit(key, gov.store, gov.failure, now, admitted, reserve);
  // Admitted: the reservation was charged (in the windows of `now`); settle() replaces it by the real usage.
  ctx.reserved = reserve;
  ctx.reservedAt = now;
}

/** Every model the request asks for is one the key may use (403 permission_denied otherwise). */
function checkModels(ctx: RequestContext, id: string, models: ReadonlySet<string>): void {
  // A request that names no model (an image or a moderation may) gets the provider's default model,
  // which the key's list may not hold: a key held to some models must name one.
  if (ctx.model === '') throw new GatewayError('permission_denied', `The virtual key '${id}' may use only some models: name one in 'model'.`, { param: 'model' });
  if (!models.has(ctx.model)) throw new GatewayError('permission_denied', `The virtual key '${id}' may not use the model '${ctx.model}'.`, { param: 'model' });
  // The request's own fallbacks (route.ts puts them in the attempt order) are models it asks for too:
  // otherwise a key limited to a cheap model could name any other as a fallback and be served by it
  // whenever the first fails. The fallbacks of an alias or a rule are the operator's, and pass.
  const fallbacks = ctx.body?.fallbacks;
  if (!Array.isArray(fallbacks)) return;
  for (const name of fallbacks) {
    if (typeof name === 'string' && !models.has(name)) throw new GatewayError('permission_denied', `The virtual key '${id}' may not use the model '${name}' (in fallbacks).`, { param: 'fallbacks' });
  }
}

/** Endpoints whose answers write no tokens: their usage has a prompt count only (OpenAI embeddings). */
const PROMPT_ONLY: ReadonlySet<EndpointName> = new Set(['embeddings']);

/**
 * Endpoints whose use is counted in tokens: the others (images, speech, transcriptions, moderations,
 * files, batches, counting tokens) reserve nothing. A file's metadata read reserved 1,024 tokens that
 * no usage ever settled, and an audio upload its bytes / 4.
 */
const COUNTED_IN_TOKENS: ReadonlySet<EndpointName> = new Set(['chat', 'completions', 'responses', 'embeddings']);
/** Billed by the provider in units no answer reports in tokens; moderations and token counts are free. */
const UNPRICED: ReadonlySet<EndpointName> = new Set(['images', 'speech', 'transcriptions', 'translations']);

/** Choices a request asks for (`n`, and `best_of` for completions, which OpenAI bills for): each may write its maximum. */
function choices(b: Record<string, unknown>): number {
  const n = b.n;
  const best = b.best_of;
  const a = typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1;
  return typeof best === 'number' && Number.isInteger(best) && best > a ? best : a;
}

/** The answer's output tokens: 0 where the endpoint writes none, else from its usage (-1 unknown). */
function outputTokens(ctx: RequestContext): number {
  return ctx.completionTokens < 0 && PROMPT_ONLY.has(ctx.endpoint) ? 0 : ctx.completionTokens;
}

/**
 * The request's estimate: prompt bytes / 4 (generous: JSON framing counts too) plus the most it may
 * write (max_tokens, max_completion_tokens or max_output_tokens), priced at the first target's rates.
 */
function reservation(ctx: RequestContext): Reservation {
  const levels = ctx.vk!.levels;
  // Counting tokens, files or an image use none (each counts as a request against request limits).
  if (!COUNTED_IN_TOKENS.has(ctx.endpoint) || !levels.some((l) => l.tpm !== null || l.budget !== null)) return NO_RESERVATION;
  const b = ctx.body ?? {};
  // OpenAI's own estimate: the prompt, and the most each choice may write (an n of 50 wrote 50 × max_tokens
  // against a reservation of one, and overshot a budget tenfold).
  const max = PROMPT_ONLY.has(ctx.endpoint) ? 0 : ([b.max_tokens, b.max_completion_tokens, b.max_output_tokens].find((v): v is number => typeof v === 'number' && v > 0) ?? DEFAULT_MAX_OUTPUT) * choices(b);
  const input = Math.ceil((ctx.raw?.length ?? 0) / 4);
  const t = ctx.targets[0];
  const usd = t === undefined ? null : ctx.plan.governance.prices.costUsd(t.provider.type, t.provider.name, t.model, { input, output: max, cacheRead: 0, cacheWrite: 0 });
  return { tokens: input + max, usd: usd ?? 0 };
}

const NO_RESERVATION: Reservation = Object.freeze({ tokens: 0, usd: 0 });

/**
 * The answer's cost in USD from its usage and the target that served it (-1 when unknown), computed
 * once: for the x-microgate-cost-usd header of a JSON answer, then for the budget and the record.
 */
export function costOf(ctx: RequestContext): number {
  if (ctx.costUsd !== -2) return ctx.costUsd;
  const t = ctx.target;
  const output = outputTokens(ctx);
  if (t === null || ctx.promptTokens < 0 || output < 0) return (ctx.costUsd = -1);
  const read = ctx.cacheReadTokens;
  const write = ctx.cacheWriteTokens;
  const usd = ctx.plan.governance.prices.costUsd(t.provider.type, t.provider.name, t.model, { input: Math.max(0, ctx.promptTokens - read - write), output, cacheRead: read, cacheWrite: write });
  return (ctx.costUsd = usd ?? -1);
}

/**
 * At the end of a request: its real tokens and cost replace its reservation, for its key, team and
 * customer. An answer that was served but whose usage or price is unknown keeps its reservation: a
 * stream the client left before the usage event, an endpoint that reports no tokens (images, speech),
 * a model the price book does not know. Refunding it would make such requests free, and a key could
 * read most of an answer and disconnect. So does a request whose client left once it was sent: the
 * provider bills work it started (an audit had five abandoned requests reach the provider, charged $0).
 * A request no provider answered, or that its client left before it was sent, is refunded.
 */
export function settle(ctx: RequestContext): void {
  const key = ctx.vk;
  const cost = costOf(ctx);
  const r = ctx.reserved;
  if (key === null || r === null) return;
  // Answered, or sent before its client left: the provider bills it.
  const billed = (ctx.status >= 200 && ctx.status < 300) || (ctx.aborted && ctx.tDispatch !== 0);
  const output = outputTokens(ctx);
  const tokens = ctx.promptTokens >= 0 && output >= 0 ? ctx.promptTokens + output - r.tokens : billed ? 0 : -r.tokens;
  const usd = cost >= 0 ? cost - r.usd : billed ? 0 : -r.usd;
  charge(key, ctx.plan.governance.store, tokens, usd, Date.now(), ctx.reservedAt);
}
