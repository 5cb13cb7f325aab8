// Google Gemini's generateContent format, spoken to `type: gemini` providers (there is no Gemini
// client dialect). https://ai.google.dev/api/generate-content
import { GatewayError, type ProviderErrorInfo } from '../../errors/gateway-error.ts';
import type { Codec, ErrorSource } from '../format.ts';
import { numberAfter } from '../usage-scan.ts';
import { embeddingsFromCanonical, geminiFromCanonical } from './request.ts';
import { embeddingsToCanonical, geminiToCanonical } from './response.ts';
import { GeminiStreamDecoder } from './stream.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RetryInfo's retryDelay ("2s", "1.5s") in a Google error's details, as ms. */
function retryDelayMs(details: unknown): number | null {
  if (!Array.isArray(details)) return null;
  for (const d of details) {
    if (isObj(d) && typeof d['@type'] === 'string' && d['@type'].endsWith('google.rpc.RetryInfo') && typeof d.retryDelay === 'string') {
      const s = Number.parseFloat(d.retryDelay);
      if (Number.isFinite(s) && s >= 0) return s * 1000;
    }
  }
  return null;
}

/** Google's error body `{"error": {"code", "message", "status", "details"}}` → GatewayError, its status kept. */
function errorFrom(status: number, body: Buffer, src: ErrorSource): GatewayError {
  const text = src.redactor.redact(body.toString('utf8'), src.cut);
  let message = '';
  let type: string | null = null;
  let details: unknown;
  try {
    const j = JSON.parse(text) as unknown;
    const e = isObj(j) && isObj(j.error) ? j.error : isObj(j) && Array.isArray(j) ? null : null;
    if (e !== null) {
      message = typeof e.message === 'string' ? e.message : '';
      type = typeof e.status === 'string' ? e.status : null;
      details = e.details;
    }
  } catch {
    message = text.trim().slice(0, 300);
  }
  const provider: ProviderErrorInfo = { format: 'gemini', type, code: null, param: null };
  const said = message === '' ? '' : `: ${message}`;
  const name = src.provider;
  // An invalid key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID at Google, not a 401.
  if (status === 401 || status === 403 || /API_KEY_INVALID|API key not valid/.test(text)) {
    return new GatewayError('upstream_auth_failed', `Provider '${name}' rejected the credentials of key '${src.key}' (${status}).`, { upstreamStatus: status === 400 ? 401 : status });
  }
  if (status === 429) return new GatewayError('upstream_rate_limited', `Provider '${name}' is rate limiting key '${src.key}'${said}`, { upstreamStatus: status, provider, retryAfterMs: retryDelayMs(details) });
  if (status >= 500) return new GatewayError('upstream_error', `Provider '${name}' failed with status ${status}${said}`, { upstreamStatus: status, provider });
  return new GatewayError('upstream_invalid_request', `Provider '${name}' refused the request (${status})${said}`, { status, upstreamStatus: status, provider });
}

const PROMPT = Buffer.from('"promptTokenCount"');
const CANDIDATES = Buffer.from('"candidatesTokenCount"');

export const geminiCodec: Codec = {
  format: 'gemini',
  framing: 'sse',
  serves: { chat: true, completions: false, embeddings: true },
  fromCanonical: (req) => JSON.stringify(geminiFromCanonical(req)),
  toCanonicalResponse: geminiToCanonical,
  streamDecoder: () => new GeminiStreamDecoder(),
  errorFrom,
  // Never relayed as-is (no client speaks Gemini): translated streams end through the decoder.
  streamEnd: () => 'cut',
  scanUsage(bytes, into) {
    const p = numberAfter(bytes, PROMPT);
    const c = numberAfter(bytes, CANDIDATES);
    if (p >= 0) into.promptTokens = p;
    if (c >= 0) into.completionTokens = c;
  },
  embeddingsFromCanonical: (req, model) => JSON.stringify(embeddingsFromCanonical(req, model)),
  embeddingsToCanonical: (body, req) => embeddingsToCanonical(body, req.model),
};
