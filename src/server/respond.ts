// The respond stage: the only code that writes to a client response after the route handler has
// returned, and the single error boundary (every GatewayError leaves through sendError).
//
// uWS rules this file enforces (engineering.md §1):
// - every write from an undici callback or timer is inside res.cork(), else uWS warns per call and
//   sends one syscall per header;
// - nothing touches `res` after an abort or a completed end() (uWS throws, and from a callback that
//   would crash the process): every writer checks ctx.done / ctx.aborted first;
// - writeStatus comes before any writeHeader, or uWS silently sends 200;
// - upstream length, hop-by-hop and date headers are never copied (uWS adds its own: duplicates).
//
// cork() runs its callback synchronously, so the callbacks read their arguments from module-level
// slots instead of closing over them: no closure is allocated per response.
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { RequestContext } from '../request/context.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import { headerSafe } from '../util/header-value.ts';
import { corsOf } from './cors.ts';
import { resetText, type Admitted } from '../governance/admission.ts';
import { costOf } from '../pipeline/govern.ts';
import type { Redactor } from '../util/redact.ts';

const STATUS_LINE: string[] = [];
for (const [code, text] of Object.entries(STATUS_CODES)) STATUS_LINE[Number(code)] = `${code} ${text}`;
export const statusLine = (code: number): string => STATUS_LINE[code] ?? `${code} Unknown`;

/**
 * The provider response headers a client gets: request ids, rate limits, retry hints and processing
 * time. Everything else is dropped: a provider's headers are not ours to relay (one echoed the
 * gateway's key in `x-upstream-debug-auth`), and hop-by-hop or framing headers would clash with the
 * ones uWS writes itself. Values pass the key redactor and the header-safety check as well.
 */
const RELAYED_UPSTREAM = new Set(['x-request-id', 'request-id', 'openai-processing-ms', 'retry-after', 'retry-after-ms', 'x-should-retry']);
const RELAYED_PREFIXES = ['x-ratelimit-', 'anthropic-ratelimit-'];

function relayed(name: string): boolean {
  if (RELAYED_UPSTREAM.has(name)) return true;
  for (let i = 0; i < RELAYED_PREFIXES.length; i++) if (name.startsWith(RELAYED_PREFIXES[i]!)) return true;
  return false;
}

const JSON_TYPE = 'application/json';

// Cork slots.
let slotCtx: RequestContext;
let slotStatus = 0;
let slotBody: string | Buffer = '';
let slotUpstream: IncomingHttpHeaders | null = null;
let slotClose = false;
let slotError: GatewayError | null = null;
let slotOk = true;

function writeUpstreamHeaders(res: HttpResponse, headers: IncomingHttpHeaders, redactor: Redactor, ownLimits: boolean): void {
  for (const name in headers) {
    if (!relayed(name)) continue;
    // A caller under the gateway's own limits reads those, not the provider's (which are the gateway's key's).
    if (ownLimits && name.startsWith('x-ratelimit-')) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') res.writeHeader(name, headerSafe(redactor.redactValue(v)));
    else for (let i = 0; i < v.length; i++) res.writeHeader(name, headerSafe(redactor.redactValue(v[i]!)));
  }
}

/**
 * Request ids, route decision and timing: on every proxied response. `x-request-id` (what the OpenAI
 * SDK reports as `requestID`) and `request-id` (the Anthropic SDK's) are the provider's when it sent
 * them, so a client can quote them to the provider; otherwise the gateway's own id, which is always in
 * `x-microgate-request-id` and the request log.
 */
