// Anthropic Messages streams ↔ canonical stream events.
// https://docs.anthropic.com/en/docs/build-with-claude/streaming; providers.md §1.5, §1.9, §1.10.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CanonicalRequest, StopReason, StreamEvent, Usage } from '../canonical.ts';
import type { StreamDecoder, StreamEncoder } from '../format.ts';
import { sseEvent } from '../sse.ts';
import { stopReasonOf, usageFromAnthropic } from './response.ts';
import { isObj } from '../../util/json-object.ts';

/**
 * Events from an Anthropic provider → canonical ones. Its state is the map from content-block index
 * to tool-call index (text and thinking blocks take block indices too: Portkey #1275, LiteLLM
 * #15884), which tool blocks got arguments (a zero-argument tool gets "{}", LiteLLM #19858), and the
 * usage, which is cumulative: the latest values win and nothing is added up (Bifrost #5354).
 */
export class AnthropicStreamDecoder implements StreamDecoder {
  private nextTool = 0;
  /** Block index → tool index, for tool_use blocks; -1 for the others. */
  private readonly blockTool: number[] = [];
  private readonly toolHasArgs: boolean[] = [];
  private usage: Usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  private stop: StopReason = 'end_turn';
  private stopSequence: string | null = null;

  decode(_event: string, data: string, out: StreamEvent[]): void {
    let j: unknown;
    try {
      j = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObj(j)) return;
    switch (j.type) {
      case 'message_start': {
        const m = isObj(j.message) ? j.message : {};
        const u = usageFromAnthropic(m.usage);
        if (u !== null) this.usage = u;
        out.push({ type: 'start', id: typeof m.id === 'string' ? m.id : '', model: typeof m.model === 'string' ? m.model : '', usage: u });
        return;
      }
      case 'content_block_start': {
        const index = typeof j.index === 'number' ? j.index : 0;
        const b = isObj(j.content_block) ? j.content_block : {};
        if (b.type === 'tool_use') {
          const t = this.nextTool++;
          this.blockTool[index] = t;
          this.toolHasArgs[t] = false;
          out.push({ type: 'tool_start', index: t, id: typeof b.id === 'string' ? b.id : '', name: typeof b.name === 'string' ? b.name : '' });
        } else {
          this.blockTool[index] = -1;
          if (b.type === 'redacted_thinking' && typeof b.data === 'string') out.push({ type: 'redacted_thinking', data: b.data });
          else if (b.type === 'text' && typeof b.text === 'string' && b.text !== '') out.push({ type: 'text', text: b.text });
        }
        return;
      }
      case 'content_block_delta': {
        const d = isObj(j.delta) ? j.delta : {};
        const index = typeof j.index === 'number' ? j.index : 0;
        switch (d.type) {
          case 'text_delta':
            if (typeof d.text === 'string' && d.text !== '') out.push({ type: 'text', text: d.text });
            return;
          case 'input_json_delta': {
            const t = this.blockTool[index] ?? -1;
            if (t >= 0 && typeof d.partial_json === 'string' && d.partial_json !== '') {
              this.toolHasArgs[t] = true;
              out.push({ type: 'tool_args', index: t, fragment: d.partial_json });
            }
            return;
          }
          case 'thinking_delta':
            if (typeof d.thinking === 'string' && d.thinking !== '') out.push({ type: 'thinking', text: d.thinking });
            return;
          case 'signature_delta':
            if (typeof d.signature === 'string') out.push({ type: 'signature', signature: d.signature });
            return;
          default:
            return; // citations_delta and delta types yet to come
        }
      }
      case 'content_block_stop': {
        const t = this.blockTool[typeof j.index === 'number' ? j.index : 0] ?? -1;
        if (t >= 0 && !this.toolHasArgs[t]) {
          this.toolHasArgs[t] = true;
          out.push({ type: 'tool_args', index: t, fragment: '{}' });
        }
        return;
      }
      case 'message_delta': {
        const d = isObj(j.delta) ? j.delta : {};
        if (d.stop_reason !== undefined && d.stop_reason !== null) this.stop = stopReasonOf(d.stop_reason);
        if (typeof d.stop_sequence === 'string') this.stopSequence = d.stop_sequence;
        const u = isObj(j.usage) ? j.usage : {};
        // Cumulative counts: replace, never add. Fields left out or null keep their last value.
        if (typeof u.output_tokens === 'number') this.usage.output = u.output_tokens;
        if (typeof u.input_tokens === 'number') this.usage.input = u.input_tokens;
        if (typeof u.cache_read_input_tokens === 'number') this.usage.cacheRead = u.cache_read_input_tokens;
        if (typeof u.cache_creation_input_tokens === 'number') this.usage.cacheWrite = u.cache_creation_input_tokens;
        return;
      }
      case 'message_stop':
        out.push({ type: 'finish', stopReason: this.stop, stopSequence: this.stopSequence }, { type: 'usage', usage: { ...this.usage } }, { type: 'end' });
        return;
      case 'error': {
        const e = isObj(j.error) ? j.error : {};
        out.push({ type: 'error', errorType: typeof e.type === 'string' ? e.type : 'api_error', message: typeof e.message === 'string' ? e.message : 'The provider reported an error.' });
        return;
      }
      default:
        return; // ping, and event types yet to come (they must be tolerated: providers.md §1.5)
    }
  }
}

