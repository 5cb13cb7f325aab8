// The attempt loop of one request: which target and key to try next, when to wait, when to give
// up. Each result is classified once (upstream/outcome.ts) and recorded in the circuit of its
// (provider, key, model):
//
//   retry         same target again after a full-jitter backoff, up to its maxRetries
//   rate_limited  the key rests (Retry-After, capped); another key of the target now
//   auth          the key rests for authFailedMs; another key of the target now, no backoff
//   fatal         the provider's answer goes to the client at once
//   a target with nothing left to try → the next target, which starts with its own retry count
//
// Retries and key rotations are charged to the process-wide retry budget; the first attempt at a
// fallback is not (it moves a request, it does not add one). The deadline bounds every attempt's
// wait for a response head and every backoff, so no request outlives it. A key resting or whose
// circuit is open is skipped while another one can serve; when none can, the least rested is tried
// anyway ("never all of them": an open circuit must not turn a degraded provider into a dead one).
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyPlan, RestReason, Target } from '../plan/types.ts';
import type { AttemptResult, FailoverHandle, RequestContext } from '../request/context.ts';
import { keysFor, noKey } from '../plan/routes.ts';
import type { AttemptOwner, UpstreamAttempt } from './attempt.ts';
import { fullJitterMs } from './backoff.ts';
import { dispatchAttempt } from './forward.ts';
import { outcomeOf } from './outcome.ts';

export class Failover implements FailoverHandle, AttemptOwner {
  readonly ctx: RequestContext;
  /** performance.now() after which nothing new starts. */
  readonly deadline: number;
  private ti = -1;
  private retries = 0;
  private readonly tried: KeyPlan[] = [];
  /** A 2xx made an object whose answer could not be read: neither the gateway nor the client sends it again. */
  private madeObject = false;
  /** Every finished attempt, for x-microgate-route, error messages and telemetry. */
  readonly records: AttemptResult[] = [];
  /** The committed stream whose end its circuit waits for, and its time to its first event (the latency sampled). */
  private streaming: UpstreamAttempt | null = null;
  private streamFirstMs = 0;
  /** Targets passed over without an attempt, and why, in order among the attempts (x-microgate-route). */
  private skips: Array<{ at: number; label: string }> | null = null;
  private lastError: GatewayError | null = null;
  /** The response headers of the last failed attempt: its request id, rate limits and retry hints reach the client. */
  private lastHeaders: IncomingHttpHeaders | null = null;
  private timer: NodeJS.Timeout | null = null;
  private forced = false;
  /** Why the first target could not carry the request (a 400), while later targets are tried. */
  private refused: GatewayError | null = null;
  /** The key of the attempt in flight, when it was resting as it was sent (tried because every key rested). */
  private sentResting: KeyPlan | null = null;

  constructor(ctx: RequestContext, deadlineMs: number) {
    this.ctx = ctx;
    this.deadline = ctx.t0 + deadlineMs;
  }

  get attempts(): number {
    return this.records.length;
  }

  start(): void {
    this.ctx.plan.retryBudget.onRequest(performance.now());
    this.nextTarget();
  }

  /**
   * The path taken, e.g. "openai/gpt-4o#k1:429 > openai/gpt-4o#k2:200" (a failure without a status
   * shows its cause), with the targets passed over and why: "broken/gpt-4o:open" (every key's circuit
   * open), ":resting" (every key resting after a 429 or 401), ":nokey" (no key serves that model).
   */
  route(): string {
    let out = '';
    const skips = this.skips;
    let s = 0;
    for (let i = 0; i <= this.records.length; i++) {
      while (skips !== null && s < skips.length && skips[s]!.at === i) out += `${out === '' ? '' : ' > '}${skips[s++]!.label}`;
      if (i === this.records.length) break;
      const r = this.records[i]!;
      out += `${out === '' ? '' : ' > '}${r.target.label}#${r.key.name}:${r.status !== 0 ? r.status : r.flag}`;
    }
    return out;
  }

