// count_tokens answers: each provider's count of a request's input tokens, read from its answer.
// Anthropic {"input_tokens": n} (https://docs.anthropic.com/en/api/messages-count-tokens), Gemini
// {"totalTokens": n} (https://ai.google.dev/api/tokens), Bedrock {"inputTokens": n}
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_CountTokens.html).
import { GatewayError } from '../errors/gateway-error.ts';
import { isObj } from '../util/json-object.ts';

const GEMINI_COUNT_DETAILS = new Set(['promptTokensDetails', 'cacheTokensDetails', 'cachedContentTokenCount']);

/** The whole number `field` of a JSON answer; a GatewayError (upstream_bad_response) when there is none. */
export function tokenCountField(body: Buffer, field: string, format: string): number {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    j = null;
  }
  const n = isObj(j) ? j[field] : undefined;
  // Gemini's proto3 JSON leaves a zero count out: an answer with none of its fields but the details
  // is 0 tokens. Anything else without the count (an error body, another proxy's field) is no count.
  if (n === undefined && isObj(j) && format === 'gemini' && Object.keys(j).every((k) => GEMINI_COUNT_DETAILS.has(k))) return 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new GatewayError('upstream_bad_response', `The ${format} provider's token count answer has no '${field}'.`);
  }
  return n;
}
