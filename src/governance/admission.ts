// Admission and charging against the limits of a virtual key, its team and its customer: the
// tightest one wins. Before sending: the budgets and token limits must not be spent, and one request
// permit is taken from every requests-per-minute counter (all or none). After the answer: its tokens
// (input and output, cache reads and writes included) and its cost are charged to every level.
// Synchronous: the store works from leases and local tallies (state/quota.ts); a permit it must fetch
// first (fetchPermits) has been waited for by the governance stage before admit() runs.
import { GatewayError } from '../errors/gateway-error.ts';
import type { Counter, QuotaStore } from '../state/quota.ts';
import { windowOf } from '../state/quota.ts';
import type { LevelLimits, VirtualKey } from './directory.ts';

/** What a client's x-ratelimit-* headers say about one kind of limit: the tightest level's. */
export interface LimitState {
  limit: number;
  remaining: number;
  /** ms until the window ends. */
  resetMs: number;
}

/** While the shared store cannot be reached: admit ('open') or refuse ('closed'), per kind of limit. */
export interface FailurePolicy {
  readonly rateLimits: 'open' | 'closed';
  readonly budgets: 'open' | 'closed';
}

/** The tightest request and token limits a request met (filled even when it was refused: its headers say why). */
export interface Admitted {
  requests: LimitState | null;
  tokens: LimitState | null;
}

function levelName(c: Counter): string {
  // "vk:vk-alpha:rpm" → "virtual key vk-alpha"
  const [kind, id] = c.id.split(':');
  return `${kind === 'vk' ? 'virtual key' : kind} ${id}`;
}

/** OpenAI's reset format: "20ms", "1.5s", "6m0s". */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  return `${Math.floor(s / 60)}m${Math.floor(s % 60)}s`;
}

function unavailable(): GatewayError {
  return new GatewayError('governance_unavailable', 'The gateway cannot check this key\'s limits right now (its counter store is unreachable); retry shortly.');
}

/**
 * What an admitted request reserves until its real usage is known: its estimated tokens (prompt
 * bytes / 4 plus its max output, OpenAI's own rule for token limits) and their cost. Reserved spend
 * counts against the limits at once, so requests in flight together cannot all squeeze under a limit
 * that only one of them fits; the difference is settled when the answer's usage arrives.
 */
export interface Reservation {
  readonly tokens: number;
  readonly usd: number;
}

const MINUTE = 60_000;
/** Retry-After of a refusal while a shared store fetches permits that are left (a lease takes a round trip). */
const FETCH_RETRY_MS = 250;

/**
 * Admits a request of `key` (charging its reservation) or throws the refusal: 402 budget_exceeded,
 * 429 rate_limit_exceeded (its retry-after in `retryAfterMs`), or 503 governance_unavailable when the
 * store is down and the policy is to refuse. `into` receives the tightest limits met, refused or not.
 * Per request: no allocation but the two header states.
 */
