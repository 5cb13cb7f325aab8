// Rules stage: evaluate the precompiled rules, then either deny the request, hand the route stage a
// rule's targets, or (no rule, or only shadow rules) leave the model's own route in place.
// A rule may route a model name the config does not otherwise know: its targets are the route.
import { GatewayError } from '../errors/gateway-error.ts';
import type { Route, RuntimePlan, Target } from '../plan/types.ts';
import type { CompiledRule } from '../plan/types.ts';
import { evaluateRules } from '../rules/evaluate.ts';
import { RuleStats } from '../state/rule-stats.ts';
import type { RequestContext } from '../request/context.ts';
import { resolveRoute } from '../plan/routes.ts';
import { WeightedPicker } from '../util/weighted.ts';

/** The provider a model name addresses ("openai/gpt-4o" → "openai"), else "". */
function addressedProvider(plan: RuntimePlan, model: string): string {
  const slash = model.indexOf('/');
  return slash > 0 && plan.providers.has(model.slice(0, slash)) ? model.slice(0, slash) : '';
}

/** Where an explain's rule outcomes go: nowhere. */
const UNCOUNTED = new (class extends RuleStats {
  override bump(): void {}
})();

/**
 * Runs the rules. Returns the targets a route rule chose (in attempt order), or null to keep `route`.
 * `route` is null when the model is unknown to the config: then only a rule can route it. With
 * `denyOnly` (files, batches, requests without a model, which one provider owns) a matching route rule
 * is recorded but moves nothing: building its targets from no model failed with a 404.
 */
export function applyRules(ctx: RequestContext, route: Route | null, denyOnly = false): Target[] | null {
  const plan = ctx.plan;
  // An explain is no request: counted, its matches showed on the dashboard's Routing page as traffic.
  const decision = evaluateRules(ctx, plan.rules, ctx.explain ? UNCOUNTED : plan.ruleStats, ctx.model, addressedProvider(plan, ctx.model));
  ctx.rules = decision;
  const rule = decision.rule;
  if (rule === null) return null;
  if (rule.action === 'deny') {
    throw new GatewayError('request_denied', rule.deny!.message, { status: rule.deny!.status });
  }
  if (denyOnly) return null;
  // A chain may have moved the request to another model: a part a target leaves out comes from where
  // the request is going now, not from the model it arrived with.
  return ruleTargets(plan, rule, decision.model === ctx.model ? route : routeOf(plan, decision.model), decision.model);
}

/** The route of a model name, or null when the config does not know it (a rule may still route it). */
function routeOf(plan: RuntimePlan, model: string): Route | null {
  try {
    return resolveRoute(plan, model);
  } catch {
    return null;
  }
}

/** A route rule's targets drawn by weight, then its fallbacks (or the model route's). */
function ruleTargets(plan: RuntimePlan, rule: CompiledRule, route: Route | null, model: string): Target[] {
  const base = route?.targets[0] ?? null;
  const resolved: Array<{ item: Target; weight: number }> = [];
  for (const t of rule.targets) {
    let target = t.fixed;
    if (target === null) {
      // A part left out comes from where the request was going: a provider alone keeps the model the
      // route gives that provider (an alias over two providers, each its own model: the first target's
      // model went to the second provider, which does not serve it), else the route's first.
      const provider = t.provider ?? base?.provider ?? null;
      const upstreamModel = t.model ?? (t.provider === null ? undefined : route?.targets.find((x) => x.provider === t.provider)?.model) ?? base?.model ?? null;
      if (provider === null || upstreamModel === null) {
        throw new GatewayError('model_not_found', `Rule '${rule.name}' matched, but the model '${model}' gives it no provider or model to keep.`, { param: 'model' });
      }
      target = plan.target(provider, upstreamModel);
    }
    resolved.push({ item: t.key === null ? target : plan.pinned(target, t.key), weight: t.weight });
  }
  const order: Target[] = [];
  if (resolved.length === 1) order.push(resolved[0]!.item);
  else {
    const picker = new WeightedPicker(resolved);
    for (let n = 0; n < resolved.length; n++) {
      const t = picker.pickWhere((x) => !order.includes(x));
      if (t === null) break;
      order.push(t);
    }
  }
  const fallbacks = rule.fallbacks === null ? (route?.fallbacks ?? []) : rule.fallbacks.map((name) => resolveRoute(plan, name).picker.pick());
  for (const f of fallbacks) if (!order.includes(f)) order.push(f);
  return order;
}
