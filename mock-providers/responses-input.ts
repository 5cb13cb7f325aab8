// What POST /v1/responses accepts (OpenAI API reference, "Create a model response"; openai-node
// src/resources/responses/responses.ts, ResponseCreateParams / ResponseInputItem), checked the way the API
// answers a bad request: 400 invalid_request_error naming the offending `param`.
//   - input: a string, or an array of items: messages ({role, content} with or without type "message"; content a
//     string or parts input_text / input_image / input_file / input_audio / output_text / refusal), function_call
//     {call_id, name, arguments}, function_call_output {call_id, output}; other item types (reasoning,
//     item_reference, tool calls of built-in tools…) pass unchecked
//   - tools: objects with a type; a "function" tool needs a name
//   - tool_choice: "none" | "auto" | "required" | {type, …}; {type:"function", name} must name a function tool
//   - text.format: {type:"text"} | {type:"json_object"} | {type:"json_schema", name, schema}
//   - reasoning.effort: one of ReasoningEffort
// The route (responses-route.ts) checks previous_response_id and function_call_output call_ids against it.

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Invalid {
  invalid: string;
  param: string | null;
  code: string | null;
}

/** What the answer is built from. */
export interface InputSummary {
  /** The last user message's text; '' when a function_call_output came after it (the tool round is answered). */
  lastUserText: string;
  /** Characters of text (instructions, messages, call arguments and outputs): ~4 make a token. */
  chars: number;
  images: number;
  /** call_ids of the input's function_call items. */
  calls: Set<string>;
  /** call_ids the input's function_call_output items answer. */
  outputs: string[];
  /** The function tools, in order. */
  functions: Json[];
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);
const PART_TYPES = new Set(['input_text', 'input_image', 'input_file', 'input_audio', 'output_text', 'refusal']);
const CHOICES = new Set(['none', 'auto', 'required']);
const FORMATS = new Set(['text', 'json_object', 'json_schema']);
const EFFORTS = new Set(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

const bad = (invalid: string, param: string | null, code: string | null = 'invalid_value'): Invalid => ({ invalid, param, code });
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);
const missing = (param: string): Invalid => bad(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

/** The text of a message's content (string or text parts); counts images. Returns an Invalid for a bad part. */
function contentText(content: unknown, at: string, sum: InputSummary): string | Invalid {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return bad(`Invalid type for '${at}': expected a string or an array of content parts, but got ${typeName(content)} instead.`, at, 'invalid_type');
  const texts: string[] = [];
  for (let j = 0; j < content.length; j++) {
    const part: unknown = content[j];
    const p = `${at}[${j}]`;
    if (!isObject(part)) return bad(`Invalid type for '${p}': expected an object, but got ${typeName(part)} instead.`, p, 'invalid_type');
    if (typeof part.type !== 'string' || !PART_TYPES.has(part.type)) {
      return bad(`Invalid value: '${String(part.type)}'. Supported values are: ${[...PART_TYPES].map((t) => `'${t}'`).join(', ')}.`, `${p}.type`);
    }
    if (part.type === 'input_image') sum.images++;
    else if (part.type === 'input_text' || part.type === 'output_text') {
      if (typeof part.text !== 'string') return missing(`${p}.text`);
      texts.push(part.text);
    }
  }
  return texts.join(' ');
}

function readItems(input: unknown[], sum: InputSummary): Invalid | null {
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    const at = `input[${i}]`;
    if (!isObject(item)) return bad(`Invalid type for '${at}': expected an input item object, but got ${typeName(item)} instead.`, at, 'invalid_type');
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    if (type === undefined) return missing(`${at}.type`);
    if (type === 'message') {
      if (typeof item.role !== 'string' || !ROLES.has(item.role)) {
        return bad(`Invalid value: '${String(item.role)}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.`, `${at}.role`);
      }
      const text = contentText(item.content, `${at}.content`, sum);
      if (typeof text !== 'string') return text;
      sum.chars += text.length;
      if (item.role === 'user') sum.lastUserText = text;
    } else if (type === 'function_call') {
      for (const key of ['call_id', 'name', 'arguments']) if (typeof item[key] !== 'string') return missing(`${at}.${key}`);
      sum.calls.add(item.call_id as string);
      sum.chars += (item.arguments as string).length;
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') return missing(`${at}.call_id`);
      if (typeof item.output !== 'string' && !Array.isArray(item.output)) return missing(`${at}.output`);
      sum.outputs.push(item.call_id);
      sum.chars += typeof item.output === 'string' ? item.output.length : 0;
      sum.lastUserText = '';
    }
  }
  return null;
}

