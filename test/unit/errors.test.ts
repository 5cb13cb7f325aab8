import { describe, it, expect } from 'vitest';
import { fromOpenAIError } from '../../src/formats/openai/errors.ts';
import { openaiDialect } from '../../src/formats/openai/index.ts';
import { fromTransportError } from '../../src/upstream/errors.ts';
import { Redactor } from '../../src/util/redact.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import type { ProviderPlan } from '../../src/plan/types.ts';

const KEY_VALUE = 'sk-proj-Q7vLm2Rt9XzK4pWb8NcJ5yHd3FgA6sEu';
const OTHER_SECRET = 'plainsecret-8f3a9c2e71d04b6a'; // no well-known shape: only the configured list catches it
const redactor = new Redactor([KEY_VALUE, OTHER_SECRET]);

const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const openaiBody = (message: string, code: string | null = null) => body({ error: { message, type: 'invalid_request_error', param: null, code } });

/** Every window of `len` characters of `secret`, to check that no recognisable part of it leaked. */
function fragments(secret: string, len = 5): string[] {
  const out: string[] = [];
  for (let i = 0; i + len <= secret.length; i++) out.push(secret.slice(i, i + len));
  return out;
}

function expectNoPartOf(text: string, secret: string): void {
  for (const f of fragments(secret)) if (text.includes(f)) expect(text, `contains "${f}"`).not.toContain(f);
}

function expectOpenAIShape(err: GatewayError): void {
  const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
  expect(Object.keys(json)).toEqual(['error']);
  const e = json.error as Record<string, unknown>;
  expect(Object.keys(e).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof e.message).toBe('string');
  expect(typeof e.type).toBe('string');
  expect(e.param === null || typeof e.param === 'string').toBe(true);
  expect(e.code).toBe(err.code);
  expect(e.message).toBe(err.message);
}

describe('fromOpenAIError: client-side refusals keep their status', () => {
  it.each([400, 404, 409, 413, 422])('%i → upstream_invalid_request with the same status', (status) => {
    const err = fromOpenAIError(status, openaiBody("Invalid value for 'temperature': must be <= 2."), 'openai', 'primary', redactor);
    expect(err.code).toBe('upstream_invalid_request');
    expect(err.status).toBe(status);
    expect(err.upstreamStatus).toBe(status);
    expect(err.type).toBe('invalid_request_error');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("'openai'");
    expect(err.message).toContain("Invalid value for 'temperature': must be <= 2.");
    expectOpenAIShape(err);
  });
});

