// OpenAI Responses API wire format (API reference "Responses" and "Streaming events"; openai-node
// src/resources/responses/responses.ts: Response, ResponseOutputItem, ResponseStreamEvent): what the answer
// contains, chosen deterministically from the request (responses-input.ts read it), as a JSON body or SSE events.
//
// Output items, in order:
//   - reasoning.effort set (not "none")        → a reasoning item {id:"rs_…", summary:[{type:"summary_text"}]};
//                                                 usage.output_tokens_details.reasoning_tokens by effort
//   - always                                    → a message item with one output_text part: "[name] …" filler sized
//                                                 like the chat route's (responseBytes, else ~4 B per max_output_tokens),
//                                                 or one word per stream delta; with text.format json_schema, JSON
//                                                 sampled from the schema's properties (sample-args.ts) so
//                                                 `responses.parse` validates it; with json_object, a small object
//   - function tools, and the last user text contains the word "tool", or tool_choice "required" / {type:"function",
//     name}                                     → one function_call item per function tool (at most 2; 1 with
//                                                 parallel_tool_calls false; only the named one; none with "none"),
//                                                 arguments sampled from the tool's parameters
// A stream is `event: <type>` + `data: <json>` per event, every event with a sequence_number: response.created,
// response.in_progress, per item output_item.added … output_item.done (reasoning summary part/text events; for the
// message content_part.added, output_text.delta ×N, output_text.done, content_part.done; for a call
// function_call_arguments.delta ×2, .done), then response.completed with the whole response and its usage.
// No `data: [DONE]` follows: the Responses stream ends with its last event.

import { sampleArgs } from './sample-args.ts';
import { isObject } from './responses-input.ts';
import type { InputSummary, Json } from './responses-input.ts';

export interface Call {
  id: string;
  callId: string;
  name: string;
  arguments: string;
}

export interface Scenario {
  id: string;
  created: number;
  model: string;
  reasoning: { id: string; summary: string; tokens: number } | null;
  messageId: string;
  calls: Call[];
  /** The exact output_text for a JSON text.format; null: filler text (sized by the route, or stream words). */
  json: string | null;
  inputTokens: number;
  /** The request options a Response repeats. */
  echo: Json;
}

const EFFORT_TOKENS: Record<string, number> = { minimal: 16, low: 32, medium: 64, high: 128, xhigh: 256, max: 512 };
/** What an input image costs, roughly (a low-detail tile). */
const IMAGE_TOKENS = 85;

function toolCalls(body: Json, input: InputSummary): Json[] {
  const tools = input.functions;
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none') return [];
  if (isObject(choice)) {
    if (choice.type === 'function') return tools.filter((t) => t.name === choice.name).slice(0, 1);
    if (choice.type !== 'allowed_tools' || choice.mode !== 'required') return [];
  } else if (choice !== 'required' && !/\btool\b/i.test(input.lastUserText)) return [];
  return tools.slice(0, body.parallel_tool_calls === false ? 1 : 2);
}