function readTools(body: Json, sum: InputSummary): Invalid | null {
  const tools = body.tools;
  if (tools === undefined || tools === null) return null;
  if (!Array.isArray(tools)) return bad(`Invalid type for 'tools': expected an array of tools, but got ${typeName(tools)} instead.`, 'tools', 'invalid_type');
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isObject(tool) || typeof tool.type !== 'string') return missing(`tools[${i}].type`);
    if (tool.type !== 'function') continue;
    if (typeof tool.name !== 'string' || tool.name === '') return missing(`tools[${i}].name`);
    sum.functions.push(tool);
  }
  const choice = body.tool_choice;
  if (choice === undefined || choice === null || (typeof choice === 'string' && CHOICES.has(choice))) return null;
  if (!isObject(choice) || typeof choice.type !== 'string') {
    return bad(`Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a tool choice object.`, 'tool_choice');
  }
  if (choice.type === 'function' && !sum.functions.some((t) => t.name === choice.name)) {
    return bad(`Tool choice 'function' not found in 'tools' parameter.`, 'tool_choice');
  }
  return null;
}

function readFormat(body: Json): Invalid | null {
  const text = body.text;
  if (text === undefined || text === null) return null;
  if (!isObject(text)) return bad(`Invalid type for 'text': expected an object, but got ${typeName(text)} instead.`, 'text', 'invalid_type');
  const format = text.format;
  if (format === undefined || format === null) return null;
  if (!isObject(format) || typeof format.type !== 'string' || !FORMATS.has(format.type)) {
    return bad(`Invalid value for 'text.format.type': supported values are 'text', 'json_object' and 'json_schema'.`, 'text.format.type');
  }
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string' || format.name === '') return missing('text.format.name');
    if (!isObject(format.schema)) return missing('text.format.schema');
  }
  return null;
}

/** The request's input and options, or why the API would refuse them. `model` is checked by the route. */
export function readRequest(body: Json): InputSummary | Invalid {
  const sum: InputSummary = { lastUserText: '', chars: 0, images: 0, calls: new Set(), outputs: [], functions: [] };
  const { input, instructions } = body;
  if (typeof input === 'string') {
    sum.lastUserText = input;
    sum.chars += input.length;
  } else if (Array.isArray(input)) {
    const invalid = readItems(input, sum);
    if (invalid !== null) return invalid;
  } else if (input !== undefined && input !== null) {
    return bad(`Invalid type for 'input': expected one of a string or array of input items, but got ${typeName(input)} instead.`, 'input', 'invalid_type');
  }
  if (typeof instructions === 'string') sum.chars += instructions.length;
  else if (instructions !== undefined && instructions !== null) return bad(`Invalid type for 'instructions': expected a string, but got ${typeName(instructions)} instead.`, 'instructions', 'invalid_type');
  const invalid = readTools(body, sum) ?? readFormat(body);
  if (invalid !== null) return invalid;
  const reasoning = body.reasoning;
  if (reasoning !== undefined && reasoning !== null) {
    if (!isObject(reasoning)) return bad(`Invalid type for 'reasoning': expected an object, but got ${typeName(reasoning)} instead.`, 'reasoning', 'invalid_type');
    const effort = reasoning.effort;
    if (effort !== undefined && effort !== null && (typeof effort !== 'string' || !EFFORTS.has(effort))) {
      return bad(`Invalid value: '${String(effort)}'. Supported values are: ${[...EFFORTS].map((e) => `'${e}'`).join(', ')}.`, 'reasoning.effort');
    }
  }
  return sum;
}
