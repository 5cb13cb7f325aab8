// The pieces every Responses `Response` is made of, whether sent whole (response.ts) or inside the
// created / in_progress / completed / incomplete stream events (stream.ts): the envelope that echoes
// the client's request, minted ids, status, usage and the output items, each written as JSON text
// directly. The key sets are exactly those of test/fixtures/conformance/responses/README.md
// ("Response envelope", "Output items", "Status", "Usage"), from openai-node 6.49 `Response`,
// `ResponseOutputItem` and `ResponseUsage`.
import type { StopReason, Usage } from '../canonical.ts';

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request's value as JSON, or the Response's default when it sent none (or null). */
const echoed = (v: unknown, fallback: string): string => (v === undefined || v === null ? fallback : JSON.stringify(v));

/**
 * The request fields a Response repeats, as two runs of JSON members around `model` and `output`
 * (README "Response envelope": request value, or null / true / "auto" / [] / "disabled" / {}).
 * Built once per answer or stream.
 */
export interface Echo {
  /** `"instructions":…,"max_output_tokens":…` */
  readonly head: string;
  /** `"parallel_tool_calls":…` to `"metadata":…` */
  readonly tail: string;
}

export function echoOf(client: Obj | undefined): Echo {
  const c: Obj = client ?? {};
  const r = isObj(c.reasoning) ? c.reasoning : null;
  const t = isObj(c.text) ? c.text : null;
  return {
    head: `"instructions":${echoed(c.instructions, 'null')},"max_output_tokens":${echoed(c.max_output_tokens, 'null')}`,
    tail:
      `"parallel_tool_calls":${echoed(c.parallel_tool_calls, 'true')},"previous_response_id":null,` +
      `"reasoning":{"effort":${echoed(r?.effort, 'null')},"summary":${echoed(r?.summary, 'null')}},` +
      `"temperature":${echoed(c.temperature, 'null')},"text":{"format":${echoed(t?.format, '{"type":"text"}')}},` +
      `"tool_choice":${echoed(c.tool_choice, '"auto"')},"tools":${echoed(c.tools, '[]')},"top_p":${echoed(c.top_p, 'null')},` +
      `"truncation":${echoed(c.truncation, '"disabled"')},"metadata":${echoed(c.metadata, '{}')}`,
  };
}

const NOT_ID = /[^A-Za-z0-9]+/g;

/**
 * The part of every id the gateway mints for one answer: the provider's own id (msg_…, chatcmpl-…)
 * with only letters and digits kept, so a Response can be traced to the provider's answer and its
 * ids need no JSON escaping. `resp_<token>`, and items `msg_<token>_<n>`, `fc_…`, `rs_…` where n is
 * the output index, so no two items of an answer share an id (openai-node's accumulator refuses that).
 */
export function idToken(providerId: string, created: number): string {
  const t = providerId.replace(NOT_ID, '');
  return t === '' ? `gw${created}` : t;
}

/** Why an answer is `incomplete` (README "Status"), or undefined when it is `completed`. */
const INCOMPLETE: Partial<Record<StopReason, string>> = {
  max_tokens: '{"reason":"max_output_tokens"}',
  model_context_window_exceeded: '{"reason":"max_output_tokens"}',
  refusal: '{"reason":"content_filter"}',
};

/** `incomplete_details` as JSON, or null when the answer is complete (end_turn, tool_use, stop_sequence, pause_turn). */
export function incompleteOf(stop: StopReason): string | null {
  return INCOMPLETE[stop] ?? null;
}

/** ResponseUsage: input counts cache reads and writes, as OpenAI's prompt_tokens does (providers.md §1.8). */
export function usageJson(u: Usage): string {
  const input = u.input + u.cacheRead + u.cacheWrite;
  return (
    `{"input_tokens":${input},"input_tokens_details":{"cached_tokens":${u.cacheRead},"cache_write_tokens":${u.cacheWrite}},` +
    `"output_tokens":${u.output},"output_tokens_details":{"reasoning_tokens":${u.reasoning ?? 0}},"total_tokens":${input + u.output}}`
  );
}

/**
 * A whole Response. `incomplete`: incompleteOf(); `output`: the items' JSON joined by commas;
 * `usage`: omitted while unknown (openai-node types it `usage?:`, not nullable).
 */
export function envelope(token: string, created: number, status: string, incomplete: string | null, model: string, echo: Echo, output: string, usage: Usage | null): string {
  return (
    `{"id":"resp_${token}","object":"response","created_at":${created},"status":"${status}","error":null,"incomplete_details":${incomplete ?? 'null'},` +
    `${echo.head},"model":${model},"output":[${output}],${echo.tail}${usage === null ? '' : `,"usage":${usageJson(usage)}`}}`
  );
}

// ─── Output items (README "Output items") ────────────────────────────────────────────────────────

export const outputText = (text: string): string => `{"type":"output_text","text":${text},"annotations":[]}`;

export const messageItem = (id: string, status: string, part: string): string => `{"id":"${id}","type":"message","status":"${status}","role":"assistant","content":[${part}]}`;

export const functionCallItem = (id: string, status: string, callId: string, name: string, args: string): string =>
  `{"id":"${id}","type":"function_call","status":"${status}","call_id":${callId},"name":${name},"arguments":${args}}`;

/** Reasoning items carry no status. `summary`: the summary_text part, or ''; `encrypted`: JSON (null when unsigned). */
export const reasoningItem = (id: string, summary: string, encrypted: string): string => `{"id":"${id}","type":"reasoning","summary":[${summary}],"encrypted_content":${encrypted}}`;

export const summaryText = (text: string): string => `{"type":"summary_text","text":${text}}`;
