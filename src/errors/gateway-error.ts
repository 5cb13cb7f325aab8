import { ERROR_CODES, type ErrorCode, type ErrorOrigin } from './codes.ts';

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

  constructor(code: ErrorCode, message: string, opts?: { param?: string | null; status?: number; upstreamStatus?: number; cause?: unknown }) {
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
  }

  /** OpenAI's error body: https://platform.openai.com/docs/guides/error-codes */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'GatewayError' && typeof (err as { code?: unknown }).code === 'string';
}
