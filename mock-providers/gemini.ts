// Google Gemini generateContent wire format for POST /v1beta/models/{model}:{method} (providers.md §2; Gemini
// API reference: generateContent, streamGenerateContent, embedContent, batchEmbedContents): what the answer
// contains, chosen deterministically from the request, and its JSON body, stream chunks and error bodies.
// Validation lives in gemini-validate.ts; the uWS side (auth, faults, writing) in gemini-route.ts.
//
// Scenario switches ("last user text" = the text parts of the last content whose role is "user" or omitted;
// a turn of function responses has none):
//   - "unsafe" in the last user text        → a blocked prompt: no candidates, promptFeedback {blockReason: "SAFETY"}
//                                              (wins over all below; a stream sends that one chunk)
//   - "recitation"                           → a candidate with finishReason "RECITATION" and no content at all (a
//                                              stream sends its text chunks first, then that candidate)
//   - generationConfig.maxOutputTokens < 5   → a short text, finishReason "MAX_TOKENS" (no thought, no calls)
//   - tools[].functionDeclarations and the last user text contains the word "tool", or
//     toolConfig.functionCallingConfig.mode "ANY" → a text part, then one functionCall part per declared function
//                                              (at most 2; with ANY only allowedFunctionNames when given; none with
//                                              mode NONE). finishReason stays "STOP": Gemini has no tool-call reason,
//                                              the trap translators fall into (§2.4). `args` follow the declaration's
//                                              parameters (or parametersJsonSchema) properties: enum → its first
//                                              value, string "x", number/integer 1, boolean true, array [], object
//                                              {}; no properties → {}. No `id` on the calls unless the last user
//                                              text contains the word "ids" (Gemini often omits them).
//   - generationConfig.thinkingConfig (not thinkingBudget 0) → every functionCall part carries a thoughtSignature
//                                              (base64, verified when sent back: gemini-validate.ts), usage gets
//                                              thoughtsTokenCount, and unless includeThoughts is false a
//                                              {text, thought: true} part comes first
//   - `cachedContent` named                  → usageMetadata.cachedContentTokenCount 100, part of promptTokenCount
//   - "trailing" in the last user text (stream) → the finishReason comes in a separate last chunk with empty parts,
//                                              as newer models send it (LiteLLM #21041)
// Knobs (MockBehavior, x-mock-* headers) as on the other routes. streamChunks, chunkDelayMs, stallAfterChunks and
// disconnectAfterChunks act on the text chunks (never more than maxOutputTokens of them); streamErrorAfterChunks /
// x-mock-stream-error-after: N ends the stream after N text chunks with Gemini's in-stream error,
// `data: {"error": {"code": 503, "status": "UNAVAILABLE", …}}`; streamErrorType / x-mock-stream-error picks it by
// Google status (RESOURCE_EXHAUSTED, INTERNAL, …) or by the Anthropic type it stands for (overloaded_error → 503).
// Injected 429s carry google.rpc.RetryInfo {retryDelay: "<retryAfterSec>s"} in error.details and no retry-after
// header: Google sends none, so a gateway must read the delay from the body.

import { isObject, partsOf, roleOf, signCall, thinkingOn } from './gemini-validate.ts';
import type { Json } from './gemini-validate.ts';
import { sampleArgs } from './sample-args.ts';

interface Call {
  name: string;
  args: Json;
  id?: string;
  thoughtSignature?: string;
}

export interface Scenario {
  /** Already a JSON string literal: modelVersion. */
  model: string;
  responseId: string;
  blocked: boolean;
  finish: 'STOP' | 'MAX_TOKENS' | 'RECITATION';
  /** The thought summary part's text, or null. */
  thought: string | null;
  thoughtTokens: number;
  calls: Call[];
  trailing: boolean;
  /** generationConfig.maxOutputTokens, or Infinity. */
  maxTokens: number;
  promptTokens: number;
  cachedTokens: number;
}

const CACHED_TOKENS = 100;

