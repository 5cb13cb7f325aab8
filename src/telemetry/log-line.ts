// The shape of a request-log line (log-file.ts writes it; scripts/logs.ts, GET /admin/requests and the
// dashboard's Requests page read it). Imports nothing, so the browser code can share it.

/** A line of the request log, parsed. Key order as written. */
export interface LogLine {
  id: string;
  /** ISO 8601, from `start`. */
  time: string;
  endpoint: string;
  dialect: string;
  requestedModel: string;
  status: number;
  error?: string;
  rule?: string;
  /** Every rule that matched, shadow rules included; absent when none. */
  matched?: string[];
  /** Their tags (a rule's `tag`), each once; absent when none. */
  tags?: string[];
  tier?: string;
  attempts: { target: string; provider: string; model: string; key: string; status: number; flag?: string; latencyUs: number }[];
  tokens?: { prompt?: number; completion?: number };
  cost?: number;
  totalUs: number;
  gatewayUs: number;
  upstreamUs: number;
  ttfbUs: number;
  stream: boolean;
  streamFailed: boolean;
  aborted: boolean;
  tenant: { virtualKey: string; team: string; customer: string };
  request?: string;
  response?: string;
  /** Which of the two was longer than the 64 KiB kept; absent when neither. */
  truncated?: { request: boolean; response: boolean };
}
