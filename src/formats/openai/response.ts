// OpenAI chat.completion answers ↔ the canonical response.
// https://platform.openai.com/docs/api-reference/chat/object; mappings: providers.md §1.8, §1.10.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalResponse, StopReason, Usage } from '../canonical.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

/** Canonical stop reason → finish_reason. */
export function finishReason(r: StopReason): string {
  switch (r) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn (and anything new): the turn is over.
      return 'stop';
  }
}

/**
 * finish_reason → canonical. Several OpenAI-compatible providers say "stop" on a turn that called
 * tools; an Anthropic-dialect agent would then never run them (Bifrost #3638, #6123, #4065), so a
 * turn with tool calls is a tool_use turn whatever its finish_reason.
 */
export function stopReason(finish: unknown, hadToolCalls: boolean): StopReason {
  if (hadToolCalls && (finish === 'stop' || finish === 'tool_calls' || finish === 'function_call' || finish === null || finish === undefined)) return 'tool_use';
  switch (finish) {
    case 'length':
      return 'max_tokens';
    // Mistral: the model's context window is full (providers.md §4.2, Portkey's finishReasonMap).
    case 'model_length':
      return 'model_context_window_exceeded';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * finish_reasons that say the generation failed, not that the turn ended (providers.md §4.2): Mistral's
 * `error`, DeepSeek's `insufficient_system_resource` (out of capacity: overloaded). As a stop reason
 * they reached Anthropic and Responses clients as a clean end_turn or completed; they are failures,
 * retried and failed over, or a stream's error event once it has started. Value: the error type.
 */
export const FAILED_FINISH: ReadonlyMap<unknown, string> = new Map([
  ['error', 'api_error'],
  ['insufficient_system_resource', 'overloaded_error'],
]);

/** OpenAI usage → canonical: cached tokens are part of prompt_tokens; fresh input is the rest. */
export function usageFromOpenAI(u: unknown): Usage | null {
  if (!isObj(u)) return null;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const details = isObj(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  // DeepSeek says prompt_cache_hit_tokens (api-docs.deepseek.com, "Context Caching"); billed as fresh input, a cache hit cost it 2.8 times too much.
  const cached = typeof details.cached_tokens === 'number' ? details.cached_tokens : typeof u.prompt_cache_hit_tokens === 'number' ? u.prompt_cache_hit_tokens : 0;
  // openai-node 6.49 prompt_tokens_details.cache_write_tokens; LiteLLM's and Portkey's top-level field before it.
  const write = typeof details.cache_write_tokens === 'number' ? details.cache_write_tokens : typeof u.cache_creation_input_tokens === 'number' ? u.cache_creation_input_tokens : 0;
  const out: Usage = { input: Math.max(0, prompt - cached - write), output: typeof u.completion_tokens === 'number' ? u.completion_tokens : 0, cacheRead: cached, cacheWrite: write };
  const reasoning = isObj(u.completion_tokens_details) ? u.completion_tokens_details.reasoning_tokens : undefined;
  if (typeof reasoning === 'number' && reasoning > 0) out.reasoning = reasoning;
  return out;
}

/** Canonical usage → OpenAI's, with cache reads in cached_tokens only (never writes: Bifrost PR #4970). */
export function usageToOpenAI(u: Usage): Obj {
  const prompt = u.input + u.cacheRead + u.cacheWrite;
  const out: Obj = { prompt_tokens: prompt, completion_tokens: u.output, total_tokens: prompt + u.output, prompt_tokens_details: { cached_tokens: u.cacheRead } };
  if (u.reasoning !== undefined && u.reasoning > 0) out.completion_tokens_details = { reasoning_tokens: u.reasoning };
  // No OpenAI field for cache writes; kept as LiteLLM and Portkey do, so cost can be computed.
  if (u.cacheWrite > 0) out.cache_creation_input_tokens = u.cacheWrite;
  return out;
}

function badAnswer(why: string): GatewayError {
  return new GatewayError('upstream_bad_response', `The provider's answer is not a chat completion: ${why}.`);
}

export function completionToCanonical(body: Buffer): CanonicalResponse {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw badAnswer('not JSON');
  }
  if (!isObj(j) || !Array.isArray(j.choices)) throw badAnswer('no choices');
  const choice = j.choices[0];
  const failed = isObj(choice) ? FAILED_FINISH.get(choice.finish_reason) : undefined;
  if (failed !== undefined) {
    const why = `The provider ended the generation with finish_reason '${String((choice as Obj).finish_reason)}'.`;
    throw failed === 'overloaded_error' ? new GatewayError('upstream_overloaded', why, { upstreamStatus: 529 }) : new GatewayError('upstream_error', why);
  }
  const m = isObj(choice) && isObj(choice.message) ? choice.message : {};
  const content: Block[] = [];
  if (Array.isArray(m.thinking_blocks)) {
    for (const t of m.thinking_blocks) {
      if (isObj(t) && t.type === 'thinking' && typeof t.thinking === 'string') content.push({ type: 'thinking', thinking: t.thinking, signature: typeof t.signature === 'string' ? t.signature : '' });
      else if (isObj(t) && t.type === 'redacted_thinking' && typeof t.data === 'string') content.push({ type: 'redacted_thinking', data: t.data });
    }
  } else if (typeof m.reasoning_content === 'string' && m.reasoning_content !== '') {
    // An OpenAI-compatible reasoning model's own reasoning (DeepSeek, vLLM, Groq: reasoning_content),
    // with no signed blocks beside it: a thinking block no one signed, as the stream decoder makes of
    // its deltas, so an answer and a stream of it agree.
    content.push({ type: 'thinking', thinking: m.reasoning_content, signature: '' });
  }
  if (typeof m.content === 'string' && m.content !== '') content.push({ type: 'text', text: m.content });
  const calls = Array.isArray(m.tool_calls) ? m.tool_calls : [];
  for (const c of calls) {
    if (!isObj(c) || !isObj(c.function)) continue;
    let input: Record<string, unknown> = {};
    try {
      const v = JSON.parse(typeof c.function.arguments === 'string' && c.function.arguments !== '' ? c.function.arguments : '{}');
      if (isObj(v)) input = v;
    } catch {
      // Arguments a model cut short stay unparsed: the client gets {} rather than no tool call.
    }
    const use: Block = { type: 'tool_use', id: typeof c.id === 'string' ? c.id : '', name: typeof c.function.name === 'string' ? c.function.name : '', input };
    if (typeof c.function.arguments === 'string' && c.function.arguments !== '') use.arguments = c.function.arguments;
    content.push(use);
  }
  const out: CanonicalResponse = {
    id: typeof j.id === 'string' ? j.id : '',
    model: typeof j.model === 'string' ? j.model : '',
    content,
    stopReason: stopReason(isObj(choice) ? choice.finish_reason : null, calls.length > 0),
    stopSequence: null,
    usage: usageFromOpenAI(j.usage),
  };
  if (typeof m.refusal === 'string' && m.refusal !== '') out.refusal = m.refusal;
  return out;
}

/** A tool call; Gemini's thought signature goes where Google's OpenAI-compatible endpoint puts it. */
function toolCall(id: string, name: string, args: string, signature: string | undefined): Obj {
  const call: Obj = { id, type: 'function', function: { name, arguments: args } };
  if (signature !== undefined) call.extra_content = { google: { thought_signature: signature } };
  return call;
}

export function completionFromCanonical(r: CanonicalResponse, created: number): string {
  let text = '';
  let reasoning = '';
  const thinking: Obj[] = [];
  const calls: Obj[] = [];
  for (const b of r.content) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'tool_use') calls.push(toolCall(b.id, b.name, JSON.stringify(b.input), b.signature));
    else if (b.type === 'thinking') {
      reasoning += b.thinking;
      // Only signed reasoning can be handed back (Gemini's thought summaries carry no signature).
      if (b.signature !== '') thinking.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    } else if (b.type === 'redacted_thinking') thinking.push({ type: 'redacted_thinking', data: b.data });
  }
  const message: Obj = { role: 'assistant', content: text === '' ? null : text, refusal: r.refusal ?? null };
  // One documented slot for reasoning state (README "Thinking"): LiteLLM's shape, so the next turn
  // can hand the blocks back and the provider gets them byte-exact.
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (thinking.length > 0) message.thinking_blocks = thinking;
  if (calls.length > 0) message.tool_calls = calls;
  const out: Obj = {
    id: r.id,
    object: 'chat.completion',
    created,
    model: r.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(r.stopReason) }],
  };
  if (r.usage !== null) out.usage = usageToOpenAI(r.usage);
  return JSON.stringify(out);
}
