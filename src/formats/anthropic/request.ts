// Anthropic Messages requests ↔ the canonical request. The canonical shape is Anthropic's block
// model, so this is mostly field names; what it must get right: max_tokens is required (and must
// exceed a thinking budget), temperature lives in [0, 1], whitespace-only stop sequences are refused
// by the API, and `disable_parallel_tool_use` is the inverse of OpenAI's flag on the tool choice.
// https://docs.anthropic.com/en/api/messages; shared/reference/providers.md §1.2, §1.7.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalField, CanonicalRequest, Message, TextBlock, Thinking, Tool, ToolChoice } from '../canonical.ts';
import { sniffBase64 } from '../media.ts';
import { claudeDropped, claudeSampling, claudeStops, claudeThinking } from '../claude-sampling.ts';
import { isSafeToolId, safeToolId } from '../tool-call-id.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

/** max_tokens when the client gave none: LiteLLM's and Bifrost's default (providers.md §1.2). */
export const DEFAULT_MAX_TOKENS = 4096;

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

/** Fields of a Messages request this translation maps; every other one is dropped and counted. */
/**
 * The fields of POST /v1/messages/count_tokens (the SDK's MessageCountTokensParams). Anthropic refuses
 * any other ("max_tokens: Extra inputs are not permitted", Wei-Shaw/sub2api #4913), and clients build
 * counts from the message they are about to send: the rest is left out before relaying.
 */
export const COUNT_TOKENS_FIELDS: ReadonlySet<string> = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'cache_control', 'output_config', 'speed', 'mcp_servers', 'context_management']);

const MAPPED = new Set(['model', 'max_tokens', 'messages', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'thinking', 'metadata', 'output_config', 'fallbacks']);

// ─── Anthropic → canonical ────────────────────────────────────────────────────────────────────────

const str = (v: unknown): v is string => typeof v === 'string';

/**
 * A media source as the Messages API defines it (base64 with its type, a URL, or plain text for a
 * document), checked before another format is built from it: passed on unchecked, a block without a
 * source or with a number for its data ended in a 500 while the request was translated, and the
 * provider's answer never came.
 */
function sourceOf(b: Obj, at: string, textAllowed: boolean): void {
  const src = b.source;
  const ok = isObj(src) && ((src.type === 'base64' && str(src.media_type) && str(src.data)) || (src.type === 'url' && str(src.url)) || (textAllowed && src.type === 'text' && str(src.data)));
  if (!ok) throw bad(`'${at}.source' must be a base64 source (media_type, data), a url source${textAllowed ? ' or a text source' : ''}.`, `${at}.source`);
}

/** A block of a tool result's content: text, an image or a document. */
function resultBlock(c: unknown, at: string): void {
  if (!isObj(c)) throw bad(`'${at}' must be a content block.`, at);
  if (c.type === 'text' && str(c.text)) return;
  if (c.type === 'image' || c.type === 'document') return sourceOf(c, at, c.type === 'document');
  throw bad(`'${at}' must be a text, image or document block.`, at);
}

