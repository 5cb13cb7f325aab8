// The checks every route of the OpenAI surface (surface.ts) shares with /v1/chat/completions, in the same order:
// the bearer key against validKeys (401 invalid_api_key; any key, or none, when validKeys is unset), then, once the
// route has validated the request, one roll of the key's fault: timeoutRate holds the request open, resetRate
// closes the connection, status / errorRate answer OpenAI's error body for that status (429 with retry-after and
// retry-after-ms), malformedRate tells the route to truncate its answer. Errors use OpenAI's shape
// {"error":{"message","type","param","code"}} (API reference, "Error codes").

import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { decide } from './behavior.ts';
import type { Behavior } from './config.ts';
import type { Exchange, Header } from './exchange.ts';
import type { RouteHost } from './gemini-route.ts';
import { faultBody } from './responses.ts';

/** What the surface routes need from the server. */
export interface SurfaceHost extends RouteHost {
  /** http://127.0.0.1:<port>: image URLs point back at the mock. */
  readonly url: string;
  /** Copies the request's headers, takes its bearer key and counts it (requests, byPath, byKey, lastHeaders);
   *  the Exchange registers onAborted first. Call synchronously in the route handler. */
  openExchange(res: HttpResponse, req: HttpRequest): Exchange;
  /** Runs `respond` with the key's behaviour (config, per-key, x-mock-* headers) after its latency. */
  later(ex: Exchange, respond: (b: Behavior) => void): void;
}

export function oaiError(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export const invalidRequest = (message: string, code: string | null, param: string | null = null): string =>
  oaiError(message, 'invalid_request_error', code, param);

// Never echoes the key: a gateway that logs this body must not leak it.
const INVALID_KEY = invalidRequest('Incorrect API key provided.', 'invalid_api_key');

/** false (and a 401 sent) when validKeys is set and the key is not in it. */
export function authorized(host: RouteHost, ex: Exchange): boolean {
  const valid = host.plan.validKeys;
  if (valid === null || valid.has(ex.key)) return true;
  ex.json(401, INVALID_KEY);
  return false;
}

export const retryHeaders = (sec: number): Header[] => [
  ['retry-after', String(sec)],
  ['retry-after-ms', String(Math.round(sec * 1000))],
];

/** The retry hint of an injected error: 429s always, 503s and 529s when unavailableRetryAfterSec is set. */
export function faultRetryHeaders(b: Behavior, status: number): Header[] {
  if (status === 429) return retryHeaders(b.retryAfterSec);
  return (status === 503 || status === 529) && b.unavailableRetryAfterSec > 0 ? retryHeaders(b.unavailableRetryAfterSec) : [];
}

/** Rolls the key's fault. null: the fault was the whole answer (held, reset or an error status). Otherwise
 *  whether the route must malform its answer (counted here). */
export function rollFault(host: RouteHost, ex: Exchange, b: Behavior): boolean | null {
  const decision = decide(b, host.plan.rng);
  switch (decision.fault) {
    case 'timeout':
      // Hold: the exchange stays open until the client leaves or the mock closes.
      host.counters.timeouts++;
      return null;
    case 'reset':
      ex.reset();
      return null;
    case 'error':
      ex.json(decision.status, faultBody(decision.status), faultRetryHeaders(b, decision.status));
      return null;
    case 'malformed':
      host.counters.malformed++;
      return true;
    default:
      return false;
  }
}

/** A path segment as the client meant it (the SDK percent-encodes ids); a bad escape is kept as sent. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Half of a body: unparsable behind a 200, like `malformedRate` on the chat route. */
export function halve<T extends string | Uint8Array>(body: T): T {
  return body.slice(0, body.length >> 1) as T;
}
