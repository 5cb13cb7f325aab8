// One attempt: the provider request built from the plan, dispatched on the provider's pool. When the
// client and the provider speak the same wire format, the body is the client's bytes with `model`
// spliced in; otherwise it is translated (formats/: the client's dialect to canonical, canonical to
// the provider's codec), once per request and target.
import type { RequestContext } from '../request/context.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { KeyPlan, ProviderPlan, Target } from '../plan/types.ts';
import type { CanonicalEmbeddingsRequest, CanonicalField, CanonicalRequest } from '../formats/canonical.ts';
import { insertTopLevelMember, removeTopLevelMember, replaceTopLevelValue } from '../util/json-splice.ts';
import { renameToolIds } from '../formats/openai/tool-ids.ts';
import { UpstreamAttempt, type AttemptOwner } from './attempt.ts';
import { passesThrough, upstreamKind } from './pass-through.ts';
import type { Dispatcher } from 'undici';
import { isSurface, SURFACE } from '../formats/openai/surface.ts';
import { replaceField } from '../util/multipart-field.ts';
import { COUNT_TOKENS_FIELDS } from '../formats/anthropic/request.ts';

export function dispatchAttempt(ctx: RequestContext, owner: AttemptOwner, target: Target, key: KeyPlan, remainingMs: number): void {
  const provider = target.provider;
  const attempt = new UpstreamAttempt(ctx, owner, target, key);
  ctx.attempt = attempt;
  ctx.tUpstreamHead = 0;
  ctx.tUpstreamEnd = 0;
  const body = ctx.raw === null && ctx.formType === null ? null : upstreamBody(ctx, target);
  const endpoint = provider.endpoint;
  const kind = upstreamKind(ctx, target);
  // Files and batches: the provider's own resource path; everything else by kind and model.
  const path = isSurface(kind) && SURFACE[kind].routedBy === 'provider' ? endpoint.resource!(ctx.subpath) : endpoint.path(kind, target.model, ctx.stream);
  // SigV4 signs every attempt over its own bytes and time: a retry is signed again.
  const headers = endpoint.sign === undefined ? upstreamHeaders(ctx, provider, key) : endpoint.sign(upstreamHeaders(ctx, provider, key), key.secret, path, body ?? EMPTY);
  attempt.armDeadline(remainingMs);
  // The wait on the provider starts here: building the body (a translation), the headers and a SigV4
  // signature above are the gateway's own time (BENCHMARKING.md), which stamping before them hid.
  attempt.tDispatch = ctx.tDispatch = performance.now();
  provider.pool.dispatch(
    {
      path,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      body,
      // The provider's own limits: to the response head, and each silence after it. They count
      // against its health; the request's deadline (armed above) does not.
      headersTimeout: provider.timeouts.firstByteMs,
      bodyTimeout: provider.timeouts.idleMs,
    },
    attempt,
  );
}

const EMPTY = Buffer.alloc(0);

/** The body for `target`, cached for retries of the same target. */
export function upstreamBody(ctx: RequestContext, target: Target): Buffer {
  if (ctx.bodyFor === target && ctx.upstreamRaw !== null) return ctx.upstreamRaw;
  if (ctx.formType !== null) {
    // An upload goes as it came, with the target's model in its `model` field when that differs.
    const span = ctx.formModel;
    ctx.bodyFor = target;
    ctx.upstreamRaw = span !== null && target.model !== '' && target.model !== span.value ? replaceField(ctx.raw!, span, target.model) : ctx.raw!;
    return ctx.upstreamRaw;
  }
  const codec = target.provider.codec;
  // What this target's body leaves out (x-microgate-dropped names the serving target's).
  ctx.dropped = null;
  const out = passesThrough(ctx, target)
    ? passThroughBody(ctx, target)
    : ctx.endpoint === 'embeddings'
      ? Buffer.from(codec.embeddingsFromCanonical!(canonicalEmbeddings(ctx), target.model))
      : translatedBody(ctx, target);
  ctx.bodyFor = target;
  const deviations = target.provider.deviations;
  const chat = upstreamKind(ctx, target) === 'chat';
  let body = deviations.nineCharToolIds && chat ? withNineCharToolIds(out) : out;
  // A name on a message (OpenAI's participant name) is a 400 at Groq: a fallback there failed the request.
  if (deviations.noMessageNames && chat && messagesNamed(ctx.body)) {
    body = withoutMessageNames(body);
    noteDropped(ctx, 'messages[].name');
  }
  // A forced tool choice (`required`, a named function; an Anthropic client's `any` becomes `required`)
  // is a 400 at such a provider: it may still call the tools, as `auto` lets it.
  if (deviations.toolChoiceAutoOrNone && chat && forcesTool(ctx, target)) {
    body = replaceTopLevelValue(body, 'tool_choice', '"auto"') ?? reserialize({ ...JSON.parse(body.toString()), tool_choice: 'auto' });
    noteDropped(ctx, 'tool_choice');
  }
  ctx.upstreamRaw = body;
  return ctx.upstreamRaw;
}

