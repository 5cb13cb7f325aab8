// A Responses API request that continues a stored response (`previous_response_id`) goes to the
// provider key that stores it, and only for the virtual key it was made for: the id the client holds
// was sealed by the gateway with both (formats/responses/ids.ts, which says why). Runs after routing,
// before governance, so a key's own provider list still applies to what is left.
import { GatewayError } from '../errors/gateway-error.ts';
import { keysFor } from '../plan/routes.ts';
import type { RequestContext } from '../request/context.ts';
import { opened, reaching } from './resources.ts';

/**
 * Built-in tools that read what the provider account stores under an id: file_search's vector stores
 * (their files), code_interpreter's named container (the files left in it). The gateway hands out
 * neither id, so under virtual keys one named comes from the account every tenant shares, and is
 * refused; code_interpreter's fresh container (`{"type": "auto"}`) is the request's own, and passes.
 */
function sharedToolState(tools: unknown): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) return;
    const tool = t as { type?: unknown; vector_store_ids?: unknown; container?: unknown };
    if (tool.type === 'file_search' && Array.isArray(tool.vector_store_ids) && tool.vector_store_ids.length > 0) {
      throw new GatewayError('invalid_parameter', `'tools[${i}].vector_store_ids' names vector stores of the provider account that every virtual key shares: with a virtual key, file_search is not available.`, { param: `tools[${i}].vector_store_ids` });
    }
    if (tool.type === 'code_interpreter' && typeof tool.container === 'string') {
      throw new GatewayError('invalid_parameter', `'tools[${i}].container' names a container of the provider account that every virtual key shares: with a virtual key, ask for a fresh one ({"type": "auto"}).`, { param: `tools[${i}].container` });
    }
  });
}

/**
 * Input items that name an item stored in the provider account (`item_reference`: any message, call or
 * reasoning item of any response of the project, whose ids every response's output shows): under
 * virtual keys, nothing binds one to the tenant, as for a conversation.
 */
function storedItems(input: unknown): void {
  if (!Array.isArray(input)) return;
  for (let i = 0; i < input.length; i++) {
    const item = input[i] as { type?: unknown } | null;
    if (typeof item === 'object' && item !== null && item.type === 'item_reference') {
      throw new GatewayError('invalid_parameter', `'input[${i}]' is an item_reference to an item stored in the provider account that every virtual key shares: with a virtual key, send the item itself, or continue with previous_response_id.`, { param: `input[${i}]` });
    }
  }
}

export function continueStoredResponse(ctx: RequestContext): void {
  if (ctx.endpoint !== 'responses') return;
  // A conversation (`conversation`: its items are prepended) is stored in the provider account every
  // virtual key shares, and the gateway hands out no conversation id: one named under governance comes
  // from elsewhere and nothing binds it to this tenant, as a raw previous_response_id.
  if (ctx.vk !== null && ctx.body?.conversation !== undefined && ctx.body.conversation !== null) {
    throw new GatewayError(
      'invalid_parameter',
      "'conversation' names a conversation stored in the provider account that every virtual key shares: with a virtual key, continue with previous_response_id, or send the turns as input items.",
      { param: 'conversation' },
    );
  }
  if (ctx.vk !== null) {
    sharedToolState(ctx.body?.tools);
    storedItems(ctx.body?.input);
  }
  const id = ctx.body?.previous_response_id;
  if (typeof id !== 'string') return;
  // A provider's own id goes on as it is without virtual keys (the gateway cannot say where it is
  // stored). With them it is refused: the gateway hands out no raw id, so one comes from elsewhere,
  // and nothing binds it to this tenant; so are altered and other tenants' ids, as OpenAI answers one
  // it does not know.
  const origin = opened(ctx, ctx.plan.responseIds, id, () => new GatewayError('not_found', `Previous response with id '${id}' not found.`, { param: 'previous_response_id' }));
  if (origin === null) return;
  const at = ctx.targets.filter((t) => t.provider.name === origin.provider && t.provider.nativeResponses);
  if (at.length === 0) {
    throw new GatewayError('invalid_request', `'previous_response_id' names a response stored by provider '${origin.provider}', which '${ctx.model}' does not route to: continue it through a model served there, or send the conversation as input items.`, { param: 'previous_response_id' });
  }
  // The key that made it, while the config still has it; else any key of that provider (the same
  // project's keys share stored responses). A target a rule pinned to another key cannot reach it.
  ctx.targets = reaching(ctx, at, (t) => keysFor(t.provider, t.model)?.items.find((k) => k.name === origin.key) ?? null);
  if (ctx.targets.length === 0) {
    throw new GatewayError('invalid_request', `'previous_response_id' names a response stored with another key of provider '${origin.provider}' than this request must use (a rule pins it): one request reaches one.`, { param: 'previous_response_id' });
  }
  ctx.previousResponse = { sealed: id, original: origin.id };
}