function block(b: unknown, at: string): Block {
  if (!isObj(b) || !str(b.type)) throw bad(`'${at}' must be a content block.`, at);
  switch (b.type) {
    case 'text':
      if (!str(b.text)) throw bad(`'${at}.text' must be a string.`, `${at}.text`);
      return b as unknown as Block;
    case 'image': {
      sourceOf(b, at, false);
      // The declared type is not trusted: another provider is told what the bytes are.
      const src = b.source as { type: string; media_type?: string; data?: string };
      if (src.type === 'base64') {
        const sniffed = sniffBase64(src.data!);
        if (sniffed !== null && sniffed !== src.media_type) return { ...b, source: { ...src, media_type: sniffed } } as unknown as Block;
      }
      return b as unknown as Block;
    }
    case 'document':
      sourceOf(b, at, true);
      if (b.title !== undefined && b.title !== null && !str(b.title)) throw bad(`'${at}.title' must be a string.`, `${at}.title`);
      return b as unknown as Block;
    case 'tool_use':
      if (!str(b.id) || !str(b.name) || !isObj(b.input)) throw bad(`'${at}' must have a string id and name and an object input.`, at);
      return b as unknown as Block;
    case 'tool_result':
      if (!str(b.tool_use_id)) throw bad(`'${at}.tool_use_id' must be a string.`, `${at}.tool_use_id`);
      if (b.content !== undefined && !str(b.content)) {
        if (!Array.isArray(b.content)) throw bad(`'${at}.content' must be a string or an array of text, image or document blocks.`, `${at}.content`);
        b.content.forEach((c, k) => resultBlock(c, `${at}.content[${k}]`));
      }
      return b as unknown as Block;
    case 'thinking':
      if (!str(b.thinking)) throw bad(`'${at}.thinking' must be a string.`, `${at}.thinking`);
      return b as unknown as Block;
    case 'redacted_thinking':
      if (!str(b.data)) throw bad(`'${at}.data' must be a string.`, `${at}.data`);
      return b as unknown as Block;
    default:
      throw bad(`'${at}.type' ${JSON.stringify(b.type)} has no equivalent at a provider of another wire format.`, at);
  }
}

function blocks(content: unknown, param: string): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(`'${param}' must be a string or an array of content blocks.`, param);
  return content.map((b, i) => block(b, `${param}[${i}]`));
}

function system(value: unknown): TextBlock[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value === '' ? null : [{ type: 'text', text: value }];
  if (Array.isArray(value) && value.every((b) => isObj(b) && b.type === 'text' && typeof b.text === 'string')) return value as TextBlock[];
  throw bad("'system' must be a string or an array of text blocks.", 'system');
}

function tools(value: unknown): Tool[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw bad("'tools' must be an array.", 'tools');
  return value.map((t, i) => {
    // Server tools (web search, code execution) carry a versioned `type` and run at Anthropic only.
    if (!isObj(t) || typeof t.name !== 'string' || (t.type !== undefined && t.type !== 'custom')) throw bad(`'tools[${i}]' must be a client tool with a name and an input_schema.`, `tools[${i}]`);
    if (t.input_schema !== undefined && !isObj(t.input_schema)) throw bad(`'tools[${i}].input_schema' must be an object (a JSON schema).`, `tools[${i}].input_schema`);
    const tool: Tool = { name: t.name, input_schema: isObj(t.input_schema) ? t.input_schema : { type: 'object', properties: {} } };
    if (typeof t.description === 'string') tool.description = t.description;
    return tool;
  });
}

function toolChoice(value: unknown): { choice: ToolChoice | null; parallel: boolean | null } {
  if (value === undefined || value === null) return { choice: null, parallel: null };
  if (!isObj(value)) throw bad("'tool_choice' must be an object.", 'tool_choice');
  const parallel = value.disable_parallel_tool_use === true ? false : null;
  if (value.type === 'auto' || value.type === 'any' || value.type === 'none') return { choice: { type: value.type }, parallel };
  if (value.type === 'tool' && typeof value.name === 'string') return { choice: { type: 'tool', name: value.name }, parallel };
  throw bad("'tool_choice.type' must be auto, any, none or tool.", 'tool_choice');
}

/** A numeric field: absent is null; anything but a finite number is the client's 400, not a value quietly dropped. */
function num(b: Obj, field: string): number | null {
  const v = b[field];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw bad(`'${field}' must be a number.`, field);
}

