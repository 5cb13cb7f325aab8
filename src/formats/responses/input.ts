// A Responses request's `input` (a string, or a list of items) → the canonical system blocks and turns.
// openai-node `ResponseInputItem`; the rules are test/fixtures/conformance/responses/README.md
// ("Responses request → Anthropic Messages", "Responses-specific rules"):
//
//   - system and developer messages join `instructions` in the canonical system, in order;
//   - consecutive reasoning, assistant-message and function_call items are one assistant turn, kept in
//     the order the model produced them (thinking before its tool_use, or Anthropic refuses the turn:
//     providers.md §1.3, §1.11);
//   - every function_call_output of a turn is a tool_result in one user message, and a user message
//     right after them is merged behind them (results must come first: providers.md §1.3);
//   - a reasoning item carries the thinking text in `summary` and the signature in `encrypted_content`
//     (README decision 9: what response.ts writes); `redacted_thinking:<data>` is a redacted block; a
//     reasoning item without encrypted content cannot be replayed and is dropped;
//   - items that point at OpenAI's stored state (item_reference, file ids) or at its built-in tools
//     are refused: the gateway keeps no state and the provider has no such tools.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, DocumentBlock, ImageBlock, Message, TextBlock, ToolResultBlock } from '../canonical.ts';
import { parseDataUrl, sniffBase64 } from '../media.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

/** The prefix of `encrypted_content` that marks a redacted_thinking block (README decision 9). */
export const REDACTED_PREFIX = 'redacted_thinking:';

/** Every refusal of an input item names `input`, as the fixtures expect; the message says where. */
function badInput(message: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param: 'input' });
}

const HTTP_URL = /^https?:\/\//i;

function image(p: Obj, at: string): ImageBlock {
  const url = p.image_url;
  if (typeof url !== 'string') {
    if (p.file_id !== undefined && p.file_id !== null) throw badInput(`'${at}.file_id': uploaded files belong to OpenAI and cannot reach this provider; send the image as image_url.`);
    throw badInput(`'${at}.image_url' must be a URL or a base64 data URL.`);
  }
  const data = parseDataUrl(url);
  const img: ImageBlock = data !== null ? { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } } : { type: 'image', source: { type: 'url', url } };
  if (data !== null || HTTP_URL.test(url)) {
    // "original" has no chat equivalent (README decision 7).
    if (p.detail === 'low' || p.detail === 'high' || p.detail === 'auto') img.detail = p.detail;
    return img;
  }
  throw badInput(`'${at}.image_url' must be an http(s) URL or a base64 data URL.`);
}

function file(p: Obj, at: string): DocumentBlock {
  const title = typeof p.filename === 'string' && p.filename !== '' ? { title: p.filename } : {};
  if (typeof p.file_data === 'string') {
    const data = parseDataUrl(p.file_data);
    if (data !== null) return { type: 'document', source: { type: 'base64', media_type: data.mediaType, data: data.data }, ...title };
    // Bare base64 is accepted when its bytes say what it is (a PDF, say).
    const sniffed = sniffBase64(p.file_data);
    if (sniffed !== null) return { type: 'document', source: { type: 'base64', media_type: sniffed, data: p.file_data }, ...title };
    throw badInput(`'${at}.file_data' must be a base64 data URL.`);
  }
  if (typeof p.file_url === 'string' && HTTP_URL.test(p.file_url)) return { type: 'document', source: { type: 'url', url: p.file_url } };
  throw badInput(`'${at}': uploaded files belong to OpenAI and cannot reach this provider; send file_data or file_url.`);
}

/** input_text / input_image / input_file parts (a user message, or a function_call_output's list). */
function parts(content: unknown[], at: string, out: Block[]): void {
  for (let i = 0; i < content.length; i++) {
    const p = content[i];
    const here = `${at}[${i}]`;
    if (!isObj(p)) throw badInput(`'${here}' must be a content part.`);
    switch (p.type) {
      case 'input_text':
      case 'output_text':
        if (typeof p.text !== 'string') throw badInput(`'${here}.text' must be a string.`);
        // Upstreams refuse empty text blocks (Bifrost #2765).
        if (p.text !== '') out.push({ type: 'text', text: p.text });
        break;
      case 'input_image':
        out.push(image(p, here));
        break;
      case 'input_file':
        out.push(file(p, here));
        break;
      default:
        throw badInput(`'${here}.type' ${JSON.stringify(p.type)} has no equivalent at this provider.`);
    }
  }
}

function userContent(content: unknown, at: string): string | Block[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badInput(`'${at}' must be a string or an array of content parts.`);
  const out: Block[] = [];
  parts(content, at, out);
  return out;
}

/** A system or developer message's text, as system blocks. */
function systemText(content: unknown, at: string, system: TextBlock[]): void {
  if (typeof content === 'string') {
    if (content !== '') system.push({ type: 'text', text: content });
    return;
  }
  if (!Array.isArray(content)) throw badInput(`'${at}' must be a string or an array of input_text parts.`);
  for (let i = 0; i < content.length; i++) {
    const p = content[i];
    if (!isObj(p) || p.type !== 'input_text' || typeof p.text !== 'string') throw badInput(`'${at}[${i}]': a system or developer message may only hold input_text parts.`);
    if (p.text !== '') system.push({ type: 'text', text: p.text });
  }
}

