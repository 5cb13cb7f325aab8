// The Anthropic Messages wire format: the dialect of /v1/messages (the Anthropic SDK with only its
// baseURL changed) and the codec of `type: anthropic` providers. https://docs.anthropic.com/en/api/messages
import { GatewayError } from '../../errors/gateway-error.ts';
import { anthropicErrorType, anthropicStatus } from '../errors.ts';
import type { Codec, Dialect, ErrorSource, UsageSink, WireFormat } from '../format.ts';
import { sseEvent } from '../sse.ts';
import { numberAfter } from '../usage-scan.ts';
import { messagesFromCanonical, messagesToCanonical } from './request.ts';
import { messageFromCanonical, messageToCanonical } from './response.ts';
import { AnthropicStreamDecoder, AnthropicStreamEncoder } from './stream.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export const anthropicDialect: Dialect = {
  format: 'anthropic',

  // Anthropic's own validation, as far as routing needs it (docs: max_tokens is required).
  check(b, endpoint) {
    if (endpoint !== 'chat') throw new GatewayError('invalid_request', 'The Anthropic dialect serves /v1/messages only.');
    const max = b.max_tokens;
    if (max === undefined || max === null) throw new GatewayError('missing_required_parameter', 'max_tokens: Field required', { param: 'max_tokens' });
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) throw new GatewayError('invalid_parameter', 'max_tokens: must be a positive integer', { param: 'max_tokens' });
    const messages = b.messages;
    if (messages === undefined || messages === null) throw new GatewayError('missing_required_parameter', 'messages: Field required', { param: 'messages' });
    if (!Array.isArray(messages) || messages.length === 0) throw new GatewayError('invalid_parameter', 'messages: must be a non-empty array of messages', { param: 'messages' });
    const stream = b.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw new GatewayError('invalid_parameter', 'stream: must be a boolean', { param: 'stream' });
    return { model: b.model as string, stream: stream === true };
  },

  toCanonical: (b) => messagesToCanonical(b),
  renderResponse: messageFromCanonical,
  streamEncoder: (req) => new AnthropicStreamEncoder(req),
  status: anthropicStatus,
  renderError: (err) => JSON.stringify({ type: 'error', error: { type: anthropicErrorType(err), message: err.message } }),
  renderStreamError: (err) => sseEvent('error', JSON.stringify({ type: 'error', error: { type: anthropicErrorType(err), message: err.message } })),
};

/** The provider's error body `{"type":"error","error":{"type","message"}}` → GatewayError, its type kept. */
function errorFrom(status: number, body: Buffer, src: ErrorSource): GatewayError {
  let type: string | null = null;
  let message = '';
  const text = src.redactor.redact(body.toString('utf8'), src.cut);
  try {
    const j = JSON.parse(text) as unknown;
    const e = isObj(j) && isObj(j.error) ? j.error : null;
    if (e !== null) {
      type = typeof e.type === 'string' ? e.type : null;
      message = typeof e.message === 'string' ? e.message : '';
    }
  } catch {
    message = text.trim().slice(0, 300);
  }
  const provider = { format: 'anthropic', type, code: null, param: null };
  const said = message === '' ? '' : `: ${message}`;
  const name = src.provider;
  if (status === 401 || status === 403) {
    // The client's credentials are fine; the provider's message may quote part of the gateway's key.
    return new GatewayError('upstream_auth_failed', `Provider '${name}' rejected the credentials of key '${src.key}' (${status}).`, { upstreamStatus: status });
  }
  if (status === 429) return new GatewayError('upstream_rate_limited', `Provider '${name}' is rate limiting key '${src.key}'${said}`, { upstreamStatus: status, provider });
  if (status === 529 || type === 'overloaded_error') {
    // Everyone is affected, not this key: retry with backoff or fail over (providers.md §1.6).
    return new GatewayError('upstream_overloaded', `Provider '${name}' is overloaded${said}`, { upstreamStatus: status, provider });
  }
  if (status >= 500) return new GatewayError('upstream_error', `Provider '${name}' failed with status ${status}${said}`, { upstreamStatus: status, provider });
  return new GatewayError('upstream_invalid_request', `Provider '${name}' refused the request (${status})${said}`, { status, upstreamStatus: status, provider });
}

const INPUT = Buffer.from('"input_tokens"');
const OUTPUT = Buffer.from('"output_tokens"');
const CACHE_READ = Buffer.from('"cache_read_input_tokens"');
const CACHE_WRITE = Buffer.from('"cache_creation_input_tokens"');

/**
 * Usage from relayed bytes: the answer's `usage`, or in a stream message_start's input counts and the
 * latest message_delta's cumulative output. The prompt counts cache reads and writes, as OpenAI's does.
 */
function scanUsage(bytes: Buffer, into: UsageSink): void {
  const input = numberAfter(bytes, INPUT);
  if (input >= 0) into.promptTokens = input + Math.max(0, numberAfter(bytes, CACHE_READ)) + Math.max(0, numberAfter(bytes, CACHE_WRITE));
  const output = numberAfter(bytes, OUTPUT);
  if (output >= 0) into.completionTokens = output;
}

export const anthropicCodec: Codec = {
  format: 'anthropic',
  framing: 'sse',
  serves: { chat: true, completions: false, embeddings: false },
  fromCanonical: (req, model) => JSON.stringify(messagesFromCanonical(req, model)),
  toCanonicalResponse: messageToCanonical,
  streamDecoder: () => new AnthropicStreamDecoder(),
  errorFrom,
  streamEnd: (last) => (/"type"\s*:\s*"message_stop"/.test(last) ? 'complete' : /^event:\s*error\b|"type"\s*:\s*"error"/m.test(last) ? 'error' : 'cut'),
  scanUsage,
};

export const ANTHROPIC: WireFormat = { dialect: anthropicDialect, codec: anthropicCodec };