  /** The client left: stop waiting for a backoff. */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  abandon(): void {
    // A client that leaves a stream says nothing against the provider, which had answered.
    if (this.streaming !== null) this.streamOver(this.streaming, null);
    const a = this.ctx.attempt as UpstreamAttempt | null;
    // An attempt that already succeeded or failed is in the records; a backoff between two has none in flight.
    if (a === null || a.settled || a.tDispatch === 0 || this.timer !== null) return;
    this.records.push({ target: a.target, key: a.key, status: 0, flag: 'DC', ms: a.upstreamMs() });
  }

  /** A response is on its way to the client (JSON written, or a stream's first part). */
  succeeded(a: UpstreamAttempt, status: number, stream: boolean): void {
    const ms = a.upstreamMs();
    this.records.push({ target: a.target, key: a.key, status, flag: '', ms });
    if (!samplesHealth(this.ctx)) return;
    const now = performance.now();
    // A stream's health is known at its end (streamOver): counted a success at its first event, a
    // provider that cut every stream after it kept its circuit closed and its full weight.
    if (stream) {
      this.streaming = a;
      this.streamFirstMs = ms;
    } else this.ctx.plan.health.circuit(a.key, a.target).record(true, ms, now);
    // A resting key tried because every key rested, and answered: its rest is over (it stayed out of
    // weighted routing for the whole of it, 5 minutes after one burst of 401s, though it served). Only
    // a key sent to while resting: an answer to a request sent before its rest began proves nothing.
    const state = a.key.state;
    if (a.key === this.sentResting && state.restUntil > now) {
      state.restUntil = 0;
      state.reason = '';
    }
  }

  /**
   * A stream that succeeded has ended: whole, or failed (err). The provider's own failure (a reset, its
   * idle timeout, its error event, a cut: what outcomeOf retries) counts against its circuit, and the
   * attempt's record keeps why (x-microgate-route went out with its 200); the gateway's own failures
   * (a translation it could not write) and a client that left count as the success the start was. The
   * latency sampled is the first event's, as for weights.
   */
  streamOver(a: UpstreamAttempt, err: GatewayError | null): void {
    if (this.streaming !== a) return;
    this.streaming = null;
    const failed = err !== null && err.origin === 'upstream' && outcomeOf(err) === 'retry';
    if (failed) {
      const i = this.records.length - 1;
      const r = this.records[i];
      if (r !== undefined && r.key === a.key && r.target === a.target) this.records[i] = { ...r, flag: err.flag };
    }
    if (!samplesHealth(this.ctx)) return;
    const health = this.ctx.plan.health;
    (failed ? health.failing(a.key, a.target) : health.circuit(a.key, a.target)).record(!failed, this.streamFirstMs, performance.now());
  }

