// One request to one provider with one key: an undici dispatch handler (undici 7's controller API,
// types/dispatcher.d.ts DispatchHandler). Its methods are on the prototype, so a request allocates
// this object and nothing else for the exchange.
//
// A response is either relayed (a 2xx text/event-stream: whole SSE events go out as they arrive,
// with backpressure) or buffered (JSON, and every error status: small, and needed whole to translate).
// Nothing reaches the client until the answer is known to be good: a JSON body whole, or a stream's
// first event that carries part of the answer (those before it, a start and pings, are held back:
// upstream/first-content.ts). Until then every failure goes back to the failover loop, which may try
// again; after it, a failure can only end the stream with an error event, and the loop hears of it
// (streamOver) for the provider's health.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { KeyPlan, Target } from '../plan/types.ts';
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import type { AttemptHandle, RequestContext } from '../request/context.ts';
import type { Usage } from '../formats/canonical.ts';
import { StreamTranslation } from '../formats/stream-translation.ts';
import { streamError } from '../formats/errors.ts';
import { applySwap, idSwap, responseIdIn, type IdSwap } from '../formats/responses/ids.ts';
import { sealResourceAnswer } from '../formats/openai/resource-ids.ts';
import { EventStreamDecoder, EventStreamError } from '../formats/bedrock/eventstream.ts';
import { EXCEPTION } from '../formats/bedrock/stream.ts';
import type { Codec } from '../formats/format.ts';
import { SseFramer } from '../util/sse-framer.ts';
import { isWellFormedJson } from '../util/json-check.ts';
import { skipWs } from '../util/json-bytes.ts';
import { retryAfterMs } from './backoff.ts';
import { fromTransportError } from './errors.ts';
import { passesThrough } from './pass-through.ts';
import { FirstContent } from './first-content.ts';
import { deadlines, type Expiring } from './deadlines.ts';
import { isFileContent, isSurface, SURFACE } from '../formats/openai/surface.ts';

export const CLIENT_ABORTED = Object.freeze(new Error('client aborted the request'));
/** Abort reasons the attempt itself gives, told apart by identity in onResponseError. */
const DEADLINE = Object.freeze(new Error("the request's deadline passed"));
const ENOUGH = Object.freeze(new Error('read enough of the error body'));

/** Error bodies are only read for their message. */
const MAX_ERROR_BYTES = 64 * 1024;

/** Events held back before the answer starts (first-content.ts): past this, relayed anyway. */
const MAX_HELD_BACK = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/**
 * A 2xx answer to one of OpenAI's other routes that is not JSON (audio, text, subtitles, a file's
 * bytes, a transcript's event stream): relayed byte for byte (formats/openai/surface.ts).
 */
function relaysBytes(ctx: RequestContext, contentType: string | string[] | undefined): boolean {
  const kind = ctx.endpoint;
  if (!isSurface(kind)) return false;
  const bytes = SURFACE[kind].bytes;
  if (bytes === 'content') return isFileContent(ctx.subpath);
  return bytes === 'non-json' && !(typeof contentType === 'string' && /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType));
}

/** Is this answer a stream in the codec's framing (SSE, or AWS's event stream for Bedrock)? */
function isStream(contentType: string | string[] | undefined, framing: Codec['framing']): boolean {
  return typeof contentType === 'string' && contentType.startsWith(framing === 'sse' ? 'text/event-stream' : 'application/vnd.amazon.eventstream');
}

function asTranslationError(err: unknown): GatewayError {
  return isGatewayError(err) ? err : new GatewayError('internal_error', 'The gateway failed to translate the stream.', { cause: err });
}

/** Canonical usage → the request's counts: the prompt counts cache reads and writes, as OpenAI's does. */
function setUsage(ctx: RequestContext, u: Usage): void {
  ctx.promptTokens = u.input + u.cacheRead + u.cacheWrite;
  ctx.completionTokens = u.output;
  ctx.cacheReadTokens = u.cacheRead;
  ctx.cacheWriteTokens = u.cacheWrite;
}

