// Upstream stage: build the provider request from the plan and dispatch it on the provider's pool.
import type { RequestContext } from '../pipeline/context.ts';
import type { KeyPlan, ProviderPlan, Target } from '../config/plan.ts';
import { replaceTopLevelValue } from '../util/json-splice.ts';
import { UpstreamAttempt } from './attempt.ts';

export function forward(ctx: RequestContext): void {
  const target = ctx.target!;
  const key = ctx.key!;
  const provider = target.provider;
  const attempt = new UpstreamAttempt(ctx, provider, key);
  ctx.attempt = attempt;
  ctx.tDispatch = performance.now();
  provider.pool.dispatch(
    {
      path: provider.paths[ctx.endpoint],
      method: 'POST',
      headers: upstreamHeaders(ctx, provider, key),
      body: upstreamBody(ctx, target),
      headersTimeout: provider.timeouts.firstByteMs,
      bodyTimeout: provider.timeouts.idleMs,
    },
    attempt,
  );
}

/** The client's bytes, with `model` rewritten when the client addressed an alias or "provider/model". */
export function upstreamBody(ctx: RequestContext, target: Target): Buffer {
  const raw = ctx.raw!;
  if (target.model === ctx.model) return raw;
  return replaceTopLevelValue(raw, 'model', target.modelJson) ?? Buffer.from(JSON.stringify({ ...ctx.body, model: target.model }));
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
