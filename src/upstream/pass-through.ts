// Whether a request travels as the client's bytes or is translated, and which of the provider's
// request kinds it becomes. Same wire format both sides: a pass-through. A Responses API request is
// one only for a provider that has the API (ProviderPlan.nativeResponses); any other provider gets it
// as a chat (formats/responses/ translates both ways).
import type { EndpointName, Target } from '../plan/types.ts';
import type { RequestContext } from '../request/context.ts';

export function passesThrough(ctx: RequestContext, target: Target): boolean {
  if (ctx.endpoint === 'responses') return target.provider.nativeResponses;
  return target.provider.codec.format === ctx.dialect.format;
}

/** The provider's request kind for this client request (its path follows from it). */
export function upstreamKind(ctx: RequestContext, target: Target): EndpointName {
  return ctx.endpoint === 'responses' && !target.provider.nativeResponses ? 'chat' : ctx.endpoint;
}
