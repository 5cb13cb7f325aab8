// One translated stream: the provider's SSE events through its codec's decoder into canonical events,
// and through the client's dialect encoder into the client's SSE bytes. Pure: text in, text out,
// with the state of both sides held here for the life of the stream.
import type { StreamEvent, Usage } from './canonical.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { StreamDecoder, StreamEncoder } from './format.ts';
import { forEachEvent } from './sse.ts';

/**
 * Whether an event carries part of the answer: all but the start and usage, which a provider sends
 * before it has produced anything (OpenAI's role-only first chunk, Anthropic's message_start).
 */
export const carriesAnswer = (e: StreamEvent): boolean => e.type !== 'start' && e.type !== 'usage';

export class StreamTranslation {
  /** The provider's stream ended as it should (its own end marker arrived). */
  ended = false;
  /** Some part of the answer has come (carriesAnswer): until then the gateway may still fail over. */
  answering = false;
  /** The latest usage the provider reported (cumulative: each replaces the last). */
  usage: Usage | null = null;
  /** The provider's in-stream error, when it sent one: translation stops there. */
  error: { errorType: string; message: string } | null = null;
  private readonly events: StreamEvent[] = [];
  /** Bound once per stream, handed to the SSE reader for every event. */
  private readonly take: (event: string, data: string) => void;

  /**
   * `fallback`: the id and model for a stream whose provider sends none (Bedrock): the gateway's
   * request id and the target's model.
   */
  constructor(
    private readonly decoder: StreamDecoder,
    private readonly encoder: StreamEncoder,
    private readonly fallback: { readonly id: string; readonly model: string } = { id: '', model: '' },
  ) {
    this.take = (event, data) => this.decoder.decode(event, data, this.events);
  }

  /**
   * The client's bytes for a batch of whole provider events ('' when they produce none yet, pings
   * say). Stops at a provider error (see `error`). Throws a GatewayError when the client's format
   * cannot carry an event.
   */
  push(text: string): string {
    this.events.length = 0;
    forEachEvent(text, this.take);
    return this.encode();
  }

  /** One event already cut out of its framing (a Bedrock event-stream message, say). */
  pushEvent(event: string, data: string): string {
    this.events.length = 0;
    this.decoder.decode(event, data, this.events);
    return this.encode();
  }

  /** The error event that ends this stream in the client's dialect, when the encoder numbers its events; else null. */
  errorEvent(err: GatewayError): string | null {
    return this.encoder.error === undefined ? null : this.encoder.error(err);
  }

  /** The provider's stream has ended: what its decoder makes of that (Gemini's completion), encoded. */
  close(): string {
    this.events.length = 0;
    if (!this.ended && this.error === null) this.decoder.end?.(this.events);
    return this.encode();
  }

  private encode(): string {
    const events = this.events;
    let out = '';
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.type === 'error') {
        this.error = { errorType: e.errorType, message: e.message };
        break;
      }
      if (e.type === 'usage') this.usage = e.usage;
      else if (e.type === 'start') {
        if (e.usage !== null) this.usage = e.usage;
        if (e.id === '') e.id = this.fallback.id;
        if (e.model === '') e.model = this.fallback.model;
      }
      else if (e.type === 'end') this.ended = true;
      if (!this.answering && carriesAnswer(e)) this.answering = true;
      out += this.encoder.encode(e);
    }
    return out;
  }
}
