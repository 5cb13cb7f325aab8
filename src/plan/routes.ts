// Where a model name leads, read from the plan: the route of a declared name or of "provider/any-model",
// the attempt order it gives, and the keys that may serve a target. Pure lookups over plan data
// (the route stage, the rules stage, the failover loop and adaptive weights all use them).
import { GatewayError } from '../errors/gateway-error.ts';
import { WeightedPicker } from '../util/weighted.ts';
import type { KeyPlan, ProviderPlan, Route, RuntimePlan, Target } from './types.ts';

export function makeRoute(name: string, targets: Target[], weights: number[], fallbacks: Target[]): Route {
  return {
    name,
    targets: Object.freeze(targets),
    weights: Object.freeze(weights),
    picker: new WeightedPicker(targets.map((item, i) => ({ item, weight: weights[i]! }))),
    fallbacks: Object.freeze(fallbacks),
    fixedOrder: targets.length === 1 ? Object.freeze([...targets, ...fallbacks]) : null,
  };
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
  const named = slash > 0 && slash < model.length - 1 ? plan.providers.get(model.slice(0, slash)) : undefined;
  // "provider/any-model", else the catch-all provider (routing.defaultProvider) under the name as given.
  const provider = named ?? (plan.routing.defaultProvider === undefined ? undefined : plan.providers.get(plan.routing.defaultProvider));
  if (provider === undefined) throw modelNotFound(plan, model);
  const r = makeRoute(model, [plan.target(provider, named !== undefined ? model.slice(slash + 1) : model)], [1], []);
  if (cache === undefined) adHocRoutes.set(plan, (cache = new Map()));
  if (cache.size < MAX_AD_HOC_ROUTES) cache.set(model, r);
  return r;
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

export function modelNotFound(plan: RuntimePlan, model: string): GatewayError {
  const providers = [...plan.providers.keys()].join(', ');
  return new GatewayError(
    'model_not_found',
    `The model '${model}' does not exist on this gateway. Address a model as 'provider/model' (providers: ${providers}), ` +
      'or use an alias or model name from GET /v1/models.',
    { param: 'model' },
  );
}