export function admit(key: VirtualKey, store: QuotaStore, failure: FailurePolicy, epochMs: number, into: Admitted, reserve: Reservation): void {
  checkSpend(key, store, failure, epochMs, into, reserve);
  // The reservation, level by level, each test-and-add one step for every thread (QuotaStore.reserve):
  // checkSpend's reading and the charge were two, and threads admitting together could all pass a
  // check only one of them fits. A level that refuses now (another thread reserved meanwhile) undoes
  // the levels before it.
  reserveSpend(key, store, epochMs, reserve);
  // What is left after this request, as OpenAI's headers say it (and as the requests header does).
  // (checkSpend made into.tokens for this request: adjusted in place, no second object.)
  if (into.tokens !== null && reserve.tokens > 0) into.tokens.remaining = Math.max(0, into.tokens.remaining - reserve.tokens);
  const minuteEnd = (Math.floor(epochMs / MINUTE) + 1) * MINUTE;
  const rpm = key.permits;
  if (rpm.length > 0) {
    const refused = store.takePermits(rpm, epochMs);
    if (refused !== null) {
      charge(key, store, -reserve.tokens, -reserve.usd, epochMs);
      // Permits left in the window that this thread does not hold (the request waited for a block that
      // other requests on this thread took first): retry in a moment, not at the window's end, which
      // the SDKs would wait out (up to a minute) for a limit nobody had reached.
      const fetching = store.remaining(refused, epochMs) > 0;
      into.requests = { limit: refused.limit, remaining: 0, resetMs: fetching ? FETCH_RETRY_MS : minuteEnd - epochMs };
      if (fetching) throw new GatewayError('rate_limit_exceeded', `Permits of the limit of ${refused.limit} requests per minute of ${levelName(refused)} are being fetched; retry in a moment.`, { retryAfterMs: FETCH_RETRY_MS, param: 'requests' });
      throw new GatewayError('rate_limit_exceeded', `Rate limit of ${refused.limit} requests per minute of ${levelName(refused)} reached; retry in ${resetText(minuteEnd - epochMs)}.`, { retryAfterMs: minuteEnd - epochMs, param: 'requests' });
    }
    let limit = 0;
    let left = Infinity;
    for (let i = 0; i < rpm.length; i++) {
      const remaining = store.remaining(rpm[i]!, epochMs);
      if (remaining < left) {
        left = remaining;
        limit = rpm[i]!.limit;
      }
    }
    into.requests = { limit, remaining: left, resetMs: minuteEnd - epochMs };
  } else if (!store.connected && key.levels.some((l) => l.budget !== null || l.tpm !== null)) {
    // Admitted on spend limits that could not be read: once for the request (takePermits counts the
    // requests a rate limit admitted by policy).
    store.countFailOpen?.();
  }
}

/** Charges the reservation to every level of the key, or none of them: throws the refusal of the first that does not pass. */
function reserveSpend(key: VirtualKey, store: QuotaStore, epochMs: number, reserve: Reservation): void {
  const levels = key.levels;
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.budget !== null && !store.reserve(l.budget, reserve.usd, 'unspent', epochMs)) {
      undo(levels, i, false, store, epochMs, reserve);
      throw budgetSpent(l.budget, store.spent(l.budget, epochMs), epochMs);
    }
    if (l.tpm !== null && !store.reserve(l.tpm, reserve.tokens, 'fits', epochMs)) {
      undo(levels, i, true, store, epochMs, reserve);
      throw tokensReached(l.tpm, epochMs);
    }
  }
}

/** Gives back what reserveSpend charged to levels [0, upTo), and to level upTo's budget when `budgetToo`. */
function undo(levels: readonly LevelLimits[], upTo: number, budgetToo: boolean, store: QuotaStore, epochMs: number, reserve: Reservation): void {
  for (let j = 0; j <= upTo; j++) {
    const l = levels[j]!;
    if (l.budget !== null && (j < upTo || budgetToo) && reserve.usd !== 0) store.charge(l.budget, -reserve.usd, epochMs);
    if (l.tpm !== null && j < upTo && reserve.tokens !== 0) store.charge(l.tpm, -reserve.tokens, epochMs);
  }
}

function budgetSpent(c: Counter, spent: number, epochMs: number): GatewayError {
  const w = windowOf(c.period, epochMs);
  return new GatewayError('budget_exceeded', `The budget of $${c.limit} per ${c.period} of ${levelName(c)} is spent ($${spent.toFixed(4)}); it renews at ${new Date(w.end).toISOString()}.`, {
    retryAfterMs: w.end - epochMs,
  });
}

/** Output tokens a request reserves when it sets no maximum (a typical chat answer's ceiling). */
export const DEFAULT_MAX_OUTPUT = 1024;

/**
 * A request whose estimate alone exceeds a tokens-per-minute limit fits no window: a 429 that said
 * "reached; retry in 52s" was retried by the SDKs every minute, forever, with the limit untouched.
 * OpenAI's answer ("Request too large … Limit 1000, Requested 1027"), and no Retry-After: the
 * refusal says not to retry (respond.ts).
 */
function tooLargeForLimit(c: Counter, requested: number): GatewayError {
  return new GatewayError(
    'rate_limit_exceeded',
    `Request too large for the limit of ${c.limit} tokens per minute of ${levelName(c)}: it reserves ${requested} (its prompt's bytes / 4 plus its max_tokens, ${DEFAULT_MAX_OUTPUT} when it sets none). Lower max_tokens or shorten the prompt; retrying will not help.`,
    { param: 'tokens' },
  );
}

