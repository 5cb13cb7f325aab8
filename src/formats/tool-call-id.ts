// Anthropic and Bedrock refuse a tool-call id outside [a-zA-Z0-9_-]: "messages.1.content.0.tool_use.id:
// String should match pattern '^[a-zA-Z0-9_-]+$'" (Anthropic); Converse's ToolUseBlock.toolUseId has the
// same pattern and at most 64 characters. Other providers mint ids these refuse (Kimi and some
// OpenAI-compatible hosts: `functions.get_weather:0`), so a conversation begun there failed over to
// Claude with a 400 (BlockRunAI/ClawRouter #17, RooCodeInc/Roo-Code PR #10649). Such an id is renamed
// on the way out; the new one is a function of the old, so a call and the result answering it agree
// without any state, and the same history is sent the same way every time.
import { createHash } from 'node:crypto';

const SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

/** `id` when Anthropic and Bedrock take it; else its allowed characters (40 at most) and 16 hex digits of its SHA-256. */
export function safeToolId(id: string): string {
  if (SAFE.test(id)) return id;
  // The hash keeps apart ids that differ only in refused characters ("f:0" and "f.0").
  return `${id.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 40)}_${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

/** True when Anthropic and Bedrock take `id` as it is. */
export function isSafeToolId(id: string): boolean {
  return SAFE.test(id);
}
