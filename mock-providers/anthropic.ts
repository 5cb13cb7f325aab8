// Anthropic Messages wire format for POST /v1/messages (providers.md §1): what the answer contains, chosen
// deterministically from the request, and its JSON body, SSE events and error bodies. Validation lives in
// anthropic-validate.ts; the uWS side (auth, faults, writing) in server.ts.
//
// Scenario switches ("last user text" = the last user message's string content or its text blocks):
//   - max_tokens < 5                         → one short text block, stop_reason "max_tokens" (wins over all below)
//   - `tools` present and the last user text contains the word "tool", or tool_choice {type:"any"} /
//     {type:"tool",name}                    → a text block, then one tool_use block per client tool (at most 2;
//                                              1 with disable_parallel_tool_use; only the named one for "tool";
//                                              none with {type:"none"}), stop_reason "tool_use". `input` follows
//                                              the tool's input_schema properties: enum → its first value,
//                                              string "x", number/integer 1, boolean true, array [], object {};
//                                              a tool without properties gets {}
//   - thinking {type:"enabled"|"adaptive"}    → a thinking block first, signed "sig_mock_…" (the signature is
//                                              checked when sent back, so an edited block gets a 400); and if the
//                                              last user text contains "redacted", a redacted_thinking block next
//   - stop_sequences given and the last user text contains the word "stop"
//                                            → stop_reason "stop_sequence", stop_sequence = the first one
//   - otherwise                              → stop_reason "end_turn"
//   - cache_control anywhere in the request  → cache_creation_input_tokens 50 (a first write), or
//                                              cache_read_input_tokens 100 if the last user text contains
//                                              "cache-read" (then no write); "cache-write" forces the write
// Knobs (MockBehavior, x-mock-* headers) as on the OpenAI routes; streamChunks, chunkDelayMs, stallAfterChunks
// and disconnectAfterChunks act on the text block's text_delta events (a stream never has more text deltas than
// max_tokens). Anthropic-only: streamErrorAfterChunks / x-mock-stream-error-after: N and streamErrorType /
// x-mock-stream-error: TYPE end the stream with `event: error` after N text deltas (TYPE alone: after 0).

import { blocksOf, isObject, signThinking, thinkingOn } from './anthropic-validate.ts';
import type { Json } from './anthropic-validate.ts';
import { sampleArgs } from './sample-args.ts';

/** The answer's blocks. The text block's content is filled in per mode: sized text, or one word per delta. */
type OutBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text' }
  | { type: 'tool_use'; id: string; name: string; input: Json };

export interface Scenario {
  /** `msg_mock_N`; tool ids derive from it. */
  id: string;
  /** Already a JSON string literal. */
  model: string;
  maxTokens: number;
  blocks: OutBlock[];
  stopReason: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
  stopSequence: string | null;
  inputTokens: number;
  cacheCreation: number;
  cacheRead: number;
}

// Opaque, base64-looking, like the real encrypted payload.
const REDACTED = 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPbW9jaw==';

/** The last user message's text: its string content, or its text blocks joined. */
function lastUserText(messages: Json[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    return blocksOf(m.content)
      .filter((b) => b.type === 'text')
      .map((b) => b.text)
      .join(' ');
  }
  return '';
}

function hasCacheControl(v: unknown, depth = 0): boolean {
  if (depth > 8 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasCacheControl(x, depth + 1));
  for (const k in v) if (k === 'cache_control' || hasCacheControl((v as Json)[k], depth + 1)) return true;
  return false;
}

/** Approximate input tokens: a quarter of the characters of system, text, tool results and tool inputs. */
export function inputTokens(body: Json, messages: Json[]): number {
  let chars = 0;
  const add = (content: unknown): void => {
    for (const b of blocksOf(content)) {
      if (typeof b.text === 'string') chars += b.text.length;
      else if (b.type === 'tool_use') chars += JSON.stringify(b.input ?? {}).length;
      else if (b.type === 'tool_result') add(b.content);
    }
  };
  add(body.system);
  for (const m of messages) add(m.content);
  return Math.max(1, Math.ceil(chars / 4));
}

