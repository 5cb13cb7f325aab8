// Anthropic Messages requests ↔ the canonical request. The canonical shape is Anthropic's block
// model, so this is mostly field names; what it must get right: max_tokens is required (and must
// exceed a thinking budget), temperature lives in [0, 1], whitespace-only stop sequences are refused
// by the API, and `disable_parallel_tool_use` is the inverse of OpenAI's flag on the tool choice.
// https://docs.anthropic.com/en/api/messages; shared/reference/providers.md §1.2, §1.7.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalRequest, Message, TextBlock, Thinking, Tool, ToolChoice } from '../canonical.ts';
import { sniffBase64 } from '../media.ts';
import { claudeSampling, claudeThinking } from '../claude-sampling.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

/** max_tokens when the client gave none: LiteLLM's and Bifrost's default (providers.md §1.2). */
export const DEFAULT_MAX_TOKENS = 4096;

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

/** Fields of a Messages request this translation maps; every other one is dropped and counted. */
const MAPPED = new Set(['model', 'max_tokens', 'messages', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'thinking', 'metadata', 'output_config', 'fallbacks']);

// ─── Anthropic → canonical ────────────────────────────────────────────────────────────────────────

function blocks(content: unknown, param: string): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(`'${param}' must be a string or an array of content blocks.`, param);
  return content.map((b, i) => {
    if (!isObj(b) || typeof b.type !== 'string') throw bad(`'${param}[${i}]' must be a content block.`, `${param}[${i}]`);
    switch (b.type) {
      case 'image': {
        // The declared type is not trusted: another provider is told what the bytes are.
        const src = b.source as { type?: unknown; media_type?: unknown; data?: unknown } | undefined;
        if (src?.type === 'base64' && typeof src.data === 'string') {
          const sniffed = sniffBase64(src.data);
          if (sniffed !== null && sniffed !== src.media_type) return { ...b, source: { ...src, media_type: sniffed } } as unknown as Block;
        }
        return b as unknown as Block;
      }
      case 'text':
      case 'document':
      case 'tool_use':
      case 'tool_result':
      case 'thinking':
      case 'redacted_thinking':
        return b as unknown as Block;
      default:
        throw bad(`'${param}[${i}].type' ${JSON.stringify(b.type)} has no equivalent at a provider of another wire format.`, `${param}[${i}]`);
    }
  });
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

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function messagesToCanonical(b: Obj): CanonicalRequest {
  const messages: Message[] = (b.messages as unknown[]).map((m, i) => {
    if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant')) throw bad(`'messages[${i}].role' must be user or assistant.`, `messages[${i}].role`);
    return { role: m.role, content: blocks(m.content, `messages[${i}].content`) };
  });
  const { choice, parallel } = toolChoice(b.tool_choice);
  const t = b.thinking;
  const thinking: Thinking | null = isObj(t) && (t.type === 'enabled' || t.type === 'adaptive' || t.type === 'disabled') ? (t as unknown as Thinking) : null;
  const out = isObj(b.output_config) && isObj(b.output_config.format) ? b.output_config.format : null;
  const stop = Array.isArray(b.stop_sequences) ? b.stop_sequences.filter((s): s is string => typeof s === 'string') : null;
  return {
    model: b.model as string,
    system: system(b.system),
    messages,
    maxTokens: num(b.max_tokens),
    temperature: num(b.temperature),
    topP: num(b.top_p),
    topK: num(b.top_k),
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

export function messagesFromCanonical(r: CanonicalRequest, model: string): Obj {
  if (r.jsonObject) throw bad("'response_format' json_object has no equivalent at this provider: use json_schema with a schema.", 'response_format');
  let maxTokens = r.maxTokens ?? DEFAULT_MAX_TOKENS;
  // budget_tokens must stay below max_tokens (providers.md §1.2): leave the default room for the answer.
  const thinking = claudeThinking(r);
  if (thinking?.type === 'enabled' && maxTokens <= thinking.budget_tokens) maxTokens = thinking.budget_tokens + DEFAULT_MAX_TOKENS;
  const out: Obj = { model, max_tokens: maxTokens };
  if (r.system !== null) out.system = r.system;
  out.messages = withoutSignatures(r.messages);
  // Temperature, top_p and top_k as Claude takes them (claude-sampling.ts).
  const s = claudeSampling(r, thinking);
  if (s.temperature !== null) out.temperature = s.temperature;
  if (s.topP !== null) out.top_p = s.topP;
  if (s.topK !== null) out.top_k = s.topK;
  if (r.stop !== null) {
    // Whitespace-only sequences are refused by the API (providers.md §1.2).
    const stop = r.stop.filter((s) => s.trim() !== '');
    if (stop.length > 0) out.stop_sequences = stop;
  }
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

/** Fields of other formats on canonical blocks are not Anthropic fields: the API would refuse them. */
const foreign = (b: Block): boolean => (b.type === 'tool_use' && (b.signature !== undefined || b.arguments !== undefined)) || (b.type === 'image' && b.detail !== undefined);

function anthropicBlock(b: Block): Block {
  if (b.type === 'tool_use') return { type: 'tool_use', id: b.id, name: b.name, input: b.input, ...(b.cache_control === undefined ? {} : { cache_control: b.cache_control }) };
  if (b.type === 'image') return { type: 'image', source: b.source, ...(b.cache_control === undefined ? {} : { cache_control: b.cache_control }) };
  return b;
}

/** Gemini's tool-call signatures, OpenAI's image detail: removed where they occur (tool results hold images too). */
function withoutSignatures(messages: Message[]): Message[] {
  const has = (c: string | Block[]): boolean => Array.isArray(c) && c.some((b) => foreign(b) || (b.type === 'tool_result' && Array.isArray(b.content) && b.content.some(foreign)));
  if (!messages.some((m) => has(m.content))) return messages;
  return messages.map((m) =>
    Array.isArray(m.content)
      ? { ...m, content: m.content.map((b) => (b.type === 'tool_result' && Array.isArray(b.content) ? { ...b, content: b.content.map((c) => anthropicBlock(c) as typeof c) } : anthropicBlock(b))) }
      : m,
  );
}