  /** An attempt failed before anything reached the client: decide what comes next. */
  failed(a: UpstreamAttempt, err: GatewayError, retryAfterMs: number | null): void {
    const ctx = this.ctx;
    const now = performance.now();
    // A provider that answered 2xx to a request that makes something (an upload, a batch) made it,
    // whatever went wrong with the answer since: sending it again would make a second one.
    const made = a.status >= 200 && a.status < 300 && makesObject(ctx);
    if (made) this.madeObject = true;
    const outcome = made ? 'fatal' : outcomeOf(err);
    this.records.push({ target: a.target, key: a.key, status: err.upstreamStatus, flag: err.upstreamStatus !== 0 ? '' : err.flag, ms: a.upstreamMs() });
    this.lastError = err;
    this.lastHeaders = a.headers;
    // A refused request says nothing about the provider's health, and a 429 or 401 is the key's, which
    // rests for it: counted in its circuit too, five 429s in a row opened it for a cooldown on top
    // (and spread over minutes, since the count never decays). The circuit counts the provider's own
    // failures: 5xx, resets, timeouts, malformed answers.
    const health = samplesHealth(ctx);
    if (outcome === 'retry' && health) ctx.plan.health.failing(a.key, a.target).record(false, a.upstreamMs(), now);
    if (ctx.aborted || ctx.done) return;

    const routing = ctx.plan.routing;
    switch (outcome) {
      case 'fatal':
        // A target that cannot count (Bedrock for a model it does not count for, an Anthropic-style
        // proxy without the route) refuses with a 400 or 404: the next target may count it.
        if (ctx.endpoint === 'count_tokens' && (err.upstreamStatus === 400 || err.upstreamStatus === 404) && this.ti + 1 < ctx.targets.length) {
          this.nextTarget();
          return;
        }
        this.fail(err);
        return;
      case 'auth':
        // A count refused (Bedrock's CountTokens is an IAM permission of its own) says nothing of generations.
        if (health) rest(a.key, now + routing.keyCooldown.authFailedMs, err.code === 'upstream_quota_exhausted' ? 'quota_exhausted' : 'auth_failed');
        this.rotateKey(false);
        return;
      case 'rate_limited':
        if (health) rest(a.key, now + Math.min(retryAfterMs ?? routing.keyCooldown.rateLimitedMs, routing.keyCooldown.maxRateLimitedMs), 'rate_limited');
        this.rotateKey(true);
        return;
      case 'retry': {
        const retry = a.target.provider.retry;
        // A backoff that would outlast the deadline is no retry: the next target may still answer in
        // time (and with none left the client gets this failure, not a deadline that has not passed).
        const backoff = this.retries < retry.maxRetries ? fullJitterMs(this.retries, retry.baseMs, retry.capMs) : Infinity;
        // A provider that says when to come back (Retry-After on a 503 or 529) is not asked sooner; one
        // that says later than the backoff's cap is not waited for: the next target serves (it was
        // retried at 33 and 119 ms after saying 5 s).
        const wait = retryAfterMs === null ? backoff : retryAfterMs <= retry.capMs ? Math.max(backoff, retryAfterMs) : Infinity;
        if (now + wait < this.deadline && ctx.plan.retryBudget.tryRetry(now)) {
          this.retries++;
          this.timer = setTimeout(() => {
            this.timer = null;
            ctx.priorWaitMs += performance.now() - now;
            this.sameTarget();
          }, wait);
          return;
        }
        this.nextTarget();
      }
    }
  }

  /** Another key of the current target, if one may be used; else the next target. */
  private rotateKey(charged: boolean): void {
    const target = this.ctx.targets[this.ti]!;
    const now = performance.now();
    // When every key rested (the request is tried anyway: forced), the next least rested one: one burst
    // of 401s rests every key, and another may serve. After a 429, not one resting for its own 429s:
    // that provider said to wait too, and each request called every resting key once.
    const key = this.freshKey(target, now) ?? (this.forced ? this.leastRested(target, true, charged) : null);
    if (key !== null && (!charged || this.ctx.plan.retryBudget.tryRetry(now))) this.dispatch(target, key);
    else this.nextTarget();
  }

  private sameTarget(): void {
    if (this.ctx.aborted || this.ctx.done) return;
    const target = this.ctx.targets[this.ti]!;
    const now = performance.now();
    // Any usable key of the target; the one that failed may be the only one, if it is still usable:
    // rested since (by another request) or with its circuit now open, it is skipped like any other,
    // and the next target gets the request.
    const last = this.tried[this.tried.length - 1]!;
    const key = this.usableKey(target, now, false) ?? (last.state.restUntil <= now && this.ctx.plan.health.circuit(last, target).available(now) ? last : null);
    if (key === null) this.nextTarget();
    else this.dispatch(target, key);
  }

