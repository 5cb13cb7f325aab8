// The telemetry record as the telemetry worker sees it, decoded from its fixed binary slot
// (telemetry/record.ts) with names resolved. One per finished request. Sinks (metrics, request log,
// OTLP) read this and nothing else; none of it ever holds a provider key's value.

export interface AttemptRecord {
  /** "provider/model" */
  target: string;
  provider: string;
  /** The upstream model name. */
  model: string;
  /** The key's name from the config (never its value). */
  key: string;
  /** The provider's HTTP status, or 0 when the attempt failed without one (then `flag` says why). */
  status: number;
  /** Short cause for a failure without a status (UF connect, UT timeout, UR reset, UBAD …), or of a stream that failed after its 200 (UR, UT, U5); '' on success. */
  flag: string;
  latencyUs: number;
}

export interface TelemetryRecord {
  /** x-microgate-request-id */
  id: string;
  /** Arrival, ms since the Unix epoch (fractional). */
  start: number;
  /** chat | completions | embeddings */
  endpoint: string;
  /** The wire format the client spoke: openai, or anthropic on /v1/messages. */
  dialect: string;
  /** The model as the client addressed it. */
  requestedModel: string;
  /** Status sent to the client (0 if the client went away first). */
  status: number;
  /** GatewayError code, '' on success. */
  error: string;
  stream: boolean;
  /** The stream started, then failed and ended with an SSE error event. */
  streamFailed: boolean;
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
  totalUs: number;
  /** The gateway's own time (BENCHMARKING.md). */
  gatewayUs: number;
  /** Time waiting on providers, every attempt and backoff included. */
  upstreamUs: number;
  /** Streams: arrival to first byte written; 0 otherwise. */
  ttfbUs: number;
  /** The rule that decided the route, '' if none. */
  rule: string;
  /** Every rule that matched, in order, shadow rules included (at most 16). */
  matched: string[];
  /** The tags of those rules, each once. */
  tags: string[];
  /** Complexity tier if it was computed, else ''. */
  tier: string;
  attempts: AttemptRecord[];
  /** Tokens from the provider's usage, -1 when unknown. */
  promptTokens: number;
  completionTokens: number;
  /** USD, when the final target has a price in the config; -1 when unknown. */
  cost: number;
  tenant: { virtualKey: string; team: string; customer: string };
  /** Only with telemetry.log.payloads: the request body as sent by the client. */
  request?: string;
  /** Only with telemetry.log.payloads: the answer (JSON body, or a stream's events, capped). */
  response?: string;
  /** Which of the two was longer than the 64 KiB kept; absent when neither. */
  truncated?: { request: boolean; response: boolean };
}
