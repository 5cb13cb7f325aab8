// POST /v1beta/models/{model}:{method} (and /v1/…): Gemini's checks (key, method, body; providers.md §2.1–2.2),
// then the same faults as the other routes in Google's error shape, then the answer (gemini.ts). server.ts
// accepts the request and applies the latency; everything after that happens here.

import { decide } from './behavior.ts';
import type { Behavior, Plan } from './config.ts';
import { vector } from './embeddings.ts';
import type { Exchange } from './exchange.ts';
import { answerBytes, parseObject, streamStop } from './flow.ts';
import * as G from './gemini.ts';
import { embedItems, isObject, validateGenerate } from './gemini-validate.ts';
import { truncate } from './responses.ts';
import { bump } from './stats.ts';
import type { MockStats } from './stats.ts';

/** What the route needs from the server; read on every use (setConfig and resetStats swap them). */
export interface RouteHost {
  readonly counters: MockStats;
  readonly plan: Plan;
  nextSeq(): number;
}

export interface GeminiCall {
  model: string;
  method: string;
  /** `alt=sse`: SSE events; otherwise a stream is one JSON array. */
  sse: boolean;
  /** The `key` query parameter, the other place the API takes a key from. */
  queryKey: string;
}

const METHODS = new Set(['generateContent', 'streamGenerateContent', 'embedContent', 'batchEmbedContents', 'countTokens']);

/**
 * uWS gives the whole segment after /models/ ("gemini-2.5-flash:generateContent"): the model may hold '.', '-'
 * and even ':' (tuned model names), so the method is what follows the LAST ':'. @google/genai builds the path
 * as `{model}:streamGenerateContent?alt=sse` after prefixing "models/" (its tModel()).
 */
/** A malformed escape must not throw inside a uWS callback: that would crash the process. */
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseCall(action: string, query: string | undefined): GeminiCall {
  const at = action.lastIndexOf(':');
  const params = query ? new URLSearchParams(query) : null;
  return {
    model: decode(at < 0 ? action : action.slice(0, at)),
    method: at < 0 ? '' : action.slice(at + 1),
    sse: params?.get('alt') === 'sse',
    queryKey: params?.get('key')?.trim() ?? '',
  };
}

export function respondGemini(host: RouteHost, ex: Exchange, b: Behavior, call: GeminiCall, text: string): void {
  const plan = host.plan;
  // A key is required even without validKeys: a gateway that drops it is the bug to catch. Never echoed.
  if (ex.key === '') return ex.json(403, G.MISSING_KEY);
  if (plan.validKeys !== null && !plan.validKeys.has(ex.key)) return ex.json(400, G.INVALID_KEY);
  const { model, method } = call;
  if (model === '' || !METHODS.has(method)) {
    const message =
      `models/${model} is not found for API version v1beta, or is not supported for ${method}. ` +
      'Call ListModels to see the list of available models and their supported methods.';
    return ex.json(404, G.errorBody(404, message));
  }
  bump(host.counters.byModel, model);
  const parsed = parseObject(text);
  if (parsed === null) return ex.json(400, G.errorBody(400, 'Invalid JSON payload received. Expected a JSON object.'));
  const counting = method === 'countTokens';
  const counted = counting ? countedRequest(parsed, model) : null;
  if (typeof counted === 'string') return ex.json(400, G.errorBody(400, counted));
  const body = counted ?? parsed;
  const embed = method === 'embedContent' || method === 'batchEmbedContents';
  const items = embed ? embedItems(body, model, method === 'batchEmbedContents') : null;
  const invalid = typeof items === 'string' ? items : embed ? null : validateGenerate(body);
  if (invalid !== null) return ex.json(400, G.errorBody(400, invalid));

  const decision = decide(b, plan.rng);
  if (decision.fault === 'timeout') {
    // Hold: the exchange stays open until the client leaves or the mock closes.
    host.counters.timeouts++;
    return;
  }
  if (decision.fault === 'reset') return ex.reset();
  if (decision.fault === 'error') return ex.json(decision.status, G.faultBody(decision.status, b.retryAfterSec));
  const malformed = decision.fault === 'malformed';
  if (malformed) host.counters.malformed++;

  let out: string;
  if (counting) {
    // The count the same request's generateContent answer reports as usageMetadata.promptTokenCount.
    const n = G.promptTokens(body, body.contents as Record<string, unknown>[]);
    out = `{"totalTokens":${n},"promptTokensDetails":[{"modality":"TEXT","tokenCount":${n}}]}`;
  } else if (items !== null && typeof items !== 'string') {
    const values = items.map((it) => vector(it.text, it.dims));
    out = method === 'embedContent' ? G.embedBody(values[0]!) : G.batchEmbedBody(values);
  } else {
    const s = G.scenario(body, model, host.nextSeq(), plan.texts.name);
    if (method === 'streamGenerateContent') return streamGemini(host, ex, b, malformed, s, call.sse);
    const config = isObject(body.generationConfig) ? body.generationConfig : {};
    out = G.responseBody(s, plan.texts.content(answerBytes(b, config.maxOutputTokens)));
  }
  ex.json(200, malformed ? truncate(out) : out);
}

