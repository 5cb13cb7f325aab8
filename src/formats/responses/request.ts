// OpenAI Responses API requests (POST /v1/responses) → the canonical request, for whichever provider the
// route picks (the codecs then write chat.completions, Messages, Gemini or Converse). Pure functions.
// The field fates are in fields.ts; the input items in input.ts. Mapping and refusals follow
// test/fixtures/conformance/responses/README.md ("Conventions the cases encode"), which rests on
// openai-node 6.49 `ResponseCreateParamsBase` and providers.md §1.7.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CanonicalRequest, EndpointName, TextBlock, Thinking, Tool, ToolChoice } from '../canonical.ts';
import type { ClientRequest } from '../format.ts';
import { EFFORT_BUDGET } from '../openai/request.ts';
import { RESPONSES_FIELDS } from './fields.ts';
import { conversation } from './input.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

const set = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * `reasoning.effort` → a thinking budget: the chat dialect's table (openai/request.ts EFFORT_BUDGET,
 * LiteLLM's budgets: providers.md §1.7). An effort it does not know is dropped, as there.
 */
const EFFORT_THINKING: ReadonlyMap<string, Thinking> = new Map(Object.entries(EFFORT_BUDGET).map(([effort, budget]) => [effort, Object.freeze({ type: 'enabled', budget_tokens: budget })]));

/** What routing needs (model, input, stream), by the Responses API's rules; a 400 otherwise. */
export function checkResponses(b: Obj, endpoint: EndpointName): ClientRequest {
  if (endpoint !== 'responses') throw new GatewayError('invalid_request', 'The Responses dialect serves /v1/responses only.');
  // The parse stage checks the model the same way (pipeline/parse.ts); repeated so the dialect stands alone.
  const model = b.model;
  if (!set(model)) throw new GatewayError('missing_required_parameter', "you must provide a model parameter ('model').", { param: 'model' });
  if (typeof model !== 'string' || model === '') throw bad("'model' must be a non-empty string.", 'model');
  const input = b.input;
  if (!set(input)) throw new GatewayError('missing_required_parameter', "Missing required parameter: 'input'.", { param: 'input' });
  if (typeof input !== 'string' && !Array.isArray(input)) throw bad("'input' must be a string or an array of input items.", 'input');
  const stream = b.stream;
  if (set(stream) && typeof stream !== 'boolean') throw bad("'stream' must be a boolean.", 'stream');
  // Read by the gateway itself (pipeline/continuation.ts) before any provider: its type is checked here.
  if (set(b.previous_response_id) && typeof b.previous_response_id !== 'string') throw bad("'previous_response_id' must be a string (a response id).", 'previous_response_id');
  return { model, stream: stream === true };
}

function tools(value: unknown): Tool[] | null {
  if (!set(value)) return null;
  if (!Array.isArray(value)) throw bad("'tools' must be an array.", 'tools');
  const out: Tool[] = [];
  for (let i = 0; i < value.length; i++) {
    const t = value[i];
    if (!isObj(t)) throw bad(`'tools[${i}]' must be a tool.`, 'tools');
    // Built-in tools run inside OpenAI's service; refused rather than silently dropped (README decision 2).
    if (t.type !== 'function') throw bad(`'tools[${i}]': the built-in tool ${JSON.stringify(t.type)} runs only at OpenAI; this provider takes function tools.`, 'tools');
    if (typeof t.name !== 'string') throw bad(`'tools[${i}].name' must be a string.`, 'tools');
    const tool: Tool = { name: t.name, input_schema: isObj(t.parameters) ? t.parameters : { type: 'object', properties: {} } };
    if (typeof t.description === 'string') tool.description = t.description;
    if (typeof t.strict === 'boolean') tool.strict = t.strict;
    out.push(tool);
  }
  return out;
}

function toolChoice(value: unknown): ToolChoice | null {
  if (!set(value)) return null;
  if (value === 'auto' || value === 'none') return { type: value };
  if (value === 'required') return { type: 'any' };
  if (isObj(value) && value.type === 'function' && typeof value.name === 'string') return { type: 'tool', name: value.name };
  throw bad("'tool_choice' must be \"auto\", \"none\", \"required\" or {type: \"function\", name}: other choices name tools only OpenAI runs.", 'tool_choice');
}

const num = (v: unknown, param: string): number | null => {
  if (!set(v)) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`'${param}' must be a number.`, param);
  return v;
};

/** The fields a Responses answer echoes, and how deep they may nest (a JSON schema rarely passes 20). */
const ECHOED = ['metadata', 'tools', 'tool_choice', 'text'] as const;
const MAX_ECHO_DEPTH = 64;

