// An error in the client's dialect, whichever format the provider spoke: the one table that maps
// error types and codes between OpenAI and Anthropic (shared/reference/providers.md §1.6, §5.6).
//
// A provider's own description (GatewayError.provider) wins where the client's format has a word
// for it; the gateway's own errors use the gateway's codes. Statuses keep their class: 429 stays
// 429, Anthropic's 529 "overloaded" is a retryable 503 for OpenAI clients (which know no 529) and
// stays 529 for Anthropic clients, whose SDK raises OverloadedError for it.
import { GatewayError } from '../errors/gateway-error.ts';

/**
 * A provider's error type (Anthropic's, Gemini's RPC status, Bedrock's exception) → the OpenAI error
 * code that means the same, where OpenAI has one.
 */
const OPENAI_CODE_OF: Readonly<Record<string, string>> = {
  rate_limit_error: 'rate_limit_exceeded',
  billing_error: 'insufficient_quota',
  not_found_error: 'model_not_found',
  request_too_large: 'request_too_large',
  authentication_error: 'invalid_api_key',
  RESOURCE_EXHAUSTED: 'rate_limit_exceeded',
  NOT_FOUND: 'model_not_found',
  throttlingException: 'rate_limit_exceeded',
  ThrottlingException: 'rate_limit_exceeded',
  ServiceQuotaExceededException: 'insufficient_quota',
  ResourceNotFoundException: 'model_not_found',
};

/** Provider error types that mean "try again shortly": retried, and failed over like a 5xx. */
const RATE_LIMITED = new Set(['rate_limit_error', 'rate_limit_exceeded', 'RESOURCE_EXHAUSTED', 'throttlingException', 'ThrottlingException']);
const OVERLOADED = new Set(['overloaded_error', 'UNAVAILABLE', 'serviceUnavailableException', 'ServiceUnavailableException', 'modelNotReadyException']);
const REFUSED = new Set(['invalid_request_error', 'INVALID_ARGUMENT', 'FAILED_PRECONDITION', 'validationException', 'ValidationException']);

/** OpenAI error code → Anthropic error type. */
const ANTHROPIC_TYPE_OF_CODE: Readonly<Record<string, string>> = {
  rate_limit_exceeded: 'rate_limit_error',
  insufficient_quota: 'billing_error',
  context_length_exceeded: 'invalid_request_error',
  model_not_found: 'not_found_error',
  invalid_api_key: 'authentication_error',
  request_too_large: 'request_too_large',
};

/** Anthropic error type by HTTP status (docs.claude.com/en/api/errors). */
function anthropicTypeOfStatus(status: number): string {
  switch (status) {
    case 400:
    case 405:
    case 415:
    case 422:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/**
 * A prompt too long for the model, in each provider's words; OpenAI clients know it by its code (SDK
 * wrappers trim history on it). Anthropic: "prompt is too long: 210000 tokens > 200000 maximum", "input
 * length and `max_tokens` exceed context limit"; Gemini: "The input token count (1200000) exceeds the
 * maximum number of tokens allowed (1048576)."; Bedrock: "Input is too long for requested model.",
 * "Too many input tokens"; each refused as a bad request (REFUSED).
 */
const PROMPT_TOO_LONG = /prompt is too long|context (?:window|length|limit)|input token count \(?\d+\)? exceeds|input is too long|too many input tokens|input tokens exceeded/i;

export interface OpenAIErrorFields {
  message: string;
  type: string;
  param: string | null;
  /** OpenAI's own errors often have none (null); the gateway's always have one. */
  code: string | null;
  /** Azure's content-filter detail, relayed as Azure gave it. */
  innererror?: unknown;
}

/**
 * The OpenAI error body's fields. A provider's own words win: an OpenAI-format provider's message,
 * type, code and param reach the client unchanged (the gateway's only fill what it left out); another
 * format's type is mapped to OpenAI's code for it. The gateway's own errors keep the gateway's codes.
 */
export function openaiError(err: GatewayError): OpenAIErrorFields {
  const p = err.provider;
  if (p === null) return { message: err.message, type: err.type, param: err.param, code: err.code };
  const message = p.message ?? err.message;
  if (p.format === 'openai') {
    if (p.type === null && p.code === null) return { message, type: err.type, param: p.param ?? err.param, code: err.code };
    return p.innererror === undefined ? { message, type: p.type ?? err.type, param: p.param, code: p.code } : { message, type: p.type ?? err.type, param: p.param, code: p.code, innererror: p.innererror };
  }
  if (p.type === null) return { message, type: err.type, param: p.param ?? err.param, code: err.code };
  const code = PROMPT_TOO_LONG.test(message) && REFUSED.has(p.type) ? 'context_length_exceeded' : (OPENAI_CODE_OF[p.type] ?? p.type);
  return { message, type: err.type, param: p.param ?? err.param, code };
}

/** The message an Anthropic client reads: the provider's own, when it gave one. */
export function anthropicMessage(err: GatewayError): string {
  return err.provider?.message ?? err.message;
}

export function openaiStatus(err: GatewayError): number {
  return err.status === 529 ? 503 : err.status;
}

export function anthropicErrorType(err: GatewayError): string {
  const p = err.provider;
  if (p !== null && p.format === 'anthropic' && p.type !== null) return p.type;
  if (p !== null && p.code !== null && ANTHROPIC_TYPE_OF_CODE[p.code] !== undefined) return ANTHROPIC_TYPE_OF_CODE[p.code]!;
  return anthropicTypeOfStatus(anthropicStatus(err));
}

export function anthropicStatus(err: GatewayError): number {
  const p = err.provider;
  // An overloaded Anthropic provider said 529; the gateway carries it as a 503.
  if (p !== null && p.format === 'anthropic' && p.type === 'overloaded_error') return 529;
  return err.status;
}

/**
 * A provider's in-stream error event as a GatewayError that keeps its class: a rate limit stays a
 * 429-class error (the key rests), an overload a retryable 529-class one (LiteLLM raised every
 * in-stream error as a 500: providers.md §5.6).
 */
export function streamError(format: string, providerName: string, errorType: string, message: string): GatewayError {
  const provider = { format, type: errorType, code: null, param: null, message };
  const text = `Provider '${providerName}' ended the stream with an error: ${message}`;
  if (RATE_LIMITED.has(errorType)) return new GatewayError('upstream_rate_limited', text, { upstreamStatus: 429, provider });
  if (OVERLOADED.has(errorType)) return new GatewayError('upstream_overloaded', text, { upstreamStatus: 529, provider });
  // A refusal in the stream (Bedrock's validationException) will not pass on another attempt.
  if (REFUSED.has(errorType)) return new GatewayError('upstream_invalid_request', text, { upstreamStatus: 400, provider });
  return new GatewayError('upstream_error', text, { provider });
}
