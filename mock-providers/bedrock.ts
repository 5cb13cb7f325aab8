// AWS Bedrock Converse wire format for POST /model/{modelId}/converse and /converse-stream (providers.md §3.1–3.3;
// AWS API reference: Converse, ConverseStream, ConverseStreamOutput): what the answer contains, chosen
// deterministically from the request, its JSON body, the stream's event payloads and the error bodies. Validation
// lives in bedrock-validate.ts, SigV4 in sigv4-verify.ts, the uWS side (auth, faults, binary frames) in
// bedrock-route.ts.
//
// Scenario switches ("last user text" = the text blocks of the last message whose role is "user"; a turn of
// toolResults has none):
//   - inferenceConfig.maxTokens < 5          → one short text block, stopReason "max_tokens" (wins over all below)
//   - "guardrail" in the last user text      → one text block with a guardrail's canned answer, stopReason
//                                              "guardrail_intervened" (no reasoning, no tool calls)
//   - toolConfig.tools and the last user text contains the word "tool", or toolChoice {any:{}} / {tool:{name}}
//                                            → a text block, then one toolUse block per toolSpec (at most 2; only the
//                                              named one for {tool}), stopReason "tool_use". `input` follows the
//                                              inputSchema.json properties: enum → its first value, string "x",
//                                              number/integer 1, boolean true, array [], object {}; a tool without
//                                              properties gets {} (and, streamed, no input delta at all)
//   - additionalModelRequestFields.thinking (not {type:"disabled"}) → a reasoningContent block first:
//                                              {reasoningContent: {reasoningText: {text, signature}}}
//   - inferenceConfig.stopSequences and the last user text contains the word "stop" → stopReason "stop_sequence"
//   - otherwise                              → stopReason "end_turn"
//   - a cachePoint block anywhere (system, messages, tools) → usage.cacheWriteInputTokens 50, or
//                                              cacheReadInputTokens 100 if the last user text contains "cache-read"
// Text is sized like the other routes: ~4 bytes per inferenceConfig.maxTokens, or the responseBytes knob.
// usage.totalTokens = inputTokens + outputTokens + the cache tokens (inputTokens excludes cache reads: §3.7).
//
// Knobs (MockBehavior, x-mock-* headers) as on the other routes. streamChunks, chunkDelayMs, stallAfterChunks and
// disconnectAfterChunks act on the text block's contentBlockDelta events (never more than maxTokens of them).
// streamErrorAfterChunks / x-mock-stream-error-after: N with streamErrorType / x-mock-stream-error: TYPE replace
// the rest of a stream with an exception frame after N text deltas; TYPE is a ConverseStreamOutput exception member
// (throttlingException, modelStreamErrorException, validationException, serviceUnavailableException,
// internalServerException) or an Anthropic type the knob shares (overloaded_error → serviceUnavailableException,
// the default). Injected error statuses become Bedrock's exceptions (ERRORS below); a 429 carries no retry-after:
// Bedrock sends none. malformedRate cuts a JSON body in half, or corrupts the CRC of the first text frame.

import { blocksOf, isObject } from './bedrock-validate.ts';
import type { Json } from './bedrock-validate.ts';
import { sampleArgs } from './sample-args.ts';
import { signThinking } from './anthropic-validate.ts';

type OutBlock =
  | { kind: 'reasoning'; text: string; signature: string }
  | { kind: 'text' }
  | { kind: 'toolUse'; toolUseId: string; name: string; input: Json };

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'guardrail_intervened';

export interface Scenario {
  blocks: OutBlock[];
  stopReason: StopReason;
  /** inferenceConfig.maxTokens, or Infinity. */
  maxTokens: number;
  /** A guardrail replaced the answer: the text is fixed, not sized. */
  guardrail: string | null;
  inputTokens: number;
  cacheRead: number;
  cacheWrite: number;
}