/** The failover loop, as an attempt reports to it (upstream/failover.ts). */
export interface AttemptOwner {
  /** The answer is on its way to the client: a whole one, or a stream's first part (`stream`). */
  succeeded(a: UpstreamAttempt, status: number, stream: boolean): void;
  /** A stream that succeeded has ended: whole (null), or cut or failed with `err`. */
  streamOver(a: UpstreamAttempt, err: GatewayError | null): void;
  failed(a: UpstreamAttempt, err: GatewayError, retryAfterMs: number | null): void;
  /** `cut`: an attempt was in flight when the deadline passed (it is not among the records yet). */
  deadlineError(cut: boolean): GatewayError;
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler, AttemptHandle, Expiring {
  readonly ctx: RequestContext;
  readonly owner: AttemptOwner;
  readonly target: Target;
  readonly key: KeyPlan;
  controller: Dispatcher.DispatchController | null = null;
  tDispatch = 0;
  tEnd = 0;
  status = 0;
  headers: IncomingHttpHeaders | null = null;
  framer: SseFramer | null = null;
  /** Bedrock's binary event stream, in place of the SSE framer. */
  frames: EventStreamDecoder | null = null;
  /** The client and the provider speak different wire formats: answers are translated. */
  readonly translates: boolean;
  /** A translated stream's state (both sides), when the answer is a stream. */
  translation: StreamTranslation | null = null;
  parts: Buffer[] = [];
  size = 0;
  /** A buffered body whose length the provider declared: one allocation, filled in place (no join). */
  whole: Buffer | null = null;
  /** Bytes of this attempt counted in the plan's buffer budget. */
  private held = 0;
  /** The error body went past MAX_ERROR_BYTES: what was read is enough, and the rest is not fetched. */
  private cut = false;
  /** The request deadline (performance.now() ms) while the answer is not yet known to be good, and
   *  this attempt's place in the thread's deadline queue (upstream/deadlines.ts; -1: not queued). */
  expiresAt = 0;
  heapIndex = -1;
  /** This attempt has reported to the failover loop (once only). */
  settled = false;
  /** A relayed stream's events read until the answer starts; null once it has, or when not read. */
  private first: FirstContent | null = null;
  /** Events held back until the answer starts: a relayed stream's bytes, a translated one's. */
  private heldBack: Buffer | null = null;
  private heldBackText = '';
  /** The stream's end has been reported to the owner (streamOver). */
  private over = false;
  /** A relayed stream carried the provider's own error event: however it ends, it failed. */
  private erred = false;
  /** A native Responses answer's own id and the sealed one the client gets, once seen. */
  private ownId: IdSwap | null = null;
  /** The previous response's id it echoes, swapped back to the one the client sent. */
  private prevId: IdSwap | null = null;

  constructor(ctx: RequestContext, owner: AttemptOwner, target: Target, key: KeyPlan) {
    this.ctx = ctx;
    this.owner = owner;
    this.target = target;
    this.key = key;
    this.translates = !passesThrough(ctx, target);
    // What an earlier attempt decided about its answer is not this one's: a 200 audio head whose body
    // never came left relayBytes set, and the next attempt's 503 was relayed to the client as an answer
    // (not retried, and counted a success). Nothing has reached the client while attempts go on.
    ctx.relayBytes = false;
    ctx.streamError = null;
  }

  /**
   * The request's deadline bounds this attempt until its answer is known to be good (the whole body,
   * or a stream's first event): a body that never ends, or a head that never comes, cannot outlive it.
   * The provider's own timeouts (first byte, idle) are undici's and count against the provider; the
   * deadline is the client's or the gateway's and never does.
   */
  armDeadline(ms: number): void {
    // One timer for every attempt in flight (upstream/deadlines.ts), not a setTimeout each.
    const now = performance.now();
    deadlines.add(this, now + Math.max(1, Math.ceil(ms)), now);
  }

  onDeadline(): void {
    if (this.settled) return;
    if (this.controller !== null) this.controller.abort(DEADLINE);
    else this.fail(this.owner.deadlineError(true), null);
  }

  private disarm(): void {
    deadlines.remove(this);
  }

  /** Dispatch to response end (or to the failure, or to now), ms. */
  upstreamMs(): number {
    return (this.tEnd !== 0 ? this.tEnd : performance.now()) - this.tDispatch;
  }

  /** Cancels the upstream request (client abort, shutdown). Undici destroys the socket: it cannot be reused mid-response. */
  abort(reason: Error): void {
    this.disarm();
    this.release();
    if (this.controller !== null && !this.controller.aborted) this.controller.abort(reason);
    // Still queued in the pool or connecting: it is cancelled when undici starts it (onRequestStart),
    // or a request the client was already answered for (a shutdown's 503) would be sent anyway.
    else if (this.controller === null) this.cancelled = reason;
  }

  /**
   * The attempt's end; the request's upstream end only if it is still the current attempt: an earlier
   * one ending late (aborted after it failed over) must not overwrite the next one's (server-timing).
   */
  private markEnd(): void {
    this.tEnd = performance.now();
    if (this.ctx.attempt === this) this.ctx.tUpstreamEnd = this.tEnd;
  }

  /** Why the attempt was cancelled before undici started it; null while it may go. */
  private cancelled: Error | null = null;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ctx.aborted) controller.abort(CLIENT_ABORTED);
    else if (this.cancelled !== null) controller.abort(this.cancelled);
    else if (this.settled) controller.abort(DEADLINE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const ctx = this.ctx;
    if (ctx.aborted) {
      controller.abort(CLIENT_ABORTED);
      return;
    }
    ctx.tUpstreamHead = performance.now();
    this.status = status;
    this.headers = headers;
    const codec = this.target.provider.codec;
    if (status >= 200 && status < 300 && relaysBytes(ctx, headers['content-type'])) {
      // Audio, a transcript as text or subtitles, a file's content: relayed as it comes, with backpressure.
      ctx.relayBytes = true;
    } else if (status >= 200 && status < 300 && isStream(headers['content-type'], codec.framing)) {
      if (!ctx.stream) {
        // A stream answering a request that asked for none is relayed under no limit of an answer (a
        // provider sent 646 MB in 5 s past maxResponseBytes, and ran past the deadline), in a shape
        // the client did not ask for: a bad answer, failed over like one.
        const failure = new GatewayError('upstream_bad_response', `Provider '${this.target.provider.name}' answered with a stream to a request that asked for none.`);
        this.fail(failure, null);
        controller.abort(failure);
        return;
      }
      if (codec.framing === 'sse') this.framer = new SseFramer();
      else this.frames = new EventStreamDecoder();
      if (this.translates) {
        const req = ctx.canonical!;
        const t = new StreamTranslation(codec.streamDecoder(req), ctx.dialect.streamEncoder(req, ctx.body!), { id: `gen-${ctx.id}`, model: this.target.model });
        this.translation = t;
        ctx.streamError = (err) => t.errorEvent(err);
      } else if (ctx.endpoint === 'chat' && codec.framing === 'sse') this.first = new FirstContent(codec.streamDecoder());
    } else {
      // Joining chunks at the end would hold the body twice at its peak (60 MB answers took RSS to
      // three times their size); with a declared length the chunks are copied into place as they come.
      const declared = Number(headers['content-length']);
      const limit = status >= 400 ? MAX_ERROR_BYTES : ctx.plan.server.maxResponseBytes;
      if (Number.isInteger(declared) && declared > 16_384 && declared <= limit) this.whole = Buffer.allocUnsafe(declared);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ctx = this.ctx;
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) return;
    if (ctx.relayBytes) {
      this.relay(controller, ctx.plan.redactor.redactBytes(chunk), false);
      return;
    }
    const framer = this.framer;
    const server = ctx.plan.server;
    if (framer !== null) {
      const events = framer.push(chunk);
      if (events === null) {
        // Only an incomplete event is held: bounded per event and by the shared budget.
        if (framer.pending > server.maxStreamEventBytes) {
          controller.abort(new GatewayError('upstream_response_too_large', `Provider '${this.target.provider.name}' sent a stream event larger than ${server.maxStreamEventBytes} bytes.`));
        } else this.hold(controller, framer.pending);
        return;
      }
      if (!this.hold(controller, framer.pending)) return;
      // Whatever a provider sends, no configured key goes back out (an in-band error event may quote one).
      const out = ctx.plan.redactor.redactBytes(events);
      if (this.translation !== null) this.translateEvents(controller, out);
      else {
        const codec = this.target.provider.codec;
        codec.scanUsage(out, ctx);
        // Usage the gateway asked for on the client's behalf is not the client's to see.
        let relayed: Buffer | null = ctx.hideUsage && codec.hideUsage !== undefined ? codec.hideUsage(out) : out;
        if (ctx.endpoint === 'responses') relayed = this.sealIds(relayed, true);
        // Keep-alive comments (": PROCESSING") before the first event are not an answer: relaying them
        // would commit the stream (no failover after) and lift the deadline while nothing has come.
        if (relayed.length === 0 || (!ctx.headSent && commentsOnly(relayed))) return;
        if (this.first !== null && !ctx.headSent) relayed = this.untilAnswer(controller, relayed);
        if (relayed === null) return;
        if (ctx.plan.capturePayloads) ctx.capture(relayed);
        // The provider's error event may be followed by a [DONE] (OpenRouter): the end alone would call it complete.
        if (!this.erred && codec.inBandError !== undefined && relayed.indexOf(ERROR_WORD) >= 0) this.erred = codec.inBandError(relayed.toString('utf8'));
        this.relay(controller, relayed, false);
      }
      return;
    }
    if (this.frames !== null) {
      this.translateFrames(controller, chunk);
      return;
    }
    const isError = this.status >= 400;
    const limit = isError ? MAX_ERROR_BYTES : server.maxResponseBytes;
    if (this.size + chunk.length > limit) {
      if (isError) {
        // Enough of the error body to read its message: stop fetching the rest, which may be endless.
        if (this.whole !== null) {
          this.parts.push(this.whole.subarray(0, this.size));
          this.whole = null;
        }
        this.parts.push(chunk.subarray(0, limit - this.size));
        this.size = limit;
        this.cut = true;
        controller.abort(ENOUGH);
        return;
      }
      controller.abort(new GatewayError('upstream_response_too_large', `Provider '${this.target.provider.name}' sent a response larger than ${limit} bytes.`));
      return;
    }
    const whole = this.whole;
    if (whole !== null && this.size + chunk.length <= whole.length) chunk.copy(whole, this.size);
    else {
      if (whole !== null) {
        // More than the declared length: keep what was copied and carry on in parts.
        this.parts.push(whole.subarray(0, this.size));
        this.whole = null;
      }
      this.parts.push(chunk);
    }
    this.size += chunk.length;
    this.hold(controller, this.size);
  }

