// Parse stage: JSON.parse once and validate only what routing needs. The body is otherwise passed
// through as the client's bytes (see util/json-splice.ts), so fields we do not know still reach the
// provider unchanged.
import { GatewayError } from '../errors/gateway-error.ts';
import type { EndpointName } from '../config/plan.ts';
import type { RequestContext } from './context.ts';

/** The field each endpoint cannot do without, as OpenAI's API reference requires. */
const REQUIRED: Readonly<Record<EndpointName, string>> = { chat: 'messages', completions: 'prompt', embeddings: 'input' };

export function parseRequest(ctx: RequestContext): void {
  const raw = ctx.raw!;
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

  const model = b.model;
  if (model === undefined || model === null) throw new GatewayError('missing_required_parameter', "you must provide a model parameter ('model').", { param: 'model' });
  if (typeof model !== 'string' || model === '') throw new GatewayError('invalid_parameter', "'model' must be a non-empty string.", { param: 'model' });

  const field = REQUIRED[ctx.endpoint];
  const value = b[field];
  if (value === undefined || value === null) throw new GatewayError('missing_required_parameter', `Missing required parameter: '${field}'.`, { param: field });
  if (ctx.endpoint === 'chat' && (!Array.isArray(value) || value.length === 0)) {
    throw new GatewayError('invalid_parameter', "'messages' must be a non-empty array of messages.", { param: 'messages' });
  }

  const stream = b.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new GatewayError('invalid_parameter', "'stream' must be a boolean.", { param: 'stream' });
  }
  if (stream === true && ctx.endpoint === 'embeddings') {
    throw new GatewayError('invalid_parameter', 'Embeddings cannot be streamed.', { param: 'stream' });
  }

  ctx.body = b;
  ctx.model = model;
  ctx.stream = stream === true;
}

/**
 * The request's deadline, ms: routing.deadlineMs, or shorter with `x-microgate-timeout-ms` (a client
 * may shorten the gateway's deadline, not extend it).
 */
export function requestDeadline(ctx: RequestContext): number {
  const max = ctx.plan.routing.deadlineMs;
  const h = ctx.headers['x-microgate-timeout-ms'];
  if (h === undefined) return max;
  const ms = Number(h);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new GatewayError('invalid_parameter', `The x-microgate-timeout-ms header must be a positive integer of milliseconds, got '${h.slice(0, 30)}'.`, { param: 'x-microgate-timeout-ms' });
  }
  return Math.min(ms, max);
}