export function messagesToCanonical(b: Obj): CanonicalRequest {
  const messages: Message[] = (b.messages as unknown[]).map((m, i) => {
    if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant')) throw bad(`'messages[${i}].role' must be user or assistant.`, `messages[${i}].role`);
    return { role: m.role, content: blocks(m.content, `messages[${i}].content`) };
  });
  const { choice, parallel } = toolChoice(b.tool_choice);
  const t = b.thinking;
  const thinking: Thinking | null = isObj(t) && (t.type === 'enabled' || t.type === 'adaptive' || t.type === 'disabled') ? (t as unknown as Thinking) : null;
  if (thinking?.type === 'enabled' && !(typeof t === 'object' && t !== null && Number.isInteger((t as Obj).budget_tokens))) throw bad("'thinking.budget_tokens' must be an integer.", 'thinking.budget_tokens');
  const out = isObj(b.output_config) && isObj(b.output_config.format) ? b.output_config.format : null;
  const s = b.stop_sequences;
  if (s !== undefined && s !== null && !(Array.isArray(s) && s.every(str))) throw bad("'stop_sequences' must be an array of strings.", 'stop_sequences');
  const stop = Array.isArray(s) ? (s as string[]) : null;
  return {
    model: b.model as string,
    system: system(b.system),
    messages,
    maxTokens: num(b, 'max_tokens'),
    temperature: num(b, 'temperature'),
    topP: num(b, 'top_p'),
    topK: num(b, 'top_k'),
    stop,
    stream: b.stream === true,
    // Anthropic streams always carry usage, and the Anthropic dialect always renders it.
    includeUsage: true,
    tools: tools(b.tools),
    toolChoice: choice,
    parallelToolCalls: parallel,
    jsonSchema: out !== null && out.type === 'json_schema' && isObj(out.schema) ? { name: null, schema: out.schema, strict: null } : null,
    jsonObject: false,
    thinking,
    user: isObj(b.metadata) && typeof b.metadata.user_id === 'string' ? b.metadata.user_id : null,
    dropped: Object.keys(b).filter((k) => !MAPPED.has(k)),
  };
}

// ─── canonical → Anthropic ────────────────────────────────────────────────────────────────────────

export function messagesFromCanonical(r: CanonicalRequest, model: string, dropped: CanonicalField[] = []): Obj {
  if (r.jsonObject) throw bad("'response_format' json_object has no equivalent at this provider: use json_schema with a schema.", 'response_format');
  let maxTokens = r.maxTokens ?? DEFAULT_MAX_TOKENS;
  // budget_tokens must stay below max_tokens (providers.md §1.2): leave the default room for the answer.
  const thinking = claudeThinking(r);
  if (thinking?.type === 'enabled' && maxTokens <= thinking.budget_tokens) maxTokens = thinking.budget_tokens + DEFAULT_MAX_TOKENS;
  const out: Obj = { model, max_tokens: maxTokens };
  if (r.system !== null) {
    // Blank system text is refused like blank message text (see withoutUnsendable).
    const system = r.system.some(blank) ? r.system.filter((b) => !blank(b)) : r.system;
    if (system.length > 0) out.system = system;
  }
  // Anthropic's own words for it name its shape ("messages: List should have at least 1 item").
  if (r.messages.length === 0) throw bad("'messages' holds no turn to send besides the system prompt.", 'messages');
  const messages = withoutUnsendable(r.messages);
  if (messages.length === 0) throw bad("'messages' holds no turn with content to send.", 'messages');
  out.messages = withoutSignatures(messages);
  // Temperature, top_p and top_k as Claude takes them (claude-sampling.ts).
  const s = claudeSampling(r, thinking);
  claudeDropped(r, thinking, s, dropped);
  if (s.temperature !== null) out.temperature = s.temperature;
  if (s.topP !== null) out.top_p = s.topP;
  if (s.topK !== null) out.top_k = s.topK;
  // Whitespace-only sequences are refused by the API (providers.md §1.2).
  const stop = claudeStops(r.stop, dropped);
  if (stop !== null && stop.length > 0) out.stop_sequences = stop;
  if (r.stream) out.stream = true;
  // `strict` is OpenAI's: Anthropic refuses unknown tool fields.
  if (r.tools !== null) out.tools = r.tools.map((t) => (t.strict === undefined ? t : { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), input_schema: t.input_schema, ...(t.cache_control === undefined ? {} : { cache_control: t.cache_control }) }));
  let choice: Obj | null = r.toolChoice === null ? null : { ...r.toolChoice };
  if (r.parallelToolCalls === false && choice?.type !== 'none') choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  if (choice !== null) out.tool_choice = choice;
  if (thinking !== null) out.thinking = thinking;
  if (r.user !== null) out.metadata = { user_id: r.user };
  if (r.jsonSchema !== null) out.output_config = { format: { type: 'json_schema', schema: r.jsonSchema.schema } };
  return out;
}

