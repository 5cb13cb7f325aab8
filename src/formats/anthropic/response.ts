// Anthropic Messages answers ↔ the canonical response. https://docs.anthropic.com/en/api/messages
// Usage: `input_tokens` excludes cache reads and writes (the SDK's own comment: the total input is
// the sum of the three), which is the canonical meaning. providers.md §1.4, §1.8.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalResponse, StopReason, Usage } from '../canonical.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

const STOP_REASONS = new Set<StopReason>(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal', 'model_context_window_exceeded']);

/** An unknown stop reason (the API adds them) ends the turn: end_turn, as Portkey does. */
export function stopReasonOf(v: unknown): StopReason {
  return typeof v === 'string' && STOP_REASONS.has(v as StopReason) ? (v as StopReason) : 'end_turn';
}

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function usageFromAnthropic(u: unknown): Usage | null {
  if (!isObj(u)) return null;
  const out: Usage = { input: int(u.input_tokens), output: int(u.output_tokens), cacheRead: int(u.cache_read_input_tokens), cacheWrite: int(u.cache_creation_input_tokens) };
  // output_tokens_details.thinking_tokens: an observability breakdown of output_tokens (providers.md §1.4).
  const thinking = isObj(u.output_tokens_details) ? u.output_tokens_details.thinking_tokens : undefined;
  if (typeof thinking === 'number' && thinking > 0) out.reasoning = thinking;
  return out;
}

export function usageToAnthropic(u: Usage): Obj {
  const out: Obj = { input_tokens: u.input, output_tokens: u.output, cache_read_input_tokens: u.cacheRead };
  if (u.cacheWrite > 0) out.cache_creation_input_tokens = u.cacheWrite;
  return out;
}

/** The blocks a client of another format can be given: server-tool blocks stay at Anthropic. */
const KEPT = new Set(['text', 'tool_use', 'thinking', 'redacted_thinking']);

export function messageToCanonical(body: Buffer): CanonicalResponse {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('upstream_bad_response', "The provider's answer is not JSON.");
  }
  if (!isObj(j) || !Array.isArray(j.content)) throw new GatewayError('upstream_bad_response', "The provider's answer is not a Messages response: no content.");
  return {
    id: typeof j.id === 'string' ? j.id : '',
    model: typeof j.model === 'string' ? j.model : '',
    content: (j.content as unknown[]).filter((b): b is Block => isObj(b) && typeof b.type === 'string' && KEPT.has(b.type)),
    stopReason: stopReasonOf(j.stop_reason),
    stopSequence: typeof j.stop_sequence === 'string' ? j.stop_sequence : null,
    usage: usageFromAnthropic(j.usage),
  };
}

export function messageFromCanonical(r: CanonicalResponse): string {
  // A Gemini tool call's signature is not an Anthropic field.
  const content: Block[] = r.content.map((b) => (b.type === 'tool_use' && (b.signature !== undefined || b.arguments !== undefined) ? { type: 'tool_use', id: b.id, name: b.name, input: b.input } : b));
  // OpenAI puts a refusal beside the content (message.refusal, content null); Anthropic has the
  // refusal stop reason and the text in a block (providers.md §1.4). Without this the client got an
  // empty answer that ended normally.
  const refused = r.refusal !== undefined && r.refusal !== '';
  if (refused && !content.some((b) => b.type === 'text' && b.text !== '')) content.push({ type: 'text', text: r.refusal! });
  return JSON.stringify({
    id: r.id,
    type: 'message',
    role: 'assistant',
    model: r.model,
    content,
    stop_reason: refused ? 'refusal' : r.stopReason,
    stop_sequence: r.stopSequence,
    usage: usageToAnthropic(r.usage ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }),
  });
}
