// One attempt: the provider request built from the plan, dispatched on the provider's pool. When the
// client and the provider speak the same wire format, the body is the client's bytes with `model`
// spliced in; otherwise it is translated (formats/: the client's dialect to canonical, canonical to
// the provider's codec), once per request and target.
import type { RequestContext } from '../request/context.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { KeyPlan, ProviderPlan, Target } from '../plan/types.ts';
import type { CanonicalRequest } from '../formats/canonical.ts';
import { removeTopLevelMember, replaceTopLevelValue } from '../util/json-splice.ts';
import { UpstreamAttempt, type AttemptOwner } from './attempt.ts';

export function dispatchAttempt(ctx: RequestContext, owner: AttemptOwner, target: Target, key: KeyPlan, remainingMs: number): void {
  const provider = target.provider;
  const attempt = new UpstreamAttempt(ctx, owner, target, key);
  ctx.attempt = attempt;
  attempt.tDispatch = ctx.tDispatch = performance.now();
  ctx.tUpstreamHead = 0;
  ctx.tUpstreamEnd = 0;
  const body = upstreamBody(ctx, target);
  attempt.armDeadline(remainingMs);
  provider.pool.dispatch(
    {
      path: provider.endpoint.path(ctx.endpoint, target.model, ctx.stream),
      method: 'POST',
      headers: upstreamHeaders(ctx, provider, key),
      body,
      // The provider's own limits: to the response head, and each silence after it. They count
      // against its health; the request's deadline (armed above) does not.
      headersTimeout: provider.timeouts.firstByteMs,
      bodyTimeout: provider.timeouts.idleMs,
    },
    attempt,
  );
}

/** The body for `target`, cached for retries of the same target. */
export function upstreamBody(ctx: RequestContext, target: Target): Buffer {
  if (ctx.bodyFor === target && ctx.upstreamRaw !== null) return ctx.upstreamRaw;
  const codec = target.provider.codec;
  const out = codec.format === ctx.dialect.format ? passThroughBody(ctx, target) : Buffer.from(codec.fromCanonical(canonical(ctx), target.model));
  ctx.bodyFor = target;
  ctx.upstreamRaw = out;
  return out;
}

/** The request in canonical form, made once (a 400 here is the client's: a field with no mapping). */
function canonical(ctx: RequestContext): CanonicalRequest {
  if (ctx.canonical === null) {
    const c = ctx.dialect.toCanonical(ctx.body!, ctx.endpoint);
    ctx.canonical = c;
    const counts = ctx.plan.droppedFields;
    for (const f of c.dropped) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return ctx.canonical;
}

/**
 * The client's bytes, without the gateway's own `fallbacks` field, with `model` set to the target's
 * model when it differs (alias, "provider/model").
 */
function passThroughBody(ctx: RequestContext, target: Target): Buffer {
  let base = ctx.raw!;
  if (ctx.body!.fallbacks !== undefined) {
    const { fallbacks: _gatewayOnly, ...rest } = ctx.body!;
    base = removeTopLevelMember(base, 'fallbacks') ?? reserialize(rest);
  }
  return target.model === ctx.model ? base : (replaceTopLevelValue(base, 'model', target.modelJson) ?? reserialize({ ...JSON.parse(base.toString()), model: target.model }));
}

/** The rare fallback when the splicer cannot edit the bytes. JSON.stringify recurses: a body nested 100k deep overflows the stack. */
function reserialize(body: unknown): Buffer {
  try {
    return Buffer.from(JSON.stringify(body));
  } catch (err) {
    if (err instanceof RangeError) throw new GatewayError('invalid_request', 'The request body is nested too deeply to forward.');
    throw err;
  }
}

/** The key's prebuilt headers, plus any client headers the provider config asks to pass on. */
function upstreamHeaders(ctx: RequestContext, provider: ProviderPlan, key: KeyPlan): string[] {
  const fwd = provider.forward;
  if (fwd === null) return key.headers;
  const out = key.headers.slice();
  const h = ctx.headers;
  for (const name in h) if (fwd.matches(name)) out.push(name, wireValue(h[name]!));
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * uWS hands header values over decoded as UTF-8; undici writes each character as one byte (latin1).
 * Re-encoding sends the client's own bytes (`café` stays `café`). Values were checked at parse.
 */
function wireValue(v: string): string {
  return NON_ASCII.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v;
}