describe('fromOpenAIError: credential failures', () => {
  const echoes = [
    // OpenAI's own wording, with the key partly masked.
    openaiBody(`Incorrect API key provided: ${KEY_VALUE.slice(0, 8)}************************${KEY_VALUE.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_api_key'),
    openaiBody(`Incorrect API key provided: ${KEY_VALUE}.`, 'invalid_api_key'),
    body({ message: `Invalid API Key ${KEY_VALUE}` }),
    body({ detail: `key ${OTHER_SECRET} revoked` }),
    body(`Unauthorized: ${KEY_VALUE}`),
  ];

  it.each([401, 403])('%i → 502 upstream_auth_failed naming the key by name only', (status) => {
    for (const b of echoes) {
      const err = fromOpenAIError(status, b, 'openai', 'primary', redactor);
      expect(err.code).toBe('upstream_auth_failed');
      expect(err.status).toBe(502);
      expect(err.upstreamStatus).toBe(status);
      expect(err.message).toContain("'primary'");
      expect(err.message).toContain("'openai'");
      expectNoPartOf(err.message, KEY_VALUE);
      expectNoPartOf(err.message, OTHER_SECRET);
      expectNoPartOf(JSON.stringify(err), KEY_VALUE);
      expectOpenAIShape(err);
    }
  });

  it('does not leak the key even with a redactor that knows no secrets', () => {
    const err = fromOpenAIError(401, echoes[1]!, 'openai', 'primary', new Redactor([]));
    expectNoPartOf(err.message, KEY_VALUE);
  });
});

describe('fromOpenAIError: provider-side failures', () => {
  it('429 → upstream_rate_limited with the provider\'s words and the key name', () => {
    const err = fromOpenAIError(429, openaiBody('Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000.', 'rate_limit_exceeded'), 'openai', 'primary', redactor);
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.status).toBe(429);
    expect(err.type).toBe('rate_limit_error');
    expect(err.message).toContain("'primary'");
    expect(err.message).toContain('Rate limit reached for gpt-4o');
    expectOpenAIShape(err);
  });

  it('408 → upstream_timeout (504)', () => {
    const err = fromOpenAIError(408, body(''), 'groq', 'k', redactor);
    expect(err.code).toBe('upstream_timeout');
    expect(err.status).toBe(504);
  });

  it.each([
    [500, 'upstream_error', 502],
    [502, 'upstream_error', 502],
    [503, 'upstream_error', 503],
    [504, 'upstream_error', 504],
    [529, 'upstream_overloaded', 503],
  ] as const)('%i → %s (%i): a 503 or 504 keeps its meaning, another 5xx is the gateway\'s 502', (status, code, clientStatus) => {
    const err = fromOpenAIError(status, openaiBody('Overloaded', 'server_error'), 'openrouter', 'k', redactor);
    expect(err.code).toBe(code);
    expect(err.status === 529 ? 503 : err.status).toBe(clientStatus);
    expect(err.upstreamStatus).toBe(status);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('Overloaded');
    expectOpenAIShape(err);
  });

  it("a 429 saying the account has no quota is its own class: the key rests like a revoked one, the client sees OpenAI's code", () => {
    const err = fromOpenAIError(429, openaiBody('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota'), 'openai', 'k', redactor);
    expect(err.code).toBe('upstream_quota_exhausted');
    expect(err.status).toBe(429);
    expect(err.provider?.code).toBe('insufficient_quota');
  });
});

describe('fromOpenAIError: body shapes', () => {
  it.each([
    ['{error:{message}}', { error: { message: 'model not found: foo' } }],
    ['{error: string}', { error: 'model not found: foo' }],
    ['{message}', { message: 'model not found: foo' }],
    ['{detail}', { detail: 'model not found: foo' }],
  ])('reads %s', (_shape, b) => {
    const err = fromOpenAIError(404, body(b), 'p', 'k', redactor);
    expect(err.message).toMatch(/: model not found: foo$/);
  });

  it("relays Azure's content-filter detail (innererror) to an OpenAI-dialect client", () => {
    const azure = { error: { message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", type: null, param: 'prompt', code: 'content_filter', status: 400, innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { hate: { filtered: true, severity: 'high' }, violence: { filtered: false, severity: 'safe' } } } } };
    const err = fromOpenAIError(400, body(azure), 'azure', 'k', redactor);
    const rendered = JSON.parse(openaiDialect.renderError(err)) as { error: { code: string; innererror: { content_filter_result: { hate: { filtered: boolean } } } } };
    expect(rendered.error.code).toBe('content_filter');
    expect(rendered.error.innererror.content_filter_result.hate).toEqual({ filtered: true, severity: 'high' });
  });

  it("keeps Mistral's top-level type, code and param (its shape: the members of error at the top)", () => {
    const err = fromOpenAIError(400, body({ object: 'error', message: 'Expected last role User or Tool', type: 'invalid_request_message_order', param: null, code: '3230' }), 'mistral', 'k', redactor);
    expect(err.provider).toMatchObject({ type: 'invalid_request_message_order', code: '3230', message: 'Expected last role User or Tool' });
  });

  it('prefers error.message over message and detail', () => {
    const err = fromOpenAIError(400, body({ error: { message: 'first' }, message: 'second', detail: 'third' }), 'p', 'k', redactor);
    expect(err.message).toMatch(/: first$/);
  });

  it('falls back to the raw text for non-JSON bodies, trimmed', () => {
    const err = fromOpenAIError(502, body('\n  <html><body>502 Bad Gateway</body></html>\n'), 'p', 'k', redactor);
    expect(err.code).toBe('upstream_error');
    expect(err.message).toMatch(/: <html><body>502 Bad Gateway<\/body><\/html>$/);
  });

  it('falls back to the raw text for JSON of an unknown shape', () => {
    const err = fromOpenAIError(422, body({ detail: [{ loc: ['body', 'model'], msg: 'field required' }] }), 'p', 'k', redactor);
    expect(err.status).toBe(422);
    expect(err.message).toContain('field required');
  });

  it('bounds the length of a raw-text message', () => {
    const err = fromOpenAIError(500, body('x'.repeat(100_000)), 'p', 'k', redactor);
    expect(err.message.length).toBeLessThan(400);
  });

  it('says nothing extra for an empty body', () => {
    const err = fromOpenAIError(503, Buffer.alloc(0), 'p', 'k', redactor);
    expect(err.message).toBe("Provider 'p' failed with status 503");
  });

  it('redacts configured secrets and key-shaped strings from passed-through messages', () => {
    const err = fromOpenAIError(429, openaiBody(`too many requests for ${OTHER_SECRET} and gsk_AbCdEf0123456789 and ${KEY_VALUE}`), 'p', 'k', redactor);
    expect(err.message).toContain('[redacted]');
    expectNoPartOf(err.message, OTHER_SECRET);
    expectNoPartOf(err.message, KEY_VALUE);
    expect(err.message).not.toContain('gsk_');
  });

  it('redacts a secret that the length cap of a raw-text message would cut in half', () => {
    for (let at = 280; at <= 300; at++) {
      const text = 'y'.repeat(at) + OTHER_SECRET + ' trailing';
      const err = fromOpenAIError(500, body(text), 'p', 'k', redactor);
      expectNoPartOf(err.message, OTHER_SECRET);
    }
  });
});

describe('fromTransportError', () => {
  const provider = { name: 'groq', timeouts: { connectMs: 1234, firstByteMs: 5678, idleMs: 9012 } } as unknown as ProviderPlan;
  const withCode = (code: string) => Object.assign(new Error(`boom ${code}`), { code });

  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', 'upstream_connect_timeout', 504, '1234'],
    ['UND_ERR_HEADERS_TIMEOUT', 'upstream_timeout', 504, '5678'],
    ['UND_ERR_BODY_TIMEOUT', 'upstream_timeout', 504, '9012'],
    ['ECONNREFUSED', 'upstream_connect_failed', 502, 'ECONNREFUSED'],
    ['ENOTFOUND', 'upstream_connect_failed', 502, 'ENOTFOUND'],
    ['UND_ERR_SOCKET', 'upstream_reset', 502, 'closed the connection'],
    ['ECONNRESET', 'upstream_reset', 502, 'closed the connection'],
    ['EPIPE', 'upstream_reset', 502, 'closed the connection'],
    ['UND_ERR_SOMETHING_NEW', 'upstream_error', 502, 'UND_ERR_SOMETHING_NEW'],
  ] as const)('%s → %s (%i)', (code, expected, status, mentions) => {
    const cause = withCode(code);
    const err = fromTransportError(cause, provider, false);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe(expected);
    expect(err.status).toBe(status);
    expect(err.message).toContain("'groq'");
    expect(err.message).toContain(mentions);
    expect(err.cause).toBe(cause);
    expect(err.upstreamStatus).toBe(0);
    expectOpenAIShape(err);
  });

  it('classifies by code, not by class', () => {
    expect(fromTransportError({ code: 'ECONNRESET' }, provider, false).code).toBe('upstream_reset');
    expect(fromTransportError(Object.assign(new TypeError('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), provider, false).code).toBe('upstream_timeout');
  });

  it('says whether the response had started', () => {
    expect(fromTransportError(withCode('ECONNRESET'), provider, true).message).toContain('in the middle of its response');
    expect(fromTransportError(withCode('ECONNRESET'), provider, false).message).toContain('before answering');
    expect(fromTransportError(withCode('UND_ERR_BODY_TIMEOUT'), provider, true).message).toContain('in the middle of its response');
  });

  it.each([null, undefined, 'a string', 42, new Error('no code'), { code: 17 }])('maps %j to upstream_error', (thrown) => {
    const err = fromTransportError(thrown, provider, false);
    expect(err.code).toBe('upstream_error');
    expect(err.status).toBe(502);
    expectOpenAIShape(err);
  });
});

describe('GatewayError.toJSON', () => {
  it('has OpenAI\'s shape with param when given', () => {
    const err = new GatewayError('invalid_parameter', 'bad temperature', { param: 'temperature' });
    expect(err.toJSON()).toEqual({ error: { message: 'bad temperature', type: 'invalid_request_error', param: 'temperature', code: 'invalid_parameter' } });
    expect(new GatewayError('internal_error', 'x').toJSON()).toEqual({ error: { message: 'x', type: 'server_error', param: null, code: 'internal_error' } });
  });
});

describe('Redactor', () => {
  it('removes every occurrence of each configured secret', () => {
    const r = new Redactor(['alpha-secret-1', 'beta.secret*2(x)']);
    const out = r.redact('a alpha-secret-1 b beta.secret*2(x) c alpha-secret-1');
    expect(out).toBe('a [redacted] b [redacted] c [redacted]');
  });

  it('replaces a secret that contains another secret whole', () => {
    const short = 'abcd1234';
    const long = 'abcd1234efgh5678';
    for (const order of [[short, long], [long, short]]) {
      const r = new Redactor(order);
      expect(r.redact(`x ${long} y ${short} z`)).toBe('x [redacted] y [redacted] z');
    }
  });

  it('ignores secrets too short to redact safely and duplicates', () => {
    const r = new Redactor(['abc', 'abc', '', 'longer-one']);
    expect(r.redact('abc longer-one abc')).toBe('abc [redacted] abc');
  });

  it.each([
    'sk-proj-AbCdEf0123456789_-xyz',
    'sk-ant-api03-AbCdEfGhIj',
    'sk-AbCdEf0123456789',
    'sk-abc***xyz',
    'gsk_AbCdEf0123456789',
    'xai-AbCdEf0123456789',
    'AIzaSyA-0123456789abcdefghijKLM',
  ])('removes the well-known key shape %s without being told', (key) => {
    const out = new Redactor([]).redact(`Incorrect API key provided: ${key}. See docs.`);
    expect(out).toBe('Incorrect API key provided: [redacted]. See docs.');
  });

  it('leaves ordinary text alone', () => {
    const text = 'risk-assessment task-force sk-abc desk_lamp "skip-this" model gpt-4o-mini';
    expect(new Redactor(['unrelated-secret']).redact(text)).toBe(text);
  });

  it('is stable: redacting twice changes nothing more', () => {
    const r = new Redactor([KEY_VALUE]);
    const once = r.redact(`a ${KEY_VALUE} b gsk_0123456789abc`);
    expect(r.redact(once)).toBe(once);
  });
});

describe('Bedrock errors: the exception named in x-amzn-errortype', () => {
  const src = (headers: Record<string, string> | null) => ({ provider: 'br', key: 'iam', redactor, cut: false, headers });
  it('is the type the error keeps, over a body that names none', async () => {
    const { bedrockCodec } = await import('../../src/formats/bedrock/index.ts');
    const { openaiError } = await import('../../src/formats/errors.ts');
    const quota = bedrockCodec.errorFrom(429, body({ message: 'Too many tokens per day' }), src({ 'x-amzn-errortype': 'ServiceQuotaExceededException:http://internal.amazon.com/coral/com.amazon.bedrock/' }));
    expect(quota.provider?.type).toBe('ServiceQuotaExceededException');
    expect(openaiError(quota).code).toBe('insufficient_quota');
    const throttled = bedrockCodec.errorFrom(429, body({ message: 'Too many requests' }), src({ 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' }));
    expect(openaiError(throttled).code).toBe('rate_limit_exceeded');
    // A bad Bedrock API key: `Message`, capitalised.
    const denied = bedrockCodec.errorFrom(403, body({ Message: 'Invalid API Key format' }), src(null));
    expect(denied.code).toBe('upstream_auth_failed');
  });
});

describe('a prompt too long for the model is context_length_exceeded for OpenAI clients, in every provider\'s words', () => {
  const src = { provider: 'p', key: 'k', redactor, cut: false, headers: null };
  it('Anthropic, Gemini and Bedrock', async () => {
    const { FORMATS, CODECS } = await import('../../src/formats/index.ts');
    const { openaiError } = await import('../../src/formats/errors.ts');
    const cases = [
      [FORMATS.anthropic.codec, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210384 tokens > 200000 maximum' } }],
      [FORMATS.anthropic.codec, { type: 'error', error: { type: 'invalid_request_error', message: 'input length and `max_tokens` exceed context limit: 195000 + 8192 > 200000, decrease input length or `max_tokens` and try again' } }],
      [CODECS.gemini, { error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } }],
      [CODECS.bedrock, { message: 'Input is too long for requested model.' }],
    ] as const;
    for (const [codec, answer] of cases) {
      const err = codec.errorFrom(400, body(answer), codec === CODECS.bedrock ? { ...src, headers: { 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' } } : src);
      expect(openaiError(err).code, JSON.stringify(answer)).toBe('context_length_exceeded');
    }
    // Another refusal keeps its own code.
    const other = CODECS.gemini.errorFrom(400, body({ error: { code: 400, message: 'Invalid value at contents[0].role', status: 'INVALID_ARGUMENT' } }), src);
    expect(openaiError(other).code).not.toBe('context_length_exceeded');
  });
});