type OpenBlock = 'none' | 'text' | 'thinking' | 'tool';

/**
 * Canonical events → the named Anthropic events an Anthropic-dialect client expects: message_start
 * first, blocks opened and closed with increasing indices (a text block, then one tool_use block per
 * tool call), message_delta with the stop reason and usage, message_stop.
 */
export class AnthropicStreamEncoder implements StreamEncoder {
  private block = -1;
  private open: OpenBlock = 'none';
  private openTool = -1;
  private stop: StopReason = 'end_turn';
  private stopSequence: string | null = null;
  private usage: Usage | null = null;
  /** The provider streamed a refusal: the turn ends as one, as a translated answer does (response.ts). */
  private refused = false;
  constructor(_req: CanonicalRequest) {}

  private close(): string {
    if (this.open === 'none') return '';
    this.open = 'none';
    this.openTool = -1;
    return sseEvent('content_block_stop', `{"type":"content_block_stop","index":${this.block}}`);
  }

  private start(kind: OpenBlock, block: string): string {
    const out = this.close();
    this.block++;
    this.open = kind;
    return out + sseEvent('content_block_start', `{"type":"content_block_start","index":${this.block},"content_block":${block}}`);
  }

  private delta(delta: string): string {
    return sseEvent('content_block_delta', `{"type":"content_block_delta","index":${this.block},"delta":${delta}}`);
  }

  private text(text: string): string {
    return (this.open === 'text' ? '' : this.start('text', '{"type":"text","text":""}')) + this.delta(`{"type":"text_delta","text":${JSON.stringify(text)}}`);
  }

  encode(e: StreamEvent): string {
    switch (e.type) {
      case 'start': {
        this.usage = e.usage;
        const usage = `{"input_tokens":${e.usage?.input ?? 0},"output_tokens":0}`;
        return sseEvent('message_start', `{"type":"message_start","message":{"id":${JSON.stringify(e.id)},"type":"message","role":"assistant","model":${JSON.stringify(e.model)},"content":[],"stop_reason":null,"stop_sequence":null,"usage":${usage}}}`);
      }
      case 'text':
        return this.text(e.text);
      case 'refusal':
        // Anthropic has no refusal apart from the text: the text in a block, and the refusal stop reason
        // (providers.md §1.4).
        this.refused = true;
        return this.text(e.text);
      case 'thinking':
        return (this.open === 'thinking' ? '' : this.start('thinking', '{"type":"thinking","thinking":"","signature":""}')) + this.delta(`{"type":"thinking_delta","thinking":${JSON.stringify(e.text)}}`);
      case 'signature':
        return (this.open === 'thinking' ? '' : this.start('thinking', '{"type":"thinking","thinking":"","signature":""}')) + this.delta(`{"type":"signature_delta","signature":${JSON.stringify(e.signature)}}`) + this.close();
      case 'redacted_thinking':
        return this.start('none', `{"type":"redacted_thinking","data":${JSON.stringify(e.data)}}`) + sseEvent('content_block_stop', `{"type":"content_block_stop","index":${this.block}}`);
      case 'tool_start': {
        const out = this.start('tool', `{"type":"tool_use","id":${JSON.stringify(e.id)},"name":${JSON.stringify(e.name)},"input":{}}`);
        this.openTool = e.index;
        return e.args === undefined || e.args === '{}' ? out : out + this.delta(`{"type":"input_json_delta","partial_json":${JSON.stringify(e.args)}}`);
      }
      case 'tool_args':
        // Anthropic blocks cannot reopen: arguments for a tool whose block has closed have nowhere to
        // go. OpenAI streams finish one call before the next; a provider that interleaves fails here,
        // loudly, rather than losing arguments.
        if (this.open !== 'tool' || this.openTool !== e.index) {
          throw new GatewayError('upstream_bad_response', 'The provider interleaved the arguments of several tool calls, which an Anthropic stream cannot carry.');
        }
        return this.delta(`{"type":"input_json_delta","partial_json":${JSON.stringify(e.fragment)}}`);
      case 'finish':
        this.stop = this.refused ? 'refusal' : e.stopReason;
        this.stopSequence = e.stopSequence;
        return '';
      case 'usage':
        this.usage = e.usage;
        return '';
      case 'end': {
        const u = this.usage;
        const usage = u === null ? '{"output_tokens":0}' : `{"input_tokens":${u.input},"cache_read_input_tokens":${u.cacheRead},${u.cacheWrite > 0 ? `"cache_creation_input_tokens":${u.cacheWrite},` : ''}"output_tokens":${u.output}}`;
        return (
          this.close() +
          sseEvent('message_delta', `{"type":"message_delta","delta":{"stop_reason":${JSON.stringify(this.stop)},"stop_sequence":${JSON.stringify(this.stopSequence)}},"usage":${usage}}`) +
          sseEvent('message_stop', '{"type":"message_stop"}')
        );
      }
      case 'error':
        return '';
    }
  }
}