  /**
   * Stream bytes for the client: the first ones settle the attempt (the stream is good: no failover
   * after this) and go out with the response head in one write; `last` ends the stream with them.
   */
  private relay(controller: Dispatcher.DispatchController | null, bytes: string | Buffer, last: boolean): void {
    const ctx = this.ctx;
    let ok: boolean;
    if (!ctx.headSent) {
      this.settled = true;
      this.disarm();
      ctx.tUpstreamFirst = performance.now();
      this.owner.succeeded(this, this.status, true);
      ok = ctx.sink.startStream(ctx, this.status, this.headers!, bytes);
      if (last) this.endStream(null);
    } else if (last) {
      this.endStream(null, typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
      return;
    } else ok = ctx.sink.writeStream(ctx, bytes);
    if (!ok && !last && controller !== null) this.pause(controller);
  }

  /**
   * A native Responses answer (JSON, or a batch of whole events): the response's own id, and the
   * previous one it echoes, as the client knows them, sealed with where the response is stored and
   * whom it was made for (formats/responses/ids.ts). The own id is the body's top-level one, or the
   * first event's response.id.
   */
  private sealIds(out: Buffer, stream: boolean): Buffer {
    const ctx = this.ctx;
    if (this.ownId === null) {
      const id = responseIdIn(out, stream);
      if (id !== null) this.ownId = idSwap(id, ctx.plan.responseIds.seal({ provider: this.target.provider.name, key: this.key.name, owner: ctx.vk?.owner ?? '', id }));
    }
    const prev = ctx.previousResponse;
    if (prev !== null) this.prevId ??= idSwap(prev.original, prev.sealed);
    const sealed = this.ownId === null ? out : applySwap(out, this.ownId);
    return this.prevId === null ? sealed : applySwap(sealed, this.prevId);
  }

  /**
   * A relayed stream before its answer starts (first-content.ts): the bytes to relay now (those held
   * back, then these), or null while nothing of the answer has come, or when the provider's error came
   * first, which fails this attempt over.
   */
  private untilAnswer(controller: Dispatcher.DispatchController, events: Buffer): Buffer | null {
    const first = this.first!;
    const verdict = first.push(events.toString('utf8'));
    if (verdict === 'error') {
      this.heldBack = null;
      const e = first.error!;
      const failure = streamError(this.target.provider.codec.format, this.target.provider.name, e.errorType, this.ctx.plan.redactor.redact(e.message));
      this.fail(failure, null);
      controller.abort(failure);
      return null;
    }
    const all = this.heldBack === null ? events : Buffer.concat([this.heldBack, events]);
    if (verdict === 'hold' && all.length <= MAX_HELD_BACK) {
      this.heldBack = all;
      return null;
    }
    this.heldBack = null;
    this.first = null;
    return all;
  }

  /** A batch of whole provider events (SSE), translated into the client's dialect. */
  private translateEvents(controller: Dispatcher.DispatchController, events: Buffer): void {
    let out = '';
    let failure: GatewayError | null = null;
    try {
      out = this.translation!.push(events.toString('utf8'));
    } catch (err) {
      failure = asTranslationError(err);
    }
    this.emitTranslated(controller, out, failure);
  }

  /** Bytes of Bedrock's binary event stream: whole messages are redacted, translated and emitted. */
  private translateFrames(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ctx = this.ctx;
    const frames = this.frames!;
    let out = '';
    let failure: GatewayError | null = null;
    try {
      const messages = frames.push(chunk);
      if (frames.pending > ctx.plan.server.maxStreamEventBytes) {
        failure = new GatewayError('upstream_response_too_large', `Provider '${this.target.provider.name}' sent a stream event larger than ${ctx.plan.server.maxStreamEventBytes} bytes.`);
      } else if (!this.hold(controller, frames.pending)) return;
      const t = this.translation!;
      const redactor = ctx.plan.redactor;
      for (let i = 0; i < messages.length && failure === null && t.error === null; i++) {
        const m = messages[i]!;
        const payload = redactor.redactValue(m.payload);
        out += m.messageType === 'event' ? t.pushEvent(m.type, payload) : t.pushEvent(EXCEPTION + (m.type === '' ? m.messageType : m.type), payload);
      }
    } catch (err) {
      failure = err instanceof EventStreamError ? new GatewayError('upstream_bad_response', `Provider '${this.target.provider.name}' sent a corrupt event stream (${err.message}).`) : asTranslationError(err);
    }
    this.emitTranslated(controller, out, failure);
  }

  /** Translated bytes for the client, a failure, or both (the bytes first). */
  private emitTranslated(controller: Dispatcher.DispatchController, out: string, failure: GatewayError | null): void {
    const ctx = this.ctx;
    const t = this.translation!;
    if (t.usage !== null) setUsage(ctx, t.usage);
    if (t.error !== null && failure === null) failure = streamError(this.target.provider.codec.format, this.target.provider.name, t.error.errorType, ctx.plan.redactor.redact(t.error.message));
    if (!ctx.headSent) {
      // Until part of the answer has come (a start alone is none: first-content.ts), what the client
      // would get is held back, and a failure fails over like any other.
      if (this.heldBackText !== '') {
        out = this.heldBackText + out;
        this.heldBackText = '';
      }
      if (!t.answering && !t.ended && out.length <= MAX_HELD_BACK) {
        if (failure !== null) {
          this.fail(failure, null);
          controller.abort(failure);
        } else this.heldBackText = out;
        return;
      }
    }
    if (ctx.plan.capturePayloads && out !== '') ctx.capture(Buffer.from(out));
    if (failure !== null) {
      // After part of the answer, the stream ends with the error in the client's dialect.
      if (!ctx.headSent) this.relay(controller, out, false);
      this.failStream(failure);
      controller.abort(failure);
      return;
    }
    if (out === '' && !t.ended) return;
    this.relay(controller, out, t.ended);
  }

  /** Ends a stream the client has started to get with an error event, and tells the owner. */
  private failStream(err: GatewayError): void {
    this.streamOver(err);
    this.ctx.sink.failStream(this.ctx, err);
  }

  /** Ends a stream the client has started to get (after `last`), and tells the owner how it ended. */
  private endStream(err: GatewayError | null, last?: string): void {
    this.streamOver(err);
    this.ctx.sink.endStream(this.ctx, last);
  }

  private streamOver(err: GatewayError | null): void {
    if (this.over || this.ctx.aborted || this.ctx.done) return;
    this.over = true;
    this.owner.streamOver(this, err);
  }

  /** Keeps the plan's buffer budget in step with what this attempt holds; past the budget, stops the attempt (false). */
  private hold(controller: Dispatcher.DispatchController, bytes: number): boolean {
    const more = bytes - this.held;
    if (more <= 0) this.ctx.plan.bufferBudget.give(-more);
    else if (!this.ctx.plan.bufferBudget.take(more)) {
      controller.abort(new GatewayError('gateway_overloaded', 'The gateway is holding as many provider answers in memory as it may (server.maxBufferedBytes); retry shortly.'));
      return false;
    }
    this.held = bytes;
    return true;
  }

  private release(): void {
    if (this.held !== 0) {
      this.ctx.plan.bufferBudget.give(this.held);
      this.held = 0;
    }
  }

  /**
   * The client is slower than the provider: stop reading from the provider until uWS has drained
   * what it buffered (write() always buffers; ignoring its false return grows memory without bound).
   */
  private pause(controller: Dispatcher.DispatchController): void {
    controller.pause();
    this.ctx.sink.upstreamPaused();
    this.ctx.res.onWritable(() => {
      controller.resume();
      return true;
    });
  }

  onResponseEnd(): void {
    const ctx = this.ctx;
    this.markEnd();
    this.disarm();
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) {
      this.release();
      return;
    }
    const provider = this.target.provider.name;
    if (ctx.relayBytes) {
      // undici has checked the length the provider declared; an empty answer still gets its head.
      this.release();
      if (ctx.headSent) this.endStream(null);
      else this.relay(null, EMPTY, true);
      return;
    }
    const framer = this.framer;
    if (framer !== null || this.frames !== null) {
      this.release();
      const t = this.translation;
      if (t !== null) {
        // A format without an end marker (Gemini, Bedrock's trailing metadata) finishes here.
        const last = t.close();
        if (t.usage !== null) setUsage(ctx, t.usage);
        if (t.ended && (ctx.headSent || last !== '' || this.heldBackText !== '')) {
          this.relay(null, ctx.headSent ? last : this.heldBackText + last, true);
          return;
        }
      }
      if (!ctx.headSent) {
        // Nothing of the answer came (a start alone is none): a cut like any before the first byte.
        this.fail(new GatewayError('upstream_reset', `Provider '${provider}' ended the stream before its first event.`, { upstreamStatus: 0 }), null);
        return;
      }
      // A stream that carried the provider's error event ended with it, [DONE] or not (no second error event of the gateway's after it).
      const end = t !== null || framer === null ? 'cut' : this.erred ? 'error' : framer.pending > 0 ? 'cut' : this.target.provider.codec.streamEnd(framer.lastEvent);
      if (end === 'complete') this.endStream(null);
      else if (end === 'error') {
        // The provider's own error event has been relayed as it came: the stream is over, and failed.
        const err = new GatewayError('upstream_error', `Provider '${provider}' ended the stream with an error event.`);
        this.streamOver(err);
        ctx.error = err;
        ctx.sink.endStream(ctx);
      } else this.failStream(new GatewayError('upstream_reset', `Provider '${provider}' ended the stream before it was complete.`));
      return;
    }
    const body = this.whole !== null ? this.whole.subarray(0, this.size) : this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.whole = null;
    const status = this.status;
    const codec = this.target.provider.codec;
    if (status >= 400) {
      const h = this.headers;
      const err = codec.errorFrom(status, body, { provider, key: this.key.name, redactor: ctx.plan.redactor, cut: this.cut, headers: h });
      this.fail(err, retryAfterMs(h?.['retry-after'], h?.['retry-after-ms']) ?? err.retryAfterMs);
      return;
    }
    if (status >= 300) {
      // undici follows no redirects, and the gateway relays none: a provider's 3xx (a wrong baseUrl,
      // a login page) is a provider failure, never a Location for the client to follow.
      this.fail(new GatewayError('upstream_bad_response', `Provider '${provider}' answered with a redirect (${status}); check its baseUrl.`), null);
      return;
    }
    // A files or batches answer with no body (a deletion answered 204) has nothing to read or seal.
    const resource = ctx.endpoint === 'files' || ctx.endpoint === 'batches';
    if (!(resource && body.length === 0) && !isWellFormedJson(body)) {
      this.fail(new GatewayError('upstream_bad_response', `Provider '${provider}' sent a response body that is not JSON.`), null);
      return;
    }
    let out: Buffer | string = ctx.plan.redactor.redactBytes(body);
    const counting = ctx.endpoint === 'count_tokens';
    if (counting) {
      // A count is not usage: nothing is used or charged, and its input_tokens are not a prompt's.
      ctx.promptTokens = 0;
      ctx.completionTokens = 0;
    }
    const disguised = resource || counting ? 0 : errorAnswerStatus(out);
    if (disguised !== 0) {
      // An error in a 2xx (OpenRouter and some OpenAI-compatible servers answer 200 {"error": …}): a
      // failure of the provider, retried and failed over as its status says, never relayed or
      // translated as an answer (translated, it was a 502 "no choices" that lost the provider's words).
      this.fail(codec.errorFrom(disguised, out, { provider, key: this.key.name, redactor: ctx.plan.redactor, cut: false, headers: this.headers }), null);
      return;
    }
    if (this.translates) {
      try {
        out = this.translateAnswer(out);
      } catch (err) {
        this.fail(isGatewayError(err) ? err : new GatewayError('upstream_bad_response', `Provider '${provider}' sent an answer the gateway could not read.`), null);
        return;
      }
    } else if (!counting) {
      codec.scanUsage(out, ctx);
      if (ctx.endpoint === 'responses') out = this.sealIds(out, false);
      else if (resource && out.length > 0) {
        try {
          out = sealResourceAnswer(out, ctx.plan.resourceIds, { provider: this.target.provider.name, key: this.key.name, owner: ctx.vk?.owner ?? '' }, ctx.endpoint as 'files' | 'batches');
        } catch (err) {
          // Not sent again if it made something (failover.ts): the provider did make it.
          this.fail(err as GatewayError, null);
          return;
        }
      }
    }
    this.settled = true;
    this.owner.succeeded(this, status, false);
    // The answer stays in the buffer budget until it is sent (server/respond.ts): hand it over.
    ctx.heldBytes = this.held;
    this.held = 0;
    if (ctx.plan.capturePayloads) ctx.capture(typeof out === 'string' ? Buffer.from(out) : out);
    ctx.sink.json(ctx, status, out, this.headers);
  }

