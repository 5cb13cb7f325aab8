// The one table of gateway error codes. Every error a client can receive is a row here: its HTTP
// status, the OpenAI error `type` (clients and SDKs switch on it), a short cause flag in the style of
// Envoy's response flags (UF, UT, URX; https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#command-operators)
// for logs and the `x-microgate-flag` header, who caused it, and whether another attempt could succeed.
//
// Classify errors by `code`, never by `instanceof` (undici learned this the hard way: nodejs/undici#3987).

export type ErrorOrigin = 'client' | 'gateway' | 'upstream';

export interface ErrorSpec {
  readonly status: number;
  readonly type: string;
  readonly flag: string;
  readonly origin: ErrorOrigin;
  readonly retryable: boolean;
}

const spec = (status: number, type: string, flag: string, origin: ErrorOrigin, retryable = false): ErrorSpec =>
  Object.freeze({ status, type, flag, origin, retryable });

export const ERROR_CODES = Object.freeze({
  // The client sent something we cannot accept.
  invalid_json: spec(400, 'invalid_request_error', 'BADREQ', 'client'),
  invalid_request: spec(400, 'invalid_request_error', 'BADREQ', 'client'),
  missing_required_parameter: spec(400, 'invalid_request_error', 'BADREQ', 'client'),
  invalid_parameter: spec(400, 'invalid_request_error', 'BADREQ', 'client'),
  request_too_large: spec(413, 'invalid_request_error', 'TOOBIG', 'client'),
  unsupported_media_type: spec(415, 'invalid_request_error', 'BADTYPE', 'client'),
  model_not_found: spec(404, 'invalid_request_error', 'NR', 'client'),
  not_found: spec(404, 'invalid_request_error', 'NR', 'client'),
  method_not_allowed: spec(405, 'invalid_request_error', 'NR', 'client'),
  /** A routing rule with `deny` matched (status from the rule, 403 by default). */
  request_denied: spec(403, 'permission_error', 'RULE', 'client'),
  /** Governance: no virtual key, or one the gateway does not know (OpenAI's code for a bad key). */
  invalid_api_key: spec(401, 'invalid_request_error', 'AUTH', 'client'),
  /** Governance: the key may not use this model or provider. */
  permission_denied: spec(403, 'permission_error', 'SCOPE', 'client'),
  /** Governance: the key's, team's or customer's requests or tokens per minute are spent (Retry-After says when). */
  rate_limit_exceeded: spec(429, 'rate_limit_error', 'LIMIT', 'client'),
  /** Governance: a budget is spent until its period renews; retrying does not help. */
  budget_exceeded: spec(402, 'insufficient_quota', 'BUDGET', 'client'),
  /** Governance: the shared counter store is unreachable and the policy is to refuse (failClosed). */
  governance_unavailable: spec(503, 'server_error', 'GOVDOWN', 'gateway', true),

  // The gateway itself.
  not_ready: spec(503, 'server_error', 'NOTREADY', 'gateway', true),
  shutting_down: spec(503, 'server_error', 'SHUTDOWN', 'gateway', true),
  internal_error: spec(500, 'server_error', 'INTERNAL', 'gateway'),
  /** Memory for buffering provider answers is spent (server.maxBufferedBytes): try again shortly. */
  gateway_overloaded: spec(503, 'server_error', 'OVERLOAD', 'gateway', true),
  /** The whole-request deadline (routing.deadlineMs or x-microgate-timeout-ms) passed. */
  deadline_exceeded: spec(504, 'timeout_error', 'DL', 'gateway'),

  // The provider, as seen from the gateway.
  upstream_connect_failed: spec(502, 'server_error', 'UF', 'upstream', true),
  upstream_connect_timeout: spec(504, 'timeout_error', 'UT', 'upstream', true),
  upstream_timeout: spec(504, 'timeout_error', 'UT', 'upstream', true),
  upstream_reset: spec(502, 'server_error', 'UR', 'upstream', true),
  upstream_error: spec(502, 'server_error', 'U5', 'upstream', true),
  upstream_rate_limited: spec(429, 'rate_limit_error', 'URL', 'upstream', true),
  /** A 429 that says the account is out of quota or credit: that key rests as long as a revoked one; another may serve. */
  upstream_quota_exhausted: spec(429, 'insufficient_quota', 'UQUOTA', 'upstream', true),
  /** Anthropic's 529 overloaded_error: the provider is overloaded for everyone; retry with backoff or fail over. */
  upstream_overloaded: spec(503, 'server_error', 'UOVL', 'upstream', true),
  upstream_auth_failed: spec(502, 'server_error', 'UAUTH', 'upstream', true),
  upstream_bad_response: spec(502, 'server_error', 'UBAD', 'upstream', true),
  /** Over server.maxResponseBytes or maxStreamEventBytes: the same request would bring the same answer, so it is not retried. */
  upstream_response_too_large: spec(502, 'server_error', 'UBIG', 'upstream'),
  // The provider refused the request itself (400/404/413/422): no other attempt will do better.
  upstream_invalid_request: spec(400, 'invalid_request_error', 'U4', 'upstream'),
  /** The provider blocked the prompt or the answer (Gemini promptFeedback.blockReason, a safety finish). */
  content_filter: spec(400, 'invalid_request_error', 'UFILTER', 'upstream'),
});

export type ErrorCode = keyof typeof ERROR_CODES;
