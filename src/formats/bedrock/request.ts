// The canonical request → Bedrock Converse. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// Traps (providers.md §3.7, §5): content is always an array of blocks; empty text blocks are refused
// (Bifrost #2765); images carry a format name, not a media type; there is no tool_choice "none" and no
// structured-output field; Anthropic's extras (top_k, thinking) go in additionalModelRequestFields.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalField, CanonicalRequest, ToolResultBlock, ToolUseBlock } from '../canonical.ts';
import { claudeDropped, claudeSampling, claudeStops, claudeThinking } from '../claude-sampling.ts';
import { safeToolId } from '../tool-call-id.ts';

type Obj = Record<string, unknown>;

/** max_tokens room left for the answer when a thinking budget would otherwise take it all (as for Anthropic). */
const ANSWER_ROOM = 4096;

const IMAGE_FORMATS: Readonly<Record<string, string>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

function media(b: Block, param: string): Obj {
  if (b.type !== 'image' && b.type !== 'document') throw bad(`'${param}' has no Bedrock equivalent.`, param);
  if (b.source.type === 'url') throw bad(`'${param}': Bedrock takes images and documents as bytes, not URLs.`, 'messages');
  if (b.source.type === 'text') return { document: { format: 'txt', name: 'document', source: { bytes: Buffer.from(b.source.data).toString('base64') } } };
  if (b.type === 'document') return { document: { format: b.source.media_type === 'application/pdf' ? 'pdf' : 'txt', name: 'document', source: { bytes: b.source.data } } };
  const format = IMAGE_FORMATS[b.source.media_type];
  if (format === undefined) throw bad(`'${param}': Bedrock takes png, jpeg, gif and webp images, not ${b.source.media_type}.`, 'messages');
  return { image: { format, source: { bytes: b.source.data } } };
}

function result(r: ToolResultBlock, param: string): Obj {
  const content: Obj[] = [];
  if (typeof r.content === 'string') content.push({ text: r.content });
  else for (const c of r.content ?? []) content.push(c.type === 'text' ? { text: c.text } : media(c, param));
  const out: Obj = { toolUseId: safeToolId(r.tool_use_id), content };
  if (r.is_error === true) out.status = 'error';
  return { toolResult: out };
}

/**
 * With no tool on offer, the history's tool calls and results are sent as text. Converse refuses
 * toolUse and toolResult blocks without a toolConfig ("The toolConfig field must be defined when using
 * toolUse and toolResult content blocks", ValidationException), and a toolConfig would have to declare
 * tools the client never offered, which the model could then call. Text keeps what was done and said
 * (a summary after an agent loop, a router that strips tools) and offers nothing to call. A result's
 * images and documents stay blocks of their own: a user turn takes them.
 */
function toolAsText(b: ToolUseBlock | ToolResultBlock, param: string): Obj[] {
  if (b.type === 'tool_use') return [{ text: `[called tool ${b.name} (id ${b.id}) with ${JSON.stringify(b.input)}]` }];
  const parts: Obj[] = [];
  const texts: string[] = [];
  if (typeof b.content === 'string') texts.push(b.content);
  else
    for (const c of b.content ?? []) {
      if (c.type === 'text') texts.push(c.text);
      else parts.push(media(c, param));
    }
  const status = b.is_error === true ? 'error' : 'result';
  return [{ text: `[tool ${status} for id ${b.tool_use_id}: ${texts.join('\n')}]` }, ...parts];
}

function blocks(content: string | Block[], param: string, toolsAsText: boolean): Obj[] {
  // Blank text is refused ("The text field in the ContentBlock object ... is blank"), whitespace too.
  if (typeof content === 'string') return content.trim() === '' ? [] : [{ text: content }];
  const out: Obj[] = [];
  content.forEach((b, j) => {
    const at = `${param}[${j}]`;
    switch (b.type) {
      case 'text':
        if (b.text.trim() !== '') out.push({ text: b.text });
        return;
      case 'tool_use':
        if (toolsAsText) {
          out.push(...toolAsText(b, at));
          return;
        }
        out.push({ toolUse: { toolUseId: safeToolId(b.id), name: b.name, input: b.input } });
        return;
      case 'tool_result':
        if (toolsAsText) out.push(...toolAsText(b, at));
        else out.push(result(b, at));
        return;
      case 'thinking':
        // Unsigned thinking was written by another provider (an OpenAI-format model's reasoning_content):
        // it stays behind, as Anthropic's codec leaves it (Claude cannot verify it).
        if (b.signature !== '') out.push({ reasoningContent: { reasoningText: { text: b.thinking, signature: b.signature } } });
        return;
      case 'redacted_thinking':
        out.push({ reasoningContent: { redactedContent: b.data } });
        return;
      default:
        out.push(media(b, at));
    }
  });
  return out;
}