/** Whether the body sent forces a tool (`required`, a named function), read from the parsed request, not the bytes. */
function forcesTool(ctx: RequestContext, target: Target): boolean {
  if (passesThrough(ctx, target)) {
    const tc = ctx.body?.tool_choice;
    return tc !== undefined && tc !== null && tc !== 'auto' && tc !== 'none';
  }
  const tc = ctx.canonical?.toolChoice;
  return tc !== null && tc !== undefined && (tc.type === 'any' || tc.type === 'tool');
}

/** Whether an OpenAI chat body gives a message a `name` (checked on the parsed body: no bytes scanned for most requests). */
function messagesNamed(b: Record<string, unknown> | null): boolean {
  const m = b?.messages;
  return Array.isArray(m) && m.some((x) => typeof x === 'object' && x !== null && 'name' in x);
}

function withoutMessageNames(body: Buffer): Buffer {
  const o = JSON.parse(body.toString()) as { messages?: unknown };
  if (Array.isArray(o.messages)) for (const m of o.messages) if (typeof m === 'object' && m !== null) delete (m as Record<string, unknown>).name;
  return reserialize(o as Record<string, unknown>);
}

/** The codec's body from the canonical request; OpenAI's asks for stream usage, unless the provider refuses the field. */
function translatedBody(ctx: RequestContext, target: Target): Buffer {
  let out: Buffer;
  const codec = target.provider.codec;
  const left: CanonicalField[] = [];
  try {
    out = Buffer.from(ctx.endpoint === 'count_tokens' ? codec.countTokensFromCanonical!(canonical(ctx), target.model) : codec.fromCanonical(canonical(ctx), target.model, left, target.provider.deviations));
  } catch (err) {
    // JSON.stringify recurses: a tool schema nested thousands deep is the client's to fix, not a 500.
    if (err instanceof RangeError) throw nestedTooDeep(ctx.body);
    throw err;
  }
  for (let i = 0; i < left.length; i++) noteDropped(ctx, ctx.dialect.fieldName(left[i]!));
  return ctx.stream && target.provider.deviations.noStreamOptions ? (removeTopLevelMember(out, 'stream_options') ?? out) : out;
}

/** A field of the client's request this target's body leaves out: named in x-microgate-dropped, counted in /admin/stats. */
function noteDropped(ctx: RequestContext, field: string): void {
  ctx.dropped ??= [];
  if (!ctx.dropped.includes(field)) ctx.dropped.push(field);
  ctx.plan.droppedFields.set(field, (ctx.plan.droppedFields.get(field) ?? 0) + 1);
}

