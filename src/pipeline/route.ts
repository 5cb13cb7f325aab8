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
import { makeRoute } from '../config/compile.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { KeyPlan, ProviderPlan, Route, RuntimePlan, Target } from '../config/plan.ts';
import type { RequestContext } from './context.ts';
import { checkModelName } from './parse.ts';
import { applyRules } from './rules.ts';

export function routeRequest(ctx: RequestContext): void {
  const plan = ctx.plan;
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
    ctx.targets = ruled;
    return;
  }
  if (route === null) throw unknown!;
  ctx.targets = attemptOrder(route, fallbacks);
}

/**
 * "provider/any-model" routes seen so far, per plan. Model names come from clients, so the cache is
 * bounded: past the cap, a route is built per request (~1 µs) instead of remembered.
 */
const adHocRoutes = new WeakMap<RuntimePlan, Map<string, Route>>();
const MAX_AD_HOC_ROUTES = 1024;

export function resolveRoute(plan: RuntimePlan, model: string): Route {
  const route = plan.routes.get(model);
  if (route !== undefined) return route;
  let cache = adHocRoutes.get(plan);
  const cached = cache?.get(model);
  if (cached !== undefined) return cached;
  const slash = model.indexOf('/');
  if (slash > 0 && slash < model.length - 1) {
    const provider = plan.providers.get(model.slice(0, slash));
    if (provider !== undefined) {
      const upstreamModel = model.slice(slash + 1);
      const r = makeRoute(model, [plan.target(provider, upstreamModel)], [1], []);
      if (cache === undefined) adHocRoutes.set(plan, (cache = new Map()));
      if (cache.size < MAX_AD_HOC_ROUTES) cache.set(model, r);
      return r;
    }
  }
  throw modelNotFound(plan, model);
}

/** One target drawn by weight (the first choice of attemptOrder). */
export function resolveTarget(plan: RuntimePlan, model: string): Target {
  return resolveRoute(plan, model).picker.pick();
}

export function attemptOrder(route: Route, fallbacks: readonly Target[] | null): readonly Target[] {
  if (fallbacks === null && route.fixedOrder !== null) return route.fixedOrder;
  const order: Target[] = [];
  if (route.targets.length === 1) order.push(route.targets[0]!);
  else {
    for (let n = 0; n < route.targets.length; n++) {
      const t = route.picker.pickWhere((x) => !order.includes(x));
      if (t === null) break;
      order.push(t);
    }
  }
  for (const f of fallbacks ?? route.fallbacks) if (!order.includes(f)) order.push(f);
  return order;
}

/** The keys that may serve a model on a provider, with their weights; null when none may. */
export function keysFor(provider: ProviderPlan, model: string) {
  return provider.keysByModel.get(model) ?? provider.anyModelKeys;
}

/** A key drawn by weight, ignoring health: the first choice when every key is fine. */
export function pickKey(provider: ProviderPlan, model: string): KeyPlan {
  const keys = keysFor(provider, model);
  if (keys === null) throw noKey(provider, model);
  return keys.pick();
}

export function noKey(provider: ProviderPlan, model: string): GatewayError {
  return new GatewayError('model_not_found', `No key of provider '${provider.name}' is configured for model '${model}'.`, { param: 'model' });
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

function modelNotFound(plan: RuntimePlan, model: string): GatewayError {
  const providers = [...plan.providers.keys()].join(', ');
  return new GatewayError(
    'model_not_found',
    `The model '${model}' does not exist on this gateway. Address a model as 'provider/model' (providers: ${providers}), ` +
      'or use an alias or model name from GET /v1/models.',
    { param: 'model' },
  );
}
