// OpenAI chat.completions requests ↔ the canonical request (formats/canonical.ts).
// https://platform.openai.com/docs/api-reference/chat/create; the mapping rules and the bugs they
// avoid are in shared/reference/providers.md §1.7 and §1.10. Pure functions.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalField, CanonicalRequest, DocumentBlock, ImageBlock, Message, TextBlock, Thinking, Tool, ToolChoice, ToolResultBlock } from '../canonical.ts';
import { parseDataUrl, toDataUrl } from '../media.ts';
import type { ProviderOptions } from '../format.ts';
import { CHAT_FIELDS } from './fields.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

/** `reasoning_effort` → a thinking budget (LiteLLM's and Bifrost's fixed budgets: providers.md §1.7). */
export const EFFORT_BUDGET: Readonly<Record<string, number>> = { low: 1024, medium: 2048, high: 4096 };

// ─── OpenAI → canonical ───────────────────────────────────────────────────────────────────────────

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let out = '';
    for (const p of content) if (isObj(p) && (p.type === 'text' || p.type === 'refusal') && typeof (p.text ?? p.refusal) === 'string') out += (p.text ?? p.refusal) as string;
    return out;
  }
  if (content === null || content === undefined) return '';
  throw bad(`'${param}' must be a string or an array of content parts.`, param);
}

function textBlocks(content: unknown, param: string): TextBlock[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw bad(`'${param}' must be a string or an array of content parts.`, param);
  const out: TextBlock[] = [];
  for (const p of content) {
    if (!isObj(p) || p.type !== 'text' || typeof p.text !== 'string') throw bad(`'${param}' may only hold text parts.`, param);
    if (p.text === '') continue;
    out.push(p.cache_control === undefined ? { type: 'text', text: p.text } : { type: 'text', text: p.text, cache_control: p.cache_control as TextBlock['cache_control'] });
  }
  return out;
}

function userBlocks(content: unknown, param: string): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(`'${param}' must be a string or an array of content parts.`, param);
  const out: Block[] = [];
  content.forEach((p, i) => {
    const at = `${param}[${i}]`;
    if (!isObj(p)) throw bad(`'${at}' must be a content part.`, at);
    const cache = p.cache_control as TextBlock['cache_control'] | undefined;
    const withCache = <B extends Block>(b: B): B => (cache === undefined ? b : ({ ...b, cache_control: cache } as B));
    switch (p.type) {
      case 'text':
        if (typeof p.text !== 'string') throw bad(`'${at}.text' must be a string.`, at);
        // Upstreams refuse empty text blocks (Bifrost #2765).
        if (p.text !== '') out.push(withCache({ type: 'text', text: p.text }));
        return;
      case 'image_url': {
        const url = isObj(p.image_url) ? p.image_url.url : undefined;
        if (typeof url !== 'string') throw bad(`'${at}.image_url.url' must be a string.`, at);
        const data = parseDataUrl(url);
        if (data !== null) out.push(withCache({ type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } }));
        else if (/^https?:\/\//i.test(url)) out.push(withCache({ type: 'image', source: { type: 'url', url } }));
        else throw bad(`'${at}.image_url.url' must be an http(s) URL or a base64 data URL.`, at);
        return;
      }
      case 'file': {
        const file = isObj(p.file) ? p.file : {};
        const data = typeof file.file_data === 'string' ? parseDataUrl(file.file_data) : null;
        if (data === null) throw bad(`'${at}.file' must carry file_data as a base64 data URL (uploaded file ids belong to one provider).`, at);
        out.push(withCache({ type: 'document', source: { type: 'base64', media_type: data.mediaType, data: data.data }, ...(typeof file.filename === 'string' && file.filename !== '' ? { title: file.filename } : {}) }));
        return;
      }
      case 'input_audio':
        throw bad(`'${at}': audio input has no equivalent at this provider.`, at);
      default:
        throw bad(`'${at}.type' ${JSON.stringify(p.type)} is not a content part type.`, at);
    }
  });
  return out;
}

