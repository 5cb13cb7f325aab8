// OpenAI-format provider error → GatewayError. Pure: status, body bytes and names in, error out.
// Error body shape: https://platform.openai.com/docs/guides/error-codes — {"error":{"message",...}}.
// Most OpenAI-compatible providers (Groq, Mistral, Together, DeepSeek, OpenRouter) use the same
// shape; some send {"message": "..."} or {"detail": "..."} instead, so all three are read.
import { GatewayError, type ProviderErrorInfo } from '../../errors/gateway-error.ts';
import type { Redactor } from '../../util/redact.ts';

interface Described {
  message: string;
  info: ProviderErrorInfo | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The provider's message and own type/code/param, redacted whole before it is shortened (a cut through a key would leave a prefix). */
function describe(body: Buffer, redactor: Redactor, cut: boolean): Described {
  const text = redactor.redact(body.toString('utf8'), cut);
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } | string; message?: unknown; detail?: unknown };
    if (typeof j.error === 'object' && j.error !== null && typeof j.error.message === 'string') {
      const e = j.error;
      return { message: e.message as string, info: { format: 'openai', type: str(e.type), code: typeof e.code === 'number' ? String(e.code) : str(e.code), param: str(e.param) } };
    }
    if (typeof j.error === 'string') return { message: j.error, info: null };
    if (typeof j.message === 'string') return { message: j.message, info: null };
    if (typeof j.detail === 'string') return { message: j.detail, info: null };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.trim().slice(0, 300), info: null };
}

/** `cut`: the body was not read to its end (only its first 64 KiB are). */
export function fromOpenAIError(status: number, body: Buffer, provider: string, key: string, redactor: Redactor, cut = false): GatewayError {
  const { message, info } = describe(body, redactor, cut);
  const detail = redactor.redact(message);
  const said = detail === '' ? '' : `: ${detail}`;
  if (status === 401 || status === 403) {
    // Never pass a provider auth failure through as-is: the client's own credentials are fine, and
    // the provider's message may quote part of the gateway's key.
    return new GatewayError('upstream_auth_failed', `Provider '${provider}' rejected the credentials of key '${key}' (${status}).`, { upstreamStatus: status });
  }
  if (status === 429) {
    return new GatewayError('upstream_rate_limited', `Provider '${provider}' is rate limiting key '${key}'${said}`, { upstreamStatus: status, provider: info });
  }
  if (status === 408) {
    return new GatewayError('upstream_timeout', `Provider '${provider}' timed out the request${said}`, { upstreamStatus: status, provider: info });
  }
  if (status >= 500) {
    return new GatewayError('upstream_error', `Provider '${provider}' failed with status ${status}${said}`, { upstreamStatus: status, provider: info });
  }
  // 400, 404, 409, 413, 422, …: the request itself was refused; keep the provider's status and words.
  return new GatewayError('upstream_invalid_request', `Provider '${provider}' refused the request (${status})${said}`, { status, upstreamStatus: status, provider: info });
}
