// OpenAI-format provider error → GatewayError. Pure: status, body bytes and names in, error out.
// Error body shape: https://platform.openai.com/docs/guides/error-codes — {"error":{"message",...}}.
// Most OpenAI-compatible providers (Groq, Mistral, Together, DeepSeek, OpenRouter) use the same
// shape; some send {"message": "..."} or {"detail": "..."} instead, so all three are read.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Redactor } from '../../util/redact.ts';

/** The provider's message, redacted whole before it is shortened (a cut through a key would leave a prefix). */
function upstreamMessage(body: Buffer, redactor: Redactor, cut: boolean): string {
  const text = redactor.redact(body.toString('utf8'), cut);
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof j.error === 'object' && j.error !== null && typeof j.error.message === 'string') return j.error.message;
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().slice(0, 300);
}

/** `cut`: the body was not read to its end (only its first 64 KiB are). */
export function fromOpenAIError(status: number, body: Buffer, provider: string, key: string, redactor: Redactor, cut = false): GatewayError {
  const detail = redactor.redact(upstreamMessage(body, redactor, cut));
  const said = detail === '' ? '' : `: ${detail}`;
  if (status === 401 || status === 403) {
    // Never pass a provider auth failure through as-is: the client's own credentials are fine, and
    // the provider's message may quote part of the gateway's key.
    return new GatewayError('upstream_auth_failed', `Provider '${provider}' rejected the credentials of key '${key}' (${status}).`, { upstreamStatus: status });
  }
  if (status === 429) {
    return new GatewayError('upstream_rate_limited', `Provider '${provider}' is rate limiting key '${key}'${said}`, { upstreamStatus: status });
  }
  if (status === 408) {
    return new GatewayError('upstream_timeout', `Provider '${provider}' timed out the request${said}`, { upstreamStatus: status });
  }
  if (status >= 500) {
    return new GatewayError('upstream_error', `Provider '${provider}' failed with status ${status}${said}`, { upstreamStatus: status });
  }
  // 400, 404, 409, 413, 422, …: the request itself was refused; keep the provider's status and words.
  return new GatewayError('upstream_invalid_request', `Provider '${provider}' refused the request (${status})${said}`, { status, upstreamStatus: status });
}