function parseArguments(args: unknown, param: string): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') throw bad(`'${param}' must be a JSON string.`, param);
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw bad(`'${param}' is not valid JSON.`, param);
  }
  if (!isObj(v)) throw bad(`'${param}' must encode a JSON object.`, param);
  return v;
}

function assistantContent(m: Obj, param: string): string | Block[] {
  const blocks: Block[] = [];
  // Reasoning state first, byte-exact and in order: a tool turn must start with it (providers.md §1.11).
  if (Array.isArray(m.thinking_blocks)) {
    for (const t of m.thinking_blocks) {
      if (isObj(t) && t.type === 'thinking' && typeof t.thinking === 'string' && typeof t.signature === 'string') blocks.push({ type: 'thinking', thinking: t.thinking, signature: t.signature });
      else if (isObj(t) && t.type === 'redacted_thinking' && typeof t.data === 'string') blocks.push({ type: 'redacted_thinking', data: t.data });
      else throw bad(`'${param}.thinking_blocks' holds an entry that is neither a thinking nor a redacted_thinking block.`, `${param}.thinking_blocks`);
    }
  }
  const text = textOf(m.content, `${param}.content`);
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
  if (blocks.length === 0 && calls.length === 0) return text;
  if (text !== '') blocks.push({ type: 'text', text });
  calls.forEach((c, j) => {
    const at = `${param}.tool_calls[${j}]`;
    if (!isObj(c) || !isObj(c.function) || typeof c.id !== 'string' || typeof c.function.name !== 'string') throw bad(`'${at}' must have an id and a function name.`, at);
    const use: Block = { type: 'tool_use', id: c.id, name: c.function.name, input: parseArguments(c.function.arguments, `${at}.function.arguments`) };
    // Gemini's thought signature, in the slot Google's own OpenAI-compatible endpoint uses.
    const sig = isObj(c.extra_content) && isObj(c.extra_content.google) ? c.extra_content.google.thought_signature : undefined;
    if (typeof sig === 'string') use.signature = sig;
    blocks.push(use);
  });
  return blocks;
}

function toolResult(m: Obj, param: string): ToolResultBlock {
  if (typeof m.tool_call_id !== 'string') throw bad(`'${param}.tool_call_id' must be a string.`, `${param}.tool_call_id`);
  const content = m.content;
  if (typeof content === 'string') return { type: 'tool_result', tool_use_id: m.tool_call_id, content };
  return { type: 'tool_result', tool_use_id: m.tool_call_id, content: textBlocks(content ?? [], `${param}.content`) };
}

/** Appends blocks to the last user message (tool results, and the user text right after them), or starts one. */
function appendUser(messages: Message[], blocks: Block[]): void {
  const last = messages[messages.length - 1];
  if (last !== undefined && last.role === 'user' && Array.isArray(last.content) && last.content.some((b) => b.type === 'tool_result')) {
    last.content.push(...blocks);
    return;
  }
  messages.push({ role: 'user', content: blocks });
}

function tools(value: unknown): Tool[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw bad("'tools' must be an array.", 'tools');
  return value.map((t, i) => {
    if (!isObj(t) || t.type !== 'function' || !isObj(t.function) || typeof t.function.name !== 'string') throw bad(`'tools[${i}]' must be a function tool with a name.`, `tools[${i}]`);
    const f = t.function;
    const tool: Tool = { name: f.name as string, input_schema: isObj(f.parameters) ? f.parameters : { type: 'object', properties: {} } };
    if (typeof f.description === 'string') tool.description = f.description;
    if (isObj(t.cache_control)) tool.cache_control = t.cache_control as Tool['cache_control'];
    return tool;
  });
}

function toolChoice(value: unknown): ToolChoice | null {
  if (value === undefined || value === null) return null;
  if (value === 'auto' || value === 'none') return { type: value };
  if (value === 'required') return { type: 'any' };
  if (isObj(value) && value.type === 'function' && isObj(value.function) && typeof value.function.name === 'string') return { type: 'tool', name: value.function.name };
  throw bad("'tool_choice' must be \"auto\", \"none\", \"required\" or {type: \"function\", function: {name}}.", 'tool_choice');
}

