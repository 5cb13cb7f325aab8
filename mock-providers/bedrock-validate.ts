// What Bedrock's Converse API rejects with 400 ValidationException, reproduced where it bites translators
// (providers.md §3.1, §3.7): blank text blocks and empty content, roles that do not alternate or do not start with
// the user, toolUse/toolResult without toolConfig, a toolResult that answers no toolUse of the previous turn,
// images whose bytes contradict their format, inference parameters out of range. Messages copy Bedrock's wording
// where issue threads quote it (cited per rule); "(mock wording)" marks the few the mock had to invent. Pure
// functions: the first error found, or null.

import { isObject, sniffImage } from './anthropic-validate.ts';
import type { Json } from './anthropic-validate.ts';

export { isObject };
export type { Json };

// Quoted in: continuedev/continue #9767, OpenHands #5339 (blank text); earendil-works/pi PR #3443 (empty content);
// semantic-kernel #10281, Portkey #748 (alternation); kibana PR #246393, pydantic-ai #4495 (first message);
// dify #7328, ironclaw #1629 (toolConfig); Curie #16, pydantic-ai #2327 (toolResult count); aws-samples
// multi-agent-orchestration #15 (error toolResult); amazon-bedrock-client-for-mac #130 (image bytes);
// hermes-agent #55429 (image format enum).
const blankText = (at: string) => `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`;
const emptyContent = (i: number) => `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
const ALTERNATE = 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
const START_USER = 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
export const NEED_TOOL_CONFIG = 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
const tooManyResults = (i: number) => `The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`;
const missingResults = (i: number, ids: string[]) => `Expected toolResult blocks at messages.${i}.content for the following Ids: ${ids.join(', ')}`;
/** Bedrock passes the model's own complaint through (mock wording after the prefix: Anthropic's, §1.3). */
const unexpectedResult = (at: string, id: string) =>
  `The model returned the following errors: ${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. ` +
  'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.';
const emptyErrorResult = (at: string) => `The content field at ${at}.toolResult cannot be empty when status value is error.`;
const imageMismatch = (at: string, declared: string, actual: string) =>
  `The model returned the following errors: ${at}.image.source.bytes: The image was specified using the image/${declared} media type, but the image appears to be a ${actual} image`;
/** Coral's generic constraint message ("1 validation error detected: Value … at '…' failed to satisfy constraint: …"). */
const constraint = (value: unknown, at: string, rule: string) =>
  `1 validation error detected: Value ${value === null || value === undefined ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`} at '${at}' failed to satisfy constraint: ${rule}`;

const FORMATS = ['gif', 'jpeg', 'png', 'webp'];
/** The members of the ContentBlock union the mock understands; anything else is passed over. */
const TOOL_KEYS = ['toolUse', 'toolResult'] as const;

/** A message's content blocks that are objects (the rest is caught by validation first). */
export const blocksOf = (m: unknown): Json[] => (isObject(m) && Array.isArray(m.content) ? m.content.filter(isObject) : []);

const toolUseIds = (m: unknown): string[] => blocksOf(m).flatMap((b) => (isObject(b.toolUse) ? [String(b.toolUse.toolUseId)] : []));

/** Everything a Converse / ConverseStream body must satisfy. */
export function validateConverse(body: Json): string | null {
  const messages = body.messages;
  if (messages === undefined || messages === null) return constraint(null, 'messages', 'Member must not be null');
  if (!Array.isArray(messages)) return constraint(messages, 'messages', 'Member must be a list (mock wording)');
  if (messages.length === 0) return START_USER;
  return (
    checkInference(body.inferenceConfig) ??
    checkSystem(body.system) ??
    checkToolConfig(body.toolConfig) ??
    checkMessages(messages) ??
    (body.toolConfig === undefined && messages.some((m) => blocksOf(m).some((b) => TOOL_KEYS.some((k) => b[k] !== undefined))) ? NEED_TOOL_CONFIG : null) ??
    checkToolPairing(messages as Json[])
  );
}

/** InferenceConfiguration's documented bounds: maxTokens ≥ 1, temperature and topP in [0, 1]. */
function checkInference(config: unknown): string | null {
  if (config === undefined) return null;
  if (!isObject(config)) return constraint(config, 'inferenceConfig', 'Member must be a structure (mock wording)');
  const max = config.maxTokens;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1)) {
    return constraint(max, 'inferenceConfig.maxTokens', 'Member must have value greater than or equal to 1');
  }
  for (const field of ['temperature', 'topP'] as const) {
    const v = config[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || v < 0) return constraint(v, `inferenceConfig.${field}`, 'Member must have value greater than or equal to 0');
    if (v > 1) return constraint(v, `inferenceConfig.${field}`, 'Member must have value less than or equal to 1');
  }
  const stops = config.stopSequences;
  if (stops !== undefined && (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string' && s !== ''))) {
    return constraint(stops, 'inferenceConfig.stopSequences', 'Member must satisfy constraint: [Member must have length greater than or equal to 1]');
  }
  return null;
}

/** `system` is a list of SystemContentBlock ({text} | {cachePoint} | {guardContent}); a blank text is refused. */
function checkSystem(system: unknown): string | null {
  if (system === undefined) return null;
  if (!Array.isArray(system)) return constraint(system, 'system', 'Member must be a list (mock wording)');
  for (let i = 0; i < system.length; i++) {
    const b: unknown = system[i];
    if (!isObject(b)) return constraint(b, `system.${i}.member`, 'Member must be a structure (mock wording)');
    if (typeof b.text === 'string' && b.text.trim() === '') return `The text field in the SystemContentBlock object at system.${i} is blank. Add text to the text field, and try again.`;
  }
  return null;
}

/** tools: at least one, each toolSpec named with an inputSchema.json object; toolChoice.tool names one of them. */
function checkToolConfig(config: unknown): string | null {
  if (config === undefined) return null;
  if (!isObject(config)) return constraint(config, 'toolConfig', 'Member must be a structure (mock wording)');
  const tools = config.tools;
  if (!Array.isArray(tools) || tools.length === 0) return constraint(tools ?? null, 'toolConfig.tools', 'Member must have length greater than or equal to 1');
  const names: string[] = [];
  for (let i = 0; i < tools.length; i++) {
    const t: unknown = tools[i];
    if (isObject(t) && t.cachePoint !== undefined) continue;
    const spec = isObject(t) ? t.toolSpec : undefined;
    if (!isObject(spec) || typeof spec.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) {
      return constraint(isObject(spec) ? spec.name : null, `toolConfig.tools.${i + 1}.member.toolSpec.name`, 'Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+');
    }
    if (!isObject(spec.inputSchema) || !isObject(spec.inputSchema.json)) {
      return constraint(null, `toolConfig.tools.${i + 1}.member.toolSpec.inputSchema`, 'Member must not be null');
    }
    names.push(spec.name);
  }
  const choice = config.toolChoice;
  if (isObject(choice) && isObject(choice.tool) && !names.includes(String(choice.tool.name))) {
    return `The tool ${String(choice.tool.name)} specified in toolChoice is not defined in toolConfig.tools (mock wording).`;
  }
  return null;
}

/** Roles user/assistant, starting with the user and alternating; non-empty content; each block valid. */
function checkMessages(messages: unknown[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) return constraint(m, `messages.${i + 1}.member`, 'Member must be a structure (mock wording)');
    if (m.role !== 'user' && m.role !== 'assistant') {
      return constraint(m.role, `messages.${i + 1}.member.role`, 'Member must satisfy enum value set: [user, assistant]');
    }
    if (i === 0 && m.role !== 'user') return START_USER;
    if (i > 0 && (messages[i - 1] as Json).role === m.role) return ALTERNATE;
    if (!Array.isArray(m.content) || m.content.length === 0) return emptyContent(i);
    for (let j = 0; j < m.content.length; j++) {
      const invalid = checkBlock(`messages.${i}.content.${j}`, m.content[j], i, j);
      if (invalid !== null) return invalid;
    }
  }
  return null;
}

