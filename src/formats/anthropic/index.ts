// The Anthropic Messages wire format: the dialect of /v1/messages (the Anthropic SDK with only its
// baseURL changed) and the codec of `type: anthropic` providers. https://docs.anthropic.com/en/api/messages
import { GatewayError } from '../../errors/gateway-error.ts';
import { anthropicErrorType, anthropicMessage, anthropicStatus } from '../errors.ts';
import type { Codec, Dialect, ErrorSource, UsageSink, WireFormat } from '../format.ts';
import type { CanonicalField } from '../canonical.ts';
import { providerError, rawWords } from '../provider-error.ts';
import { sseEvent } from '../sse.ts';
import { LastNumbers } from '../usage-scan.ts';
import { messagesFromCanonical, messagesToCanonical } from './request.ts';
import { messageFromCanonical, messageToCanonical } from './response.ts';
import { AnthropicStreamDecoder, AnthropicStreamEncoder } from './stream.ts';
import { isObj } from '../../util/json-object.ts';

/** Canonical fields under another name in a Messages request. */
const ANTHROPIC_FIELD: Partial<Record<CanonicalField, string>> = {
  stop: 'stop_sequences',
  user: 'metadata.user_id',
  parallel_tool_calls: 'tool_choice.disable_parallel_tool_use',
  tool_result_image: 'tool_result.content.image',
  tool_result_document: 'tool_result.content.document',
};

export const anthropicDialect: Dialect = {
  format: 'anthropic',

  // Anthropic's own validation, as far as routing needs it (docs: max_tokens is required, except to
  // count tokens, which takes the same request without it and never streams).
  check(b, endpoint) {
    if (endpoint !== 'chat' && endpoint !== 'count_tokens') throw new GatewayError('invalid_request', 'The Anthropic dialect serves /v1/messages and /v1/messages/count_tokens only.');
    const max = b.max_tokens;
    if (endpoint === 'chat' && (max === undefined || max === null)) throw new GatewayError('missing_required_parameter', 'max_tokens: Field required', { param: 'max_tokens' });
    // A count leaves max_tokens out (it is not Anthropic's to count), whatever its value.
    if (endpoint === 'chat' && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) throw new GatewayError('invalid_parameter', 'max_tokens: must be a positive integer', { param: 'max_tokens' });
    const messages = b.messages;
    if (messages === undefined || messages === null) throw new GatewayError('missing_required_parameter', 'messages: Field required', { param: 'messages' });
    if (!Array.isArray(messages) || messages.length === 0) throw new GatewayError('invalid_parameter', 'messages: must be a non-empty array of messages', { param: 'messages' });
    const stream = b.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw new GatewayError('invalid_parameter', 'stream: must be a boolean', { param: 'stream' });
    return { model: b.model as string, stream: endpoint === 'chat' && stream === true };
  },

  toCanonical: (b) => messagesToCanonical(b),
  fieldName: (f) => ANTHROPIC_FIELD[f] ?? f,
  renderResponse: messageFromCanonical,
  streamEncoder: (req) => new AnthropicStreamEncoder(req),
  status: anthropicStatus,
  renderTokenCount: (n) => `{"input_tokens":${n}}`,
  renderError: (err) => JSON.stringify({ type: 'error', error: { type: anthropicErrorType(err), message: anthropicMessage(err) } }),
  renderStreamError: (err) => sseEvent('error', JSON.stringify({ type: 'error', error: { type: anthropicErrorType(err), message: anthropicMessage(err) } })),
};

/** The provider's error body `{"type":"error","error":{"type","message"}}` → GatewayError, its type kept. */
function errorFrom(status: number, body: Buffer, src: ErrorSource): GatewayError {
  const text = src.redactor.redact(body.toString('utf8'), src.cut);
  try {
    const j = JSON.parse(text) as unknown;
    const e = isObj(j) && isObj(j.error) ? j.error : null;
    if (e !== null) return providerError('anthropic', status, { message: typeof e.message === 'string' ? e.message : '', type: typeof e.type === 'string' ? e.type : null, code: null, param: null }, src);
  } catch {
    // not JSON: the raw text below
  }
  return providerError('anthropic', status, rawWords(text), src);
}

// One backward pass for the four keys (formats/usage-scan.ts): the cache counts are often absent,
// and each absent key cost numberAfter a search of the whole answer.
const KEYS = new LastNumbers(
  ['"input_tokens"', '"output_tokens"', '"cache_read_input_tokens"', '"cache_creation_input_tokens"'].map((k) => Buffer.from(k)),
  Buffer.from('_tokens"'),
);
const INPUT = 0;
const OUTPUT = 1;
const CACHE_READ = 2;
const CACHE_WRITE = 3;

/**
 * Usage from relayed bytes: the answer's `usage`, or in a stream message_start's input counts and the
 * latest message_delta's cumulative output. The prompt counts cache reads and writes, as OpenAI's does.
 */
function scanUsage(bytes: Buffer, into: UsageSink): void {
  const v = KEYS.scan(bytes);
  const input = v[INPUT]!;
  if (input >= 0) {
    const read = Math.max(0, v[CACHE_READ]!);
    const write = Math.max(0, v[CACHE_WRITE]!);
    into.promptTokens = input + read + write;
    into.cacheReadTokens = read;
    into.cacheWriteTokens = write;
  }
  const output = v[OUTPUT]!;
  if (output >= 0) into.completionTokens = output;
}

export const anthropicCodec: Codec = {
  format: 'anthropic',
  framing: 'sse',
  // count_tokens is relayed to {base}/messages/count_tokens (a client of the same format).
  serves: { chat: true, completions: false, embeddings: false, responses: true, count_tokens: true },
  fromCanonical: (req, model, dropped) => JSON.stringify(messagesFromCanonical(req, model, dropped)),
  toCanonicalResponse: messageToCanonical,
  streamDecoder: () => new AnthropicStreamDecoder(),
  errorFrom,
  inBandError: (events) => /^event:\s*error\b/m.test(events),
  streamEnd: (last) => (/"type"\s*:\s*"message_stop"/.test(last) ? 'complete' : /^event:\s*error\b|"type"\s*:\s*"error"/m.test(last) ? 'error' : 'cut'),
  scanUsage,
};

export const ANTHROPIC: WireFormat = { dialect: anthropicDialect, codec: anthropicCodec };