const num = (v: unknown, param: string): number | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`'${param}' must be a number.`, param);
  return v;
};

export function chatToCanonical(b: Obj): CanonicalRequest {
  // Refused: what the client asked for and no translation can give.
  if (b.n !== undefined && b.n !== null && b.n !== 1) throw bad(typeof b.n === 'number' ? "'n' must be 1 for this provider: it returns one choice per request." : "'n' must be an integer (1 for this provider).", 'n');
  if (b.logprobs === true) throw bad("'logprobs' is not available from this provider.", 'logprobs');
  if (Array.isArray(b.modalities) && b.modalities.includes('audio')) throw bad('Audio output is not available from this provider.', 'modalities');
  if (b.audio !== undefined && b.audio !== null) throw bad('Audio output is not available from this provider.', 'audio');
  const rf = b.response_format;
  let jsonSchema: CanonicalRequest['jsonSchema'] = null;
  if (isObj(rf) && rf.type === 'json_schema') {
    const js = isObj(rf.json_schema) ? rf.json_schema : {};
    if (!isObj(js.schema)) throw bad("'response_format.json_schema.schema' must be a JSON schema object.", 'response_format');
    jsonSchema = { name: typeof js.name === 'string' ? js.name : null, schema: js.schema, strict: typeof js.strict === 'boolean' ? js.strict : null };
  }

  const dropped: string[] = [];
  for (const k of Object.keys(b)) {
    const fate = CHAT_FIELDS[k];
    if (fate === 'dropped' || fate === undefined) dropped.push(k);
  }

  const system: TextBlock[] = [];
  const messages: Message[] = [];
  const list = b.messages as unknown[];
  list.forEach((raw, i) => {
    const at = `messages[${i}]`;
    if (!isObj(raw)) throw bad(`'${at}' must be a message object.`, at);
    switch (raw.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(raw.content, `${at}.content`));
        return;
      case 'user': {
        const content = userBlocks(raw.content, `${at}.content`);
        const last = messages[messages.length - 1];
        if (last !== undefined && last.role === 'user' && Array.isArray(last.content) && last.content.some((x) => x.type === 'tool_result')) {
          appendUser(messages, typeof content === 'string' ? (content === '' ? [] : [{ type: 'text', text: content }]) : content);
        } else messages.push({ role: 'user', content });
        return;
      }
      case 'assistant':
        messages.push({ role: 'assistant', content: assistantContent(raw, at) });
        return;
      case 'tool':
        // All results of a turn go first in the next user message (Anthropic's rule: providers.md §1.3).
        appendUser(messages, [toolResult(raw, at)]);
        return;
      default:
        throw bad(`'${at}.role' must be system, developer, user, assistant or tool.`, `${at}.role`);
    }
  });

  let thinking: Thinking | null = null;
  if (typeof b.reasoning_effort === 'string' && EFFORT_BUDGET[b.reasoning_effort] !== undefined) thinking = { type: 'enabled', budget_tokens: EFFORT_BUDGET[b.reasoning_effort]! };
  else if (b.reasoning_effort !== undefined && b.reasoning_effort !== null) dropped.push('reasoning_effort');

  const stop = b.stop === undefined || b.stop === null ? null : typeof b.stop === 'string' ? [b.stop] : Array.isArray(b.stop) && b.stop.every((s) => typeof s === 'string') ? (b.stop as string[]) : null;
  if (b.stop !== undefined && b.stop !== null && stop === null) throw bad("'stop' must be a string or an array of strings.", 'stop');

  const so = b.stream_options;
  return {
    model: b.model as string,
    system: system.length === 0 ? null : system,
    messages,
    maxTokens: num(b.max_completion_tokens, 'max_completion_tokens') ?? num(b.max_tokens, 'max_tokens'),
    temperature: num(b.temperature, 'temperature'),
    topP: num(b.top_p, 'top_p'),
    topK: null,
    stop,
    stream: b.stream === true,
    includeUsage: isObj(so) && so.include_usage === true,
    tools: tools(b.tools),
    toolChoice: toolChoice(b.tool_choice),
    parallelToolCalls: typeof b.parallel_tool_calls === 'boolean' ? b.parallel_tool_calls : null,
    jsonSchema,
    jsonObject: isObj(rf) && rf.type === 'json_object',
    thinking,
    user: typeof b.user === 'string' ? b.user : null,
    dropped,
  };
}

