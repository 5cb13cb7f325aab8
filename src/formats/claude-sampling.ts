// Thinking, temperature, top_p and top_k as Claude takes them, on Anthropic's API and on Bedrock: one
// rule for both adapters (anthropic/request.ts, bedrock/request.ts).
import type { CanonicalField, CanonicalRequest, Thinking } from './canonical.ts';

/** Claude's smallest thinking budget (providers.md §1.2: budget_tokens ≥ 1024 and < max_tokens). */
export const MIN_THINKING_BUDGET = 1024;

/**
 * The thinking Claude gets:
 * - none when the tool choice forces a tool, which Claude refuses with thinking on ("Thinking may not be
 *   enabled when tool_choice forces tool use"; providers.md §1.2, Bifrost PR #3685). The forced call is
 *   what the client cannot do without; the reasoning is the part it can;
 * - inside the client's max_tokens when it set one: Claude counts thinking in max_tokens, as OpenAI
 *   counts reasoning in max_completion_tokens, so a budget the cap cannot hold is halved to leave the
 *   answer room (never under 1024), and with a cap of 1024 or less there is no thinking. Raising the cap
 *   to fit the budget instead (reasoning_effort "low" turned max_tokens 100 into 5120) let an answer
 *   cost 50 times what the client allowed. Without a cap the adapter raises its own default.
 */
export function claudeThinking(r: CanonicalRequest): Thinking | null {
  const t = r.thinking;
  if (t === null || t.type === 'disabled') return t;
  const forced = r.toolChoice !== null && (r.toolChoice.type === 'any' || r.toolChoice.type === 'tool');
  if (forced) return null;
  if (t.type !== 'enabled' || r.maxTokens === null || r.maxTokens > t.budget_tokens) return t;
  if (r.maxTokens <= MIN_THINKING_BUDGET) return null;
  return { type: 'enabled', budget_tokens: Math.max(MIN_THINKING_BUDGET, Math.floor(r.maxTokens / 2)) };
}

/**
 * The sampling fields Claude accepts, on Anthropic's API and on Bedrock alike:
 * - temperature is clamped to 0–1 (OpenAI's runs to 2; Anthropic's own compatibility layer caps it);
 * - top_p is left out when temperature is set: Claude Sonnet 4.5 and later refuse both at once
 *   ("`temperature` and `top_p` cannot both be specified for this model", LiteLLM #15097, open-webui
 *   #17922), Anthropic always advised one or the other, and many SDKs send both. Temperature wins, as in
 *   Bifrost (providers.md §1.7);
 * - with thinking on, temperature stays at its default and top_k is not set, and top_p only from 0.95
 *   up (Anthropic's extended-thinking docs; providers.md §1.2): a request valid for the provider it
 *   was meant for must not fail when it fails over to Claude.
 */
export function claudeSampling(r: CanonicalRequest, effective: Thinking | null = claudeThinking(r)): { temperature: number | null; topP: number | null; topK: number | null } {
  const thinking = effective !== null && effective.type !== 'disabled';
  let temperature = r.temperature === null ? null : Math.min(1, Math.max(0, r.temperature));
  if (thinking && temperature !== 1) temperature = null;
  const topP = r.topP === null || temperature !== null || (thinking && r.topP < 0.95) ? null : r.topP;
  return { temperature, topP, topK: thinking ? null : r.topK };
}

/** What Claude's rules left out of what the client set (thinking, and the sampling above), onto `dropped`. */
export function claudeDropped(r: CanonicalRequest, thinking: Thinking | null, s: { temperature: number | null; topP: number | null; topK: number | null }, dropped: CanonicalField[]): void {
  if (r.thinking !== null && thinking === null) dropped.push('thinking');
  if (r.temperature !== null && s.temperature === null) dropped.push('temperature');
  if (r.topP !== null && s.topP === null) dropped.push('top_p');
  if (r.topK !== null && s.topK === null) dropped.push('top_k');
}

/** Stop sequences Claude takes: whitespace-only ones are refused (providers.md §1.2); a removal is named in `dropped`. */
export function claudeStops(stop: string[] | null, dropped: CanonicalField[]): string[] | null {
  if (stop === null) return null;
  const kept = stop.filter((s) => s.trim() !== '');
  if (kept.length < stop.length) dropped.push('stop');
  return kept;
}
