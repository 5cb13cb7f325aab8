// The canonical answer → a Responses `Response` object (openai-node 6.49 `Response`). Blocks become
// output items in block order (README "Output items"): text → one message item each, tool_use → a
// function_call item, thinking → a reasoning item with the text as its summary and the signature as
// `encrypted_content` (README decision 9: the client hands it back and request.ts restores the block
// byte-exact: providers.md §1.11), redacted_thinking → a reasoning item with `redacted_thinking:<data>`.
// The last item of an incomplete answer is `incomplete`; the others `completed` (README decision 12).
import type { CanonicalResponse } from '../canonical.ts';
import { REDACTED_PREFIX } from './input.ts';
import { echoOf, envelope, functionCallItem, idToken, incompleteOf, messageItem, outputText, reasoningItem, summaryText } from './envelope.ts';

/** `created`: Unix seconds, read by the caller (the dialects are pure). */
export function responseFromCanonical(r: CanonicalResponse, client: Readonly<Record<string, unknown>> | undefined, created: number): string {
  const token = idToken(r.id, created);
  const incomplete = incompleteOf(r.stopReason);
  const blocks = r.content;
  // The block that becomes the last item: it alone may be `incomplete`.
  let last = -1;
  for (let i = blocks.length - 1; i >= 0 && last < 0; i--) {
    const b = blocks[i]!;
    if (b.type === 'tool_use' || (b.type === 'text' && b.text !== '')) last = i;
    else if (b.type === 'thinking' || b.type === 'redacted_thinking') break; // no status to mark
  }
  let output = '';
  let n = 0;
  const refusal = r.refusal;
  if (refusal !== undefined) last = blocks.length; // the refusal's message item comes last
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    const status = incomplete !== null && i === last ? 'incomplete' : 'completed';
    let item: string;
    switch (b.type) {
      case 'text':
        if (b.text === '') continue;
        item = messageItem(`msg_${token}_${n}`, status, outputText(JSON.stringify(b.text)));
        break;
      case 'tool_use':
        item = functionCallItem(`fc_${token}_${n}`, status, JSON.stringify(b.id), JSON.stringify(b.name), JSON.stringify(b.arguments ?? JSON.stringify(b.input)));
        break;
      case 'thinking':
        item = reasoningItem(`rs_${token}_${n}`, summaryText(JSON.stringify(b.thinking)), b.signature === '' ? 'null' : JSON.stringify(b.signature));
        break;
      case 'redacted_thinking':
        item = reasoningItem(`rs_${token}_${n}`, '', JSON.stringify(REDACTED_PREFIX + b.data));
        break;
      default:
        continue; // images, documents and tool results are never in an answer
    }
    output += n === 0 ? item : `,${item}`;
    n++;
  }
  if (refusal !== undefined) {
    const item = messageItem(`msg_${token}_${n}`, incomplete !== null ? 'incomplete' : 'completed', `{"type":"refusal","refusal":${JSON.stringify(refusal)}}`);
    output += n === 0 ? item : `,${item}`;
  }
  return envelope(token, created, incomplete === null ? 'completed' : 'incomplete', incomplete, JSON.stringify(r.model), echoOf(client), output, r.usage);
}
