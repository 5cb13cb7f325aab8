// Small pieces of the request flow that every dialect's route shares (server.ts for OpenAI and Anthropic,
// gemini-route.ts for Gemini): body parsing, where a stream stops, how big an answer is.

import type { Behavior } from './config.ts';
import type { StreamEnd } from './exchange.ts';

/** A JSON object, or null for anything else. */
export function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A stream that stalls or disconnects after N content chunks stops before the finish event. */
export function streamStop(b: Behavior, start: number, total: number, chunks = b.streamChunks): { limit: number; end: StreamEnd } {
  const { stallAfterChunks: stall, disconnectAfterChunks: cut } = b;
  const last = start + chunks;
  if (stall >= 0 && (cut < 0 || stall <= cut)) return { limit: Math.min(start + stall, last), end: 'stall' };
  if (cut >= 0) return { limit: Math.min(start + cut, last), end: 'disconnect' };
  return { limit: total, end: 'complete' };
}

/** Answer size: the responseBytes knob when set (config, key or header), else ~4 bytes per max tokens
 *  (the request's max_tokens, max_completion_tokens or maxOutputTokens), else 200 B. */
export function answerBytes(b: Behavior, maxTokens: unknown): number {
  if (b.responseBytesSet) return b.responseBytes;
  return typeof maxTokens === 'number' && maxTokens > 0 ? Math.min(maxTokens * 4, 1 << 20) : b.responseBytes;
}