/** The client tools the answer calls, following tool_choice (§1.2). */
function toolCalls(body: Json, text: string): Json[] {
  const tools = (Array.isArray(body.tools) ? body.tools : []).filter(
    (t): t is Json => isObject(t) && (t.type === undefined || t.type === 'custom'),
  );
  const choice = isObject(body.tool_choice) ? body.tool_choice : {};
  if (tools.length === 0 || choice.type === 'none') return [];
  if (choice.type === 'tool') return tools.filter((t) => t.name === choice.name).slice(0, 1);
  if (choice.type !== 'any' && !/\btool\b/i.test(text)) return [];
  return tools.slice(0, choice.disable_parallel_tool_use === true ? 1 : 2);
}

/** `body` passed validateRequest. `name` is the mock's name, quoted in generated text. */
export function scenario(body: Json, seq: number, name: string): Scenario {
  const messages = body.messages as Json[];
  const text = lastUserText(messages);
  const maxTokens = body.max_tokens as number;
  const id = `msg_mock_${seq}`;
  const blocks: OutBlock[] = [];
  let stopReason: Scenario['stopReason'] = 'end_turn';
  let stopSequence: string | null = null;
  if (maxTokens < 5) {
    // Cut off before any thinking or tool call could be finished.
    blocks.push({ type: 'text' });
    stopReason = 'max_tokens';
  } else {
    if (thinkingOn(body)) {
      const thinking = `[${name}] Let me think about this step by step.`;
      blocks.push({ type: 'thinking', thinking, signature: signThinking(thinking) });
      if (text.includes('redacted')) blocks.push({ type: 'redacted_thinking', data: REDACTED });
    }
    blocks.push({ type: 'text' });
    const calls = toolCalls(body, text);
    calls.forEach((tool, i) => blocks.push({ type: 'tool_use', id: `toolu_mock_${seq}_${i}`, name: String(tool.name), input: sampleArgs(tool.input_schema) }));
    const stops = body.stop_sequences as string[] | undefined;
    if (calls.length > 0) stopReason = 'tool_use';
    else if (stops !== undefined && stops.length > 0 && /\bstop\b/i.test(text)) {
      stopReason = 'stop_sequence';
      stopSequence = stops[0]!;
    }
  }
  const cached = hasCacheControl(body);
  const read = cached && text.includes('cache-read') && !text.includes('cache-write');
  return {
    id,
    model: JSON.stringify(body.model),
    maxTokens,
    blocks,
    stopReason,
    stopSequence,
    inputTokens: inputTokens(body, messages),
    cacheCreation: cached && !read ? 50 : 0,
    cacheRead: read ? 100 : 0,
  };
}

/** Output tokens of the non-text blocks: a quarter of their characters. */
function otherTokens(blocks: OutBlock[]): number {
  let chars = 0;
  for (const b of blocks) {
    if (b.type === 'thinking') chars += b.thinking.length;
    else if (b.type === 'tool_use') chars += JSON.stringify(b.input).length + b.name.length;
  }
  return Math.ceil(chars / 4);
}

/** Output never exceeds max_tokens, like a real model's. */
const outputTokens = (s: Scenario, textTokens: number): number => Math.max(1, Math.min(s.maxTokens, textTokens + otherTokens(s.blocks)));

function usage(s: Scenario, output: number): string {
  return `{"input_tokens":${s.inputTokens},"cache_creation_input_tokens":${s.cacheCreation},"cache_read_input_tokens":${s.cacheRead},"output_tokens":${output}}`;
}

/** The non-streaming Message (§1.4); `text` is escaped, its tokens a quarter of its characters. */
export function messageBody(s: Scenario, text: string): string {
  const content = s.blocks.map((b) => (b.type === 'text' ? `{"type":"text","text":"${text}"}` : JSON.stringify(b))).join(',');
  const stopSequence = s.stopSequence === null ? 'null' : JSON.stringify(s.stopSequence);
  return (
    `{"id":"${s.id}","type":"message","role":"assistant","model":${s.model},"content":[${content}],` +
    `"stop_reason":"${s.stopReason}","stop_sequence":${stopSequence},"usage":${usage(s, outputTokens(s, Math.ceil(text.length / 4)))}}`
  );
}

