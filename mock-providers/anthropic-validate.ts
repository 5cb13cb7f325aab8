// What the Anthropic Messages API rejects with 400 invalid_request_error, reproduced where it bites
// translators (providers.md §1.2–1.3, §1.11): required fields, the tool_use → tool_result pairing, images whose
// bytes contradict their media_type, thinking blocks missing or edited across tool turns. Messages copy the
// API's wording ("messages.N.content.M: …") so a gateway test can assert the same text the real API sends.
// Pure functions: the first error found, or null.

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A message's content as blocks: a string is shorthand for one text block (§1.2). */
export function blocksOf(content: unknown): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content.filter(isObject) as Json[]) : [];
}

/** The mock's thinking signature: FNV-1a of the thinking text, so an edited block is caught (§1.3). */
export function signThinking(thinking: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < thinking.length; i++) h = Math.imul(h ^ thinking.charCodeAt(i), 0x01000193);
  return `sig_mock_${(h >>> 0).toString(16).padStart(8, '0')}`;
}

const THINKING_ON = new Set(['enabled', 'adaptive']);

/** Thinking is on: `enabled` (budgeted) or `adaptive` (§1.2). */
export function thinkingOn(body: Json): boolean {
  return isObject(body.thinking) && THINKING_ON.has(body.thinking.type as string);
}

/** Everything but the model, which the server checks first so it can count the request per model. */
export function validateRequest(body: Json): string | null {
  const max = body.max_tokens;
  if (max === undefined) return 'max_tokens: Field required';
  if (typeof max !== 'number' || !Number.isInteger(max)) return 'max_tokens: Input should be a valid integer';
  if (max < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Input should be a valid list';
  if (body.messages.length === 0) return 'messages: List should have at least 1 item after validation, not 0';
  const t = body.temperature;
  if (t !== undefined) {
    if (typeof t !== 'number') return 'temperature: Input should be a valid number';
    if (t < 0) return 'temperature: Input should be greater than or equal to 0';
    if (t > 1) return 'temperature: Input should be less than or equal to 1';
  }
  const stops = body.stop_sequences;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string'))) {
    return 'stop_sequences: Input should be a valid list of strings';
  }
  return checkSystem(body.system) ?? checkTools(body.tools) ?? checkThinking(body, max) ?? checkMessages(body.messages, thinkingOn(body));
}

/**
 * The fields POST /v1/messages/count_tokens takes (the SDK's MessageCountTokensParams); anything else is
 * refused, max_tokens included ("max_tokens: Extra inputs are not permitted": Wei-Shaw/sub2api #4913).
 */
const COUNT_FIELDS = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'cache_control', 'output_config', 'speed', 'mcp_servers', 'context_management']);

/** A count_tokens body: its own fields only, then the Messages checks that apply without max_tokens. */
export function validateCountRequest(body: Json): string | null {
  for (const k of Object.keys(body)) if (!COUNT_FIELDS.has(k)) return `${k}: Extra inputs are not permitted`;
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Input should be a valid list';
  if (body.messages.length === 0) return 'messages: List should have at least 1 item after validation, not 0';
  return checkSystem(body.system) ?? checkTools(body.tools) ?? checkThinking(body, Number.MAX_SAFE_INTEGER) ?? checkMessages(body.messages, thinkingOn(body));
}

function checkSystem(system: unknown): string | null {
  if (system === undefined || typeof system === 'string') return null;
  if (!Array.isArray(system)) return 'system: Input should be a valid string or a list of text blocks';
  for (let i = 0; i < system.length; i++) {
    const b: unknown = system[i];
    if (!isObject(b) || b.type !== 'text' || typeof b.text !== 'string') return `system.${i}: Input should be a text block`;
  }
  return null;
}

/** Client tools need a name and an object input_schema; server tools carry a versioned `type` instead. */
function checkTools(tools: unknown): string | null {
  if (tools === undefined) return null;
  if (!Array.isArray(tools)) return 'tools: Input should be a valid list';
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isObject(tool)) return `tools.${i}: Input should be a valid dictionary`;
    if (typeof tool.name !== 'string' || tool.name === '') return `tools.${i}.name: Field required`;
    if ((tool.type === undefined || tool.type === 'custom') && !isObject(tool.input_schema)) return `tools.${i}.input_schema: Field required`;
  }
  return null;
}