  private nextTarget(): void {
    const ctx = this.ctx;
    const targets = ctx.targets;
    const now = performance.now();
    while (++this.ti < targets.length) {
      const target = targets[this.ti]!;
      this.retries = 0;
      this.tried.length = 0;
      const key = this.usableKey(target, now, false);
      if (key !== null) {
        this.dispatch(target, key);
        return;
      }
      (this.skips ??= []).push({ at: this.records.length, label: `${target.label}:${this.skipReason(target, now)}` });
    }
    // The first target could not carry the request, nor could any after it that was healthy: its 400.
    if (this.records.length === 0 && this.refused !== null) {
      this.fail(this.refused);
      return;
    }
    // Nothing healthy is left. If nothing was even tried, try the least rested key of the first
    // target that has one, once, rather than refuse the request on stale health alone.
    if (this.records.length === 0 && !this.forced) {
      this.forced = true;
      for (let i = 0; i < targets.length; i++) {
        const key = this.usableKey(targets[i]!, now, true);
        if (key !== null) {
          this.ti = i;
          this.dispatch(targets[i]!, key);
          return;
        }
      }
      this.fail(noKey(targets[0]!.provider, targets[0]!.model));
      return;
    }
    this.fail(this.lastError ?? new GatewayError('upstream_error', 'No provider could serve the request.'));
  }

  /** Why no key of `target` could be used: none serves its model, every one is resting, or the circuits are open. */
  private skipReason(target: Target, now: number): 'nokey' | 'resting' | 'open' {
    const keys = target.key !== undefined ? [target.key] : (keysFor(target.provider, target.model)?.items ?? null);
    if (keys === null || keys.length === 0) return 'nokey';
    return keys.every((k) => k.state.restUntil > now) ? 'resting' : 'open';
  }

  /** A key of `target` not tried yet for this target and not resting, circuit permitting. */
  private freshKey(target: Target, now: number): KeyPlan | null {
    const health = this.ctx.plan.health;
    const pin = target.key;
    if (pin !== undefined) return !this.tried.includes(pin) && pin.state.restUntil <= now && health.circuit(pin, target).available(now) ? pin : null;
    const keys = keysFor(target.provider, target.model);
    if (keys === null) return null;
    // The common case first: one draw by weight, and that key is fine. Only when it is not does
    // the filtered draw (and its closure) run.
    const first = keys.pick();
    if (this.tried.length === 0 && first.state.restUntil <= now && health.circuit(first, target).available(now)) return first;
    return keys.pickWhere((k) => !this.tried.includes(k) && k.state.restUntil <= now && health.circuit(k, target).available(now));
  }

  /** Fresh keys first; `anyHealth`: when none is fresh, the least rested key whatever its state. */
  private usableKey(target: Target, now: number, anyHealth: boolean): KeyPlan | null {
    const fresh = this.freshKey(target, now);
    if (fresh !== null || !anyHealth) return fresh;
    if (target.key !== undefined) return target.key;
    return this.leastRested(target, false);
  }

  /** The key of `target` whose rest ends first, whatever its state; `untried`: of those not tried yet for it. */
  /** The key whose rest ends first: among those not tried yet (`untried`), and not resting for a 429 (`notLimited`). */
  private leastRested(target: Target, untried: boolean, notLimited = false): KeyPlan | null {
    const keys = target.key !== undefined ? null : keysFor(target.provider, target.model);
    if (keys === null) return null;
    const now = performance.now();
    let best: KeyPlan | null = null;
    for (const k of keys.items) {
      if (untried && this.tried.includes(k)) continue;
      if (notLimited && k.state.restUntil > now && k.state.reason === 'rate_limited') continue;
      if (best === null || k.state.restUntil < best.state.restUntil) best = k;
    }
    return best;
  }

  private dispatch(target: Target, key: KeyPlan): void {
    const ctx = this.ctx;
    const now = performance.now();
    if (now >= this.deadline) {
      this.fail(this.deadlineError(false));
      return;
    }
    // Claims the half-open probe when the circuit is recovering (a count is no probe: it reports nothing).
    if (samplesHealth(ctx)) ctx.plan.health.circuit(key, target).allow(now);
    this.sentResting = key.state.restUntil > now ? key : null;
    this.tried.push(key);
    ctx.target = target;
    ctx.key = key;
    try {
      dispatchAttempt(ctx, this, target, key, this.deadline - now);
    } catch (err) {
      // Building this target's body failed (it runs from timers and undici callbacks too, where a
      // throw would end the process): the provider is not blamed.
      const gerr = isGatewayError(err) ? err : new GatewayError('internal_error', 'The gateway failed to build the provider request.', { cause: err });
      // A request this target's format cannot carry (a field with no mapping there) is passed over. On
      // a fallback the 400 would hide why the targets before it failed: with none left the client gets
      // the last provider's error. On the first target, the next one may take it (logprobs, say, which
      // Claude has no place for and OpenAI does); with none that can, the client gets this 400.
      if (gerr.status === 400 && (this.records.length > 0 || (this.ti < ctx.targets.length - 1 && !this.forced))) {
        if (this.records.length === 0) this.refused ??= gerr;
        (this.skips ??= []).push({ at: this.records.length, label: `${target.label}:untranslatable` });
        this.nextTarget();
        return;
      }
      this.fail(gerr.status === 400 && this.refused !== null ? this.refused : gerr);
    }
  }

