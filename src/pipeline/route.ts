// Route stage: model name → route → the ordered targets this request may try.
//
// Addressing, in order: a name the config declares (alias, "provider/model" of a declared model, a
// bare declared model) is one Map lookup; otherwise "provider/anything" reaches that provider with
// any model it may have (model names may themselves contain "/", e.g. "meta-llama/Llama-3.3-70B").
//
// Attempt order: the route's targets drawn by weight without replacement (so the weights decide the
// first choice and the order of the alternatives), then fallbacks in order: the request's own
// `fallbacks` if it sent any, else the alias's. A matching rule (pipeline/rules.ts) replaces the
// route's targets with its own; the request's fallbacks still come last.
import { GatewayError } from '../errors/gateway-error.ts';
import type { Route, RuntimePlan, Target } from '../plan/types.ts';
import { attemptOrder, resolveRoute } from '../plan/routes.ts';
import type { RequestContext } from '../request/context.ts';
import { checkModelName } from './parse.ts';
import { applyRules } from './rules.ts';
import { resourceTarget } from './resources.ts';
import { isSurface, SURFACE } from '../formats/openai/surface.ts';

export function routeRequest(ctx: RequestContext): void {
  const plan = ctx.plan;
  if (ctx.model === '' || (isSurface(ctx.endpoint) && SURFACE[ctx.endpoint].routedBy === 'provider')) {
    // Files, batches, and requests that name no model: one provider, chosen without a model name. Rules
    // still run (a deny applies), but cannot move the request: its ids belong to that provider.
    if (plan.rules.length > 0) applyRules(ctx, null, true);
    ctx.targets = servedOnly(ctx, [resourceTarget(ctx) ?? ownerTarget(ctx)]);
    return;
  }
  let route: Route | null = null;
  let unknown: GatewayError | null = null;
  try {
    route = resolveRoute(plan, ctx.model);
  } catch (err) {
    // A rule may still route a name the config does not know; without rules, this is the answer.
    if (plan.rules.length === 0) throw err;
    unknown = err as GatewayError;
  }
  const ruled = plan.rules.length === 0 ? null : applyRules(ctx, route);
  const fallbacks = ctx.body!.fallbacks === undefined ? null : requestFallbacks(plan, ctx.body!.fallbacks);
  if (ruled !== null) {
    if (fallbacks !== null) ruled.splice(ruled.length, 0, ...fallbacks.filter((f) => !ruled.includes(f)));
    ctx.targets = servedOnly(ctx, ruled);
    return;
  }
  if (route === null) throw unknown!;
  ctx.targets = servedOnly(ctx, attemptOrder(route, fallbacks));
}

/**
 * The targets whose wire format serves this kind of request (an Anthropic provider has no
 * embeddings): the others are left out of the attempt order, and with none left the client is told.
 */
function servedOnly(ctx: RequestContext, targets: readonly Target[]): readonly Target[] {
  const kind = ctx.endpoint;
  let all = true;
  for (let i = 0; i < targets.length; i++) if (targets[i]!.provider.codec.serves[kind] !== true) all = false;
  if (all) return targets;
  const served = targets.filter((t) => t.provider.codec.serves[kind] === true);
  if (served.length === 0) {
    // A request with no model (files, batches) was routed by the x-microgate-provider header: name it.
    if (ctx.model === '') throw new GatewayError('invalid_parameter', `Provider ${targets.map((t) => `'${t.provider.name}' (${t.provider.codec.format})`).join(', ')} cannot serve ${kind} requests (x-microgate-provider).`, { param: 'x-microgate-provider' });
    throw new GatewayError('model_not_found', `The model '${ctx.model}' is served by ${targets.map((t) => `'${t.provider.name}' (${t.provider.codec.format})`).join(', ')}, which cannot serve ${kind} requests.`, { param: 'model' });
  }
  return served;
}

/**
 * The provider of a request routed without a model: the one the `x-microgate-provider` header names,
 * else routing.defaultProvider, else the only provider that serves this kind of request.
 */
function ownerTarget(ctx: RequestContext): Target {
  const plan = ctx.plan;
  const named = ctx.headers['x-microgate-provider'] ?? plan.routing.defaultProvider;
  if (named !== undefined) {
    const p = plan.providers.get(named);
    if (p === undefined) throw new GatewayError('invalid_parameter', `No provider is named '${named.slice(0, 100)}' (x-microgate-provider).`, { param: 'x-microgate-provider' });
    return plan.target(p, '');
  }
  const serving = [...plan.providers.values()].filter((p) => p.codec.serves[ctx.endpoint] === true);
  if (serving.length === 1) return plan.target(serving[0]!, '');
  throw new GatewayError(
    'invalid_request',
    `This ${ctx.endpoint} request names no model, and ${serving.length} providers could serve it (${serving.map((p) => p.name).join(', ')}): ` +
      'name one in the x-microgate-provider header, or set routing.defaultProvider.',
    { param: 'x-microgate-provider' },
  );
}

const MAX_FALLBACKS = 8;

/** The request body's `fallbacks`: ["provider/model", ...], each resolved like a model name. */
function requestFallbacks(plan: RuntimePlan, value: unknown): Target[] {
  if (!Array.isArray(value) || value.length > MAX_FALLBACKS || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw new GatewayError('invalid_parameter', `'fallbacks' must be an array of at most ${MAX_FALLBACKS} model names ("provider/model").`, { param: 'fallbacks' });
  }
  return (value as string[]).map((name) => {
    checkModelName(name, 'fallbacks');
    try {
      return resolveRoute(plan, name).picker.pick();
    } catch {
      throw new GatewayError('model_not_found', `The fallback model '${name}' does not exist on this gateway. Address it as 'provider/model'.`, { param: 'fallbacks' });
    }
  });
}