function lastUserText(messages: Json[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role !== 'user') continue;
    return blocksOf(messages[i])
      .filter((b) => typeof b.text === 'string')
      .map((b) => b.text)
      .join(' ');
  }
  return '';
}

/** Approximate input tokens: a quarter of the characters of system text, message text, tool inputs and results. */
export function inputTokens(body: Json, messages: Json[]): number {
  let chars = 0;
  const system = Array.isArray(body.system) ? body.system.filter(isObject) : [];
  for (const b of system) if (typeof b.text === 'string') chars += b.text.length;
  for (const m of messages) {
    for (const b of blocksOf(m)) {
      if (typeof b.text === 'string') chars += b.text.length;
      else if (b.toolUse !== undefined) chars += JSON.stringify(b.toolUse).length;
      else if (b.toolResult !== undefined) chars += JSON.stringify(b.toolResult).length;
    }
  }
  return Math.max(1, Math.ceil(chars / 4));
}

function hasCachePoint(v: unknown, depth = 0): boolean {
  if (depth > 8 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasCachePoint(x, depth + 1));
  for (const k in v) if (k === 'cachePoint' || hasCachePoint((v as Json)[k], depth + 1)) return true;
  return false;
}

/** The toolSpecs the answer calls, following toolChoice (§3.1: auto | any | tool). */
function toolCalls(body: Json, text: string): Json[] {
  const config = isObject(body.toolConfig) ? body.toolConfig : {};
  const specs = (Array.isArray(config.tools) ? config.tools : []).flatMap((t) => (isObject(t) && isObject(t.toolSpec) ? [t.toolSpec] : []));
  const choice = isObject(config.toolChoice) ? config.toolChoice : {};
  if (specs.length === 0) return [];
  if (isObject(choice.tool)) return specs.filter((s) => s.name === (choice.tool as Json).name).slice(0, 1);
  if (choice.any === undefined && !/\btool\b/i.test(text)) return [];
  return specs.slice(0, 2);
}

/** Claude's `thinking` (and the same field for other models) passed through additionalModelRequestFields. */
export function thinkingOn(body: Json): boolean {
  const extra = isObject(body.additionalModelRequestFields) ? body.additionalModelRequestFields : {};
  return isObject(extra.thinking) && extra.thinking.type !== 'disabled';
}

/** `body` passed validateConverse; `seq` numbers the tool ids; `name` is the mock's, quoted in generated text. */
export function scenario(body: Json, seq: number, name: string): Scenario {
  const messages = body.messages as Json[];
  const text = lastUserText(messages);
  const config = isObject(body.inferenceConfig) ? body.inferenceConfig : {};
  const max = typeof config.maxTokens === 'number' ? config.maxTokens : Infinity;
  const cached = hasCachePoint(body);
  const read = cached && text.includes('cache-read');
  const s: Scenario = {
    blocks: [{ kind: 'text' }],
    stopReason: 'end_turn',
    maxTokens: max,
    guardrail: null,
    inputTokens: inputTokens(body, messages),
    cacheRead: read ? 100 : 0,
    cacheWrite: cached && !read ? 50 : 0,
  };
  if (max < 5) {
    s.stopReason = 'max_tokens';
    return s;
  }
  if (/guardrail/i.test(text)) {
    s.stopReason = 'guardrail_intervened';
    s.guardrail = `[${name}] Sorry, the model cannot answer this question.`;
    return s;
  }
  if (thinkingOn(body)) {
    const thought = `[${name}] Let me think about this step by step.`;
    s.blocks.unshift({ kind: 'reasoning', text: thought, signature: signThinking(thought) });
  }
  const calls = toolCalls(body, text);
  calls.forEach((spec, i) => s.blocks.push({ kind: 'toolUse', toolUseId: `tooluse_mock_${seq}_${i}`, name: String(spec.name), input: sampleArgs(isObject(spec.inputSchema) ? spec.inputSchema.json : undefined) }));
  const stops = config.stopSequences;
  if (calls.length > 0) s.stopReason = 'tool_use';
  else if (Array.isArray(stops) && stops.length > 0 && /\bstop\b/i.test(text)) s.stopReason = 'stop_sequence';
  return s;
}