/** Whether `v` nests arrays or objects more than `max` levels deep; it stops there, so any input is safe to walk. */
function deeperThan(v: unknown, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (max === 0) return true;
  for (const k in v) if (deeperThan((v as Record<string, unknown>)[k], max - 1)) return true;
  return false;
}

export function responsesToCanonical(b: Obj): CanonicalRequest {
  // Refused: stored state the gateway does not keep (README decision 2).
  if (set(b.previous_response_id)) throw bad("'previous_response_id' needs a response stored by the server; this gateway stores none: send the conversation as input items.", 'previous_response_id');
  if (set(b.conversation)) throw bad("'conversation' needs items stored by the server; this gateway stores none: send them as input items.", 'conversation');
  if (b.background === true) throw bad("'background' responses are stored for later retrieval; this gateway stores none.", 'background');
  if (set(b.prompt)) throw bad("'prompt' names a template stored by OpenAI, which this provider cannot read.", 'prompt');

  // Fields the answer echoes back (envelope.ts) are written with JSON.stringify, which recurses: one
  // nested thousands deep failed after the provider had answered, as the provider's fault (502, and a
  // failure on its circuit). Refused here, before anything is sent.
  for (const k of ECHOED) if (deeperThan(k === 'text' && isObj(b.text) ? b.text.format : b[k], MAX_ECHO_DEPTH)) throw bad(`'${k === 'text' ? 'text.format' : k}' is nested more than ${MAX_ECHO_DEPTH} levels deep.`, k === 'text' ? 'text.format' : k);

  const dropped: string[] = [];
  for (const k in b) {
    const fate = RESPONSES_FIELDS[k];
    if (fate === undefined || (fate === 'dropped' && b[k] !== null)) dropped.push(k);
  }

  let jsonSchema: CanonicalRequest['jsonSchema'] = null;
  let jsonObject = false;
  const text = b.text;
  if (set(text)) {
    if (!isObj(text)) throw bad("'text' must be an object.", 'text');
    const f = text.format;
    if (isObj(f) && f.type === 'json_schema') {
      if (!isObj(f.schema)) throw bad("'text.format.schema' must be a JSON schema object.", 'text.format');
      jsonSchema = { name: typeof f.name === 'string' ? f.name : null, schema: f.schema, strict: typeof f.strict === 'boolean' ? f.strict : null };
      if (typeof f.description === 'string') jsonSchema.description = f.description;
    } else if (isObj(f) && f.type === 'json_object') jsonObject = true;
    else if (set(f) && !(isObj(f) && f.type === 'text')) throw bad("'text.format.type' must be text, json_schema or json_object.", 'text.format');
    if (set(text.verbosity)) dropped.push('text.verbosity');
  }

  let thinking: Thinking | null = null;
  let effort: string | undefined;
  const r = b.reasoning;
  if (isObj(r)) {
    if (typeof r.effort === 'string') {
      effort = r.effort;
      const t = EFFORT_THINKING.get(r.effort);
      if (t !== undefined) thinking = t;
      else if (r.effort !== 'none') dropped.push('reasoning.effort');
    }
    if (set(r.summary)) dropped.push('reasoning.summary');
    if (set(r.generate_summary)) dropped.push('reasoning.generate_summary');
  } else if (set(r)) throw bad("'reasoning' must be an object.", 'reasoning');

  const instructions = b.instructions;
  const system: TextBlock[] = [];
  if (typeof instructions === 'string') {
    if (instructions !== '') system.push({ type: 'text', text: instructions });
  } else if (set(instructions)) throw bad("'instructions' must be a string.", 'instructions');
  const conv = conversation(b.input, system);

  const parallel = b.parallel_tool_calls;
  return {
    model: b.model as string,
    system: conv.system.length === 0 ? null : conv.system,
    messages: conv.messages,
    maxTokens: num(b.max_output_tokens, 'max_output_tokens'),
    temperature: num(b.temperature, 'temperature'),
    topP: num(b.top_p, 'top_p'),
    topK: null,
    stop: null,
    stream: b.stream === true,
    // response.completed always carries usage: the provider must always be asked for it.
    includeUsage: true,
    tools: tools(b.tools),
    toolChoice: toolChoice(b.tool_choice),
    parallelToolCalls: typeof parallel === 'boolean' ? parallel : null,
    jsonSchema,
    jsonObject,
    thinking,
    user: typeof b.user === 'string' ? b.user : null,
    dropped,
    ...(effort === undefined ? {} : { reasoningEffort: effort }),
  };
}
