// OpenAI chat.completion.chunk streams ↔ canonical stream events.
// https://platform.openai.com/docs/api-reference/chat-streaming; providers.md §1.9, §1.10, §4.3.
import type { CanonicalRequest, StopReason, StreamEvent, Usage } from '../canonical.ts';
import type { StreamDecoder, StreamEncoder } from '../format.ts';
import { FAILED_FINISH, finishReason, stopReason, usageFromOpenAI, usageToOpenAI } from './response.ts';
import { isObj } from '../../util/json-object.ts';

/**
 * Chunks from an OpenAI-format provider → canonical events. Tool calls are keyed by the chunk's own
 * `index`; the finish waits for the end, because usage comes in a later chunk and a `stop` on a turn
 * that called tools must become tool_use (providers.md §1.10).
 */
export class OpenAIStreamDecoder implements StreamDecoder {
  private started = false;
  private tools = 0;
  /** OpenAI tool index → canonical tool index (the order the calls appeared in). */
  private readonly toolIndex = new Map<number, number>();
  /** OpenAI tool index → the id of the call there now. */
  private readonly toolId = new Map<number, string>();
  private finish: unknown = undefined;
  private usage: Usage | null = null;
  private ended = false;

  decode(_event: string, data: string, out: StreamEvent[]): void {
    if (this.ended) return;
    if (data === '[DONE]') {
      // [DONE] before any chunk (an empty stream, or only chunks that were not JSON) is no answer: no
      // end is reported, so the attempt fails as a stream cut before its first event, and fails over,
      // as it does for the other formats. Finishing it gave an Anthropic client a message_delta and a
      // message_stop with no message_start, and a 200.
      if (this.started) this.finishStream(out);
      else this.ended = true;
      return;
    }
    let j: unknown;
    try {
      j = JSON.parse(data);
    } catch {
      return; // a keep-alive or a provider's comment-as-data: nothing to say
    }
    if (!isObj(j)) return;
    if (isObj(j.error)) {
      const e = j.error;
      out.push({ type: 'error', errorType: typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : 'api_error', message: typeof e.message === 'string' ? e.message : 'The provider reported an error.' });
      this.ended = true;
      return;
    }
    // Groq's older streams put it under x_groq (providers.md: the OpenAI-compatible family).
    const u = usageFromOpenAI(j.usage ?? (isObj(j.x_groq) ? j.x_groq.usage : undefined));
    if (u !== null) this.usage = u;
    if (!this.started) {
      this.started = true;
      // A server that reports usage on every chunk (vLLM's continuous usage) knows the prompt's size at
      // once: an Anthropic client's message_start says so.
      out.push({ type: 'start', id: typeof j.id === 'string' ? j.id : '', model: typeof j.model === 'string' ? j.model : '', usage: u });
    }
    // Azure sends a first chunk with no choices (prompt filter results); usage chunks have none either.
    const choice = Array.isArray(j.choices) ? j.choices[0] : undefined;
    if (!isObj(choice)) return;
    const d = isObj(choice.delta) ? choice.delta : {};
    if (typeof d.reasoning_content === 'string' && d.reasoning_content !== '') out.push({ type: 'thinking', text: d.reasoning_content });
    if (typeof d.content === 'string' && d.content !== '') out.push({ type: 'text', text: d.content });
    // A refusal streams in delta.refusal beside the content (structured outputs), then finishes with
    // `stop`, as message.refusal does in an answer (providers.md §1.4).
    if (typeof d.refusal === 'string' && d.refusal !== '') out.push({ type: 'refusal', text: d.refusal });
    if (Array.isArray(d.tool_calls)) {
      for (const c of d.tool_calls) {
        if (!isObj(c)) continue;
        const key = typeof c.index === 'number' ? c.index : 0;
        const f = isObj(c.function) ? c.function : {};
        const id = typeof c.id === 'string' ? c.id : '';
        let index = this.toolIndex.get(key);
        // Another id at an index already used is another call: Ollama, SGLang and Dynamo stream parallel
        // calls all at index 0 (ollama/ollama#15457), and merging them made one call whose arguments
        // were two JSON objects end to end (providers.md §5.1, LiteLLM #1275's class).
        if (index === undefined || (id !== '' && this.toolId.get(key) !== '' && this.toolId.get(key) !== id)) {
          index = this.tools++;
          this.toolIndex.set(key, index);
          this.toolId.set(key, id);
          out.push({ type: 'tool_start', index, id, name: typeof f.name === 'string' ? f.name : '' });
        } else if (id !== '' && this.toolId.get(key) === '') this.toolId.set(key, id);
        if (typeof f.arguments === 'string' && f.arguments !== '') out.push({ type: 'tool_args', index, fragment: f.arguments });
      }
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.finish = choice.finish_reason;
  }

  private finishStream(out: StreamEvent[]): void {
    this.ended = true;
    const failed = FAILED_FINISH.get(this.finish);
    if (failed !== undefined) {
      out.push({ type: 'error', errorType: failed, message: `The provider ended the generation with finish_reason '${String(this.finish)}'.` });
      return;
    }
    const reason: StopReason = stopReason(this.finish, this.tools > 0);
    out.push({ type: 'finish', stopReason: reason, stopSequence: null });
    if (this.usage !== null) out.push({ type: 'usage', usage: this.usage });
    out.push({ type: 'end' });
  }
}

/** Canonical events → chat.completion.chunk events for an OpenAI-dialect client. */
export class OpenAIStreamEncoder implements StreamEncoder {
  /** `"id":…,"object":…,"created":…,"model":…` once the start is known: every chunk repeats it. */
  private head = '';
  private usage: Usage | null = null;
  private readonly includeUsage: boolean;
  private readonly created: number;
  /** Tool calls that received no argument fragment yet: each gets "{}" when the turn ends (LiteLLM #19858). */
  private readonly argless = new Set<number>();
  /** Text of the thinking block in progress, sent again whole with its signature. */
  private thinking = '';