/** Text with nothing but whitespace, or none. */
const isBlank = (text: string): boolean => text.trim() === '';
const blank = (b: Block): boolean => b.type === 'text' && isBlank(b.text);
/** Blocks the Messages API refuses that another format allows: blank text, and thinking no one signed. */
const unsendable = (b: Block): boolean => blank(b) || (b.type === 'thinking' && b.signature === '');
const hasUnsendable = (m: Message): boolean => (typeof m.content === 'string' ? isBlank(m.content) : m.content.length === 0 || m.content.some(unsendable));

/**
 * Blank text blocks, unsigned thinking, and the turns they leave empty are left out. The Messages API
 * refuses empty text ("messages.1: all messages must have non-empty content except for the optional
 * final assistant message", "text content blocks must be non-empty") and text of whitespace alone
 * ("text content blocks must contain non-whitespace text": claude-code#23369), while OpenAI takes
 * both: an agent's assistant turn that said nothing (content "", "\n", null or []) failed here and
 * nowhere else, failover to Claude included. Gemini's and Bedrock's codecs leave it out too
 * (providers.md §1.7, row messages).
 * Thinking without a signature was written by another provider (DeepSeek's reasoning_content, shown to
 * an Anthropic client as a thinking block): Claude cannot verify it, and it stays behind, as thinking
 * from other providers does everywhere (README "Thinking").
 */
function withoutUnsendable(messages: Message[]): Message[] {
  if (!messages.some(hasUnsendable)) return messages;
  const out: Message[] = [];
  for (const m of messages) {
    if (typeof m.content === 'string') {
      if (!isBlank(m.content)) out.push(m);
      continue;
    }
    const content = m.content.some(unsendable) ? m.content.filter((b) => !unsendable(b)) : m.content;
    if (content.length > 0) out.push(content === m.content ? m : { ...m, content });
  }
  return out;
}

/**
 * A block the Messages API would refuse as it is: fields of other formats (Gemini's tool-call
 * signatures, the OpenAI codec's verbatim arguments, OpenAI's image detail), or a tool-call id outside
 * Anthropic's pattern (tool-call-id.ts).
 */
const foreign = (b: Block): boolean =>
  (b.type === 'tool_use' && (b.signature !== undefined || b.arguments !== undefined || !isSafeToolId(b.id))) ||
  (b.type === 'tool_result' && (!isSafeToolId(b.tool_use_id) || (Array.isArray(b.content) && b.content.some(foreign)))) ||
  (b.type === 'image' && b.detail !== undefined);

function anthropicBlock(b: Block): Block {
  if (b.type === 'tool_use') return { type: 'tool_use', id: safeToolId(b.id), name: b.name, input: b.input, ...(b.cache_control === undefined ? {} : { cache_control: b.cache_control }) };
  if (b.type === 'image') return { type: 'image', source: b.source, ...(b.cache_control === undefined ? {} : { cache_control: b.cache_control }) };
  if (b.type === 'tool_result') return { ...b, tool_use_id: safeToolId(b.tool_use_id), ...(Array.isArray(b.content) ? { content: b.content.map((c) => anthropicBlock(c) as typeof c) } : {}) };
  return b;
}

/** The turns with every foreign block made Anthropic's; the same array when there is none (most requests). */
function withoutSignatures(messages: Message[]): Message[] {
  const has = (c: string | Block[]): boolean => Array.isArray(c) && c.some(foreign);
  if (!messages.some((m) => has(m.content))) return messages;
  return messages.map((m) => (Array.isArray(m.content) && has(m.content) ? { ...m, content: m.content.map(anthropicBlock) } : m));
}