  /** A whole answer of the provider's format, in the client's dialect (throws a GatewayError when unreadable). */
  private translateAnswer(body: Buffer): string {
    const ctx = this.ctx;
    const codec = this.target.provider.codec;
    if (ctx.endpoint === 'embeddings') {
      const req = ctx.canonicalEmbeddings!;
      const e = codec.embeddingsToCanonical!(body, req);
      return ctx.dialect.renderEmbeddings!(e, req);
    }
    if (ctx.endpoint === 'count_tokens') return ctx.dialect.renderTokenCount!(codec.tokenCountOf!(body));
    const answer = codec.toCanonicalResponse(body);
    // Converse answers name neither themselves nor their model.
    if (answer.id === '') answer.id = `gen-${ctx.id}`;
    if (answer.model === '') answer.model = this.target.model;
    if (answer.usage !== null) setUsage(ctx, answer.usage);
    return ctx.dialect.renderResponse(answer, ctx.body!);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (err === ENOUGH) {
      this.onResponseEnd();
      return;
    }
    const ctx = this.ctx;
    this.markEnd();
    this.disarm();
    this.release();
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) return;
    const gerr =
      err === DEADLINE
        ? this.owner.deadlineError(true)
        : (err as { name?: string }).name === 'GatewayError'
          ? (err as GatewayError)
          : fromTransportError(err, this.target.provider, this.status !== 0);
    // After the first event reached the client, the status cannot change: end the stream in-band.
    if (ctx.headSent) this.failStream(gerr);
    else this.fail(gerr, null);
  }

  private fail(err: GatewayError, retryAfter: number | null): void {
    if (this.settled) return;
    this.settled = true;
    this.disarm();
    this.release();
    this.ctx.priorWaitMs += this.upstreamMs();
    this.ctx.tDispatch = 0;
    this.owner.failed(this, err, retryAfter);
  }
}