// ─── canonical → OpenAI ───────────────────────────────────────────────────────────────────────────

/** The at most 4 stop sequences OpenAI accepts (openai-python completion_create_params). */
const MAX_STOP = 4;

function imagePart(b: ImageBlock): Obj {
  const url = b.source.type === 'base64' ? toDataUrl(b.source.media_type, b.source.data) : b.source.url;
  return { type: 'image_url', image_url: b.detail === undefined ? { url } : { url, detail: b.detail } };
}

/**
 * A document as a Chat Completions part. Its file part takes base64 data or an uploaded file's id,
 * never a URL: that is refused (a fallback in another format is tried), not dropped, which left the
 * model answering without the document.
 */
function documentPart(b: DocumentBlock): Obj {
  // OpenAI refuses file_data without a filename ("Missing required parameter: …file.file_id").
  if (b.source.type === 'base64') return { type: 'file', file: { filename: b.title ?? defaultFilename(b.source.media_type), file_data: toDataUrl(b.source.media_type, b.source.data) } };
  if (b.source.type === 'text') return { type: 'text', text: b.source.data };
  throw bad(`'messages': OpenAI takes documents as base64 data, not URLs.`, 'messages');
}

/** A name for a document that came without one: "document" and its type's usual extension. */
function defaultFilename(mediaType: string): string {
  const sub = mediaType.split('/')[1]?.split(/[;+]/)[0] ?? '';
  return /^[a-z0-9.-]{1,16}$/i.test(sub) ? `document.${sub === 'plain' ? 'txt' : sub}` : 'document';
}

function toolResultText(r: ToolResultBlock): { text: string; images: Obj[] } {
  if (r.content === undefined) return { text: '', images: [] };
  if (typeof r.content === 'string') return { text: r.content, images: [] };
  let text = '';
  const images: Obj[] = [];
  for (const c of r.content) {
    // Blocks are paragraphs of their own: joined end to end, "line1" and "line2" read "line1line2".
    if (c.type === 'text') text += text === '' || c.text === '' ? c.text : `\n${c.text}`;
    else if (c.type === 'image') images.push(imagePart(c));
    else images.push(documentPart(c));
  }
  return { text, images };
}

function userToOpenAI(content: string | Block[], out: Obj[]): void {
  if (typeof content === 'string') {
    out.push({ role: 'user', content });
    return;
  }
  // Each tool result becomes its own tool message, before the rest of the turn; images and documents
  // in tool results have no home in a tool message and follow in a user message (providers.md §1.10).
  const parts: Obj[] = [];
  const resultImages: Obj[] = [];
  for (const b of content) {
    if (b.type === 'tool_result') {
      const { text, images } = toolResultText(b);
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error === true && text !== '' ? `Error: ${text}` : text });
      resultImages.push(...images);
    } else if (b.type === 'text') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'image') parts.push(imagePart(b));
    else if (b.type === 'document') parts.push(documentPart(b));
  }
  const rest = [...resultImages, ...parts];
  if (rest.length > 0) out.push({ role: 'user', content: rest });
}

function assistantToOpenAI(content: string | Block[], reasoningOnToolTurns: boolean): Obj {
  if (typeof content === 'string') return { role: 'assistant', content };
  let text = '';
  let thinking = '';
  const calls: Obj[] = [];
  for (const b of content) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'thinking' && reasoningOnToolTurns) thinking += b.thinking;
    else if (b.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
  }
  const m: Obj = { role: 'assistant' };
  if (text !== '' || calls.length === 0) m.content = text;
  if (calls.length > 0) m.tool_calls = calls;
  // Thinking stays with the provider that wrote it, as OpenAI's chat has no field for it; except where
  // the provider requires it back: DeepSeek's thinking mode answers a tool turn without its
  // reasoning_content with a 400 (providers.md §4.2, Bifrost #5887).
  if (reasoningOnToolTurns && calls.length > 0 && thinking !== '') m.reasoning_content = thinking;
  return m;
}

