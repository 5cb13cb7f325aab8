// What a failed attempt means for the next one: the one table of failover decisions.
//
//   retry         network error, timeout, 408, 500/502/503/504, 529 (Anthropic "overloaded"),
//                 a malformed or cut response: same target again after a backoff
//   rate_limited  429: this key cools down (Retry-After honoured), next key of the provider
//   auth          401/403, or a 429 saying the account has no quota left: this key is out for a
//                 cooldown, next key at once, no backoff
//   fatal         400/404/413/422 and any other 4xx: the request itself is wrong; the client gets
//                 the provider's answer at once, no retry and no fallback
import type { GatewayError } from '../errors/gateway-error.ts';

export type Outcome = 'retry' | 'rate_limited' | 'auth' | 'fatal';

const RETRY_STATUSES = new Set([408, 500, 502, 503, 504, 529]);

export function outcomeOfStatus(status: number): Outcome {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (RETRY_STATUSES.has(status)) return 'retry';
  // Other 5xx (501 Not Implemented, 505 …) will not change on a retry of the same request, but
  // another provider may implement it: treat as retryable failures of this target.
  if (status >= 500) return 'retry';
  return 'fatal';
}

/**
 * A GatewayError from an attempt: provider statuses by the table above; transport failures retry
 * when their code says another attempt could do better. The gateway's and the client's own errors
 * (the deadline, a full buffer budget, a header undici refuses) are fatal, and never count against
 * the provider's health (upstream/failover.ts records only non-fatal outcomes).
 */
export function outcomeOf(err: GatewayError): Outcome {
  if (err.code === 'upstream_quota_exhausted') return 'auth';
  if (err.upstreamStatus !== 0) return outcomeOfStatus(err.upstreamStatus);
  return err.origin === 'upstream' && err.retryable ? 'retry' : 'fatal';
}