  constructor(req: CanonicalRequest, created: number) {
    this.includeUsage = req.includeUsage;
    this.created = created;
  }

  private chunk(delta: string, finish: string | null = null): string {
    return `data: {${this.head},"choices":[{"index":0,"delta":${delta},"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
  }

  encode(e: StreamEvent): string {
    switch (e.type) {
      case 'start':
        this.head = `"id":${JSON.stringify(e.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(e.model)}`;
        if (e.usage !== null) this.usage = e.usage;
        return this.chunk('{"role":"assistant","content":""}');
      case 'text':
        return this.chunk(`{"content":${JSON.stringify(e.text)}}`);
      case 'refusal':
        return this.chunk(`{"refusal":${JSON.stringify(e.text)}}`);
      case 'thinking':
        this.thinking += e.text;
        return this.chunk(`{"reasoning_content":${JSON.stringify(e.text)}}`);
      case 'signature': {
        // The block whole, its text with its signature: a client that sends thinking_blocks back on
        // the next tool turn must send what was signed, or the provider refuses the turn (providers.md
        // §1.3, §1.11). A non-streamed answer carries the same block.
        const block = `{"thinking_blocks":[{"type":"thinking","thinking":${JSON.stringify(this.thinking)},"signature":${JSON.stringify(e.signature)}}]}`;
        this.thinking = '';
        return this.chunk(block);
      }
      case 'redacted_thinking':
        return this.chunk(`{"thinking_blocks":[{"type":"redacted_thinking","data":${JSON.stringify(e.data)}}]}`);
      case 'tool_start':
        if (e.args === undefined) this.argless.add(e.index);
        return this.chunk(`{"tool_calls":[{"index":${e.index},"id":${JSON.stringify(e.id)},"type":"function","function":{"name":${JSON.stringify(e.name)},"arguments":${JSON.stringify(e.args ?? '')}}${e.signature === undefined ? '' : `,"extra_content":{"google":{"thought_signature":${JSON.stringify(e.signature)}}}`}}]}`);
      case 'tool_args':
        this.argless.delete(e.index);
        return this.chunk(`{"tool_calls":[{"index":${e.index},"function":{"arguments":${JSON.stringify(e.fragment)}}}]}`);
      case 'finish': {
        let out = '';
        for (const i of this.argless) out += this.chunk(`{"tool_calls":[{"index":${i},"function":{"arguments":"{}"}}]}`);
        this.argless.clear();
        return out + this.chunk('{}', finishReason(e.stopReason));
      }
      case 'usage':
        this.usage = e.usage;
        return '';
      case 'end':
        return (this.includeUsage && this.usage !== null ? `data: {${this.head},"choices":[],"usage":${JSON.stringify(usageToOpenAI(this.usage))}}\n\n` : '') + 'data: [DONE]\n\n';
      case 'error':
        // Rendered by the gateway's error boundary (formats/errors.ts), which also records the failure.
        return '';
    }
  }
}
