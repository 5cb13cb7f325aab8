// AWS Bedrock's Converse format, spoken to `type: bedrock` providers (no client speaks it to the
// gateway). Streams come framed as AWS's binary event stream (eventstream.ts).
import type { GatewayError } from '../../errors/gateway-error.ts';
import { providerError, rawWords } from '../provider-error.ts';
import type { Codec, ErrorSource } from '../format.ts';
import { numberAfter } from '../usage-scan.ts';
import { ANTHROPIC_MODEL, converseFromCanonical } from './request.ts';
import { messagesFromCanonical } from '../anthropic/request.ts';
import { converseToCanonical } from './response.ts';
import { BedrockStreamDecoder } from './stream.ts';
import { isObj } from '../../util/json-object.ts';
import { tokenCountField } from '../token-count.ts';

/** The anthropic_version of an Anthropic body sent through Bedrock's InvokeModel (Anthropic's docs: Claude on Amazon Bedrock). */
const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/**
 * Bedrock's error body is `{"message": …}` (`Message` for a bad API key); the type travels in
 * x-amzn-errortype (the header the AWS SDK reads), and sometimes as `__type` in the body. Statuses:
 * 400 ValidationException, 403 AccessDenied, 404 ResourceNotFound, 408 ModelTimeout, 424 ModelError,
 * 429 Throttling/ServiceQuotaExceeded, 500 InternalServer, 503 ServiceUnavailable (API_runtime_Converse, Errors).
 */
function errorFrom(status: number, body: Buffer, src: ErrorSource): GatewayError {
  const text = src.redactor.redact(body.toString('utf8'), src.cut);
  let words = rawWords(text);
  try {
    const j = JSON.parse(text) as unknown;
    if (isObj(j)) {
      const message = typeof j.message === 'string' ? j.message : typeof j.Message === 'string' ? j.Message : '';
      words = { message, type: typeof j.__type === 'string' ? (j.__type.split('#').pop() ?? null) : null, code: null, param: null };
    }
  } catch {
    // not JSON: the raw text
  }
  // "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/": the name before the namespace.
  const header = src.headers?.['x-amzn-errortype'];
  if (typeof header === 'string' && header !== '') words.type = header.split(':')[0]!;
  // 424 ModelErrorException: the model failed on this request; another attempt may not (a 5xx class).
  return providerError('bedrock', status === 424 ? 502 : status, words, src);
}

const INPUT = Buffer.from('"inputTokens"');
const OUTPUT = Buffer.from('"outputTokens"');

export const bedrockCodec: Codec = {
  format: 'bedrock',
  framing: 'aws-eventstream',
  serves: { chat: true, completions: false, embeddings: false, responses: true, count_tokens: true },
  fromCanonical: (req, model, dropped) => JSON.stringify(converseFromCanonical(req, model, dropped)),
  countTokensFromCanonical(req, model) {
    // Anthropic's models are counted in their own body (input.invokeModel: the InvokeModel request,
    // base64): the converse form counts messages and system but not the tools (boto3 #4604, Portkey
    // PR #1379, LiteLLM PR #27626: tool-heavy requests under-counted by half), and tools are much of an
    // agent's context. Anthropic's SDK counts for Bedrock the same way (anthropic-sdk-typescript
    // PR #1081). Other models get the converse form; Bedrock counts for Anthropic's models only, and
    // another's ValidationException passes the count to the next target, if any (upstream/failover.ts).
    if (ANTHROPIC_MODEL.test(model)) {
      const { model: _inPath, stream: _never, ...body } = messagesFromCanonical(req, model);
      return JSON.stringify({ input: { invokeModel: { body: Buffer.from(JSON.stringify({ anthropic_version: BEDROCK_ANTHROPIC_VERSION, ...body })).toString('base64') } } });
    }
    const { inferenceConfig: _notCounted, ...converse } = converseFromCanonical(req, model);
    return JSON.stringify({ input: { converse } });
  },
  tokenCountOf: (body) => tokenCountField(body, 'inputTokens', 'bedrock'),
  toCanonicalResponse: converseToCanonical,
  streamDecoder: () => new BedrockStreamDecoder(),
  errorFrom,
  streamEnd: () => 'cut',
  scanUsage(bytes, into) {
    const i = numberAfter(bytes, INPUT);
    const o = numberAfter(bytes, OUTPUT);
    if (i >= 0) into.promptTokens = i;
    if (o >= 0) into.completionTokens = o;
  },
};