const ERROR_KEY = Buffer.from('"error"');
/** In every in-band error event of every format; a batch without it needs no closer look. */
const ERROR_WORD = Buffer.from('error');
const TYPE_KEY = Buffer.from('"type"');

/**
 * The status of a 2xx answer that is an error object, or 0 for an answer: its first member is `error`
 * (OpenAI's shape) or `"type": "error"` (Anthropic's). Read at the first bytes only; the rare error body
 * is then parsed for a numeric code (OpenRouter puts the status there), else it is a 502.
 */
function errorAnswerStatus(body: Buffer): number {
  let i = skipWs(body, 0);
  if (body[i] !== 0x7b) return body[i] === 0x6e ? 502 : 0; // `{`, or `null`: no answer at all
  i = skipWs(body, i + 1);
  // Compared in place (every answer passes here: no Buffer view made for it).
  if (!bytesAt(body, i, ERROR_KEY)) {
    if (!bytesAt(body, i, TYPE_KEY)) return 0;
    i = skipWs(body, i + TYPE_KEY.length);
    if (body[i] !== 0x3a) return 0; // `:`
    i = skipWs(body, i + 1);
    if (!bytesAt(body, i, ERROR_KEY)) return 0;
  }
  try {
    const e = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; status?: unknown } }).error;
    const code = typeof e?.code === 'number' ? e.code : typeof e?.status === 'number' ? e.status : 0;
    return Number.isInteger(code) && code >= 400 && code <= 599 ? code : 502;
  } catch {
    return 502;
  }
}

/** Whether `body` holds `key` at `i`. */
function bytesAt(body: Buffer, i: number, key: Buffer): boolean {
  if (i + key.length > body.length) return false;
  for (let k = 0; k < key.length; k++) if (body[i + k] !== key[k]) return false;
  return true;
}

/** Whether SSE bytes hold only comments and blank lines (": keep-alive"), no event. */
function commentsOnly(bytes: Buffer): boolean {
  let lineStart = true;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x0a || c === 0x0d) lineStart = true;
    else if (lineStart) {
      if (c !== 0x3a) return false; // ':' opens a comment line; anything else is a field
      lineStart = false;
    }
  }
  return true;
}
