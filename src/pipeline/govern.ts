// Governance stage, after routing: a virtual key reaches only its models and providers (403
// permission_denied otherwise), and only within its limits and those of its team and customer
// (governance/admission.ts: 429 rate_limit_exceeded, 402 budget_exceeded). At the end of the request
// its tokens and cost are charged. Authentication itself happens before the body is read
// (server/app.ts): an unknown key never costs a parse.
import { GatewayError } from '../errors/gateway-error.ts';
import { admit, charge, type Admitted } from '../governance/admission.ts';
import type { RequestContext } from '../request/context.ts';

export function govern(ctx: RequestContext, explain: boolean): void {
  const key = ctx.vk;
  if (key === null) return;
  if (key.models !== null && ctx.model !== '' && !key.models.has(ctx.model)) {
    throw new GatewayError('permission_denied', `The virtual key '${key.id}' may not use the model '${ctx.model}'.`, { param: 'model' });
  }
  if (key.providers !== null) {
    // Targets at providers the key may not reach are left out; the others keep their order.
    const allowed = ctx.targets.filter((t) => key.providers!.has(t.provider.name));
    if (allowed.length === 0) throw new GatewayError('permission_denied', `The virtual key '${key.id}' may not reach the provider${ctx.targets.length > 1 ? 's' : ''} serving '${ctx.model || ctx.endpoint}'.`, { param: 'model' });
    if (allowed.length !== ctx.targets.length) ctx.targets = allowed;
  }
  // Explaining a decision spends nothing.
  if (explain) return;
  const gov = ctx.plan.governance;
  const admitted: Admitted = { requests: null, tokens: null };
  ctx.admitted = admitted;
  admit(key, gov.store, gov.failure, Date.now(), admitted);
}

/**
 * The answer's cost in USD from its usage and the target that served it (-1 when unknown), computed
 * once: for the x-microgate-cost-usd header of a JSON answer, then for the budget and the record.
 */
export function costOf(ctx: RequestContext): number {
  if (ctx.costUsd !== -2) return ctx.costUsd;
  const t = ctx.target;
  if (t === null || ctx.promptTokens < 0 || ctx.completionTokens < 0) return (ctx.costUsd = -1);
  const read = ctx.cacheReadTokens;
  const write = ctx.cacheWriteTokens;
  const usd = ctx.plan.governance.prices.costUsd(t.provider.type, t.provider.name, t.model, { input: Math.max(0, ctx.promptTokens - read - write), output: ctx.completionTokens, cacheRead: read, cacheWrite: write });
  return (ctx.costUsd = usd ?? -1);
}

/** At the end of a request: charge its tokens and cost to its key, team and customer. */
export function settle(ctx: RequestContext): void {
  const key = ctx.vk;
  const cost = costOf(ctx);
  if (key === null || ctx.admitted === null) return;
  const tokens = Math.max(0, ctx.promptTokens) + Math.max(0, ctx.completionTokens);
  charge(key, ctx.plan.governance.store, tokens, Math.max(0, cost), Date.now());
}
