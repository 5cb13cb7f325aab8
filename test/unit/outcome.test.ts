import { describe, it, expect } from 'vitest';
import { outcomeOf, outcomeOfStatus } from '../../src/upstream/outcome.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { ERROR_CODES } from '../../src/errors/codes.ts';
import type { ErrorCode } from '../../src/errors/codes.ts';
import { fromOpenAIError } from '../../src/formats/openai/errors.ts';
import { fromTransportError } from '../../src/upstream/errors.ts';
import { Redactor } from '../../src/util/redact.ts';
import type { ProviderPlan } from '../../src/plan/types.ts';

const redactor = new Redactor(['sk-test-secret-000000']);
const provider = { name: 'openai', timeouts: { connectMs: 1000, firstByteMs: 2000, idleMs: 3000 } } as unknown as ProviderPlan;

function openaiError(status: number, message = 'nope'): GatewayError {
  return fromOpenAIError(status, Buffer.from(JSON.stringify({ error: { message, type: 'x', param: null, code: null } })), 'openai', 'primary', redactor);
}

function withCode(code: string): Error {
  return Object.assign(new Error(`socket said ${code}`), { code });
}

describe('outcomeOfStatus', () => {
  it.each([400, 404, 409, 413, 422])('%i → fatal', (status) => {
    expect(outcomeOfStatus(status)).toBe('fatal');
  });

  it.each([401, 403])('%i → auth', (status) => {
    expect(outcomeOfStatus(status)).toBe('auth');
  });

  it('429 → rate_limited', () => {
    expect(outcomeOfStatus(429)).toBe('rate_limited');
  });

  it.each([408, 500, 502, 503, 504, 529])('%i → retry', (status) => {
    expect(outcomeOfStatus(status)).toBe('retry');
  });

  it.each([501, 505, 507, 520, 598, 599])('other 5xx (%i) → retry', (status) => {
    expect(outcomeOfStatus(status)).toBe('retry');
  });

  it.each([402, 405, 406, 410, 411, 412, 415, 416, 418, 421, 423, 424, 425, 426, 428, 431, 451, 499])('other 4xx (%i) → fatal', (status) => {
    expect(outcomeOfStatus(status)).toBe('fatal');
  });

  it('classifies every status 400..599 into exactly the table', () => {
    for (let s = 400; s < 600; s++) {
      const want = s === 429 ? 'rate_limited' : s === 401 || s === 403 ? 'auth' : s === 408 || s >= 500 ? 'retry' : 'fatal';
      expect(outcomeOfStatus(s), String(s)).toBe(want);
    }
  });
});

describe('outcomeOf: provider statuses (upstreamStatus set)', () => {
  it('follows the status table for errors built by fromOpenAIError', () => {
    expect(outcomeOf(openaiError(400))).toBe('fatal');
    expect(outcomeOf(openaiError(404))).toBe('fatal');
    expect(outcomeOf(openaiError(409))).toBe('fatal');
    expect(outcomeOf(openaiError(413))).toBe('fatal');
    expect(outcomeOf(openaiError(422))).toBe('fatal');
    expect(outcomeOf(openaiError(401))).toBe('auth');
    expect(outcomeOf(openaiError(403))).toBe('auth');
    expect(outcomeOf(openaiError(429))).toBe('rate_limited');
    for (const s of [408, 500, 502, 503, 504, 529, 501]) expect(outcomeOf(openaiError(s)), String(s)).toBe('retry');
  });

  it('fromOpenAIError keeps the provider status on the error (the premise of the above)', () => {
    for (const s of [400, 401, 408, 429, 503]) expect(openaiError(s).upstreamStatus).toBe(s);
  });

  it('uses upstreamStatus, not the code or the client-facing status', () => {
    // A code whose own table row says "retryable upstream" still follows the provider's status …
    expect(outcomeOf(new GatewayError('upstream_error', 'x', { upstreamStatus: 400 }))).toBe('fatal');
    expect(outcomeOf(new GatewayError('upstream_bad_response', 'x', { upstreamStatus: 429 }))).toBe('rate_limited');
    expect(outcomeOf(new GatewayError('upstream_error', 'x', { upstreamStatus: 401 }))).toBe('auth');
    // … and a client-facing status of 400 does not make a provider 503 fatal.
    expect(outcomeOf(new GatewayError('upstream_invalid_request', 'x', { status: 400, upstreamStatus: 503 }))).toBe('retry');
    // upstream_auth_failed is sent to the client as 502; it is still an auth outcome.
    const auth = openaiError(401);
    expect(auth.status).toBe(502);
    expect(outcomeOf(auth)).toBe('auth');
  });
});

