// Gemini streams (`:streamGenerateContent?alt=sse`: each event a whole GenerateContentResponse) →
// canonical events. Function calls arrive whole, in one part. There is no end marker: a stream whose
// last chunk carried a finishReason ended as it should (newer models send it in a trailing chunk of
// its own, which must not be skipped: LiteLLM #21041); usageMetadata is cumulative.
import type { StopReason, StreamEvent, Usage } from '../canonical.ts';
import type { StreamDecoder } from '../format.ts';
import { callIdPrefix, partsToBlocks, stopReasonOf, usageOf } from './response.ts';
import { isObj } from '../../util/json-object.ts';

export class GeminiStreamDecoder implements StreamDecoder {
  private started = false;
  private calls = 0;
  /** Ids of calls Gemini sent without one: this answer's prefix, then a number (response.ts callIdPrefix). */
  private idPrefix = '';
  private finish: unknown = null;
  private usage: Usage | null = null;

  decode(_event: string, data: string, out: StreamEvent[]): void {
    let j: unknown;
    try {
      j = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObj(j)) return;
    if (isObj(j.error)) {
      const e = j.error;
      out.push({ type: 'error', errorType: typeof e.status === 'string' ? e.status : 'INTERNAL', message: typeof e.message === 'string' ? e.message : 'The provider reported an error.' });
      return;
    }
    const u = usageOf(j.usageMetadata);
    if (u !== null) this.usage = u;
    if (!this.started) {
      this.started = true;
      this.idPrefix = callIdPrefix(j.responseId);
      // Gemini counts the prompt in its first chunk: an Anthropic client's message_start says so
      // (it said 0; providers.md §1.10, Vercel #17326).
      out.push({ type: 'start', id: typeof j.responseId === 'string' ? j.responseId : '', model: typeof j.modelVersion === 'string' ? j.modelVersion : '', usage: u });
    }
    const c = Array.isArray(j.candidates) ? j.candidates[0] : undefined;
    if (!isObj(c)) {
      // A prompt blocked mid-way (promptFeedback, no candidates): the stream ends filtered.
      if (isObj(j.promptFeedback) && j.promptFeedback.blockReason !== undefined) this.finish = 'SAFETY';
      return;
    }
    for (const b of partsToBlocks(isObj(c.content) ? c.content.parts : undefined, this.calls, this.idPrefix)) {
      if (b.type === 'text') out.push({ type: 'text', text: b.text });
      else if (b.type === 'thinking') {
        out.push({ type: 'thinking', text: b.thinking });
        if (b.signature !== '') out.push({ type: 'signature', signature: b.signature });
      } else if (b.type === 'tool_use') {
        const index = this.calls++;
        const args = JSON.stringify(b.input);
        out.push(b.signature === undefined ? { type: 'tool_start', index, id: b.id, name: b.name, args } : { type: 'tool_start', index, id: b.id, name: b.name, signature: b.signature, args });
      }
    }
    if (typeof c.finishReason === 'string' && c.finishReason !== 'FINISH_REASON_UNSPECIFIED') this.finish = c.finishReason;
  }

  /** The provider's stream ended: complete if some chunk said why it finished. */
  end(out: StreamEvent[]): void {
    if (this.finish === null) return;
    const reason: StopReason = stopReasonOf(this.finish, this.calls > 0);
    out.push({ type: 'finish', stopReason: reason, stopSequence: null });
    if (this.usage !== null) out.push({ type: 'usage', usage: this.usage });
    out.push({ type: 'end' });
  }
}