/** ToolUseBlock.toolUseId and ToolResultBlock.toolUseId: [a-zA-Z0-9_-]+, 1 to 64 characters (Converse API reference). */
const TOOL_ID = /^[a-zA-Z0-9_-]{1,64}$/;

function checkBlock(at: string, b: unknown, i: number, j: number): string | null {
  if (!isObject(b)) return constraint(b, `messages.${i + 1}.member.content.${j + 1}.member`, 'Member must be a structure (mock wording)');
  if (b.text !== undefined) return typeof b.text === 'string' && b.text.trim() !== '' ? null : blankText(at);
  if (b.image !== undefined) return checkImage(at, b.image, i, j);
  if (b.toolUse !== undefined) {
    const u = b.toolUse;
    if (!isObject(u) || typeof u.toolUseId !== 'string' || u.toolUseId === '' || typeof u.name !== 'string' || u.name === '') {
      return constraint(null, `messages.${i + 1}.member.content.${j + 1}.member.toolUse.toolUseId`, 'Member must not be null');
    }
    if (!TOOL_ID.test(u.toolUseId)) return constraint(u.toolUseId, `messages.${i + 1}.member.content.${j + 1}.member.toolUse.toolUseId`, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9_-]+$');
    // The Document type is any JSON, but Bedrock's models want an object (providers.md §3.1: "object input").
    if (!isObject(u.input)) return `The model returned the following errors: ${at}.toolUse.input: Input should be a valid dictionary (mock wording)`;
    return null;
  }
  if (b.toolResult !== undefined) {
    const r = b.toolResult;
    if (!isObject(r) || typeof r.toolUseId !== 'string' || r.toolUseId === '') {
      return constraint(null, `messages.${i + 1}.member.content.${j + 1}.member.toolResult.toolUseId`, 'Member must not be null');
    }
    if (!TOOL_ID.test(r.toolUseId)) return constraint(r.toolUseId, `messages.${i + 1}.member.content.${j + 1}.member.toolResult.toolUseId`, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9_-]+$');
    const empty = !Array.isArray(r.content) || r.content.length === 0;
    if (empty && r.status === 'error') return emptyErrorResult(at);
    if (!Array.isArray(r.content)) return constraint(null, `messages.${i + 1}.member.content.${j + 1}.member.toolResult.content`, 'Member must not be null');
    for (let k = 0; k < r.content.length; k++) {
      const c: unknown = r.content[k];
      if (isObject(c) && c.text !== undefined && (typeof c.text !== 'string' || c.text.trim() === '')) return blankText(`${at}.toolResult.content.${k}`);
    }
  }
  return null;
}

