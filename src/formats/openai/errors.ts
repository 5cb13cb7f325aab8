// OpenAI-format provider error → GatewayError. Pure: status, body bytes and names in, error out.
// Error body shape: https://platform.openai.com/docs/guides/error-codes — {"error":{"message",...}}.
// Most OpenAI-compatible providers (Groq, Mistral, Together, DeepSeek, OpenRouter) use the same
// shape; some send {"message": "..."} or {"detail": "..."} instead, so all three are read.
import type { GatewayError } from '../../errors/gateway-error.ts';
import type { Redactor } from '../../util/redact.ts';
import { providerError, rawWords, type ProviderWords } from '../provider-error.ts';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The provider's message and own type/code/param, redacted whole before it is shortened (a cut through a key would leave a prefix). */
function describe(body: Buffer, redactor: Redactor, cut: boolean): ProviderWords {
  const text = redactor.redact(body.toString('utf8'), cut);
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown; innererror?: unknown } | string; message?: unknown; detail?: unknown; type?: unknown; code?: unknown; param?: unknown };
    if (typeof j.error === 'object' && j.error !== null && typeof j.error.message === 'string') {
      const e = j.error;
      const words: ProviderWords = { message: e.message as string, type: str(e.type), code: typeof e.code === 'number' ? String(e.code) : str(e.code), param: str(e.param) };
      // Azure's content filter says which category refused the prompt, and how severely (read from the redacted text).
      if (typeof e.innererror === 'object' && e.innererror !== null) words.innererror = e.innererror;
      return words;
    }
    if (typeof j.error === 'string') return rawWords(j.error);
    // Mistral's shape, the same members at the top ({"object": "error", "message", "type", "param", "code"}):
    // its type (invalid_request_message_order, say) reached the client as invalid_request_error.
    if (typeof j.message === 'string') return { ...rawWords(j.message), type: str(j.type), code: typeof j.code === 'number' ? String(j.code) : str(j.code), param: str(j.param) };
    if (typeof j.detail === 'string') return rawWords(j.detail);
  } catch {
    // not JSON: fall through to the raw text
  }
  return rawWords(text);
}

/** `cut`: the body was not read to its end (only its first 64 KiB are). */
export function fromOpenAIError(status: number, body: Buffer, provider: string, key: string, redactor: Redactor, cut = false): GatewayError {
  return providerError('openai', status, describe(body, redactor, cut), { provider, key, redactor, cut, headers: null });
}