function echo(body: Json): Json {
  const reasoning = isObject(body.reasoning) ? body.reasoning : {};
  const text = isObject(body.text) ? body.text : {};
  return {
    background: body.background ?? false,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: text.format ?? { type: 'text' }, verbosity: text.verbosity ?? 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

/** `body` passed readRequest. `name` is the mock's, quoted in generated text. */
export function scenario(body: Json, input: InputSummary, seq: number, name: string): Scenario {
  const reasoning = isObject(body.reasoning) ? body.reasoning : null;
  const effort = typeof reasoning?.effort === 'string' && reasoning.effort !== 'none' ? reasoning.effort : null;
  const format = isObject(body.text) && isObject(body.text.format) ? body.text.format : null;
  let json: string | null = null;
  if (format?.type === 'json_schema') json = JSON.stringify(sampleArgs(format.schema));
  else if (format?.type === 'json_object') json = JSON.stringify({ mock: name, text: 'The quick brown fox jumps over the lazy dog.' });
  return {
    id: `resp_mock_${seq}`,
    created: Math.floor(Date.now() / 1000),
    model: body.model as string,
    reasoning: effort === null ? null : { id: `rs_mock_${seq}`, summary: `[${name}] Thinking it through with ${effort} effort.`, tokens: EFFORT_TOKENS[effort] ?? 64 },
    messageId: `msg_mock_${seq}`,
    calls: toolCalls(body, input).map((tool, i) => ({
      id: `fc_mock_${seq}_${i}`,
      callId: `call_mock_${seq}_${i}`,
      name: tool.name as string,
      arguments: JSON.stringify(sampleArgs(tool.parameters)),
    })),
    json,
    inputTokens: Math.ceil(input.chars / 4) + input.images * IMAGE_TOKENS,
    echo: echo(body),
  };
}

export function responseObject(s: Scenario, status: 'in_progress' | 'completed' | 'failed', output: Json[], usage: Json | null, error: Json | null = null): Json {
  const { background, ...rest } = s.echo;
  return {
    id: s.id,
    object: 'response',
    created_at: s.created,
    status,
    background,
    completed_at: status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    error,
    incomplete_details: null,
    model: s.model,
    output,
    usage,
    ...rest,
  };
}

function usage(s: Scenario, text: number): Json {
  const reasoning = s.reasoning?.tokens ?? 0;
  const out = text + reasoning + s.calls.reduce((n, c) => n + Math.ceil(c.arguments.length / 4), 0);
  return {
    input_tokens: s.inputTokens,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: out,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: s.inputTokens + out,
  };
}

const outputText = (text: string): Json => ({ type: 'output_text', annotations: [], logprobs: [], text });
const messageItem = (id: string, content: Json[], status: string): Json => ({ id, type: 'message', status, content, role: 'assistant' });
const callItem = (c: Call, args: string, status: string): Json => ({ id: c.id, type: 'function_call', status, arguments: args, call_id: c.callId, name: c.name });
const summaryText = (text: string): Json => ({ type: 'summary_text', text });

/** The finished output items, the message's text being `text`. */
function outputs(s: Scenario, text: string): Json[] {
  const items: Json[] = [];
  if (s.reasoning !== null) items.push({ id: s.reasoning.id, type: 'reasoning', summary: [summaryText(s.reasoning.summary)] });
  items.push(messageItem(s.messageId, [outputText(text)], 'completed'));
  for (const c of s.calls) items.push(callItem(c, c.arguments, 'completed'));
  return items;
}

const textTokens = (text: string): number => Math.ceil(text.length / 4);

/** The non-stream body; `filler` is the message text unless a JSON format fixes it. */
export function responseBody(s: Scenario, filler: string): string {
  const text = s.json ?? filler;
  return JSON.stringify(responseObject(s, 'completed', outputs(s, text), usage(s, textTokens(text))));
}

const sse = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

/** `text` in `n` nearly equal pieces (fewer when it is shorter than n; none when n is 0). */
function split(text: string, n: number): string[] {
  if (n <= 0 || text === '') return [];
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export interface EventStream {
  events: string[];
  /** The output_text.delta events are events[contentFrom..contentTo). */
  contentFrom: number;
  contentTo: number;
}

/** Every event of a stream in order. `words` (unescaped) give one delta each, `chunks` of them (a JSON text
 *  is split into `chunks` pieces instead). Output tokens: one per delta, or a quarter of the JSON's characters. */
export function streamEvents(s: Scenario, words: readonly string[], chunks: number): EventStream {
  const deltas = s.json !== null ? split(s.json, chunks) : Array.from({ length: chunks }, (_, i) => words[i % words.length]!);
  const text = s.json ?? deltas.join('');
  const final = outputs(s, text);
  const events: string[] = [];
  const emit = (type: string, data: Json): void => {
    events.push(sse(type, { type, sequence_number: events.length, ...data }));
  };
  emit('response.created', { response: responseObject(s, 'in_progress', [], null) });
  emit('response.in_progress', { response: responseObject(s, 'in_progress', [], null) });
  let index = 0;
  if (s.reasoning !== null) {
    const item_id = s.reasoning.id;
    const output_index = index++;
    const at = { item_id, output_index, summary_index: 0 };
    emit('response.output_item.added', { output_index, item: { id: item_id, type: 'reasoning', summary: [] } });
    emit('response.reasoning_summary_part.added', { ...at, part: summaryText('') });
    emit('response.reasoning_summary_text.delta', { ...at, delta: s.reasoning.summary });
    emit('response.reasoning_summary_text.done', { ...at, text: s.reasoning.summary });
    emit('response.reasoning_summary_part.done', { ...at, part: summaryText(s.reasoning.summary) });
    emit('response.output_item.done', { output_index, item: final[output_index] });
  }
  const output_index = index++;
  const at = { item_id: s.messageId, output_index, content_index: 0 };
  emit('response.output_item.added', { output_index, item: messageItem(s.messageId, [], 'in_progress') });
  emit('response.content_part.added', { ...at, part: outputText('') });
  const contentFrom = events.length;
  for (const delta of deltas) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
  const contentTo = events.length;
  emit('response.output_text.done', { ...at, text, logprobs: [] });
  emit('response.content_part.done', { ...at, part: outputText(text) });
  emit('response.output_item.done', { output_index, item: final[output_index] });
  for (const c of s.calls) {
    const i = index++;
    emit('response.output_item.added', { output_index: i, item: callItem(c, '', 'in_progress') });
    const mid = Math.ceil(c.arguments.length / 2);
    for (const delta of [c.arguments.slice(0, mid), c.arguments.slice(mid)]) emit('response.function_call_arguments.delta', { item_id: c.id, output_index: i, delta });
    emit('response.function_call_arguments.done', { item_id: c.id, output_index: i, name: c.name, arguments: c.arguments });
    emit('response.output_item.done', { output_index: i, item: final[i] });
  }
  const tokens = s.json !== null ? textTokens(text) : deltas.length;
  emit('response.completed', { response: responseObject(s, 'completed', final, usage(s, tokens)) });
  return { events, contentFrom, contentTo };
}

/** ResponseError codes (openai-node ResponseError['code']) that end a stream with response.failed. */
const FAILED_CODES = new Set(['server_error', 'rate_limit_exceeded', 'invalid_prompt', 'vector_store_timeout']);

/** The event that cuts a stream short as event number `seq`: response.failed carrying error {code, message} for a
 *  ResponseError code, otherwise an `error` event {type, code, message, param, sequence_number}. */
export function streamError(s: Scenario, code: string, seq: number): string {
  const message = `The model failed to generate a response (mock ${code}).`;
  if (FAILED_CODES.has(code)) {
    return sse('response.failed', { type: 'response.failed', sequence_number: seq, response: responseObject(s, 'failed', [], null, { code, message }) });
  }
  return sse('error', { type: 'error', sequence_number: seq, code, message, param: null });
}
