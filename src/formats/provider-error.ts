// A provider's error answer → the GatewayError that decides failover, for every format alike. Each
// codec reads its own body shape (the words: message, type, code, param) and hands them here with the
// status; the classes are the same whoever spoke:
//
//   401/403 (or a key the provider calls invalid)  upstream_auth_failed: the key rests, never shown as-is
//                                                  (the provider's message may quote part of the key)
//   429 that says the account has no quota left    upstream_quota_exhausted: the key rests as long as a
//                                                  revoked one; retrying it is pointless
//   429                                            upstream_rate_limited: the key rests (retry hints honoured)
//   529, or an "overloaded" type                   upstream_overloaded: everyone is affected; retry, fail over
//   408                                            upstream_timeout
//   5xx                                            upstream_error (503 and 504 keep their status, which
//                                                  means something to a client; other 5xx become 502)
//   any other status                               upstream_invalid_request, with the provider's status
//
// The provider's own words ride along (GatewayError.provider): a client of the same format gets them
// unchanged (message, type, code, param), a client of another format gets them mapped (formats/errors.ts).
import { GatewayError, type ProviderErrorInfo } from '../errors/gateway-error.ts';
import type { ErrorSource } from './format.ts';

export interface ProviderWords {
  /** The provider's message ('' when it gave none). Already redacted of configured keys. */
  message: string;
  type: string | null;
  code: string | null;
  param: string | null;
  /** Azure's `innererror` object, when the error body had one. */
  innererror?: unknown;
}

/** Error types and codes that mean "this account is out of money or quota", not "slow down". */
const QUOTA = new Set(['insufficient_quota', 'billing_error', 'ServiceQuotaExceededException']);
const OVERLOADED = new Set(['overloaded_error']);

export function providerError(format: string, status: number, words: ProviderWords, src: ErrorSource, opts: { keyInvalid?: boolean; retryAfterMs?: number | null } = {}): GatewayError {
  const name = src.provider;
  if (status === 401 || status === 403 || opts.keyInvalid === true) {
    return new GatewayError('upstream_auth_failed', `Provider '${name}' rejected the credentials of key '${src.key}' (${status}).`, { upstreamStatus: status === 400 ? 401 : status });
  }
  const provider: ProviderErrorInfo = { format, type: words.type, code: words.code, param: words.param, message: words.message === '' ? null : words.message, ...(words.innererror === undefined ? {} : { innererror: words.innererror }) };
  const said = words.message === '' ? '' : `: ${words.message}`;
  if (status === 429 && (QUOTA.has(words.code ?? '') || QUOTA.has(words.type ?? ''))) {
    return new GatewayError('upstream_quota_exhausted', `Provider '${name}' says key '${src.key}' has no quota left${said}`, { upstreamStatus: status, provider });
  }
  if (status === 429) return new GatewayError('upstream_rate_limited', `Provider '${name}' is rate limiting key '${src.key}'${said}`, { upstreamStatus: status, provider, retryAfterMs: opts.retryAfterMs ?? null });
  if (status === 529 || OVERLOADED.has(words.type ?? '')) return new GatewayError('upstream_overloaded', `Provider '${name}' is overloaded${said}`, { upstreamStatus: status, provider });
  if (status === 408) return new GatewayError('upstream_timeout', `Provider '${name}' timed out the request${said}`, { upstreamStatus: status, provider });
  if (status >= 500) {
    return new GatewayError('upstream_error', `Provider '${name}' failed with status ${status}${said}`, { status: status === 503 || status === 504 ? status : 502, upstreamStatus: status, provider });
  }
  return new GatewayError('upstream_invalid_request', `Provider '${name}' refused the request (${status})${said}`, { status, upstreamStatus: status, provider });
}

/** A body that is not the format's error shape: its first 300 characters, as the message. */
export function rawWords(text: string): ProviderWords {
  return { message: text.trim().slice(0, 300), type: null, code: null, param: null };
}