/** Named SSE event: the `event:` name equals the JSON `type` (§1.5). */
const sse = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`;
const blockStart = (i: number, block: string) => sse('content_block_start', `{"type":"content_block_start","index":${i},"content_block":${block}}`);
const blockDelta = (i: number, delta: string) => sse('content_block_delta', `{"type":"content_block_delta","index":${i},"delta":${delta}}`);
const blockStop = (i: number) => sse('content_block_stop', `{"type":"content_block_stop","index":${i}}`);

/** Two or more fragments, as the API splits tool arguments. */
function halves(s: string): string[] {
  const mid = Math.ceil(s.length / 2);
  return [s.slice(0, mid), s.slice(mid)];
}

export interface MessageStream {
  events: string[];
  /** The text block's text_delta events are events[contentFrom..contentFrom + chunks). */
  contentFrom: number;
}

/**
 * Every event of a stream in order (§1.5): message_start, ping, per block start/deltas/stop, message_delta
 * with cumulative usage, message_stop. `words` are escaped; one text_delta per word, `chunks` of them.
 */
export function streamEvents(s: Scenario, words: readonly string[], chunks: number): MessageStream {
  const events = [
    sse(
      'message_start',
      `{"type":"message_start","message":{"id":"${s.id}","type":"message","role":"assistant","model":${s.model},"content":[],` +
        `"stop_reason":null,"stop_sequence":null,"usage":${usage(s, 1)}}}`,
    ),
    sse('ping', '{"type":"ping"}'),
  ];
  let contentFrom = 0;
  s.blocks.forEach((b, i) => {
    switch (b.type) {
      case 'thinking':
        events.push(blockStart(i, '{"type":"thinking","thinking":"","signature":""}'));
        for (const part of halves(b.thinking)) events.push(blockDelta(i, `{"type":"thinking_delta","thinking":${JSON.stringify(part)}}`));
        // "delivered just before the block's content_block_stop" (§1.5).
        events.push(blockDelta(i, `{"type":"signature_delta","signature":"${b.signature}"}`));
        break;
      case 'redacted_thinking':
        // No delta type carries redacted data: the whole block comes in content_block_start.
        events.push(blockStart(i, JSON.stringify(b)));
        break;
      case 'text':
        events.push(blockStart(i, '{"type":"text","text":""}'));
        contentFrom = events.length;
        for (let w = 0; w < chunks; w++) events.push(blockDelta(i, `{"type":"text_delta","text":"${words[w % words.length]!}"}`));
        break;
      case 'tool_use': {
        events.push(blockStart(i, JSON.stringify({ type: 'tool_use', id: b.id, name: b.name, input: {} })));
        // A zero-argument call has no input_json_delta at all (LiteLLM PR #34287): clients must cope.
        const json = JSON.stringify(b.input);
        if (json !== '{}') for (const part of halves(json)) events.push(blockDelta(i, `{"type":"input_json_delta","partial_json":${JSON.stringify(part)}}`));
        break;
      }
    }
    events.push(blockStop(i));
  });
  const stopSequence = s.stopSequence === null ? 'null' : JSON.stringify(s.stopSequence);
  events.push(
    sse(
      'message_delta',
      `{"type":"message_delta","delta":{"stop_reason":"${s.stopReason}","stop_sequence":${stopSequence}},"usage":{"output_tokens":${outputTokens(s, chunks)}}}`,
    ),
    sse('message_stop', '{"type":"message_stop"}'),
  );
  return { events, contentFrom };
}

/** An event cut in the middle of its JSON: a corrupted provider stream. */
export function brokenEvent(event: string): string {
  const at = event.indexOf('data: ') + 6;
  return event.slice(0, at + ((event.length - at) >> 1)) + '\n\n';
}

/** The error.type and message the API uses per status (§1.6); other 4xx are invalid_request_error. */
const ERRORS: Record<number, readonly [type: string, message: string]> = {
  400: ['invalid_request_error', 'Injected error 400 (mock).'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your credit balance is too low to access the Anthropic API (mock).'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  409: ['conflict_error', 'Conflict (mock).'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit (mock).'],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timed out'],
  529: ['overloaded_error', 'Overloaded'],
};

export function faultError(status: number): readonly [type: string, message: string] {
  return ERRORS[status] ?? (status >= 500 ? ['api_error', `Internal server error (mock ${status})`] : ['invalid_request_error', `Injected error ${status} (mock).`]);
}

/** `{"type":"error","error":{type,message},"request_id"}` (§1.6). */
export function errorBody(type: string, message: string, requestId: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
}

const STREAM_MESSAGES = new Map(Object.values(ERRORS).map(([type, message]) => [type, message] as const));

/** The in-stream error event: the status is already 200, so the type is all a client gets (§1.5). */
export function errorEvent(type: string): string {
  return sse('error', JSON.stringify({ type: 'error', error: { type, message: STREAM_MESSAGES.get(type) ?? `Injected ${type} (mock).` } }));
}
