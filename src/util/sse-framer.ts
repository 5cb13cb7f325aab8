// Cuts an upstream SSE byte stream at event boundaries, so the relay only ever forwards whole
// events. Then, if the upstream dies mid-event, the error event we append is not glued onto half an
// event (the client's parser would choke on it instead of surfacing the error). The framer scans only
// the bytes that arrived since the last boundary and copies only the rare carried-over tail.
//
// Event boundary: a blank line, "\n\n" or "\r\n\r\n" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).

const LF = 0x0a;
/** `data: [DONE]` as the last line of the last event. A match at `^` is at most 16 bytes, so it only happens when the 24-byte tail is a whole chunk, which starts at an event boundary. */
const DONE_AT_END = /(?:^|\n)data: \[DONE\]\r?\n\r?\n$/;

/** Index just past the last blank line in buf, or -1. */
function lastBoundary(buf: Uint8Array, from: number): number {
  for (let i = buf.length - 1; i > from; i--) {
    if (buf[i] !== LF) continue;
    const p = buf[i - 1];
    if (p === LF) return i + 1;
    if (p === 0x0d && i >= 3 && buf[i - 2] === LF) return i + 1; // "\n\r\n"
  }
  return -1;
}

export class SseFramer {
  private carry: Buffer | null = null;
  /** The last whole event forwarded (only its tail is needed to recognise [DONE]). */
  private lastEventTail = '';

  /** Returns the whole events now complete (possibly empty), keeping the incomplete tail. */
  push(chunk: Buffer): Buffer | null {
    let buf = chunk;
    let from = 0;
    if (this.carry !== null) {
      from = Math.max(0, this.carry.length - 3);
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    const cut = lastBoundary(buf, from);
    if (cut < 0) {
      this.carry = buf === chunk ? Buffer.from(chunk) : buf;
      return null;
    }
    if (cut < buf.length) this.carry = Buffer.from(buf.subarray(cut));
    const whole = cut === buf.length ? buf : buf.subarray(0, cut);
    this.lastEventTail = whole.toString('latin1', Math.max(0, whole.length - 24));
    return whole;
  }

  /** Bytes of an incomplete event left when the stream ended. */
  get pending(): number {
    return this.carry === null ? 0 : this.carry.length;
  }

  /** OpenAI-format streams end with `data: [DONE]`; a stream without it was cut. */
  get sawDone(): boolean {
    // The last event must be the [DONE] line itself: not an event after it, not a payload quoting it.
    return DONE_AT_END.test(this.lastEventTail);
  }
}