/** The request in canonical form, made once (a 400 here is the client's: a field with no mapping). */
function canonical(ctx: RequestContext): CanonicalRequest {
  if (ctx.canonical === null) {
    const c = ctx.dialect.toCanonical(ctx.body!, ctx.endpoint);
    ctx.canonical = c;
    const counts = ctx.plan.droppedFields;
    for (const f of c.dropped) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return ctx.canonical;
}

function canonicalEmbeddings(ctx: RequestContext): CanonicalEmbeddingsRequest {
  ctx.canonicalEmbeddings ??= ctx.dialect.embeddingsToCanonical!(ctx.body!);
  return ctx.canonicalEmbeddings;
}

/**
 * The client's bytes, without the gateway's own `fallbacks` field and the fields the provider is
 * known to refuse, with `model` set to the target's model when it differs (alias, "provider/model"),
 * and with stream usage asked for: usage is what budgets and cost are computed from, and an
 * OpenAI-format stream carries it only when asked (the extra chunk is hidden again from a client that
 * did not ask: upstream/attempt.ts).
 */
function passThroughBody(ctx: RequestContext, target: Target): Buffer {
  let base = ctx.raw!;
  const b = ctx.body!;
  if (b.fallbacks !== undefined) {
    const { fallbacks: _gatewayOnly, ...rest } = b;
    base = removeTopLevelMember(base, 'fallbacks') ?? reserialize(rest);
  }
  const drop = ctx.endpoint === 'count_tokens' ? [...new Set([...target.provider.deviations.dropParams, ...uncounted(b)])] : target.provider.deviations.dropParams;
  for (let i = 0; i < drop.length; i++) {
    const p = drop[i]!;
    if (b[p] === undefined) continue;
    base = removeTopLevelMember(base, p) ?? reserialize(withoutKeys(JSON.parse(base.toString()) as Record<string, unknown>, p));
    noteDropped(ctx, p);
  }
  if (ctx.stream && target.provider.codec.format === 'openai' && ctx.endpoint !== 'responses') {
    if (!target.provider.deviations.noStreamOptions) base = withStreamUsage(ctx, base);
    else {
      // Such a provider (Perplexity) refuses the field, the client's own too, and sends its usage chunk unasked.
      if (b.stream_options !== undefined) {
        base = removeTopLevelMember(base, 'stream_options') ?? reserialize(withoutKeys(JSON.parse(base.toString()) as Record<string, unknown>, 'stream_options'));
        noteDropped(ctx, 'stream_options');
      }
      if (!clientAskedUsage(ctx)) ctx.hideUsage = true;
    }
  }
  const prev = ctx.previousResponse;
  if (prev !== null) {
    // The provider knows its own id, not the one the gateway sealed (pipeline/continuation.ts).
    const original = JSON.stringify(prev.original);
    base = replaceTopLevelValue(base, 'previous_response_id', original) ?? reserialize({ ...JSON.parse(base.toString()), previous_response_id: prev.original });
  }
  // Removing members above leaves the count of `model` members as parse found it.
  return target.bodyModel === ctx.model ? base : (replaceTopLevelValue(base, 'model', target.modelJson, ctx.modelMembers === 1) ?? reserialize({ ...JSON.parse(base.toString()), model: target.bodyModel }));
}

/** A count_tokens request's fields that Anthropic's counting endpoint does not take. */
const uncounted = (b: Record<string, unknown>): string[] => Object.keys(b).filter((k) => k !== 'fallbacks' && !COUNT_TOKENS_FIELDS.has(k));

const withoutKeys = (o: Record<string, unknown>, k: string): Record<string, unknown> => {
  const { [k]: _dropped, ...rest } = o;
  return rest;
};

function clientAskedUsage(ctx: RequestContext): boolean {
  const so = ctx.body!.stream_options;
  return typeof so === 'object' && so !== null && (so as { include_usage?: unknown }).include_usage === true;
}

/** `stream_options.include_usage: true` in an OpenAI-format stream request; notes when the client had not asked. */
function withStreamUsage(ctx: RequestContext, base: Buffer): Buffer {
  if (clientAskedUsage(ctx)) return base;
  ctx.hideUsage = true;
  const so = ctx.body!.stream_options;
  if (so === undefined || so === null) return insertTopLevelMember(base, 'stream_options', '{"include_usage":true}') ?? base;
  const merged = JSON.stringify({ ...(so as object), include_usage: true });
  return replaceTopLevelValue(base, 'stream_options', merged) ?? reserialize({ ...(JSON.parse(base.toString()) as object), stream_options: JSON.parse(merged) as object });
}

/** A body for a provider that takes only nine-character tool-call ids; parsed only when it holds tool calls. */
function withNineCharToolIds(body: Buffer): Buffer {
  if (!body.includes('"tool_call')) return body;
  const o = JSON.parse(body.toString()) as Record<string, unknown>;
  return renameToolIds(o) ? reserialize(o) : body;
}

/** The rare fallback when the splicer cannot edit the bytes. JSON.stringify recurses: a body nested 100k deep overflows the stack. */
function reserialize(body: Record<string, unknown>): Buffer {
  try {
    return Buffer.from(JSON.stringify(body));
  } catch (err) {
    if (err instanceof RangeError) throw nestedTooDeep(body);
    throw err;
  }
}

/**
 * The client's error for a body JSON.parse read and JSON.stringify cannot write back (it recurses: a
 * tool schema nested 100k deep overflows the stack), naming the top-level field that is too deep.
 * Found only on this error path, by writing each field on its own.
 */
export function nestedTooDeep(body: Record<string, unknown> | null): GatewayError {
  const field = body === null ? undefined : Object.keys(body).find((k) => !writable(body[k]));
  return new GatewayError('invalid_request', `The request body is nested too deeply to forward${field === undefined ? '' : ` (in '${field}')`}.`, field === undefined ? {} : { param: field });
}

function writable(v: unknown): boolean {
  try {
    JSON.stringify(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Client headers no forwardHeaders pattern can pass on: credentials (the gateway's key replaces the
 * client's), framing and hop-by-hop headers (undici writes its own), cookies, and the gateway's own.
 */
const NEVER_FORWARDED = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'expect', 'proxy-authorization', 'proxy-connection']);

/** The key's prebuilt headers (an upload's own content type in place of JSON's), plus any client headers the provider config asks to pass on. */
function upstreamHeaders(ctx: RequestContext, provider: ProviderPlan, key: KeyPlan): string[] {
  const fwd = provider.forward;
  if (fwd === null && ctx.formType === null) return key.headers;
  const out = key.headers.slice();
  if (ctx.formType !== null) {
    const at = out.indexOf('content-type');
    if (at >= 0 && at % 2 === 0) out[at + 1] = ctx.formType;
    else out.push('content-type', ctx.formType);
  }
  if (fwd === null) return out;
  const h = ctx.headers;
  for (const name in h) if (fwd.matches(name) && !NEVER_FORWARDED.has(name) && !name.startsWith('x-microgate-')) out.push(name, wireValue(h[name]!));
  return out;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * uWS hands header values over decoded as UTF-8; undici writes each character as one byte (latin1).
 * Re-encoding sends the client's own bytes (`café` stays `café`). Values were checked at parse.
 */
function wireValue(v: string): string {
  return NON_ASCII.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v;
}