function writeGatewayHeaders(res: HttpResponse, ctx: RequestContext, upstream: IncomingHttpHeaders | null): void {
  res.writeHeader('x-microgate-request-id', ctx.id);
  const origin = ctx.headers.origin;
  if (origin !== undefined) corsOf(ctx.plan.server).writeHeaders(res, origin);
  const limits = ctx.admitted;
  if (limits !== null) writeLimitHeaders(res, limits);
  if (upstream?.['x-request-id'] === undefined) res.writeHeader('x-request-id', ctx.id);
  if (upstream?.['request-id'] === undefined) res.writeHeader('request-id', ctx.id);
  const t = ctx.target;
  if (t !== null) {
    res.writeHeader('x-microgate-provider', t.provider.name);
    res.writeHeader('x-microgate-model', headerSafe(t.model));
  }
  // The fields of the client's request the provider's format had no place for (a translation), and
  // those the serving target's body left out (a value its model refuses, a field its provider refuses).
  const translated = ctx.canonical !== null && ctx.canonical.dropped.length > 0 ? ctx.canonical.dropped : null;
  const dropped = translated === null ? ctx.dropped : ctx.dropped === null ? translated : [...translated, ...ctx.dropped.filter((f) => !translated.includes(f))];
  if (dropped !== null && dropped.length > 0) res.writeHeader('x-microgate-dropped', headerSafe(dropped.join(',')));
  const f = ctx.failover;
  if (f !== null && f.attempts > 0) {
    res.writeHeader('x-microgate-attempts', String(f.attempts));
    // The path taken, e.g. "openai/gpt-4o#k1:429 > openai/gpt-4o#k2:200", after the rule that chose
    // it and the complexity tier when they exist: "rule:cheap-simple tier:SIMPLE > groq/llama#k1:200".
    const path = f.route();
    const rule = ctx.rules?.rule?.name;
    const tier = ctx.classifiedTier;
    res.writeHeader('x-microgate-route', headerSafe(rule === undefined && tier === null ? path : `${rule === undefined ? '' : `rule:${rule} `}${tier === null ? '' : `tier:${tier} `}> ${path}`));
    // https://www.w3.org/TR/server-timing/ — the gateway's own time so far, and the providers'
    // (every attempt and backoff included).
    const now = performance.now();
    const upstream = ctx.upstreamWaitMs(now);
    res.writeHeader('server-timing', `gateway;dur=${(now - ctx.t0 - upstream).toFixed(3)}, upstream;dur=${upstream.toFixed(3)}`);
  }
}

/** The caller's own limits, as OpenAI names them (x-ratelimit-limit-requests, …-remaining-tokens, …-reset-requests). */
function writeLimitHeaders(res: HttpResponse, a: Admitted): void {
  const r = a.requests;
  if (r !== null) {
    res.writeHeader('x-ratelimit-limit-requests', String(r.limit));
    res.writeHeader('x-ratelimit-remaining-requests', String(r.remaining));
    res.writeHeader('x-ratelimit-reset-requests', resetText(r.resetMs));
  }
  const t = a.tokens;
  if (t !== null) {
    res.writeHeader('x-ratelimit-limit-tokens', String(t.limit));
    res.writeHeader('x-ratelimit-remaining-tokens', String(Math.floor(t.remaining)));
    res.writeHeader('x-ratelimit-reset-tokens', resetText(t.resetMs));
  }
}

/**
 * A governance refusal says when to come back: Retry-After for a rate limit (the SDKs wait for it);
 * a spent budget renews only with its period, and a request too large for a token limit never fits,
 * so for those the SDKs are told not to retry at all.
 */