/** An assistant message's text: output_text (and refusal) parts joined, as the chat dialect joins them. */
function assistantText(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badInput(`'${at}' must be a string or an array of content parts.`);
  let text = '';
  for (let i = 0; i < content.length; i++) {
    const p = content[i];
    if (!isObj(p)) throw badInput(`'${at}[${i}]' must be a content part.`);
    if ((p.type === 'output_text' || p.type === 'input_text') && typeof p.text === 'string') text += p.text;
    else if (p.type === 'refusal' && typeof p.refusal === 'string') text += p.refusal;
    else throw badInput(`'${at}[${i}].type' ${JSON.stringify(p.type)} has no equivalent in an assistant turn at this provider.`);
  }
  return text;
}

function parseArguments(args: unknown, at: string): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (typeof args !== 'string') throw badInput(`'${at}' must be a JSON string.`);
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw badInput(`'${at}' is not valid JSON.`);
  }
  if (!isObj(v)) throw badInput(`'${at}' must encode a JSON object.`);
  return v;
}

function reasoning(item: Obj, turn: Block[]): void {
  const enc = item.encrypted_content;
  if (typeof enc !== 'string' || enc === '') return; // nothing to replay
  if (enc.startsWith(REDACTED_PREFIX)) {
    turn.push({ type: 'redacted_thinking', data: enc.slice(REDACTED_PREFIX.length) });
    return;
  }
  let thinking = '';
  const summary = item.summary;
  if (Array.isArray(summary)) for (let i = 0; i < summary.length; i++) {
    const s = summary[i];
    if (isObj(s) && typeof s.text === 'string') thinking += s.text;
  }
  turn.push({ type: 'thinking', thinking, signature: enc });
}

function toolResult(item: Obj, at: string): ToolResultBlock {
  if (typeof item.call_id !== 'string') throw badInput(`'${at}.call_id' must be a string.`);
  const output = item.output;
  if (typeof output === 'string') return { type: 'tool_result', tool_use_id: item.call_id, content: output };
  if (!Array.isArray(output)) throw badInput(`'${at}.output' must be a string or an array of content parts.`);
  const blocks: Block[] = [];
  parts(output, `${at}.output`, blocks);
  return { type: 'tool_result', tool_use_id: item.call_id, content: blocks as Array<TextBlock | ImageBlock | DocumentBlock> };
}

/** The last message, when it is a user turn that began with tool results (more results and text join it). */
function resultsTurn(messages: Message[]): Block[] | null {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== 'user' || typeof last.content === 'string') return null;
  const c = last.content;
  for (let i = 0; i < c.length; i++) if (c[i]!.type === 'tool_result') return c;
  return null;
}

/** Ends the assistant turn being built: one text is kept a string, as the formats that allow it send it. */
function flush(turn: Block[], messages: Message[]): void {
  if (turn.length === 0) return;
  const only = turn[0]!;
  messages.push({ role: 'assistant', content: turn.length === 1 && only.type === 'text' ? only.text : turn.slice() });
  turn.length = 0;
}

export interface Conversation {
  system: TextBlock[];
  messages: Message[];
}

/** `instructions` (already in `system`) plus `input` → the canonical conversation. */
export function conversation(input: unknown, system: TextBlock[]): Conversation {
  const messages: Message[] = [];
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: input });
    return { system, messages };
  }
  const items = input as unknown[];
  const turn: Block[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = `input[${i}]`;
    if (!isObj(item)) throw badInput(`'${at}' must be an input item.`);
    const type = item.type;
    if (type === undefined || type === 'message') {
      const content = item.content;
      switch (item.role) {
        case 'user': {
          flush(turn, messages);
          const c = userContent(content, `${at}.content`);
          const results = resultsTurn(messages);
          if (results === null) messages.push({ role: 'user', content: c });
          else if (typeof c === 'string') {
            if (c !== '') results.push({ type: 'text', text: c });
          } else for (let j = 0; j < c.length; j++) results.push(c[j]!);
          break;
        }
        case 'assistant': {
          const text = assistantText(content, `${at}.content`);
          if (text !== '') turn.push({ type: 'text', text });
          break;
        }
        case 'system':
        case 'developer':
          // Hoisted: the canonical system stands apart, so the assistant turn goes on.
          systemText(content, `${at}.content`, system);
          break;
        default:
          throw badInput(`'${at}.role' must be user, assistant, system or developer.`);
      }
      continue;
    }
    switch (type) {
      case 'function_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string') throw badInput(`'${at}' must have a call_id and a name.`);
        turn.push({ type: 'tool_use', id: item.call_id, name: item.name, input: parseArguments(item.arguments, `${at}.arguments`) });
        break;
      }
      case 'function_call_output': {
        flush(turn, messages);
        const result = toolResult(item, at);
        const results = resultsTurn(messages);
        if (results === null) messages.push({ role: 'user', content: [result] });
        else results.push(result);
        break;
      }
      case 'reasoning':
        reasoning(item, turn);
        break;
      case 'item_reference':
        throw badInput(`'${at}': item_reference points at items stored by OpenAI; this gateway stores none, so send the items themselves.`);
      default:
        throw badInput(`'${at}.type' ${JSON.stringify(type)} is a built-in tool's item, which this provider cannot run.`);
    }
  }
  flush(turn, messages);
  return { system, messages };
}
