import { ERROR_CODES, type ErrorCode, type ErrorOrigin } from './codes.ts';

/**
 * How the provider itself described an error, in its own format's words: kept so the client gets
 * the provider's meaning in its own dialect (formats/errors.ts maps between them).
 */
export interface ProviderErrorInfo {
  /** The provider's wire format ('openai', 'anthropic', …). */
  readonly format: string;
  /** Its error type (`invalid_request_error`, `overloaded_error`, …), or null. */
  readonly type: string | null;
  /** Its error code (`context_length_exceeded`, …), or null. */
  readonly code: string | null;
  readonly param: string | null;
  /** Its own message (already redacted of configured keys), or null. */
  readonly message: string | null;
  /** Azure's `innererror` (which content filter refused the prompt, and how severely), for OpenAI-dialect clients. */
  readonly innererror?: unknown;
}

/**
 * The only error type the request path throws or returns. `code` is stable and indexes ERROR_CODES;
 * `status` may differ from the table's default when an upstream status is passed through (a
 * provider's 422 stays a 422).
 */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly flag: string;
  readonly origin: ErrorOrigin;
  readonly retryable: boolean;
  /** The request field at fault, as OpenAI's `error.param`. */
  readonly param: string | null;
  /** The provider's HTTP status when the error came from one, else 0. */
  readonly upstreamStatus: number;
  /** The provider's own description of the error, when it gave one. */
  readonly provider: ProviderErrorInfo | null;
  /** How long the provider asked to wait, when it said so in its body (Gemini's RetryInfo) rather than a header. */
  readonly retryAfterMs: number | null;

  constructor(code: ErrorCode, message: string, opts?: { param?: string | null; status?: number; upstreamStatus?: number; provider?: ProviderErrorInfo | null; retryAfterMs?: number | null; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    const spec = ERROR_CODES[code];
    this.name = 'GatewayError';
    this.code = code;
    this.status = opts?.status ?? spec.status;
    this.type = spec.type;
    this.flag = spec.flag;
    this.origin = spec.origin;
    this.retryable = spec.retryable;
    this.param = opts?.param ?? null;
    this.upstreamStatus = opts?.upstreamStatus ?? 0;
    this.provider = opts?.provider ?? null;
    this.retryAfterMs = opts?.retryAfterMs ?? null;
  }

  /** OpenAI's error body: https://platform.openai.com/docs/guides/error-codes */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'GatewayError' && typeof (err as { code?: unknown }).code === 'string';
}