describe('outcomeOf: transport failures (upstreamStatus 0) → retry', () => {
  it.each(['upstream_connect_failed', 'upstream_timeout', 'upstream_reset', 'upstream_bad_response', 'upstream_connect_timeout', 'upstream_error'] as const)(
    '%s',
    (code) => {
      const err = new GatewayError(code, 'x');
      expect(err.upstreamStatus).toBe(0);
      expect(outcomeOf(err)).toBe('retry');
    },
  );

  it.each([
    ['ECONNREFUSED', 'upstream_connect_failed'],
    ['ENOTFOUND', 'upstream_connect_failed'],
    ['UND_ERR_CONNECT_TIMEOUT', 'upstream_connect_timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'upstream_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'upstream_timeout'],
    ['ECONNRESET', 'upstream_reset'],
    ['UND_ERR_SOCKET', 'upstream_reset'],
    ['EWHATEVER', 'upstream_error'],
  ])('fromTransportError(%s) → %s → retry', (sysCode, code) => {
    for (const headSeen of [false, true]) {
      const err = fromTransportError(withCode(sysCode), provider, headSeen);
      expect(err.code).toBe(code);
      expect(outcomeOf(err)).toBe('retry');
    }
  });

  it('an error without any code is still a retryable transport failure', () => {
    expect(outcomeOf(fromTransportError(new Error('boom'), provider, false))).toBe('retry');
    expect(outcomeOf(fromTransportError(null, provider, false))).toBe('retry');
  });
});

describe('outcomeOf: client- and gateway-origin errors → fatal', () => {
  it.each(['invalid_json', 'invalid_request', 'missing_required_parameter', 'invalid_parameter', 'request_too_large', 'model_not_found', 'not_found'] as const)(
    'client error %s',
    (code) => {
      expect(outcomeOf(new GatewayError(code, 'x'))).toBe('fatal');
    },
  );

  it.each(['internal_error', 'deadline_exceeded', 'not_ready', 'shutting_down', 'gateway_overloaded'] as const)('gateway error %s', (code) => {
    expect(outcomeOf(new GatewayError(code, 'x'))).toBe('fatal');
  });

  it('an answer too large to hold is fatal: the same request would bring it again', () => {
    expect(outcomeOf(new GatewayError('upstream_response_too_large', 'x'))).toBe('fatal');
  });

  it.each(['internal_error'] as const)('undici refusing the request the gateway built (%s) is fatal', (code) => {
    expect(outcomeOf(new GatewayError(code, 'x'))).toBe('fatal');
  });

  it('every code without an upstream status: retry exactly when it comes from upstream and another attempt could succeed', () => {
    // Codes only ever built from a provider status (fromOpenAIError) are left out.
    const statusOnly = new Set<ErrorCode>(['upstream_invalid_request', 'upstream_rate_limited', 'upstream_auth_failed', 'upstream_quota_exhausted']);
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (statusOnly.has(code)) continue;
      const want = ERROR_CODES[code].origin === 'upstream' && ERROR_CODES[code].retryable ? 'retry' : 'fatal';
      expect(outcomeOf(new GatewayError(code, 'x')), code).toBe(want);
    }
    // A 429 that says the account has no quota: the key is out like a revoked one, whatever the status.
    expect(outcomeOf(new GatewayError('upstream_quota_exhausted', 'x', { upstreamStatus: 429 }))).toBe('auth');
  });
});
