// Bedrock ConverseStream events (each an event-stream message: eventstream.ts) → canonical events.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
// The usage comes in the `metadata` event after `messageStop` and must not be lost (providers.md §3.2):
// the turn is finished only then (or when the stream ends without it). Exceptions are errors.
import type { StopReason, StreamEvent, Usage } from '../canonical.ts';
import type { StreamDecoder } from '../format.ts';
import { stopReasonOf, usageOf } from './response.ts';
import { isObj } from '../../util/json-object.ts';

/** The event name the attempt gives an exception message: `exception:<exception type>`. */
export const EXCEPTION = 'exception:';

export class BedrockStreamDecoder implements StreamDecoder {
  private tools = 0;
  private readonly blockTool: number[] = [];
  private readonly toolHasArgs: boolean[] = [];
  private stop: unknown = null;
  private usage: Usage | null = null;
  private finished = false;

  decode(event: string, data: string, out: StreamEvent[]): void {
    let j: unknown;
    try {
      j = data === '' ? {} : JSON.parse(data);
    } catch {
      j = {};
    }
    const p = isObj(j) ? j : {};
    if (event.startsWith(EXCEPTION)) {
      out.push({ type: 'error', errorType: event.slice(EXCEPTION.length), message: typeof p.message === 'string' ? p.message : 'The provider reported an error.' });
      return;
    }
    const index = typeof p.contentBlockIndex === 'number' ? p.contentBlockIndex : 0;
    switch (event) {
      case 'messageStart':
        out.push({ type: 'start', id: '', model: '', usage: null });
        return;
      case 'contentBlockStart': {
        const start = isObj(p.start) ? p.start : {};
        if (isObj(start.toolUse)) {
          const t = this.tools++;
          this.blockTool[index] = t;
          this.toolHasArgs[t] = false;
          out.push({ type: 'tool_start', index: t, id: typeof start.toolUse.toolUseId === 'string' ? start.toolUse.toolUseId : '', name: typeof start.toolUse.name === 'string' ? start.toolUse.name : '' });
        }
        return;
      }
      case 'contentBlockDelta': {
        const d = isObj(p.delta) ? p.delta : {};
        if (typeof d.text === 'string') {
          if (d.text !== '') out.push({ type: 'text', text: d.text });
        } else if (isObj(d.toolUse)) {
          const t = this.blockTool[index] ?? -1;
          if (t >= 0 && typeof d.toolUse.input === 'string' && d.toolUse.input !== '') {
            this.toolHasArgs[t] = true;
            out.push({ type: 'tool_args', index: t, fragment: d.toolUse.input });
          }
        } else if (isObj(d.reasoningContent)) {
          const r = d.reasoningContent;
          if (typeof r.text === 'string' && r.text !== '') out.push({ type: 'thinking', text: r.text });
          if (typeof r.signature === 'string') out.push({ type: 'signature', signature: r.signature });
          if (typeof r.redactedContent === 'string') out.push({ type: 'redacted_thinking', data: r.redactedContent });
        }
        return;
      }
      case 'contentBlockStop': {
        const t = this.blockTool[index] ?? -1;
        if (t >= 0 && !this.toolHasArgs[t]) {
          this.toolHasArgs[t] = true;
          out.push({ type: 'tool_args', index: t, fragment: '{}' });
        }
        return;
      }
      case 'messageStop':
        this.stop = p.stopReason;
        return;
      case 'metadata':
        this.usage = usageOf(p.usage);
        if (this.stop !== null) this.finish(out);
        return;
      default:
        return;
    }
  }

  /** The stream ended: a messageStop without its metadata still finished the turn (usage unknown). */
  end(out: StreamEvent[]): void {
    if (this.stop !== null && !this.finished) this.finish(out);
  }

  private finish(out: StreamEvent[]): void {
    this.finished = true;
    const reason: StopReason = stopReasonOf(this.stop, this.tools > 0);
    out.push({ type: 'finish', stopReason: reason, stopSequence: null });
    if (this.usage !== null) out.push({ type: 'usage', usage: this.usage });
    out.push({ type: 'end' });
  }
}
