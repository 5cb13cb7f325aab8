// Files and batches name objects the gateway sealed (formats/openai/resource-ids.ts, which says why):
// a request for one goes to the provider key that stores it, and only for the virtual key it was made
// for. Runs after routing (which chose the provider that owns model-less requests), before governance.
//
//   /files/{id}, /files/{id}/content, /batches/{id}, /batches/{id}/cancel   the id in the path
//   POST /batches                                                          its input_file_id
//   GET /files, GET /batches                                               lists: the whole provider
//       account's, every tenant's; a virtual key is refused (it keeps the ids it was given). Without
//       virtual keys they are answered, and their `after` cursor opened.
import { GatewayError } from '../errors/gateway-error.ts';
import type { SealedIds, SealedOrigin } from '../util/sealed-ids.ts';
import type { KeyPlan, ProviderPlan } from '../plan/types.ts';
import type { RequestContext } from '../request/context.ts';
import { replaceTopLevelValue } from '../util/json-splice.ts';

export function ownResources(ctx: RequestContext): void {
  const kind = ctx.endpoint;
  if (kind !== 'files' && kind !== 'batches') return;
  const ids = ctx.plan.resourceIds;
  const q = ctx.subpath.indexOf('?');
  const segments = (q < 0 ? ctx.subpath : ctx.subpath.slice(0, q)).split('/');
  let query = q < 0 ? '' : ctx.subpath.slice(q);
  const id = segments[2];
  let origin: SealedOrigin | null = null;
  if (id !== undefined) {
    origin = opened(ctx, ids[kind], id, notFound(kind, id));
    if (origin !== null) segments[2] = origin.id;
  } else if (ctx.method === 'GET') {
    if (ctx.vk !== null) {
      throw new GatewayError('permission_denied', `Listing ${kind} shows the provider account's, every tenant's: with a virtual key, ask for each of yours by the id the gateway gave you.`);
    }
    const params = new URLSearchParams(query);
    const after = params.get('after');
    const cursor = after === null ? null : ids[kind].open(after);
    if (cursor !== null && cursor !== 'forged') {
      params.set('after', cursor.id);
      query = `?${params.toString()}`;
    }
  } else if (kind === 'batches') {
    const file = ctx.body?.input_file_id;
    if (typeof file === 'string') {
      origin = opened(ctx, ids.files, file, new GatewayError('invalid_parameter', `No such File object: ${file}`, { param: 'input_file_id' }));
      if (origin !== null) {
        ctx.raw = replaceTopLevelValue(ctx.raw!, 'input_file_id', JSON.stringify(origin.id)) ?? Buffer.from(JSON.stringify({ ...ctx.body, input_file_id: origin.id }));
        ctx.body!.input_file_id = origin.id;
      }
    }
  }
  if (origin !== null) ctx.targets = [pinnedTo(ctx, origin)];
  ctx.subpath = segments.join('/') + query;
}

/**
 * The origin of a sealed id. A provider's own id passes without virtual keys (null: routed as it
 * would be); with them it is refused, as are an altered id, one sealed with another secret and
 * another tenant's: all as the provider answers an id it does not know, so none can probe for others.
 */
function opened(ctx: RequestContext, sealer: SealedIds, id: string, unknown: GatewayError): SealedOrigin | null {
  const origin = sealer.open(id);
  if (origin === null && ctx.vk === null) return null;
  if (origin === null || origin === 'forged' || origin.owner !== (ctx.vk?.id ?? '')) throw unknown;
  return origin;
}

const notFound = (kind: 'files' | 'batches', id: string): GatewayError =>
  kind === 'files' ? new GatewayError('not_found', `No such File object: ${id}`, { param: 'id' }) : new GatewayError('not_found', `No batch found with id '${id}'.`, { param: 'batch_id' });

/** The provider and key that store the object, while the config still has them (the key: else any of that provider's). */
function pinnedTo(ctx: RequestContext, origin: SealedOrigin) {
  const plan = ctx.plan;
  const provider = plan.providers.get(origin.provider);
  if (provider === undefined) {
    throw new GatewayError('not_found', `The object is stored by provider '${origin.provider}', which this gateway's config no longer has.`);
  }
  const target = plan.target(provider, '');
  const key = keyNamed(provider, origin.key);
  return key === null ? target : plan.pinned(target, key);
}

function keyNamed(provider: ProviderPlan, name: string): KeyPlan | null {
  const found = provider.anyModelKeys?.items.find((k) => k.name === name);
  if (found !== undefined) return found;
  for (const picker of provider.keysByModel.values()) {
    const k = picker.items.find((x) => x.name === name);
    if (k !== undefined) return k;
  }
  return null;
}