/** Model ids and inference profiles of Anthropic's models: "anthropic.claude-…", "us.anthropic.claude-…", ARNs of those. */
export const ANTHROPIC_MODEL = /(?:^|[./])anthropic\./;

function hasToolBlocks(r: CanonicalRequest): boolean {
  return r.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_use' || b.type === 'tool_result'));
}

export function converseFromCanonical(r: CanonicalRequest, model = '', dropped: CanonicalField[] = []): Obj {
  if (r.jsonSchema !== null || r.jsonObject) throw bad("'response_format' has no equivalent in Bedrock's Converse API.", 'response_format');
  const messages: Obj[] = [];
  const toolsAsText = r.tools === null || r.tools.length === 0;
  r.messages.forEach((m, i) => {
    const content = blocks(m.content, `messages[${i}].content`, toolsAsText);
    if (content.length === 0) return;
    // Converse wants the roles to alternate ("A conversation must alternate between user and assistant
    // roles"); Anthropic's API and Gemini take two user turns in a row, so they are joined here.
    const last = messages.at(-1);
    if (last !== undefined && last.role === m.role) (last.content as Obj[]).push(...content);
    else messages.push({ role: m.role, content });
  });
  if (messages.length === 0) throw bad("'messages' holds no turn with content to send.", 'messages');
  if (messages[0]!.role !== 'user') throw bad("'messages': Bedrock's Converse API needs the conversation to start with a user turn.", 'messages');
  const out: Obj = { messages };
  // A blank system block is refused ("The text field in the SystemContentBlock is blank").
  const system = (r.system ?? []).filter((s) => s.text.trim() !== '');
  if (system.length > 0) out.system = system.map((s) => ({ text: s.text }));
  const inference: Obj = {};
  let maxTokens = r.maxTokens;
  const claude = ANTHROPIC_MODEL.test(model);
  const thinking = claude ? claudeThinking(r) : r.thinking;
  if (thinking?.type === 'enabled' && maxTokens !== null && maxTokens <= thinking.budget_tokens) maxTokens = thinking.budget_tokens + ANSWER_ROOM;
  if (thinking?.type === 'enabled' && maxTokens === null) maxTokens = thinking.budget_tokens + ANSWER_ROOM;
  if (maxTokens !== null) inference.maxTokens = maxTokens;
  // Claude on Bedrock takes what it takes on Anthropic's API (claudeSampling: temperature and topP not
  // together from Sonnet 4.5 on, aws-samples/bedrock-chat #943; no sampling changes with thinking).
  // Other Converse models take temperature 0–1 (OpenAI's clients may send up to 2) and topP together.
  const s = claude ? claudeSampling(r, thinking) : { temperature: r.temperature === null ? null : Math.min(1, Math.max(0, r.temperature)), topP: r.topP, topK: r.topK };
  if (claude) claudeDropped(r, thinking, s, dropped);
  if (s.temperature !== null) inference.temperature = s.temperature;
  if (s.topP !== null) inference.topP = s.topP;
  // Claude refuses whitespace-only stop sequences, on Bedrock as on Anthropic's API (providers.md §1.2),
  // and "\n\n" is one clients often send: left out, as the Anthropic codec does.
  const stop = claude ? claudeStops(r.stop, dropped) : r.stop;
  if (stop !== null && stop.length > 0) inference.stopSequences = stop;
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  const tc = r.toolChoice;
  // Converse has no "none": leaving the tools out is the nearest, unless the history holds tool blocks,
  // which Bedrock refuses without a toolConfig ("The toolConfig field must be defined when using toolUse
  // and toolResult content blocks"); then the tools stay and the choice is the model's.
  if (r.tools !== null && r.tools.length > 0 && (tc?.type !== 'none' || hasToolBlocks(r))) {
    const config: Obj = { tools: r.tools.map((t) => ({ toolSpec: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), inputSchema: { json: t.input_schema } } })) };
    if (tc !== null && tc.type !== 'none') config.toolChoice = tc.type === 'any' ? { any: {} } : tc.type === 'tool' ? { tool: { name: tc.name } } : { auto: {} };
    out.toolConfig = config;
  }
  const extra: Obj = {};
  if (s.topK !== null) extra.top_k = s.topK;
  // Claude takes Anthropic's thinking object as it is, adaptive too; other models only a budget.
  // Disabled is Claude's default, and is not sent: models before thinking refuse the field.
  if (thinking !== null && (thinking.type === 'enabled' || (claude && thinking.type === 'adaptive'))) extra.thinking = thinking;
  else if (thinking !== null && thinking.type !== 'disabled') dropped.push('thinking');
  // Converse has no end-user id, nor a switch for parallel tool calls (a `true` asks for the default).
  if (r.user !== null) dropped.push('user');
  if (r.parallelToolCalls === false) dropped.push('parallel_tool_calls');
  if (Object.keys(extra).length > 0) out.additionalModelRequestFields = extra;
  return out;
}