function tokensReached(c: Counter, epochMs: number): GatewayError {
  const minuteEnd = (Math.floor(epochMs / MINUTE) + 1) * MINUTE;
  return new GatewayError('rate_limit_exceeded', `Rate limit of ${c.limit} tokens per minute of ${levelName(c)} reached; retry in ${resetText(minuteEnd - epochMs)}.`, { retryAfterMs: minuteEnd - epochMs, param: 'tokens' });
}

/**
 * The part of admission that takes nothing: the failure policy while the store is unreachable, then the
 * budgets and token limits (throws their refusal). Run on its own before a request waits for a permit
 * from the shared store, so a request these refuse never takes one (admit() runs it again after).
 */
export function checkSpend(key: VirtualKey, store: QuotaStore, failure: FailurePolicy, epochMs: number, into: Admitted, reserve: Reservation): void {
  const levels = key.levels;
  if (!store.connected) {
    // The store is unreachable: refuse what the policy says to refuse, before counting anything.
    const refuse = (failure.budgets === 'closed' && levels.some((l) => l.budget !== null)) || (failure.rateLimits === 'closed' && levels.some((l) => l.rpm !== null || l.tpm !== null));
    if (refuse) {
      store.countFailClosed?.();
      throw unavailable();
    }
  }
  const minuteEnd = (Math.floor(epochMs / MINUTE) + 1) * MINUTE;
  let tokensLimit = 0;
  let tokensLeft = Infinity;
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.budget !== null) {
      const spent = store.spent(l.budget, epochMs);
      // A budget refuses once spent (reservations included): a request is never refused for its estimate alone.
      if (spent >= l.budget.limit) throw budgetSpent(l.budget, spent, epochMs);
    }
    if (l.tpm !== null) {
      const spent = store.spent(l.tpm, epochMs);
      const left = Math.max(0, l.tpm.limit - spent);
      if (left < tokensLeft) {
        tokensLeft = left;
        tokensLimit = l.tpm.limit;
      }
      // OpenAI's rule: the request's estimate must fit in what is left of the minute.
      if (spent + reserve.tokens > l.tpm.limit) {
        into.tokens = { limit: tokensLimit, remaining: tokensLeft, resetMs: minuteEnd - epochMs };
        throw reserve.tokens > l.tpm.limit ? tooLargeForLimit(l.tpm, reserve.tokens) : tokensReached(l.tpm, epochMs);
      }
    }
  }
  if (tokensLimit > 0) into.tokens = { limit: tokensLimit, remaining: tokensLeft, resetMs: minuteEnd - epochMs };
}

/**
 * Charges tokens and cost (negative: gives back what a reservation over-estimated) to every level of the
 * key. A give-back goes only to the window its reservation was charged in (`reservedMs`): once that
 * window has ended it is dropped, or a reservation made at 12:00:59 and settled at 12:01:00 would start
 * the new minute (or month) below zero and let it admit more than its limit.
 */
export function charge(key: VirtualKey, store: QuotaStore, tokens: number, costUsd: number, epochMs: number, reservedMs = epochMs): void {
  const levels = key.levels;
  for (let i = 0; i < levels.length; i++) {
    const l: LevelLimits = levels[i]!;
    if (l.tpm !== null) chargeOne(store, l.tpm, tokens, epochMs, reservedMs);
    if (l.budget !== null) chargeOne(store, l.budget, costUsd, epochMs, reservedMs);
  }
}

function chargeOne(store: QuotaStore, c: Counter, amount: number, epochMs: number, reservedMs: number): void {
  if (amount === 0) return;
  // Windows follow each other: the reservation's has ended once now is past its end.
  if (amount < 0 && reservedMs !== epochMs && epochMs >= windowOf(c.period, reservedMs).end) return;
  store.charge(c, amount, epochMs);
}

/** Percent of the tightest limit used, per kind, for the rules' budget_used / tokens_used / requests_used. */
export function usedPercent(key: VirtualKey, store: QuotaStore, kind: 'budget' | 'tpm' | 'rpm', epochMs: number): number {
  let most = 0;
  for (const l of key.levels) {
    const c = l[kind];
    if (c === null) continue;
    const used = kind === 'rpm' ? c.limit - store.remaining(c, epochMs) : store.spent(c, epochMs);
    most = Math.max(most, (used / c.limit) * 100);
  }
  return most;
}
