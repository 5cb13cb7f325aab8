// The request path after the body is read, in order. Each stage throws a GatewayError to stop; the
// catch hands it to the one error boundary (server/respond.ts).
//
//   parse    pipeline/parse.ts     JSON once; validate what routing needs
//   route    pipeline/route.ts     model → the targets to try, in order (weights, then fallbacks); a file
//                                  or batch id → the key that stores it, for its owner only (resources.ts);
//            pipeline/rules.ts     precompiled CEL rules may deny, or replace the targets
//   continue pipeline/continuation.ts  a Responses previous_response_id: the key that stores it, its owner only
//   files    pipeline/resources.ts     files a chat names (file_id): the key that stores them, their owner only
//   govern   pipeline/govern.ts    the caller's virtual key: its models, providers and limits (a small
//                                  limit's permit may take a Redis round trip: the rest waits for it)
//   forward  upstream/forward.ts   the failover loop (upstream/failover.ts) sends attempts
//                                  (upstream/attempt.ts) until one answers; it relays the answer
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import { Failover } from '../upstream/failover.ts';
import type { RequestContext } from '../request/context.ts';
import { parseRequest, requestDeadline } from './parse.ts';
import { routeRequest } from './route.ts';
import { admitRequest, govern, releasePermits } from './govern.ts';
import { continueStoredResponse } from './continuation.ts';
import { fileReferences } from './resources.ts';

export function handleRequest(ctx: RequestContext): void {
  try {
    parseRequest(ctx);
    const deadlineMs = requestDeadline(ctx);
    routeRequest(ctx);
    continueStoredResponse(ctx);
    fileReferences(ctx);
    const waiting = govern(ctx, ctx.explain);
    if (waiting === null) admitAndAnswer(ctx, deadlineMs);
    else awaitPermits(ctx, waiting, deadlineMs);
  } catch (err) {
    fail(ctx, err);
  }
}

/** Goes on when the permits arrive, or when the request's deadline passes first (a stalled Redis answers in up to 500 ms). */
function awaitPermits(ctx: RequestContext, waiting: Promise<void>, deadlineMs: number): void {
  let gone = false;
  const go = (late: boolean): void => {
    if (gone) return;
    gone = true;
    clearTimeout(timer);
    resume(ctx, deadlineMs, late);
  };
  const timer = setTimeout(() => go(true), Math.max(1, Math.ceil(ctx.t0 + deadlineMs - performance.now())));
  waiting.then(() => go(false));
}

function admitAndAnswer(ctx: RequestContext, deadlineMs: number): void {
  if (ctx.explain) return explain(ctx);
  admitRequest(ctx);
  forward(ctx, deadlineMs);
}

/**
 * After governance waited: unless the client left meanwhile (nothing was charged yet), go on. A request
 * that does not go gives back the permits it waited for, for other requests of the window.
 */
function resume(ctx: RequestContext, deadlineMs: number, late: boolean): void {
  if (ctx.aborted || ctx.done) return releasePermits(ctx);
  if (late || performance.now() >= ctx.t0 + deadlineMs) {
    releasePermits(ctx);
    return fail(ctx, new GatewayError('deadline_exceeded', "The request's deadline passed while it waited for a rate-limit permit (the counter store was slow to answer)."));
  }
  try {
    admitRequest(ctx);
  } catch (err) {
    releasePermits(ctx);
    return fail(ctx, err);
  }
  try {
    forward(ctx, deadlineMs);
  } catch (err) {
    fail(ctx, err);
  }
}

function fail(ctx: RequestContext, err: unknown): void {
  ctx.sink.error(ctx, isGatewayError(err) ? err : new GatewayError('internal_error', 'The gateway failed to handle the request.', { cause: err }));
}

/** The answer of POST /v1/route/explain: what the gateway would do with this request. */
function explain(ctx: RequestContext): void {
  const c = ctx.classification();
  const r = ctx.rules;
  ctx.sink.json(
    ctx,
    200,
    JSON.stringify({
      model: ctx.model,
      rule: r?.rule?.name ?? null,
      matched: r?.matched.map((m) => m.name) ?? [],
      evaluationErrors: r?.errors ?? [],
      missingKeys: r?.missing ?? [],
      complexity: {
        tier: c.tier,
        score: Math.round(c.score * 1000) / 1000,
        dims: c.dims,
        forced: c.forced,
        model: ctx.plan.classifier.model,
        // Why this tier: cues found, question and paste sizes, per-tier probabilities, top features.
        signals: ctx.plan.classifier.explain(ctx.classifierInput()),
      },
      targets: ctx.targets.map((t) => t.label),
    }),
    null,
  );
}

/** The forward stage: the request's failover loop sends attempts until one answers or nothing is left. */
function forward(ctx: RequestContext, deadlineMs: number): void {
  const failover = new Failover(ctx, deadlineMs);
  ctx.failover = failover;
  failover.start();
}
