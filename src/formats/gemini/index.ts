// Google Gemini's generateContent format, spoken to `type: gemini` providers (there is no Gemini
// client dialect). https://ai.google.dev/api/generate-content
import type { GatewayError } from '../../errors/gateway-error.ts';
import { providerError, rawWords } from '../provider-error.ts';
import type { Codec, ErrorSource } from '../format.ts';
import { numberAfter } from '../usage-scan.ts';
import { embeddingsFromCanonical, geminiFromCanonical } from './request.ts';
import { embeddingsToCanonical, geminiToCanonical } from './response.ts';
import { GeminiStreamDecoder } from './stream.ts';
import { isObj } from '../../util/json-object.ts';
import { tokenCountField } from '../token-count.ts';

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
  // An invalid key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID at Google, not a 401.
  const keyInvalid = /API_KEY_INVALID|API key not valid/.test(text);
  try {
    const j = JSON.parse(text) as unknown;
    const e = isObj(j) && isObj(j.error) ? j.error : null;
    if (e !== null) {
      const words = { message: typeof e.message === 'string' ? e.message : '', type: typeof e.status === 'string' ? e.status : null, code: null, param: null };
      return providerError('gemini', status, words, src, { keyInvalid, retryAfterMs: retryDelayMs(e.details) });
    }
  } catch {
    // not JSON: the raw text below
  }
  return providerError('gemini', status, rawWords(text), src, { keyInvalid });
}

const PROMPT = Buffer.from('"promptTokenCount"');
const CANDIDATES = Buffer.from('"candidatesTokenCount"');

export const geminiCodec: Codec = {
  format: 'gemini',
  framing: 'sse',
  serves: { chat: true, completions: false, embeddings: true, responses: true, count_tokens: true },
  fromCanonical: (req, model, dropped) => JSON.stringify(geminiFromCanonical(req, model, dropped)),
  // countTokens takes `contents` alone, or the whole generateContentRequest (with its model), which
  // is the form that counts the system instruction and the tools too (https://ai.google.dev/api/tokens).
  countTokensFromCanonical: (req, model) => JSON.stringify({ generateContentRequest: { model: `models/${model}`, ...geminiFromCanonical(req, model) } }),
  tokenCountOf: (body) => tokenCountField(body, 'totalTokens', 'gemini'),
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
