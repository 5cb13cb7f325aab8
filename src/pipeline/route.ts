// Route stage: model name → target (provider + upstream model) → key, each drawn by weight.
//
// Addressing, in order: a name the config declares (alias, "provider/model" of a declared model, a
// bare declared model) is one Map lookup; otherwise "provider/anything" reaches that provider with
// any model it may have (model names may themselves contain "/", e.g. "meta-llama/Llama-3.3-70B").
import { GatewayError } from '../errors/gateway-error.ts';
import type { KeyPlan, ProviderPlan, RuntimePlan, Target } from '../config/plan.ts';
import type { RequestContext } from './context.ts';

export function routeRequest(ctx: RequestContext): void {
  const target = resolveTarget(ctx.plan, ctx.model);
  ctx.target = target;
  ctx.key = pickKey(target.provider, target.model);
}

export function resolveTarget(plan: RuntimePlan, model: string): Target {
  const route = plan.routes.get(model);
  if (route !== undefined) return route.pick();
  const slash = model.indexOf('/');
  if (slash > 0) {
    const provider = plan.providers.get(model.slice(0, slash));
    if (provider !== undefined && slash < model.length - 1) {
      const upstreamModel = model.slice(slash + 1);
      return { provider, model: upstreamModel, label: model, modelJson: JSON.stringify(upstreamModel) };
    }
  }
  throw modelNotFound(plan, model);
}

export function pickKey(provider: ProviderPlan, model: string): KeyPlan {
  const keys = provider.keysByModel.get(model) ?? provider.anyModelKeys;
  if (keys === null) {
    throw new GatewayError('model_not_found', `No key of provider '${provider.name}' is configured for model '${model}'.`, { param: 'model' });
  }
  return keys.pick();
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