/** The format must be one of the enum, and the bytes (base64 on the wire) must be that format. */
function checkImage(at: string, image: unknown, i: number, j: number): string | null {
  const path = `messages.${i + 1}.member.content.${j + 1}.member.image`;
  if (!isObject(image)) return constraint(image, path, 'Member must be a structure (mock wording)');
  if (typeof image.format !== 'string' || !FORMATS.includes(image.format)) {
    return constraint(image.format ?? null, `${path}.format`, `Member must satisfy enum value set: [${FORMATS.join(', ')}]`);
  }
  const source = image.source;
  if (!isObject(source)) return constraint(null, `${path}.source`, 'Member must not be null');
  if (source.bytes === undefined) return null; // s3Location: fetched by Bedrock, nothing to check here
  if (typeof source.bytes !== 'string' || source.bytes === '') return constraint(null, `${path}.source.bytes`, 'Member must have length greater than or equal to 1');
  const actual = sniffImage(source.bytes);
  if (actual === null) return `The model returned the following errors: ${at}.image.source.bytes: Could not process image (mock wording)`;
  return actual === `image/${image.format}` ? null : imageMismatch(at, image.format, actual);
}

/** A user turn after an assistant turn with toolUse blocks answers each of them with a toolResult; a toolResult
 *  anywhere else, or with another id, is refused. */
function checkToolPairing(messages: Json[]): string | null {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    const uses = i > 0 ? toolUseIds(messages[i - 1]) : [];
    const blocks = blocksOf(m);
    const results = blocks.flatMap((b, j) => (isObject(b.toolResult) ? [{ id: String(b.toolResult.toolUseId), j }] : []));
    if (results.length > uses.length) return tooManyResults(i);
    const stray = results.find((r) => !uses.includes(r.id));
    if (stray !== undefined) return unexpectedResult(`messages.${i}.content.${stray.j}`, stray.id);
    const missing = uses.filter((id) => !results.some((r) => r.id === id));
    if (missing.length > 0) return missingResults(i, missing);
  }
  return null;
}
