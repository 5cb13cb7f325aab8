// One request's response side: every uWS rule that kills the process lives here, behind the `done` flag.
// After an abort, end() or close(), any call on `res` throws, so each entry point checks `done` first,
// and each timer callback re-checks it and writes inside res.cork().

import type { HttpResponse } from 'uWebSockets.js';
import { statusLine } from './responses.ts';
import { bump } from './stats.ts';
import type { MockStats } from './stats.ts';

export interface ExchangeOwner {
  /** Read on every use: resetStats() swaps the object. */
  readonly counters: MockStats;
  /** The mock itself is shutting down: aborts it causes are not the client's. */
  readonly closing: boolean;
  release(ex: Exchange): void;
}

/** What happens once the stream's events up to `limit` are written. */
export type StreamEnd = 'complete' | 'truncate' | 'stall' | 'disconnect';

export type Header = readonly [name: string, value: string];

/** An SSE event or JSON fragment, or a binary frame (Bedrock's event stream). */
export type Chunk = string | Uint8Array;

export class Exchange {
  private done = false;
  private timer: NodeJS.Timeout | null = null;
  private events: readonly Chunk[] = [];
  private pos = 0;
  private limit = 0;
  private end: StreamEnd = 'complete';
  private delayMs = 0;
  /** Content events are events[contentFrom..contentTo): the delay only separates those. */
  private contentFrom = 0;
  private contentTo = 0;
  private waitingWritable = false;

  /** `headers` is the copy of the stack-allocated request's headers (lower-case names). */
  constructor(
    private readonly owner: ExchangeOwner,
    private readonly res: HttpResponse,
    readonly headers: Record<string, string>,
    readonly key: string,
    /** Some x-mock-* header is present: only then are overrides parsed. */
    readonly overrides: boolean,
  ) {
    // Registered first thing: answering later without it makes uWS call std::terminate.
    res.onAborted(() => this.onAborted());
  }

  json(status: number, body: string, extra?: readonly Header[]): void {
    this.send(status, 'application/json', body, extra);
  }

  /** A whole body of any type (plain text, bytes) in one write. */
  send(status: number, contentType: string, body: string | Uint8Array, extra?: readonly Header[]): void {
    if (this.done) return;
    const res = this.res;
    res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
    if (extra !== undefined) for (const [name, value] of extra) res.writeHeader(name, value);
    this.finish();
    bump(this.owner.counters.byStatus, status);
    res.end(body);
  }

  /**
   * Writes `events[0..limit)`, honouring backpressure, then ends as told. `delayMs` separates content
   * events only: the opening events go out with the first token and the closing ones with the last,
   * as real providers send them (and a load test then costs two writes per stream, not one per event).
   */
  stream(
    events: readonly Chunk[],
    limit: number,
    end: StreamEnd,
    delayMs: number,
    contentFrom = 0,
    contentTo = events.length,
    extra?: readonly Header[],
    contentType = 'text/event-stream',
  ): void {
    if (this.done) return;
    this.events = events;
    this.limit = limit;
    this.end = end;
    this.delayMs = delayMs;
    this.contentFrom = contentFrom;
    this.contentTo = contentTo;
    const res = this.res;
    res.writeStatus('200 OK').writeHeader('content-type', contentType).writeHeader('cache-control', 'no-cache');
    if (extra !== undefined) for (const [name, value] of extra) res.writeHeader(name, value);
    bump(this.owner.counters.byStatus, 200);
    // uWS sends the header block only with the first write: the first event goes out in this same cork.
    this.pump();
  }

  /** Closes the connection without (the rest of) a response. */
  reset(): void {
    if (this.done) return;
    this.owner.counters.resets++;
    // Finished first, so the onAborted that close() fires is not counted as the client's abort.
    this.finish();
    this.res.close();
  }

  /** Runs `fn` corked after `ms`, unless the exchange ended meanwhile. */
  after(ms: number, fn: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.done) this.res.cork(fn);
    }, ms);
  }

  /** Runs `fn` corked now (from a promise continuation), unless the exchange ended meanwhile. */
  run(fn: () => void): void {
    if (!this.done) this.res.cork(fn);
  }

  /** The mock is closing: forget the response without touching `res` (uWS closes the sockets itself). */
  abandon(): void {
    if (!this.done) this.finish();
  }

  private pump(): void {
    const res = this.res;
    while (this.pos < this.limit) {
      const ok = res.write(this.events[this.pos++]!);
      if (this.pos === this.limit) break;
      if (!ok) {
        // write() buffered what the kernel refused; produce nothing more until the client drains it.
        this.waitingWritable = true;
        res.onWritable(() => this.onWritable());
        return;
      }
      if (this.delayMs > 0 && this.pos - 1 >= this.contentFrom && this.pos < this.contentTo) return this.after(this.delayMs, () => this.pump());
    }
    // Closing inside this cork could drop the chunks just written: close once they are flushed.
    if (this.end === 'disconnect') return this.after(0, () => this.reset());
    if (this.end === 'stall') return;
    if (this.end === 'complete') this.owner.counters.streamsCompleted++;
    this.finish();
    res.end();
  }

  private onWritable(): boolean {
    // Only one handler is kept per response and it may fire again later: resume only if we paused.
    if (this.waitingWritable && !this.done) {
      this.waitingWritable = false;
      this.pump();
    }
    return true;
  }

  private onAborted(): void {
    if (this.done) return;
    if (!this.owner.closing) this.owner.counters.aborted++;
    this.finish();
  }

  private finish(): void {
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.owner.release(this);
  }
}
