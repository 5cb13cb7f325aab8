// Cuts an upstream SSE byte stream at event boundaries, so the relay only ever forwards whole
// events. Then, if the upstream dies mid-event, the error event we append is not glued onto half an
// event (the client's parser would choke on it instead of surfacing the error).
//
// Linear time: each byte is scanned once. An incomplete event is kept as a list of chunks and joined
// once, when its boundary arrives (re-joining the pending bytes on every chunk made a stream with no
// blank line cost quadratic time: 100 MB took 200 s and stalled the event loop for seconds).
// `pending` tells the caller how large the incomplete event has grown, so it can refuse one past a cap.
//
// Event boundary: a blank line, "\n\n" or "\r\n\r\n" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).

const LF = 0x0a;
const CR = 0x0d;
/** `data: [DONE]` as the last line of the last event. */
const DONE_AT_END = /(?:^|\n)data: \[DONE\]\r?\n\r?\n$/;

/** Index just past the last blank line whose final LF is at an index > from, or -1. */
function lastBoundary(buf: Uint8Array, from: number): number {
  for (let i = buf.length - 1; i > from; i--) {
    if (buf[i] !== LF) continue;
    const p = buf[i - 1];
    if (p === LF) return i + 1;
    if (p === CR && i >= 2 && buf[i - 2] === LF) return i + 1; // "\n\r\n"
  }
  return -1;
}

const EMPTY = Buffer.alloc(0);

export class SseFramer {
  /** The incomplete event's bytes, as they arrived (copies: undici may reuse its buffers). */
  private parts: Buffer[] = [];
  private pendingBytes = 0;
  /** The last 3 pending bytes: a boundary can start in them and end in the next chunk. */
  private tail: Buffer = EMPTY;
  /** The last batch of whole events forwarded: how a stream ended is read from its last event. */
  private last: Buffer | null = null;

  /** Returns the whole events now complete (possibly several), or null while none is; keeps the incomplete tail. */
  push(chunk: Buffer): Buffer | null {
    let cut = lastBoundary(chunk, 0);
    if (cut < 0 && this.pendingBytes > 0 && chunk.length > 0) cut = this.boundaryAcrossJoin(chunk);
    if (cut < 0) {
      this.keep(chunk);
      return null;
    }
    let whole: Buffer;
    if (this.pendingBytes === 0) whole = cut === chunk.length ? chunk : chunk.subarray(0, cut);
    else {
      this.parts.push(chunk.subarray(0, cut));
      whole = Buffer.concat(this.parts, this.pendingBytes + cut);
      this.parts = [];
      this.pendingBytes = 0;
      this.tail = EMPTY;
    }
    if (cut < chunk.length) this.keep(chunk.subarray(cut));
    this.last = whole;
    return whole;
  }

  /** Bytes of the incomplete event held so far (left over when the stream ended, if it has). */
  get pending(): number {
    return this.pendingBytes;
  }

  /** The last whole event forwarded (with its blank line), '' before any: how the stream ended. */
  get lastEvent(): string {
    const b = this.last;
    if (b === null) return '';
    // Back from before its own terminating blank line to the blank line that ends the event before it.
    for (let i = b.length - 3; i > 0; i--) {
      if (b[i] === LF && (b[i - 1] === LF || (b[i - 1] === CR && i >= 2 && b[i - 2] === LF))) return b.toString('utf8', i + 1);
    }
    return b.toString('utf8');
  }

  /** OpenAI-format streams end with `data: [DONE]`; a stream without it was cut. */
  get sawDone(): boolean {
    // The last event must be the [DONE] line itself: not an event after it, not a payload quoting it.
    return DONE_AT_END.test(this.lastEvent);
  }

  private keep(bytes: Buffer): void {
    const copy = Buffer.from(bytes);
    this.parts.push(copy);
    this.pendingBytes += copy.length;
    this.tail = copy.length >= 3 ? copy.subarray(copy.length - 3) : Buffer.concat([this.tail, copy]).subarray(-3);
  }

  /** A boundary whose last LF is among the chunk's first 3 bytes and whose start is in the pending tail. */
  private boundaryAcrossJoin(chunk: Buffer): number {
    const window = Buffer.concat([this.tail, chunk.subarray(0, 3)]);
    const end = lastBoundary(window, this.tail.length - 1);
    return end < 0 ? -1 : end - this.tail.length;
  }
}