/** Budget bounds, and the two option clashes a translator creates when it maps OpenAI knobs blindly (§1.2). */
function checkThinking(body: Json, maxTokens: number): string | null {
  const thinking = body.thinking;
  if (thinking === undefined) return null;
  // SDK 1.17 also types `between_tools`; accepted, but the mock answers it without thinking.
  if (!isObject(thinking) || !['enabled', 'adaptive', 'disabled', 'between_tools'].includes(thinking.type as string)) {
    return "thinking: Input tag does not match any of the expected tags: 'enabled', 'adaptive', 'disabled', 'between_tools'";
  }
  if (!thinkingOn(body)) return null;
  if (thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || !Number.isInteger(budget)) return 'thinking.enabled.budget_tokens: Field required';
    if (budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (maxTokens <= budget) return '`max_tokens` must be greater than `thinking.budget_tokens`';
  }
  if (body.temperature !== undefined && body.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled';
  const choice = isObject(body.tool_choice) ? body.tool_choice.type : undefined;
  if (choice === 'any' || choice === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  return null;
}

function toolUseIds(blocks: Json[]): string[] {
  return blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
}

/** Roles, non-empty content, then each block, then the tool pairing and the thinking rule. */
function checkMessages(list: unknown[], thinking: boolean): string | null {
  const messages: Json[] = [];
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (!isObject(m)) return `messages.${i}: Input should be a valid dictionary`;
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid string or list`;
    if (blocksOf(m.content).length === 0 && !(i === list.length - 1 && m.role === 'assistant')) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    const bad = checkBlocks(`messages.${i}.content`, m.content);
    if (bad !== null) return bad;
    messages.push(m);
  }
  return checkToolPairing(messages) ?? (thinking ? checkThinkingFirst(messages) : null);
}

/** Tool-call ids (tool_use.id, tool_result.tool_use_id): other characters are refused (ClawRouter #17). */
const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/** Per-block shape: non-empty text, images against their bytes, thinking signatures; recurses into tool_result. */
function checkBlocks(path: string, content: unknown): string | null {
  if (!Array.isArray(content)) return null;
  for (let j = 0; j < content.length; j++) {
    const b: unknown = content[j];
    const at = `${path}.${j}`;
    if (!isObject(b) || typeof b.type !== 'string') return `${at}: Input should be a valid content block with a \`type\``;
    let bad: string | null = null;
    switch (b.type) {
      case 'text':
        if (typeof b.text !== 'string' || b.text === '') bad = `${at}.text: text content blocks must be non-empty`;
        break;
      case 'image':
        bad = checkImage(at, b.source);
        break;
      case 'tool_use':
        if (typeof b.id !== 'string' || typeof b.name !== 'string') bad = `${at}: tool_use blocks need an \`id\` and a \`name\``;
        else if (!TOOL_ID.test(b.id)) bad = `${at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
        else if (!isObject(b.input)) bad = `${at}.input: Input should be a valid dictionary`;
        break;
      case 'tool_result':
        if (typeof b.tool_use_id !== 'string') bad = `${at}.tool_use_id: Field required`;
        else if (!TOOL_ID.test(b.tool_use_id)) bad = `${at}.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
        else bad = checkBlocks(`${at}.content`, b.content);
        break;
      case 'thinking':
        if (typeof b.signature !== 'string' || b.signature === '') bad = `${at}.signature: Field required`;
        // Only the mock's own signatures are verifiable; hand-written fixtures pass.
        else if (b.signature.startsWith('sig_mock_') && b.signature !== signThinking(String(b.thinking))) {
          bad = `${at}: Invalid \`signature\` in \`thinking\` block`;
        }
        break;
      case 'redacted_thinking':
        if (typeof b.data !== 'string' || b.data === '') bad = `${at}.data: Field required`;
        break;
    }
    if (bad !== null) return bad;
  }
  return null;
}

const MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/** The media type the first bytes announce, or null when they are no image the API takes. */
export function sniffImage(base64: string): string | null {
  const b = Buffer.from(base64.slice(0, 24), 'base64');
  if (b[0] === 0x89 && b.toString('latin1', 1, 4) === 'PNG') return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.toString('latin1', 0, 4) === 'GIF8') return 'image/gif';
  if (b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/** The API compares the declared media_type with the bytes (§1.3; LiteLLM #24900). */
function checkImage(at: string, source: unknown): string | null {
  if (!isObject(source)) return `${at}.source: Field required`;
  if (source.type !== 'base64') return null; // url and file sources are fetched by the API; nothing to check here
  const media = source.media_type;
  if (typeof media !== 'string' || !MEDIA_TYPES.includes(media)) {
    return `${at}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
  }
  if (typeof source.data !== 'string' || source.data === '') return `${at}.source.base64.data: Field required`;
  const actual = sniffImage(source.data);
  if (actual === null) return `${at}.source.base64.data: Could not process image`;
  if (actual !== media) {
    return `${at}.source.base64.data: Image does not match the provided media type ${media}: the image appears to be ${actual}`;
  }
  return null;
}

/**
 * Every tool_use of an assistant turn is answered by a tool_result at the START of the very next user
 * message; a tool_result anywhere else is an orphan (§1.3; apify tester-mcp-client #12).
 */
function checkToolPairing(messages: Json[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const blocks = blocksOf(m.content);
    const prev = messages[i - 1];
    const uses = prev?.role === 'assistant' && m.role === 'user' ? toolUseIds(blocksOf(prev.content)) : [];
    if (m.role === 'assistant') {
      const own = toolUseIds(blocks);
      if (own.length > 0 && messages[i + 1]?.role !== 'user') {
        return (
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${own.join(', ')}. ` +
          'Each `tool_use` block must have a corresponding `tool_result` block in the next message.'
        );
      }
    }
    let lead = 0;
    while (lead < blocks.length && blocks[lead]!.type === 'tool_result') lead++;
    const answered = new Set(blocks.slice(0, lead).map((b) => b.tool_use_id));
    const missing = uses.filter((id) => !answered.has(id)).length;
    if (missing > 0) {
      return (
        `messages.${i}: Did not find ${missing} tool_result block(s) at the beginning of this message. ` +
        'Messages following tool_use blocks must begin with a matching number of tool_result blocks.'
      );
    }
    for (let j = 0; j < blocks.length; j++) {
      const b = blocks[j]!;
      if (b.type === 'tool_result' && (j >= lead || !uses.includes(b.tool_use_id as string))) {
        return (
          `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. ` +
          'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.'
        );
      }
    }
  }
  return null;
}

/**
 * With thinking on, the final assistant turn, when it called tools, must start with the thinking block it
 * was generated with (§1.3, §1.11; openai-agents-python #1704, LiteLLM #8961). Earlier turns are not checked:
 * the API strips their thinking, as it does.
 */
function checkThinkingFirst(messages: Json[]): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'assistant') continue;
    const blocks = blocksOf(m.content);
    const first = blocks[0]?.type;
    if (toolUseIds(blocks).length === 0 || first === 'thinking' || first === 'redacted_thinking') return null;
    return (
      `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first)}\`. ` +
      'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of ' +
      '`tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this ' +
      'requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking'
    );
  }
  return null;
}
