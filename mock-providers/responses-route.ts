// POST /v1/responses (OpenAI API reference, "Create a model response"): after the shared gate (gate.ts: latency,
// key), `model` is required (400 missing_required_parameter) and counted in byModel; the request is checked
// (responses-input.ts); `previous_response_id` must name a response this mock created with store not false, among
// the last 1000 (else 400 previous_response_not_found), and every function_call_output must answer a call of the
// input or of that previous response (else 400, as the API does). Then one fault roll, then the answer
// (responses-api.ts): a Response object, or with `stream: true` its SSE events.
// Stream knobs act on the output_text.delta events: streamChunks (deltas), chunkDelayMs (between them),
// stallAfterChunks, disconnectAfterChunks, malformedRate (the first delta cut mid-JSON), and
// streamErrorAfterChunks / streamErrorType (x-mock-stream-error-after / x-mock-stream-error): after N deltas the
// stream ends with `response.failed` for a ResponseError code (server_error, rate_limit_exceeded, …) or an
// `error` event with that code for any other type (default overloaded_error).

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { answerBytes, streamStop } from './flow.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import { responseBody, scenario, streamError, streamEvents } from './responses-api.ts';
import type { Scenario } from './responses-api.ts';
import { readRequest } from './responses-input.ts';
import type { Json } from './responses-input.ts';
import type { Texts } from './responses.ts';
import { bump } from './stats.ts';

/** The responses this mock created (newest last), each with the call_ids of its function calls. */
export class ResponseLog {
  private readonly calls = new Map<string, readonly string[]>();

  constructor(private readonly max = 1000) {}

  remember(id: string, callIds: readonly string[]): void {
    this.calls.set(id, callIds);
    if (this.calls.size > this.max) this.calls.delete(this.calls.keys().next().value!);
  }

  get(id: string): readonly string[] | undefined {
    return this.calls.get(id);
  }
}

/** Texts holds JSON-escaped pieces (the chat route splices them); this route builds objects. */
const unescape = (escaped: string): string => JSON.parse(`"${escaped}"`) as string;
const plainWords = new WeakMap<Texts, string[]>();
function words(texts: Texts): string[] {
  let w = plainWords.get(texts);
  if (w === undefined) plainWords.set(texts, (w = texts.words.map(unescape)));
  return w;
}

export function respondResponses(host: SurfaceHost, log: ResponseLog, ex: Exchange, b: Behavior, body: Json): void {
  if (typeof body.model !== 'string' || body.model === '') return ex.json(400, invalidRequest("Missing required parameter: 'model'.", 'missing_required_parameter', 'model'));
  bump(host.counters.byModel, body.model);
  const input = readRequest(body);
  if ('invalid' in input) return ex.json(400, invalidRequest(input.invalid, input.code, input.param));
  const prev = body.previous_response_id;
  let prevCalls: readonly string[] = [];
  if (prev !== undefined && prev !== null) {
    const known = typeof prev === 'string' ? log.get(prev) : undefined;
    if (known === undefined) {
      return ex.json(400, invalidRequest(`Previous response with id '${String(prev)}' not found.`, 'previous_response_not_found', 'previous_response_id'));
    }
    prevCalls = known;
  }
  for (const callId of input.outputs) {
    if (!input.calls.has(callId) && !prevCalls.includes(callId)) {
      return ex.json(400, invalidRequest(`No tool call found for function call output with call_id ${callId}.`, null, 'input'));
    }
  }

  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const plan = host.plan;
  const s = scenario(body, input, host.nextSeq(), plan.texts.name);
  if (body.store !== false) log.remember(s.id, s.calls.map((c) => c.callId));
  if (body.stream === true) return stream(host, ex, b, malformed, s);
  const out = responseBody(s, unescape(plan.texts.content(answerBytes(b, body.max_output_tokens))));
  ex.json(200, malformed ? halve(out) : out);
}

function stream(host: SurfaceHost, ex: Exchange, b: Behavior, malformed: boolean, s: Scenario): void {
  const { events, contentFrom, contentTo } = streamEvents(s, words(host.plan.texts), b.streamChunks);
  if (malformed) {
    const broken = [...events.slice(0, contentFrom), halve(events[contentFrom]!) + '\n\n'];
    return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs);
  }
  const chunks = contentTo - contentFrom;
  const stop = streamStop(b, contentFrom, events.length, chunks);
  const errorAt = b.streamErrorAfterChunks >= 0 ? contentFrom + Math.min(b.streamErrorAfterChunks, chunks) : -1;
  if (errorAt >= 0 && errorAt <= stop.limit) {
    // Ends like a finished response (the status was 200), but is not counted as a completed stream.
    const errored = [...events.slice(0, errorAt), streamError(s, b.streamErrorType, errorAt)];
    return ex.stream(errored, errored.length, 'truncate', b.chunkDelayMs, contentFrom, errored.length);
  }
  ex.stream(events, stop.limit, stop.end, b.chunkDelayMs, contentFrom, contentTo);
}
