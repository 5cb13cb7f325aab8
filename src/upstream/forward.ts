// Upstream stage: start the request's failover loop, and send one attempt: the provider request
// built from the plan, dispatched on the provider's pool.
import type { RequestContext } from '../pipeline/context.ts';
import type { KeyPlan, ProviderPlan, Target } from '../config/plan.ts';
import { removeTopLevelMember, replaceTopLevelValue } from '../util/json-splice.ts';
import { UpstreamAttempt } from './attempt.ts';
import { Failover } from './failover.ts';

export function forward(ctx: RequestContext, deadlineMs: number): void {
  const failover = new Failover(ctx, deadlineMs);
  ctx.failover = failover;
  failover.start();
}

export function dispatchAttempt(ctx: RequestContext, target: Target, key: KeyPlan, remainingMs: number): void {
  const provider = target.provider;
  const attempt = new UpstreamAttempt(ctx, target, key);
  ctx.attempt = attempt;
  attempt.tDispatch = ctx.tDispatch = performance.now();
  ctx.tUpstreamHead = 0;
  ctx.tUpstreamEnd = 0;
  provider.pool.dispatch(
    {
      path: provider.paths[ctx.endpoint],
      method: 'POST',
      headers: upstreamHeaders(ctx, provider, key),
      body: upstreamBody(ctx, target),
      // The deadline bounds the wait for the response head; idleMs bounds each silence after it.
      headersTimeout: Math.max(1, Math.min(provider.timeouts.firstByteMs, Math.ceil(remainingMs))),
      bodyTimeout: provider.timeouts.idleMs,
    },
    attempt,
  );
}

/**
 * The client's bytes, without the gateway's own `fallbacks` field, with `model` set to the target's
 * model when it differs (alias, "provider/model"). Cached for retries of the same target.
 */
export function upstreamBody(ctx: RequestContext, target: Target): Buffer {
  if (ctx.bodyFor === target && ctx.upstreamRaw !== null) return ctx.upstreamRaw;
  let base = ctx.raw!;
  if (ctx.body!.fallbacks !== undefined) {
    const { fallbacks: _gatewayOnly, ...rest } = ctx.body!;
    base = removeTopLevelMember(base, 'fallbacks') ?? Buffer.from(JSON.stringify(rest));
  }
  const out = target.model === ctx.model ? base : (replaceTopLevelValue(base, 'model', target.modelJson) ?? Buffer.from(JSON.stringify({ ...JSON.parse(base.toString()), model: target.model })));
  ctx.bodyFor = target;
  ctx.upstreamRaw = out;
  return out;
}

/** The key's prebuilt headers, plus any client headers the provider config asks to pass on. */
function upstreamHeaders(ctx: RequestContext, provider: ProviderPlan, key: KeyPlan): string[] {
  const fwd = provider.forward;
  if (fwd === null) return key.headers;
  const out = key.headers.slice();
  const h = ctx.headers;
  for (const name in h) {
    if (fwd.exact.has(name) || fwd.prefixes.some((p) => name.startsWith(p))) out.push(name, h[name]!);
  }
  return out;
}
