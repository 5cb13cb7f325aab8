// One request to one provider with one key: an undici dispatch handler (undici 7's controller API,
// types/dispatcher.d.ts DispatchHandler). Its methods are on the prototype, so a request allocates
// this object and nothing else for the exchange.
//
// A response is either relayed (a 2xx text/event-stream: whole SSE events go out as they arrive,
// with backpressure) or buffered (JSON, and every error status: small, and needed whole to translate).
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { KeyPlan, ProviderPlan } from '../config/plan.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { RequestContext } from '../pipeline/context.ts';
import { fromOpenAIError } from '../providers/openai/errors.ts';
import { endStream, failStream, sendError, sendJson, startStream, writeStream } from '../server/respond.ts';
import { SseFramer } from '../util/sse-framer.ts';
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
  readonly provider: ProviderPlan;
  readonly key: KeyPlan;
  controller: Dispatcher.DispatchController | null = null;
  status = 0;
  headers: IncomingHttpHeaders | null = null;
  framer: SseFramer | null = null;
  parts: Buffer[] = [];
  size = 0;

  constructor(ctx: RequestContext, provider: ProviderPlan, key: KeyPlan) {
    this.ctx = ctx;
    this.provider = provider;
    this.key = key;
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
    if (status >= 200 && status < 300 && isEventStream(headers['content-type'])) {
      this.framer = new SseFramer();
      startStream(ctx, status, headers);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const ctx = this.ctx;
    if (ctx.aborted || ctx.done) return;
    const framer = this.framer;
    if (framer !== null) {
      const events = framer.push(chunk);
      if (events !== null && !writeStream(ctx, events)) {
        // The client is slower than the provider: stop reading from the provider until uWS has
        // drained what it buffered (write() always buffers; ignoring false grows memory without bound).
        controller.pause();
        ctx.sink.upstreamPaused();
        ctx.res.onWritable(() => {
          controller.resume();
          return true;
        });
      }
      return;
    }
    const limit = this.status >= 400 ? MAX_ERROR_BYTES : MAX_BUFFERED_BYTES;
    if (this.size + chunk.length > limit) {
      if (this.status >= 400) return; // enough of the error body to read its message
      controller.abort(new GatewayError('upstream_bad_response', `Provider '${this.provider.name}' sent a response larger than ${limit} bytes.`));
      return;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
  }

  onResponseEnd(): void {
    const ctx = this.ctx;
    if (ctx.aborted || ctx.done) return;
    ctx.tUpstreamEnd = performance.now();
    const framer = this.framer;
    if (framer !== null) {
      if (framer.pending > 0 || !framer.sawDone) {
        failStream(ctx, new GatewayError('upstream_reset', `Provider '${this.provider.name}' ended the stream before it was complete.`));
      } else {
        endStream(ctx);
      }
      return;
    }
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    if (this.status >= 400) {
      const err = fromOpenAIError(this.status, body, this.provider.name, this.key.name, ctx.plan.redactor);
      const retryAfter = this.headers?.['retry-after'];
      sendError(ctx, err, false, this.status === 429 && typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : null);
      return;
    }
    if (!looksLikeWholeJson(body)) {
      sendError(ctx, new GatewayError('upstream_bad_response', `Provider '${this.provider.name}' sent a malformed response body.`, { upstreamStatus: this.status }));
      return;
    }
    sendJson(ctx, this.status, body, this.headers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const ctx = this.ctx;
    if (ctx.aborted || ctx.done) return;
    ctx.tUpstreamEnd = performance.now();
    const gerr = (err as { name?: string }).name === 'GatewayError' ? (err as GatewayError) : fromTransportError(err, this.provider, this.status !== 0);
    sendError(ctx, gerr);
  }
}
