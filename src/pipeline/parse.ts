// Parse stage: JSON.parse once and validate only what routing needs (the model here, the rest by the
// client's dialect: formats/*/index.ts). The body is otherwise passed
// through as the client's bytes (see util/json-splice.ts), so fields we do not know still reach the
// provider unchanged.
import { GatewayError } from '../errors/gateway-error.ts';
import type { HeaderMatcher } from '../plan/types.ts';
import { countTopLevelKey } from '../util/json-splice.ts';
import { boundaryOf, findField } from '../util/multipart-field.ts';
import type { RequestContext } from '../request/context.ts';

export function parseRequest(ctx: RequestContext): void {
  if (ctx.formType !== null) return parseForm(ctx);
  if (ctx.raw === null) {
    // No body (GET, DELETE, a body-less POST): routed by provider, nothing to check.
    ctx.body = NO_BODY;
    return;
  }
  const raw = ctx.raw;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError('invalid_json', `We could not parse the JSON body of your request: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  const b = body as Record<string, unknown>;
  // JSON.parse keeps the last duplicate; a provider's parser may keep the first. Rules and routing
  // must see the model the provider will serve, so a body naming two is refused.
  const models = countTopLevelKey(raw, MODEL_KEY, MODEL_NEEDLE);
  if (models > 1) {
    throw new GatewayError('invalid_request', "The request body has more than one 'model' member.", { param: 'model' });
  }
  // Exactly one: the model splice (upstream/forward.ts) may stop at the first match.
  ctx.modelMembers = models;

  const model = b.model;
  if (model === undefined || model === null) {
    // Moderations, images and batches may leave the model to the provider: the request then goes to the
    // provider that owns model-less requests (pipeline/route.ts).
    if (!MODEL_OPTIONAL.has(ctx.endpoint)) throw new GatewayError('missing_required_parameter', "you must provide a model parameter ('model').", { param: 'model' });
  } else {
    if (typeof model !== 'string' || model === '') throw new GatewayError('invalid_parameter', "'model' must be a non-empty string.", { param: 'model' });
    checkModelName(model, 'model');
  }

  // The rest by the client's format: OpenAI requires `messages`, Anthropic also `max_tokens`, …
  const stream = ctx.dialect.check(b, ctx.endpoint).stream;

  ctx.body = b;
  ctx.model = typeof model === 'string' ? model : '';
  ctx.stream = stream;
  if (ctx.plan.forwardedHeaders !== null) checkForwardedHeaders(ctx.headers, ctx.plan.forwardedHeaders);
}

const NO_BODY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * A multipart upload (audio, files): only the `model` field is read, where it is (the file part is
 * scanned for the next delimiter, never copied or decoded); the body goes to the provider as it came.
 */
function parseForm(ctx: RequestContext): void {
  const raw = ctx.raw ?? Buffer.alloc(0);
  ctx.raw = raw;
  const span = findField(raw, boundaryOf(ctx.formType!)!, 'model');
  if (span === null && !MODEL_OPTIONAL.has(ctx.endpoint)) throw new GatewayError('missing_required_parameter', "you must provide a model parameter ('model' form field).", { param: 'model' });
  if (span !== null) {
    if (span.value === '') throw new GatewayError('invalid_parameter', "'model' must be a non-empty string.", { param: 'model' });
    // As for a JSON body with two "model" members: the gateway would route by one and the provider
    // might serve the other (a model outside the key's list, priced as the first).
    if (span.repeated) throw new GatewayError('invalid_parameter', "The form has more than one 'model' field.", { param: 'model' });
    checkModelName(span.value, 'model');
  }
  ctx.formModel = span;
  ctx.model = span?.value ?? '';
  ctx.body = NO_BODY;
  if (ctx.plan.forwardedHeaders !== null) checkForwardedHeaders(ctx.headers, ctx.plan.forwardedHeaders);
}

/** Kinds whose model OpenAI's API makes optional (it picks a default). */
const MODEL_OPTIONAL: ReadonlySet<string> = new Set(['moderations', 'images', 'batches', 'files']);

const MODEL_KEY = Buffer.from('model');
const MODEL_NEEDLE = Buffer.from('"model"');

/**
 * Bytes a header value may not carry upstream: controls other than tab, and U+FFFD, which is what uWS
 * makes of bytes that are not UTF-8 (they could not be sent on as the client wrote them). undici
 * refuses a request with such a header; refused here, it is the client's 400 and never a provider
 * failure that opens circuits.
 */
const UNFORWARDABLE = /[\x00-\x08\x0a-\x1f\x7f\ufffd]/;

function checkForwardedHeaders(headers: Record<string, string>, forwarded: HeaderMatcher): void {
  for (const name in headers) {
    if (!forwarded.matches(name)) continue;
    if (UNFORWARDABLE.test(headers[name]!)) {
      throw new GatewayError('invalid_request', `The request header '${name}' holds characters that cannot be forwarded (control characters or bytes that are not UTF-8).`, { param: name });
    }
  }
}

/** Longest model name accepted: provider ids are far shorter (a Bedrock inference-profile ARN is ~100). */
export const MAX_MODEL_NAME = 256;
/** C0 and C1 control characters and DEL: never part of a model name, and a CR/LF would split a response header. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * A client-chosen model name becomes a route key, a circuit key, a metric label and a response header
 * value, so it is bounded and printable before anything uses it.
 */
export function checkModelName(name: string, param: string): void {
  if (name.length > MAX_MODEL_NAME) {
    throw new GatewayError('invalid_parameter', `'${param}' is ${name.length} characters long; model names are at most ${MAX_MODEL_NAME}.`, { param });
  }
  if (CONTROL.test(name)) throw new GatewayError('invalid_parameter', `'${param}' must not contain control characters.`, { param });
}

const DIGITS = /^\d{1,15}$/;

/**
 * The request's deadline, ms: routing.deadlineMs, or shorter with `x-microgate-timeout-ms` (a client
 * may shorten the gateway's deadline, not extend it).
 */
export function requestDeadline(ctx: RequestContext): number {
  const max = ctx.plan.routing.deadlineMs;
  const h = ctx.headers['x-microgate-timeout-ms'];
  if (h === undefined) return max;
  // Digits only: Number() also reads "0x10", " 5" and "1e3", which the message promises are refused.
  const ms = DIGITS.test(h) ? Number(h) : NaN;
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new GatewayError('invalid_parameter', `The x-microgate-timeout-ms header must be a positive integer of milliseconds, got '${h.slice(0, 30)}'.`, { param: 'x-microgate-timeout-ms' });
  }
  return Math.min(ms, max);
}