function otherTokens(s: Scenario): number {
  let chars = 0;
  for (const b of s.blocks) {
    if (b.kind === 'reasoning') chars += b.text.length;
    else if (b.kind === 'toolUse') chars += b.name.length + JSON.stringify(b.input).length;
  }
  return Math.ceil(chars / 4);
}

/** Output never exceeds maxTokens, like a real model's. */
const outputTokens = (s: Scenario, textTokens: number): number => Math.max(1, Math.min(s.maxTokens, textTokens + otherTokens(s)));

function usage(s: Scenario, output: number): string {
  const cache = s.cacheRead + s.cacheWrite;
  let out = `{"inputTokens":${s.inputTokens},"outputTokens":${output},"totalTokens":${s.inputTokens + output + cache}`;
  if (cache > 0) out += `,"cacheReadInputTokens":${s.cacheRead},"cacheWriteInputTokens":${s.cacheWrite}`;
  return out + '}';
}

const escape = (s: string): string => JSON.stringify(s).slice(1, -1);

/** The ConverseResponse (§3.1); `text` is escaped, its tokens a quarter of its characters. */
export function responseBody(s: Scenario, text: string, latencyMs: number): string {
  const t = s.guardrail === null ? text : escape(s.guardrail);
  const content = s.blocks.map((b) => {
    switch (b.kind) {
      case 'reasoning':
        return JSON.stringify({ reasoningContent: { reasoningText: { text: b.text, signature: b.signature } } });
      case 'text':
        return `{"text":"${t}"}`;
      case 'toolUse':
        return JSON.stringify({ toolUse: { toolUseId: b.toolUseId, name: b.name, input: b.input } });
    }
  });
  return (
    `{"output":{"message":{"role":"assistant","content":[${content.join(',')}]}},"stopReason":"${s.stopReason}",` +
    `"usage":${usage(s, outputTokens(s, Math.ceil(t.length / 4)))},"metrics":{"latencyMs":${latencyMs}}}`
  );
}

/** One ConverseStream event: its :event-type and JSON payload (framed by bedrock-route.ts). */
export interface StreamEvent {
  type: string;
  payload: string;
}

/** Real Bedrock pads each event payload with a `p` field of varying length, so frame sizes do not reveal token
 *  lengths; clients must ignore it. A prefix of the alphabet, as AWS sends it. */
const PAD = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const pad = (i: number): string => PAD.slice(0, 1 + ((i * 7) % PAD.length));

/** Two or more fragments, as Bedrock splits tool input. */
function halves(s: string): string[] {
  const mid = Math.ceil(s.length / 2);
  return [s.slice(0, mid), s.slice(mid)];
}

export interface EventList {
  events: StreamEvent[];
  /** The text block's deltas are events[contentFrom..contentFrom + text chunks). */
  contentFrom: number;
}

/**
 * Every event of a stream in order (§3.2): messageStart; per block its deltas and contentBlockStop (a toolUse block
 * opens with contentBlockStart, text and reasoning blocks do not); messageStop; metadata LAST, after messageStop.
 * `words` are escaped; one text delta per word, `chunks` of them.
 */