/**
 * countTokens takes `contents` alone or a whole `generateContentRequest` (with its `model`), never both
 * (https://ai.google.dev/api/tokens): the generate request to count, or why it is refused.
 */
function countedRequest(body: Record<string, unknown>, model: string): Record<string, unknown> | string {
  const inner = body.generateContentRequest;
  if (inner === undefined) return { contents: body.contents };
  if (body.contents !== undefined) return 'contents and generateContentRequest are mutually exclusive (mock wording).';
  if (!isObject(inner)) return "Invalid value at 'generate_content_request' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentRequest)";
  if (inner.model !== `models/${model}`) return `* GenerateContentRequest.model: the model must be "models/${model}", got ${JSON.stringify(inner.model)} (mock wording).\n`;
  return inner;
}

/** The knobs act on the text chunks; streamErrorAfterChunks replaces the rest with Gemini's error chunk. */
function streamGemini(host: RouteHost, ex: Exchange, b: Behavior, malformed: boolean, s: G.Scenario, sse: boolean): void {
  const type = sse ? 'text/event-stream' : 'application/json';
  const frame = (chunks: string[], complete: boolean): string[] => (sse ? chunks.map(G.sseFrame) : G.arrayFrames(chunks, complete));
  const textChunks = s.blocked ? 0 : Math.min(b.streamChunks, s.maxTokens);
  const { chunks, contentFrom } = G.streamChunks(s, host.plan.texts.words, textChunks);
  if (malformed) {
    const at = Math.min(contentFrom, chunks.length - 1);
    const broken = frame([...chunks.slice(0, at), G.brokenChunk(chunks[at]!)], false);
    return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs, 0, broken.length, undefined, type);
  }
  if (s.blocked) {
    const events = frame(chunks, true);
    return ex.stream(events, events.length, 'complete', 0, 0, events.length, undefined, type);
  }
  const stop = streamStop(b, contentFrom, chunks.length, textChunks);
  const errorAt = b.streamErrorAfterChunks >= 0 ? contentFrom + Math.min(b.streamErrorAfterChunks, textChunks) : -1;
  if (errorAt >= 0 && errorAt <= stop.limit) {
    // Ends like a finished response (the status was 200), but is not counted as a completed stream.
    const errored = frame([...chunks.slice(0, errorAt), G.streamErrorChunk(b.streamErrorType)], true);
    return ex.stream(errored, errored.length, 'truncate', b.chunkDelayMs, contentFrom, errored.length, undefined, type);
  }
  const events = frame(chunks, true);
  ex.stream(events, stop.limit, stop.end, b.chunkDelayMs, contentFrom, contentFrom + textChunks, undefined, type);
}