  deadlineError(cut: boolean): GatewayError {
    const n = this.attempts + (cut ? 1 : 0);
    const done = this.records.length > 0 ? `: ${this.route()}` : '';
    return new GatewayError('deadline_exceeded', `The request's deadline passed after ${n === 1 ? '1 attempt' : `${n} attempts`}${done}${!cut ? '' : done === '' ? ', cut short' : ', and one more cut short'}.`);
  }

  private fail(err: GatewayError): void {
    this.cancel();
    const ctx = this.ctx;
    if (err.retryable && this.attempts > 0) {
      // Name every attempt, so "all providers failed" can be told from "one provider said no". The
      // client reads the provider's own message, unchanged after a single attempt; after several, the
      // gateway has something to add (the path), so the note follows the last provider's words.
      const note = ` (after ${this.attempts === 1 ? '1 attempt' : `${this.attempts} attempts`}: ${this.route()})`;
      const p = err.provider;
      const provider = p !== null && p.message !== null && this.attempts > 1 ? { ...p, message: p.message + note } : p;
      err = new GatewayError(err.code, err.message + note, { status: err.status, upstreamStatus: err.upstreamStatus, param: err.param, provider, retryAfterMs: err.retryAfterMs });
    }
    ctx.sink.error(ctx, err, false, this.clientHeaders(err));
  }

  /**
   * What the client is told besides the error: the last provider's own headers (request id, rate
   * limits, its retry hints; the writer's allow-list filters them), a retry hint the provider gave in
   * its body (Gemini's RetryInfo) as Retry-After, and, once the gateway has itself retried or failed
   * over, `x-should-retry: false`: the OpenAI and Anthropic SDKs honour it, so one client call does not
   * become the SDK's tries times the gateway's attempts. Nothing the provider did not say is invented.
   */
  private clientHeaders(err: GatewayError): IncomingHttpHeaders | null {
    // An object the provider made (makesObject) must not be made again by the client's SDK either.
    const retried = this.attempts > 1 || this.madeObject;
    const fromBody = err.retryAfterMs !== null && this.lastHeaders?.['retry-after'] === undefined && this.lastHeaders?.['retry-after-ms'] === undefined;
    if (!retried && !fromBody) return this.lastHeaders;
    const out: IncomingHttpHeaders = { ...this.lastHeaders };
    if (fromBody) out['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs! / 1000)));
    if (retried) out['x-should-retry'] = 'false';
    return out;
  }
}

function rest(key: KeyPlan, until: number, reason: RestReason): void {
  if (until > key.state.restUntil) {
    key.state.restUntil = until;
    key.state.reason = reason;
  }
}

/**
 * Whether this request's outcomes count toward its keys' rests, circuits and latencies. Counting
 * tokens does not: Anthropic rate-limits it apart from messages ("separate and independent rate
 * limits", docs: token counting), and a count answered in milliseconds, or refused, says nothing of
 * how generations fare. A 429 on a count moves that request to the next key without resting the key.
 */
function samplesHealth(ctx: RequestContext): boolean {
  return ctx.endpoint !== 'count_tokens';
}

/** A request that makes an object at the provider: a file upload, a batch (or its cancellation). */
function makesObject(ctx: RequestContext): boolean {
  return ctx.method === 'POST' && (ctx.endpoint === 'files' || ctx.endpoint === 'batches');
}