export function streamEvents(s: Scenario, words: readonly string[], chunks: number, latencyMs: number): EventList {
  const raw: Array<[type: string, json: string]> = [['messageStart', '{"role":"assistant"']];
  let contentFrom = 0;
  let textTokens = 0;
  s.blocks.forEach((b, i) => {
    const delta = (d: string): void => void raw.push(['contentBlockDelta', `{"contentBlockIndex":${i},"delta":${d}`]);
    switch (b.kind) {
      case 'reasoning':
        for (const part of halves(b.text)) delta(JSON.stringify({ reasoningContent: { text: part } }));
        delta(JSON.stringify({ reasoningContent: { signature: b.signature } }));
        break;
      case 'text':
        contentFrom = raw.length;
        if (s.guardrail !== null) {
          delta(`{"text":${JSON.stringify(s.guardrail)}}`);
          textTokens = Math.ceil(s.guardrail.length / 4);
        } else {
          for (let w = 0; w < chunks; w++) delta(`{"text":"${words[w % words.length]!}"}`);
          textTokens = chunks;
        }
        break;
      case 'toolUse': {
        raw.push(['contentBlockStart', `{"contentBlockIndex":${i},"start":${JSON.stringify({ toolUse: { toolUseId: b.toolUseId, name: b.name } })}`]);
        // A zero-argument call gets no input delta at all (LiteLLM PR #11550): clients must fold that into {}.
        const json = JSON.stringify(b.input);
        if (json !== '{}') for (const part of halves(json)) delta(`{"toolUse":{"input":${JSON.stringify(part)}}}`);
        break;
      }
    }
    raw.push(['contentBlockStop', `{"contentBlockIndex":${i}`]);
  });
  raw.push(['messageStop', `{"stopReason":"${s.stopReason}"`]);
  raw.push(['metadata', `{"usage":${usage(s, outputTokens(s, textTokens))},"metrics":{"latencyMs":${latencyMs}}`]);
  return { events: raw.map(([type, json], i) => ({ type, payload: `${json},"p":"${pad(i)}"}` })), contentFrom };
}

export const ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.bedrock/';

/** The exception and message Bedrock uses per status (AWS API reference, Converse "Errors"; other 4xx are
 *  ValidationException, other 5xx InternalServerException). */
const ERRORS: Record<number, readonly [type: string, message: string]> = {
  400: ['ValidationException', 'Injected error 400 (mock).'],
  403: ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
  404: ['ResourceNotFoundException', 'The specified resource was not found (mock).'],
  408: ['ModelTimeoutException', 'Model has timed out in processing the request. Try your request again.'],
  424: ['ModelErrorException', 'The model returned an error while processing the request (mock).'],
  429: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
  500: ['InternalServerException', 'The system encountered an unexpected error during processing. Try your request again.'],
  503: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
};

export function faultError(status: number): readonly [type: string, message: string] {
  return ERRORS[status] ?? (status >= 500 ? ['InternalServerException', `Injected error ${status} (mock).`] : ['ValidationException', `Injected error ${status} (mock).`]);
}

/** restJson1 errors: `{"message": …}`; the type travels in x-amzn-errortype. */
export const errorBody = (message: string): string => JSON.stringify({ message });

/** In-stream exceptions: ConverseStreamOutput's exception members, by their own name or the shared knob's
 *  Anthropic types. */
const STREAM_EXCEPTIONS: Record<string, string> = {
  throttlingException: 'Too many requests, please wait before trying again.',
  modelStreamErrorException: 'The model stream returned an error (mock).',
  validationException: 'Input validation failed. Check your request parameters and retry the request.',
  serviceUnavailableException: 'Bedrock is unable to process your request.',
  internalServerException: 'The system encountered an unexpected error during processing. Try your request again.',
};
const STREAM_ALIASES: Record<string, string> = {
  overloaded_error: 'serviceUnavailableException',
  rate_limit_error: 'throttlingException',
  api_error: 'internalServerException',
  timeout_error: 'modelStreamErrorException',
  invalid_request_error: 'validationException',
};

export function streamException(type: string): { type: string; payload: string } {
  const name = STREAM_EXCEPTIONS[type] !== undefined ? type : (STREAM_ALIASES[type] ?? 'serviceUnavailableException');
  return { type: name, payload: errorBody(STREAM_EXCEPTIONS[name]!) };
}