function lastUserText(contents: Json[]): string {
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i]!;
    if (roleOf(c) !== 'user') continue;
    return partsOf(c)
      .filter((p) => typeof p.text === 'string')
      .map((p) => p.text)
      .join(' ');
  }
  return '';
}

/** Approximate prompt tokens: a quarter of the characters of text, call arguments and function responses. */
export function promptTokens(body: Json, contents: Json[]): number {
  let chars = 0;
  const add = (content: unknown): void => {
    for (const p of partsOf(content)) {
      if (typeof p.text === 'string') chars += p.text.length;
      else if (p.functionCall !== undefined) chars += JSON.stringify(p.functionCall).length;
      else if (p.functionResponse !== undefined) chars += JSON.stringify(p.functionResponse).length;
    }
  };
  add(body.systemInstruction);
  for (const c of contents) add(c);
  return Math.max(1, Math.ceil(chars / 4));
}

/** The declared functions the answer calls, following toolConfig.functionCallingConfig (§2.2). */
function calledFunctions(body: Json, text: string): Json[] {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const decls = tools.flatMap((t) => (isObject(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations.filter(isObject) : []));
  const config = isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : {};
  const mode = typeof config.mode === 'string' ? config.mode.toUpperCase() : 'AUTO';
  if (decls.length === 0 || mode === 'NONE') return [];
  if (mode === 'ANY') {
    const allowed = Array.isArray(config.allowedFunctionNames) ? config.allowedFunctionNames : null;
    return (allowed === null ? decls : decls.filter((d) => allowed.includes(d.name))).slice(0, 2);
  }
  return /\btool\b/i.test(text) ? decls.slice(0, 2) : [];
}

/** `body` passed validateGenerate; `model` is the one in the URL; `name` is the mock's, quoted in generated text. */
export function scenario(body: Json, model: string, seq: number, name: string): Scenario {
  const contents = body.contents as Json[];
  const text = lastUserText(contents);
  const config = isObject(body.generationConfig) ? body.generationConfig : {};
  const max = typeof config.maxOutputTokens === 'number' && config.maxOutputTokens > 0 ? config.maxOutputTokens : Infinity;
  const s: Scenario = {
    model: JSON.stringify(model),
    responseId: `mock-gemini-${seq}`,
    blocked: text.includes('unsafe'),
    finish: 'STOP',
    thought: null,
    thoughtTokens: 0,
    calls: [],
    trailing: text.includes('trailing'),
    maxTokens: max,
    promptTokens: promptTokens(body, contents),
    cachedTokens: typeof body.cachedContent === 'string' && body.cachedContent !== '' ? CACHED_TOKENS : 0,
  };
  s.promptTokens += s.cachedTokens;
  if (s.blocked) return s;
  if (text.includes('recitation')) s.finish = 'RECITATION';
  else if (max < 5) s.finish = 'MAX_TOKENS';
  if (s.finish !== 'STOP') return s;
  const thinking = thinkingOn(body);
  if (thinking) {
    const thought = `[${name}] Let me think about this step by step.`;
    const tc = config.thinkingConfig as Json;
    if (tc.includeThoughts !== false) s.thought = thought;
    s.thoughtTokens = Math.ceil(thought.length / 4);
  }
  const ids = /\bids\b/i.test(text);
  s.calls = calledFunctions(body, text).map((decl, i) => {
    const call: Call = { name: String(decl.name), args: sampleArgs(decl.parameters ?? decl.parametersJsonSchema) };
    if (ids) call.id = `mock-fc-${seq}-${i}`;
    if (thinking) call.thoughtSignature = signCall(call.name, call.args);
    return call;
  });
  return s;
}

const callPart = (c: Call): string => {
  const fc = c.id === undefined ? { name: c.name, args: c.args } : { id: c.id, name: c.name, args: c.args };
  return JSON.stringify(c.thoughtSignature === undefined ? { functionCall: fc } : { functionCall: fc, thoughtSignature: c.thoughtSignature });
};
const callTokens = (c: Call): number => Math.ceil((c.name.length + JSON.stringify(c.args).length) / 4);

/** candidatesTokenCount excludes thoughts; totalTokenCount adds them (§2.3). */
function usage(s: Scenario, candidates: number, thoughts: number): string {
  let out = `{"promptTokenCount":${s.promptTokens},"candidatesTokenCount":${candidates},"totalTokenCount":${s.promptTokens + candidates + thoughts}`;
  if (s.cachedTokens > 0) out += `,"cachedContentTokenCount":${s.cachedTokens}`;
  if (thoughts > 0) out += `,"thoughtsTokenCount":${thoughts}`;
  return `${out},"promptTokensDetails":[{"modality":"TEXT","tokenCount":${s.promptTokens}}]}`;
}

const tail = (s: Scenario): string => `"modelVersion":${s.model},"responseId":"${s.responseId}"}`;

/** A blocked prompt: no candidates at all (§2.3), which a translator must not turn into an empty choices list. */
function blockedBody(s: Scenario): string {
  return (
    '{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]},' +
    `"usageMetadata":{"promptTokenCount":${s.promptTokens},"totalTokenCount":${s.promptTokens}},${tail(s)}`
  );
}

const candidate = (parts: string, finish: string | null): string =>
  `{"candidates":[{"content":{"parts":[${parts}],"role":"model"}${finish === null ? '' : `,"finishReason":"${finish}"`},"index":0}]`;

/** Recitation: the candidate carries no content at all, so `candidates[0].content.parts` is undefined. */
const recitation = '{"candidates":[{"finishReason":"RECITATION","index":0}]';

/** The non-streaming GenerateContentResponse; `text` is escaped, its tokens a quarter of its characters. */
export function responseBody(s: Scenario, text: string): string {
  if (s.blocked) return blockedBody(s);
  if (s.finish === 'RECITATION') return `${recitation},"usageMetadata":${usage(s, 0, 0)},${tail(s)}`;
  const parts: string[] = [];
  if (s.thought !== null) parts.push(JSON.stringify({ text: s.thought, thought: true }));
  parts.push(`{"text":"${text}"}`);
  for (const c of s.calls) parts.push(callPart(c));
  const tokens = Math.min(s.maxTokens, Math.max(1, Math.ceil(text.length / 4) + s.calls.reduce((n, c) => n + callTokens(c), 0)));
  return `${candidate(parts.join(','), s.finish)},"usageMetadata":${usage(s, tokens, s.thoughtTokens)},${tail(s)}`;
}

export interface ChunkStream {
  /** Each GenerateContentResponse chunk's JSON, unframed. */
  chunks: string[];
  /** The text chunks are chunks[contentFrom..contentFrom + text chunks). */
  contentFrom: number;
}

/**
 * Every chunk of a stream in order (§2.1, §2.4): the thought part, one chunk per text word (`words` escaped,
 * `textChunks` of them), then each functionCall whole in its own chunk. usageMetadata rides on every chunk and
 * grows with it; the finishReason rides on the last, or on a trailing chunk of its own.
 */
export function streamChunks(s: Scenario, words: readonly string[], textChunks: number): ChunkStream {
  const h = tail(s);
  if (s.blocked) return { chunks: [blockedBody(s)], contentFrom: 1 };
  const body: { parts: string; tokens: number }[] = [];
  let tokens = 0;
  // The model thought before the first chunk, whether or not the summary is shown.
  const thoughts = s.thoughtTokens;
  if (s.thought !== null) body.push({ parts: JSON.stringify({ text: s.thought, thought: true }), tokens });
  const contentFrom = body.length;
  for (let w = 0; w < textChunks; w++) body.push({ parts: `{"text":"${words[w % words.length]!}"}`, tokens: ++tokens });
  for (const c of s.calls) body.push({ parts: callPart(c), tokens: (tokens += callTokens(c)) });
  const separate = s.trailing || s.finish === 'RECITATION' || body.length === contentFrom;
  const chunks = body.map((b, i) =>
    `${candidate(b.parts, !separate && i === body.length - 1 ? s.finish : null)},"usageMetadata":${usage(s, b.tokens, thoughts)},${h}`,
  );
  if (s.finish === 'RECITATION') chunks.push(`${recitation},"usageMetadata":${usage(s, tokens, thoughts)},${h}`);
  else if (separate) chunks.push(`${candidate('', s.finish)},"usageMetadata":${usage(s, tokens, thoughts)},${h}`);
  return { chunks, contentFrom };
}

/** `alt=sse`: one `data:` event per chunk, no [DONE]; Google ends events with CRLF CRLF (Portkey splits Gemini
 *  streams on '\r\n\r\n'), which a parser that only knows '\n\n' never splits. */
export const sseFrame = (chunk: string): string => `data: ${chunk}\r\n\r\n`;

/** Without alt=sse the body is one JSON array delivered element by element (providers.md §2.1). */
export function arrayFrames(chunks: readonly string[], complete: boolean): string[] {
  const out = chunks.map((c, i) => (i === 0 ? '[' : ',\r\n') + c);
  if (complete && out.length > 0) out[out.length - 1] += ']';
  return out;
}

/** A chunk cut in the middle of its JSON: a corrupted provider stream. */
export const brokenChunk = (chunk: string): string => chunk.slice(0, chunk.length >> 1);

/** google.rpc.Status names per HTTP status (Gemini API troubleshooting table; providers.md §2.1). */
const STATUSES: Record<number, readonly [status: string, message: string]> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  401: ['UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.'],
  403: ['PERMISSION_DENIED', 'The caller does not have permission'],
  404: ['NOT_FOUND', 'Requested entity was not found.'],
  409: ['ABORTED', 'The operation was aborted.'],
  429: [
    'RESOURCE_EXHAUSTED',
    'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
  ],
  499: ['CANCELLED', 'The operation was cancelled.'],
  500: ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'],
};

