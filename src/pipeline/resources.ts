// Files and batches name objects the gateway sealed (formats/openai/resource-ids.ts, which says why):
// a request for one goes to the provider key that stores it, and only for the virtual key it was made
// for. Called by the route stage for these provider-routed requests, before the provider that owns
// model-less requests is chosen: a sealed id names its own, whatever the header or the default says.
//
//   /files/{id}, /files/{id}/content, /batches/{id}, /batches/{id}/cancel   the id in the path
//   POST /batches                                                          its input_file_id
//   GET /files, GET /batches                                               lists: the whole provider
//       account's, every tenant's; a virtual key is refused (it keeps the ids it was given). Without
//       virtual keys they are answered, at the provider and key of their `after` cursor.
import { GatewayError } from '../errors/gateway-error.ts';
import type { SealedIds, SealedOrigin } from '../util/sealed-ids.ts';
import type { KeyPlan, ProviderPlan, Target } from '../plan/types.ts';
import type { RequestContext } from '../request/context.ts';
import { replaceTopLevelValue } from '../util/json-splice.ts';
import { isObj } from '../util/json-object.ts';
import { nestedTooDeep } from '../upstream/forward.ts';

/** The provider and key that store what a files or batches request names; null when it names nothing sealed. */
export function resourceTarget(ctx: RequestContext): Target | null {
  const kind = ctx.endpoint;
  if (kind !== 'files' && kind !== 'batches') return null;
  const ids = ctx.plan.resourceIds;
  const q = ctx.subpath.indexOf('?');
  const segments = (q < 0 ? ctx.subpath : ctx.subpath.slice(0, q)).split('/');
  let query = q < 0 ? '' : ctx.subpath.slice(q);
  const id = segments[2];
  let origin: SealedOrigin | null = null;
  if (id !== undefined) {
    origin = opened(ctx, ids[kind], id, () => notFound(kind, id));
    if (origin !== null) segments[2] = origin.id;
  } else if (ctx.method === 'GET') {
    if (ctx.vk !== null) {
      throw new GatewayError('permission_denied', `Listing ${kind} shows the provider account's, every tenant's: with a virtual key, ask for each of yours by the id the gateway gave you.`);
    }
    const params = new URLSearchParams(query);
    const after = params.get('after');
    const cursor = after === null ? null : ids[kind].open(after);
    if (cursor !== null && cursor !== 'forged') {
      // The next page comes from where the last one did: another key may be another project.
      origin = cursor;
      params.set('after', cursor.id);
      query = `?${params.toString()}`;
    }
  } else if (kind === 'batches') {
    const file = ctx.body?.input_file_id;
    if (typeof file === 'string') {
      origin = opened(ctx, ids.files, file, () => new GatewayError('invalid_parameter', `No such File object: ${file}`, { param: 'input_file_id' }));
      if (origin !== null) {
        ctx.raw = replaceTopLevelValue(ctx.raw!, 'input_file_id', JSON.stringify(origin.id)) ?? Buffer.from(JSON.stringify({ ...ctx.body, input_file_id: origin.id }));
        ctx.body!.input_file_id = origin.id;
      }
    }
  }
  ctx.subpath = segments.join('/') + query;
  return origin === null ? null : pinnedTo(ctx, origin);
}

/**
 * The quoted key every file reference holds: a body without it (nearly every one) is not walked, unless
 * it has escapes, behind which the key may hide ("file\u005fid" parses as file_id).
 */
const FILE_ID = Buffer.from('"file_id'); // file_id and file_ids
const ESCAPE = Buffer.from('\\u');

/**
 * Files named inside a chat, Messages or Responses request, wherever such a part is (a chat `file`
 * part's file.file_id; an `input_file` or `input_image` part, in a turn, a function_call_output's output
 * or a prompt's variables; a code_interpreter container's `file_ids`; a Messages block's
 * `{"source": {"type": "file", "file_id"}}`): the gateway's ids, opened for their owner, the request sent
 * to the provider key that stores them, with the provider's own ids in their place. Only those shapes:
 * a `file_id` in a tool's input or in metadata is the client's own data. A file stored elsewhere than
 * the route reaches, or with another key than one already pinned (a continued response, a rule), is a
 * 400 that says so. Without virtual keys a raw id passes.
 */
