// One request to one provider with one key: an undici dispatch handler (undici 7's controller API,
// types/dispatcher.d.ts DispatchHandler). Its methods are on the prototype, so a request allocates
// this object and nothing else for the exchange.
//
// A response is either relayed (a 2xx text/event-stream: whole SSE events go out as they arrive,
// with backpressure) or buffered (JSON, and every error status: small, and needed whole to translate).
// Nothing reaches the client until the answer is known to be good: a JSON body whole, or a stream's
// first whole event. Until then every failure goes back to the failover loop, which may try again;
// after it, a failure can only end the stream with an error event.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { KeyPlan, Target } from '../config/plan.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { fromOpenAIError } from '../providers/openai/errors.ts';
import { readUsage, USAGE_MARK } from '../providers/openai/usage.ts';
import { endStream, failStream, sendJson, startStream, writeStream } from '../server/respond.ts';
import { SseFramer } from '../util/sse-framer.ts';
import { retryAfterMs } from './backoff.ts';
import { fromTransportError } from './errors.ts';

/** A successful JSON body larger than this is refused rather than held in memory. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Error bodies are only read for their message. */
const MAX_ERROR_BYTES = 64 * 1024;

export const CLIENT_ABORTED = Object.freeze(new Error('client aborted the request'));

function isEventStream(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('text/event-stream');
}

/** A cheap check that a buffered JSON body was not cut short: JSON.parse of every response would cost µs per KB. */
function looksLikeWholeJson(body: Buffer): boolean {
  let i = 0;
  let j = body.length - 1;
  while (i <= j && body[i]! <= 0x20) i++;
  while (j >= i && body[j]! <= 0x20) j--;
  return j > i && ((body[i] === 0x7b && body[j] === 0x7d) || (body[i] === 0x5b && body[j] === 0x5d));
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  readonly ctx: RequestContext;
  readonly target: Target;
  readonly key: KeyPlan;
  controller: Dispatcher.DispatchController | null = null;
  tDispatch = 0;
  tEnd = 0;
  status = 0;
  headers: IncomingHttpHeaders | null = null;
  framer: SseFramer | null = null;
  parts: Buffer[] = [];
  size = 0;
  /** This attempt has reported to the failover loop (once only). */
  settled = false;

  constructor(ctx: RequestContext, target: Target, key: KeyPlan) {
    this.ctx = ctx;
    this.target = target;
    this.key = key;
  }

  /** Dispatch to response end (or to the failure, or to now), ms. */
  upstreamMs(): number {
    return (this.tEnd !== 0 ? this.tEnd : performance.now()) - this.tDispatch;
  }

  /** Cancels the upstream request (client abort). Undici destroys the socket: it cannot be reused mid-response. */
  abort(reason: Error): void {
    if (this.controller !== null && !this.controller.aborted) this.controller.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ctx.aborted) controller.abort(CLIENT_ABORTED);
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
    if (status >= 200 && status < 300 && isEventStream(headers['content-type'])) this.framer = new SseFramer();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ctx = this.ctx;
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) return;
    const framer = this.framer;
    if (framer !== null) {
      const events = framer.push(chunk);
      if (events === null) return;
      if (!ctx.headSent) {
        // The first whole event: only now is the stream known to be good, and the client head
        // goes out with it in one write.
        this.settled = true;
        ctx.tUpstreamFirst = performance.now();
        ctx.failover!.succeeded(this, this.status);
        if (ctx.plan.capturePayloads) ctx.capture(events);
        if (!startStream(ctx, this.status, this.headers!, events)) this.pause(controller);
        return;
      }
      if (events.includes(USAGE_MARK)) [ctx.promptTokens, ctx.completionTokens] = readUsage(events);
      if (ctx.plan.capturePayloads) ctx.capture(events);
      if (!writeStream(ctx, events)) this.pause(controller);
      return;
    }
    const limit = this.status >= 400 ? MAX_ERROR_BYTES : MAX_BUFFERED_BYTES;
    if (this.size + chunk.length > limit) {
      if (this.status >= 400) return; // enough of the error body to read its message
      controller.abort(new GatewayError('upstream_bad_response', `Provider '${this.target.provider.name}' sent a response larger than ${limit} bytes.`));
      return;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
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
    this.tEnd = ctx.tUpstreamEnd = performance.now();
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) return;
    const provider = this.target.provider.name;
    const framer = this.framer;
    if (framer !== null) {
      if (!ctx.headSent) {
        this.fail(new GatewayError('upstream_reset', `Provider '${provider}' ended the stream before its first event.`, { upstreamStatus: 0 }), null);
      } else if (framer.pending > 0 || !framer.sawDone) {
        failStream(ctx, new GatewayError('upstream_reset', `Provider '${provider}' ended the stream before it was complete.`));
      } else {
        endStream(ctx);
      }
      return;
    }
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    if (this.status >= 400) {
      const h = this.headers;
      this.fail(fromOpenAIError(this.status, body, provider, this.key.name, ctx.plan.redactor), retryAfterMs(h?.['retry-after'], h?.['retry-after-ms']));
      return;
    }
    if (!looksLikeWholeJson(body)) {
      this.fail(new GatewayError('upstream_bad_response', `Provider '${provider}' sent a malformed response body.`), null);
      return;
    }
    this.settled = true;
    ctx.failover!.succeeded(this, this.status);
    [ctx.promptTokens, ctx.completionTokens] = readUsage(body);
    if (ctx.plan.capturePayloads) ctx.capture(body);
    sendJson(ctx, this.status, body, this.headers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const ctx = this.ctx;
    this.tEnd = ctx.tUpstreamEnd = performance.now();
    if (ctx.aborted || ctx.done || this.settled && !ctx.headSent) return;
    const gerr = (err as { name?: string }).name === 'GatewayError' ? (err as GatewayError) : fromTransportError(err, this.target.provider, this.status !== 0);
    // After the first event reached the client, the status cannot change: end the stream in-band.
    if (ctx.headSent) failStream(ctx, gerr);
    else this.fail(gerr, null);
  }

  private fail(err: GatewayError, retryAfter: number | null): void {
    if (this.settled) return;
    this.settled = true;
    this.ctx.priorWaitMs += this.upstreamMs();
    this.ctx.tDispatch = 0;
    this.ctx.failover!.failed(this, err, retryAfter);
  }
}