const statusOf = (code: number): readonly [string, string] =>
  STATUSES[code] ?? (code >= 500 ? ['UNKNOWN', `Injected error ${code} (mock).`] : ['FAILED_PRECONDITION', `Injected error ${code} (mock).`]);

/** `{"error": {code, message, status, details?}}` (§2.1). */
export function errorBody(code: number, message: string, details?: readonly Json[]): string {
  const error: Json = { code, message, status: statusOf(code)[0] };
  if (details !== undefined) error.details = details;
  return JSON.stringify({ error });
}

/** An injected fault: 429 says how long to wait in RetryInfo (quota details as the API sends them). */
export function faultBody(code: number, retryAfterSec: number): string {
  const message = statusOf(code)[1];
  if (code !== 429) return errorBody(code, message);
  return errorBody(code, message, [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [
        { quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' },
      ],
    },
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSec}s` },
  ]);
}

/** A key the API does not know: 400, not 401 (issue threads quote this body: continue #10290, ccs #109). */
export const INVALID_KEY = errorBody(400, 'API key not valid. Please pass a valid API key.', [
  {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason: 'API_KEY_INVALID',
    domain: 'googleapis.com',
    metadata: { service: 'generativelanguage.googleapis.com' },
  },
  { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
]);

/** No key at all: 403 (js-genai #898, Google_GenerativeAI #15). */
export const MISSING_KEY = errorBody(
  403,
  "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
);

/** streamErrorType as an HTTP code: a Google status name, or the Anthropic type the knob defaults to. */
const STREAM_ERROR_CODES: Record<string, number> = {
  overloaded_error: 503, api_error: 500, rate_limit_error: 429, timeout_error: 504, invalid_request_error: 400,
  ...Object.fromEntries(Object.entries(STATUSES).map(([code, [status]]) => [status, Number(code)])),
};

/** The in-stream error chunk: the HTTP status was 200, so the SDK raises it from the body (§2.1). */
export function streamErrorChunk(type: string): string {
  const code = STREAM_ERROR_CODES[type] ?? 503;
  return errorBody(code, statusOf(code)[1]);
}

/** The embedding values are the OpenAI route's vectors: the same text embeds the same way on both. */
export const embedBody = (values: string): string => `{"embedding":{"values":[${values}]}}`;
export const batchEmbedBody = (values: string[]): string => `{"embeddings":[${values.map((v) => `{"values":[${v}]}`).join(',')}]}`;