export function fileReferences(ctx: RequestContext): void {
  if ((ctx.endpoint !== 'chat' && ctx.endpoint !== 'responses' && ctx.endpoint !== 'count_tokens') || ctx.raw === null || (!ctx.raw.includes(FILE_ID) && !ctx.raw.includes(ESCAPE))) return;
  const b = ctx.body!;
  const param = ctx.endpoint === 'responses' ? 'input' : 'messages';
  const seen = new Map<string, SealedOrigin | null>();
  let origin: SealedOrigin | null = null;
  const open = (id: string): string => {
    let o = seen.get(id);
    if (o === undefined) {
      o = opened(ctx, ctx.plan.resourceIds.files, id, () => new GatewayError('invalid_parameter', `No such File object: ${id}`, { param }));
      seen.set(id, o);
    }
    if (o === null) return id;
    if (origin !== null && (o.provider !== origin.provider || o.key !== origin.key)) {
      throw new GatewayError('invalid_parameter', 'The files this request names are stored with different provider keys: one request reaches one.', { param });
    }
    origin = o;
    return o.id;
  };
  // Iterative: a parsed body may be nested 100k deep, past what recursion survives.
  const stack: unknown[] = [b];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push(x);
      continue;
    }
    if (!isObj(v)) continue;
    const type = v.type;
    if ((type === 'input_file' || type === 'input_image' || type === 'file') && typeof v.file_id === 'string') v.file_id = open(v.file_id);
    if (type === 'file' && isObj(v.file) && typeof v.file.file_id === 'string') v.file.file_id = open(v.file.file_id);
    if (type === 'code_interpreter' && isObj(v.container) && Array.isArray(v.container.file_ids)) {
      v.container.file_ids = v.container.file_ids.map((id: unknown) => (typeof id === 'string' ? open(id) : id));
    }
    for (const k in v) {
      const x = v[k];
      if (typeof x === 'object' && x !== null) stack.push(x);
    }
  }
  if (origin === null) return;
  const at: SealedOrigin = origin;
  const here = ctx.targets.filter((t) => t.provider.name === at.provider);
  if (here.length === 0) {
    throw new GatewayError('invalid_parameter', `The file is stored by provider '${at.provider}', which '${ctx.model}' does not route to: ask a model served there.`, { param });
  }
  const provider = here[0]!.provider;
  const key = keyNamed(provider, at.key);
  ctx.targets = reaching(ctx, here, () => key);
  if (ctx.targets.length === 0) {
    throw new GatewayError('invalid_parameter', `The file is stored with another key of provider '${at.provider}' than this request must use (a continued response, or a rule): one request reaches one.`, { param });
  }
  try {
    ctx.raw = Buffer.from(JSON.stringify(b));
  } catch {
    throw nestedTooDeep(b);
  }
}

/**
 * Of `targets` (all at the provider that stores an object), those that reach the key storing it
 * (`keyOf`: that key, for a target's model): an unpinned target pinned to it, one already pinned there
 * (by a rule or a continued response) kept, one pinned to another key left out. When `keyOf` has no key
 * (the config no longer has it, or it does not serve the model), any key of the provider is as good as
 * another and the target stays as it is. Each once: a target and its pinned twin become one.
 */
export function reaching(ctx: RequestContext, targets: readonly Target[], keyOf: (t: Target) => KeyPlan | null): Target[] {
  const out: Target[] = [];
  for (const t of targets) {
    const k = keyOf(t);
    let p: Target;
    if (k === null) p = t;
    else if (t.key === undefined) p = ctx.plan.pinned(t, k);
    else if (t.key.name === k.name) p = t;
    else continue;
    // By label and key, not identity: pinned targets past the plan's cache are new objects.
    if (!out.some((x) => x.label === p.label && x.key?.name === p.key?.name)) out.push(p);
  }
  return out;
}

/**
 * The origin of a sealed id (files, batches, and Responses ids: pipeline/continuation.ts). A provider's
 * own id passes without virtual keys (null: routed as it would be); with them it is refused, as are an
 * altered id, one sealed with another secret and another tenant's: all with `unknown()`, the error the
 * provider gives for an id it does not know, so none can probe for others.
 */
export function opened(ctx: RequestContext, sealer: SealedIds, id: string, unknown: () => GatewayError): SealedOrigin | null {
  const origin = sealer.open(id);
  if (origin === null && ctx.vk === null) return null;
  if (origin === null || origin === 'forged' || origin.owner !== (ctx.vk?.owner ?? '')) throw unknown();
  return origin;
}

const notFound = (kind: 'files' | 'batches', id: string): GatewayError =>
  kind === 'files' ? new GatewayError('not_found', `No such File object: ${id}`, { param: 'id' }) : new GatewayError('not_found', `No batch found with id '${id}'.`, { param: 'batch_id' });

/** The provider and key that store the object, while the config still has them (the key: else any of that provider's). */
function pinnedTo(ctx: RequestContext, origin: SealedOrigin, model = ''): Target {
  const plan = ctx.plan;
  const provider = plan.providers.get(origin.provider);
  if (provider === undefined) {
    throw new GatewayError('not_found', `The object is stored by provider '${origin.provider}', which this gateway's config no longer has.`);
  }
  const target = plan.target(provider, model);
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
