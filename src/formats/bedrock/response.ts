// Bedrock Converse answers → canonical. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
// Usage follows Anthropic's meaning: inputTokens excludes cache reads and writes.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalResponse, StopReason, Usage } from '../canonical.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function stopReasonOf(v: unknown, hadTools: boolean): StopReason {
  switch (v) {
    case 'max_tokens':
      return 'max_tokens';
    case 'tool_use':
      return 'tool_use';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'refusal';
    case 'model_context_window_exceeded':
      return 'model_context_window_exceeded';
    case 'stop_sequence':
      return hadTools ? 'tool_use' : 'stop_sequence';
    default:
      return hadTools ? 'tool_use' : 'end_turn';
  }
}

export function usageOf(u: unknown): Usage | null {
  if (!isObj(u)) return null;
  return { input: int(u.inputTokens), output: int(u.outputTokens), cacheRead: int(u.cacheReadInputTokens), cacheWrite: int(u.cacheWriteInputTokens) };
}

/** One Converse content block → a canonical block, or null for the kinds a client cannot be given. */
export function blockOf(b: unknown): Block | null {
  if (!isObj(b)) return null;
  if (typeof b.text === 'string') return b.text === '' ? null : { type: 'text', text: b.text };
  if (isObj(b.toolUse)) {
    const t = b.toolUse;
    return { type: 'tool_use', id: typeof t.toolUseId === 'string' ? t.toolUseId : '', name: typeof t.name === 'string' ? t.name : '', input: isObj(t.input) ? t.input : {} };
  }
  if (isObj(b.reasoningContent)) {
    const r = b.reasoningContent;
    if (isObj(r.reasoningText)) return { type: 'thinking', thinking: typeof r.reasoningText.text === 'string' ? r.reasoningText.text : '', signature: typeof r.reasoningText.signature === 'string' ? r.reasoningText.signature : '' };
    if (typeof r.redactedContent === 'string') return { type: 'redacted_thinking', data: r.redactedContent };
  }
  return null;
}

export function converseToCanonical(body: Buffer): CanonicalResponse {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('upstream_bad_response', "The provider's answer is not JSON.");
  }
  const message = isObj(j) && isObj(j.output) && isObj(j.output.message) ? j.output.message : null;
  if (message === null || !Array.isArray(message.content)) throw new GatewayError('upstream_bad_response', "The provider's answer is not a Converse response: no output message.");
  const content = message.content.map(blockOf).filter((b): b is Block => b !== null);
  const o = j as Obj;
  return {
    // Converse answers carry no id or model: the gateway fills them in (upstream/attempt.ts).
    id: '',
    model: '',
    content,
    stopReason: stopReasonOf(o.stopReason, content.some((b) => b.type === 'tool_use')),
    stopSequence: null,
    usage: usageOf(o.usage),
  };
}
