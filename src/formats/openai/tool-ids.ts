// Mistral refuses a tool-call id that is not exactly nine characters of [a-zA-Z0-9]: "Tool call id was
// call_… but must be a-z, A-Z, 0-9, with a length of 9" (providers.md §4.3; langchain PR #24668,
// opencode #1680). History written by another provider (`call_…`, `toolu_…`) is therefore renamed on the
// way in. The new id is a hash of the old one, so an assistant turn's call and the tool message answering
// it agree without any state, and the same conversation sent twice is sent the same way.
import { createHash } from 'node:crypto';
import { isObj, type Obj } from '../../util/json-object.ts';

const NINE = /^[a-zA-Z0-9]{9}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Nine base-62 characters from SHA-256 of `id` (53 bits: collisions within one conversation are negligible). */
export function nineCharId(id: string): string {
  if (NINE.test(id)) return id;
  const h = createHash('sha256').update(id).digest();
  let out = '';
  for (let i = 0; i < 9; i++) out += ALPHABET[h[i]! % 62];
  return out;
}

/** Renames every tool-call id in an OpenAI chat body's messages that Mistral would refuse; true if any was. */
export function renameToolIds(body: Obj): boolean {
  const messages = body.messages;
  if (!Array.isArray(messages)) return false;
  let changed = false;
  const rename = (id: unknown): unknown => {
    if (typeof id !== 'string' || NINE.test(id)) return id;
    changed = true;
    return nineCharId(id);
  };
  for (const m of messages) {
    if (!isObj(m)) continue;
    if (m.role === 'tool') m.tool_call_id = rename(m.tool_call_id);
    if (Array.isArray(m.tool_calls)) for (const c of m.tool_calls) if (isObj(c)) c.id = rename(c.id);
  }
  return changed;
}