function writeRefusalHeaders(res: HttpResponse, err: GatewayError): void {
  if (err.retryAfterMs !== null) {
    // Both, as OpenAI sends them: the SDKs read retry-after-ms first.
    res.writeHeader('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    res.writeHeader('retry-after-ms', String(Math.max(1, Math.ceil(err.retryAfterMs))));
  }
  if (err.code === 'budget_exceeded' || err.retryAfterMs === null) res.writeHeader('x-should-retry', 'false');
}

function markDone(ctx: RequestContext, status: number): void {
  if (ctx.unsent === null) releaseHeld(ctx);
  ctx.done = true;
  ctx.status = status;
  ctx.tEnd = performance.now();
  ctx.sink.requestFinished(ctx);
}

function corkedJson(): void {
  const ctx = slotCtx;
  const res = ctx.res;
  res.writeStatus(statusLine(slotStatus));
  res.writeHeader('content-type', JSON_TYPE);
  if (slotUpstream !== null) writeUpstreamHeaders(res, slotUpstream, ctx.plan.redactor, ctx.admitted !== null);
  writeGatewayHeaders(res, ctx, slotUpstream);
  if (slotError !== null) {
    res.writeHeader('x-microgate-flag', slotError.flag);
    if (slotError.code === 'rate_limit_exceeded' || slotError.code === 'budget_exceeded') writeRefusalHeaders(res, slotError);
  } else if (ctx.target !== null) {
    // A whole answer's usage is known before it is sent: its cost goes with it (a stream's is in the record).
    const cost = costOf(ctx);
    if (cost >= 0) res.writeHeader('x-microgate-cost-usd', cost.toFixed(6));
  }
  // A translated answer is a string: a large one goes out as bytes by tryEnd too. end() would copy
  // what the socket does not take into uWS's buffer and the answer would leave the buffer budget at
  // once, so clients of another format's provider that read slowly escaped maxBufferedBytes.
  const body = typeof slotBody === 'string' && slotBody.length > LARGE_BODY / 4 ? Buffer.from(slotBody) : slotBody;
  if (typeof body === 'string' || body.length <= LARGE_BODY) {
    res.end(body, slotClose);
    return;
  }
  // A large body: end() would copy whatever the socket does not take at once into uWS's own buffer
  // (a second copy of the answer, held as long as the client is slow). tryEnd sends what fits and
  // keeps nothing; the rest goes out from our buffer as the socket drains (uWS examples/VideoStreamer.js).
  const start = res.getWriteOffset();
  const [, done] = res.tryEnd(body, body.length);
  if (!done) {
    ctx.unsent = body;
    res.onWritable((offset) => sendMore(ctx, offset - start));
  }
}

/** Bodies larger than this are sent with tryEnd (no copy in uWS). */
const LARGE_BODY = 64 * 1024;

function sendMore(ctx: RequestContext, sent: number): boolean {
  const body = ctx.unsent!;
  const [ok, done] = ctx.res.tryEnd(body.subarray(sent), body.length);
  if (done) {
    ctx.unsent = null;
    releaseHeld(ctx);
  }
  return ok;
}

/** The provider answer's bytes leave the shared buffer budget once they are sent (or the client left). */
function releaseHeld(ctx: RequestContext): void {
  if (ctx.heldBytes !== 0) {
    ctx.plan.bufferBudget.give(ctx.heldBytes);
    ctx.heldBytes = 0;
  }
}

/** A complete JSON response. `upstream` headers are filtered and passed on. */
export function sendJson(ctx: RequestContext, status: number, body: string | Buffer, upstream: IncomingHttpHeaders | null = null): void {
  if (ctx.done || ctx.aborted) return;
  slotCtx = ctx;
  slotStatus = status;
  slotBody = body;
  slotUpstream = upstream;
  slotClose = false;
  slotError = null;
  ctx.res.cork(corkedJson);
  markDone(ctx, status);
}

/**
 * The error boundary. Before the response head: an error body in the client's dialect (OpenAI's or
 * Anthropic's shape, formats/errors.ts) with its status. After a
 * stream has started: an in-band SSE error event, because a status can no longer change and a silently
 * truncated 200 is the failure clients hate most.
 * `closeConnection` is for errors sent before the request body was read (413, 415): uWS would
 * otherwise try to parse the unread body as the next request.
 */
export function sendError(ctx: RequestContext, err: GatewayError, closeConnection = false, extra: IncomingHttpHeaders | null = null): void {
  if (ctx.done || ctx.aborted) return;
  ctx.error = err;
  if (ctx.headSent) {
    failStream(ctx, err);
    return;
  }
  const status = ctx.dialect.status(err);
  slotCtx = ctx;
  slotStatus = status;
  slotBody = ctx.dialect.renderError(err);
  slotUpstream = extra;
  slotClose = closeConnection;
  slotError = err;
  ctx.res.cork(corkedJson);
  markDone(ctx, status);
}

function corkedStreamHead(): void {
  const ctx = slotCtx;
  const res = ctx.res;
  res.writeStatus(statusLine(slotStatus));
  if (ctx.relayBytes) {
    // Bytes of another kind (audio, text, a file): the provider's type and, for a file, its name.
    const u = slotUpstream;
    const type = u?.['content-type'];
    res.writeHeader('content-type', typeof type === 'string' ? headerSafe(type) : 'application/octet-stream');
    const disposition = u?.['content-disposition'];
    if (typeof disposition === 'string') res.writeHeader('content-disposition', headerSafe(ctx.plan.redactor.redactValue(disposition)));
  } else {
    res.writeHeader('content-type', 'text/event-stream');
    res.writeHeader('cache-control', 'no-cache');
    // Tells nginx-style proxies in front of us not to buffer the stream.
    res.writeHeader('x-accel-buffering', 'no');
  }
  if (slotUpstream !== null) writeUpstreamHeaders(res, slotUpstream, ctx.plan.redactor, ctx.admitted !== null);
  writeGatewayHeaders(res, ctx, slotUpstream);
  // The head goes out with the first events in one write (uWS sends the end of the header block only
  // with the first body bytes anyway, uWebSockets#1895).
  slotOk = res.write(slotBody);
}

/**
 * Starts a stream with its first whole events. Until these existed the attempt could still fail
 * over; from here on, errors travel in-band. Returns false when the client is not keeping up.
 */
export function startStream(ctx: RequestContext, status: number, upstream: IncomingHttpHeaders, firstEvents: string | Buffer): boolean {
  if (ctx.done || ctx.aborted) return true;
  slotCtx = ctx;
  slotStatus = status;
  slotUpstream = upstream;
  slotBody = firstEvents;
  ctx.res.cork(corkedStreamHead);
  ctx.tFirstWrite = performance.now();
  ctx.headSent = true;
  ctx.status = status;
  return slotOk;
}

function corkedWrite(): void {
  slotOk = slotCtx.res.write(slotBody);
}

/** Relays bytes of a started stream. Returns false when the client is not keeping up: pause the source. */
export function writeStream(ctx: RequestContext, chunk: string | Buffer): boolean {
  if (ctx.done || ctx.aborted) return true;
  slotCtx = ctx;
  slotBody = chunk;
  ctx.res.cork(corkedWrite);
  return slotOk;
}

function corkedEnd(): void {
  if (slotBody !== '') slotCtx.res.write(slotBody);
  slotCtx.res.end();
}

/** Ends a started stream, after `last` when given (a translated stream's closing events). */
export function endStream(ctx: RequestContext, last = ''): void {
  if (ctx.done || ctx.aborted) return;
  slotCtx = ctx;
  slotBody = last;
  ctx.res.cork(corkedEnd);
  markDone(ctx, ctx.status);
}

/** Ends a started stream with an error event in the client's dialect (the SDKs raise it as an error). */
export function failStream(ctx: RequestContext, err: GatewayError): void {
  if (ctx.done || ctx.aborted) return;
  ctx.error = err;
  if (ctx.relayBytes) {
    // Bytes cannot carry an error event: the connection is cut, so the client sees a short body, not a
    // complete one (uWS fires onAborted, which finds the request done).
    markDone(ctx, ctx.status);
    ctx.res.close();
    return;
  }
  slotCtx = ctx;
  slotBody = ctx.streamError?.(err) ?? ctx.dialect.renderStreamError(err);
  ctx.res.cork(corkedEnd);
  markDone(ctx, ctx.status);
}

/** The client went away: nothing may be written; the request still counts as finished. */
export function markAborted(ctx: RequestContext): void {
  // A large answer may still have been on its way after the response was done.
  ctx.unsent = null;
  releaseHeld(ctx);
  if (ctx.done || ctx.aborted) return;
  ctx.aborted = true;
  ctx.tEnd = performance.now();
  ctx.failover?.abandon();
  ctx.sink.requestFinished(ctx);
}
