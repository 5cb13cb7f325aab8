// The OpenAI wire format (chat.completions, completions, embeddings): the gateway's first dialect and
// the codec of OpenAI and every OpenAI-compatible provider.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CanonicalRequest, EndpointName } from '../canonical.ts';
import { openaiError, openaiStatus } from '../errors.ts';
import type { Codec, Dialect, StreamEnd, WireFormat } from '../format.ts';
import { fromOpenAIError } from './errors.ts';
import { chatFromCanonical, chatToCanonical } from './request.ts';
import { completionFromCanonical, completionToCanonical } from './response.ts';
import { OpenAIStreamDecoder, OpenAIStreamEncoder } from './stream.ts';
import { readUsage } from './usage.ts';
import { lastKeyOpening, skipWs } from '../../util/json-bytes.ts';
import { embeddingsFromCanonical, embeddingsToCanonical } from './embeddings.ts';

/** The field each endpoint cannot do without, as OpenAI's API reference requires. */
const REQUIRED: Readonly<Partial<Record<EndpointName, string>>> = { chat: 'messages', completions: 'prompt', embeddings: 'input', moderations: 'input', images: 'prompt', speech: 'input' };

/** `data: [DONE]` as the last line of the last event: an OpenAI stream that lacks it was cut. */
const DONE_AT_END = /(?:^|\n)data: \[DONE\]\r?\n\r?\n$/;
/**
 * A provider's own in-band error event (OpenAI's, and OpenRouter's convention): a chunk with an `error`
 * object, first (`data: {"error": …}`) or after the chunk's id (OpenRouter's mid-stream errors). A quote
 * inside a string is escaped, so `"error":{` unescaped on a data line is a key.
 */
const ERROR_EVENT = /(?:^|\n)data: \{[^\n]*"error"\s*:\s*\{/;
/**
 * A Responses API stream has no [DONE]: it ends with response.completed or response.incomplete, or
 * fails with response.failed or an `error` event (https://platform.openai.com/docs/api-reference/responses-streaming).
 */
const RESPONSE_DONE = /(?:^|\n)(?:event: response\.(?:completed|incomplete)\r?\n|data: \{\s*"type"\s*:\s*"response\.(?:completed|incomplete)")/;
const RESPONSE_FAILED = /(?:^|\n)(?:event: (?:response\.failed|error)\r?\n|data: \{\s*"type"\s*:\s*"(?:response\.failed|error)")/;

/** Whether relayed events hold the provider's own error event (which a [DONE] may follow: OpenRouter). */
const inBandError = (events: string): boolean => ERROR_EVENT.test(events) || RESPONSE_FAILED.test(events);

function streamEnd(tail: string): StreamEnd {
  if (DONE_AT_END.test(tail) || RESPONSE_DONE.test(tail)) return 'complete';
  return ERROR_EVENT.test(tail) || RESPONSE_FAILED.test(tail) ? 'error' : 'cut';
}

const USAGE = Buffer.from('"usage"');
const CHOICES = Buffer.from('"choices"');
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The usage chunk (`"choices":[]` with a usage object: the OpenAI reference's "additional chunk"),
 * cut out of a batch of events. Found from its usage object (the last in the batch; spaced JSON too),
 * not from the first empty `choices`: Azure's prompt-filter chunk has one and no usage, and stays, and
 * when it came in the same read as the usage chunk, the usage chunk went to a client that never asked.
 */
function hideUsage(events: Buffer): Buffer {
  const u = lastKeyOpening(events, USAGE, OPEN_OBJECT);
  if (u < 0) return events;
  const before = events.lastIndexOf('\n\n', u);
  const start = before < 0 ? 0 : before + 2;
  const after = events.indexOf('\n\n', u);
  const end = after < 0 ? events.length : after + 2;
  // Its choices are empty: a content chunk that carries usage (some providers' last chunk) stays whole.
  const c = lastKeyOpening(events, CHOICES, OPEN_ARRAY, end - 1);
  if (c < start || events[skipWs(events, events.indexOf(OPEN_ARRAY, c) + 1)] !== CLOSE_ARRAY) return events;
  return Buffer.concat([events.subarray(0, start), events.subarray(end)]);
}

/** Unix seconds for `created`: the dialects are pure, so the clock is read here, once per answer. */
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export const openaiDialect: Dialect = {
  format: 'openai',

  check(b, endpoint) {
    if (endpoint === 'responses') throw new GatewayError('invalid_request', 'The Responses API has its own dialect (formats/responses/).');
    const field = REQUIRED[endpoint];
    const value = field === undefined ? undefined : b[field];
    if (field !== undefined && (value === undefined || value === null)) throw new GatewayError('missing_required_parameter', `Missing required parameter: '${field}'.`, { param: field });
    if (endpoint === 'chat' && (!Array.isArray(value) || value.length === 0)) {
      throw new GatewayError('invalid_parameter', "'messages' must be a non-empty array of messages.", { param: 'messages' });
    }
    const stream = b.stream;
    if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw new GatewayError('invalid_parameter', "'stream' must be a boolean.", { param: 'stream' });
    if (stream === true && endpoint === 'embeddings') throw new GatewayError('invalid_parameter', 'Embeddings cannot be streamed.', { param: 'stream' });
    return { model: typeof b.model === 'string' ? b.model : '', stream: stream === true };
  },

  toCanonical(b, endpoint) {
    if (endpoint !== 'chat') throw new GatewayError('invalid_request', `The ${endpoint} endpoint has no equivalent at a provider of another wire format.`);
    return chatToCanonical(b);
  },
  fieldName: (f) => (f === 'thinking' ? 'reasoning_effort' : f),

  renderResponse: (r) => completionFromCanonical(r, nowSeconds()),
  streamEncoder: (req: CanonicalRequest) => new OpenAIStreamEncoder(req, nowSeconds()),
  status: openaiStatus,
  renderError: (err) => JSON.stringify({ error: openaiError(err) }),
  renderStreamError: (err) => `data: ${JSON.stringify({ error: openaiError(err) })}\n\n`,
  embeddingsToCanonical,
  renderEmbeddings: embeddingsFromCanonical,
};

export const openaiCodec: Codec = {
  format: 'openai',
  framing: 'sse',
  // A Responses request reaches any chat provider (natively where the provider has the API, else as a chat).
  serves: { chat: true, completions: true, embeddings: true, responses: true, moderations: true, images: true, speech: true, transcriptions: true, translations: true, files: true, batches: true },
  fromCanonical: (req, model, dropped, opts) => JSON.stringify(chatFromCanonical(req, model, dropped, opts)),
  toCanonicalResponse: completionToCanonical,
  streamDecoder: () => new OpenAIStreamDecoder(),
  errorFrom: (status, body, src) => fromOpenAIError(status, body, src.provider, src.key, src.redactor, src.cut),
  hideUsage,
  streamEnd,
  inBandError,
  scanUsage(bytes, into) {
    // From the end: usage closes an answer, so the search and the key scan after it read only the
    // last few hundred bytes.
    // The last usage object: `"usage":null` in a later chunk (xAI's last, after the usage chunk) is none.
    const at = lastKeyOpening(bytes, USAGE, OPEN_OBJECT);
    if (at < 0) return;
    const [prompt, completion, cached, written] = readUsage(bytes, at);
    if (prompt >= 0) {
      into.promptTokens = prompt;
      into.cacheReadTokens = Math.max(0, cached);
      into.cacheWriteTokens = Math.max(0, written);
    }
    if (completion >= 0) into.completionTokens = completion;
  },
};

export const OPENAI: WireFormat = { dialect: openaiDialect, codec: openaiCodec };