/** OpenAI's reasoning models, by name (o1, o3-mini, o4-mini, gpt-5, gpt-5-mini; not gpt-5-chat), a provider prefix allowed. */
const REASONING_MODEL = /^(?:[\w.-]+\/)?(?:o\d(?:-|$)|gpt-5(?!-chat))/;

export function chatFromCanonical(r: CanonicalRequest, model: string, dropped: CanonicalField[] = [], opts: ProviderOptions = {}): Obj {
  const messages: Obj[] = [];
  for (const s of r.system ?? []) messages.push({ role: 'system', content: s.text });
  for (const m of r.messages) {
    if (m.role === 'user') userToOpenAI(m.content, messages);
    else messages.push(assistantToOpenAI(m.content, opts.reasoningOnToolTurns === true));
  }
  const out: Obj = { model, messages };
  // OpenAI's reasoning models refuse max_tokens ("Use 'max_completion_tokens' instead"); the older
  // name stays for every other model, which the whole OpenAI-compatible family knows (providers.md §1.10).
  const reasoning = REASONING_MODEL.test(model);
  if (r.maxTokens !== null) out[reasoning ? 'max_completion_tokens' : 'max_tokens'] = r.maxTokens;
  // They take only the default sampling, too ("Unsupported value: 'temperature' does not support 0.3
  // with this model. Only the default (1) value is supported."), which Anthropic's clients often set:
  // left out for them, as the sampling Claude refuses with thinking is left out for Claude.
  if (r.temperature !== null) {
    if (!reasoning || r.temperature === 1) out.temperature = r.temperature;
    else dropped.push('temperature');
  }
  if (r.topP !== null) {
    if (!reasoning || r.topP === 1) out.top_p = r.topP;
    else dropped.push('top_p');
  }
  // OpenAI's chat has no top_k, and Anthropic's thinking reaches it only as a reasoning effort word.
  if (r.topK !== null) dropped.push('top_k');
  if (r.thinking !== null && r.thinking.type !== 'disabled' && r.reasoningEffort === undefined) dropped.push('thinking');
  if (r.stop !== null && r.stop.length > 0) {
    if (r.stop.length > MAX_STOP) throw bad(`This provider accepts at most ${MAX_STOP} stop sequences.`, 'stop_sequences');
    // "Not supported with latest reasoning models o3 and o4-mini" (openai-node's `stop` docstring;
    // providers.md §1.10): a 400 unsupported_parameter there, so an Anthropic client's stop_sequences
    // are left out for them, as its temperature is.
    if (reasoning) dropped.push('stop');
    else out.stop = r.stop;
  }
  if (r.tools !== null) {
    out.tools = r.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), parameters: t.input_schema, ...(t.strict === undefined ? {} : { strict: t.strict }) } }));
  }
  const tc = r.toolChoice;
  if (tc !== null) out.tool_choice = tc.type === 'any' ? 'required' : tc.type === 'tool' ? { type: 'function', function: { name: tc.name } } : tc.type;
  if (r.parallelToolCalls !== null && tc?.type !== 'none') out.parallel_tool_calls = r.parallelToolCalls;
  if (r.jsonObject) out.response_format = { type: 'json_object' };
  if (r.jsonSchema !== null) {
    out.response_format = { type: 'json_schema', json_schema: { name: r.jsonSchema.name ?? 'response', ...(r.jsonSchema.description === undefined ? {} : { description: r.jsonSchema.description }), schema: r.jsonSchema.schema, ...(r.jsonSchema.strict === null ? {} : { strict: r.jsonSchema.strict }) } };
  }
  if (r.reasoningEffort !== undefined) out.reasoning_effort = r.reasoningEffort;
  if (r.user !== null) out.user = r.user;
  if (r.stream) {
    out.stream = true;
    // Always: without it an OpenAI-format stream carries no usage to report or bill (providers.md §1.10).
    out.stream_options = { include_usage: true };
  }
  return out;
}
