// One RequestContext per request: everything a stage reads or decides, with every field assigned in
// the constructor so V8 keeps one hidden class for all of them.
import type { HttpResponse } from 'uWebSockets.js';
import type { EndpointName, KeyPlan, RuntimePlan, Target } from '../plan/types.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { IncomingHttpHeaders } from 'node:http';
import type { CanonicalEmbeddingsRequest, CanonicalRequest } from '../formats/canonical.ts';
import type { Dialect } from '../formats/format.ts';
import type { RuleDecision } from '../rules/evaluate.ts';
import type { Classification } from '../classify/index.ts';
import type { FieldSpan } from '../util/multipart-field.ts';
import type { VirtualKey } from '../governance/directory.ts';
import { textOf } from '../classify/features.ts';
import { usedPercent, type Admitted, type Reservation } from '../governance/admission.ts';

/**
 * The server's side of a request: the one writer of the client response (server/respond.ts) and the
 * counters it keeps. Stages below the server write through this, never by importing server/.
 */
export interface RequestSink {
  requestFinished(ctx: RequestContext): void;
  /** A stream relay paused its provider because the client was not keeping up. */
  upstreamPaused(): void;
  /** A complete JSON answer; `upstream` headers are filtered and passed on. */
  json(ctx: RequestContext, status: number, body: string | Buffer, upstream: IncomingHttpHeaders | null): void;
  /** The error boundary: an error body in the client's dialect, or an error event on a started stream. */
  error(ctx: RequestContext, err: GatewayError, closeConnection?: boolean, extra?: IncomingHttpHeaders | null): void;
  /** Starts a stream with its first whole events; false when the client is not keeping up. */
  startStream(ctx: RequestContext, status: number, upstream: IncomingHttpHeaders, firstEvents: string | Buffer): boolean;
  /** Relays bytes of a started stream; false when the client is not keeping up. */
  writeStream(ctx: RequestContext, chunk: string | Buffer): boolean;
  /** Ends a started stream, after `last` (the translated stream's closing events, say). */
  endStream(ctx: RequestContext, last?: string): void;
  failStream(ctx: RequestContext, err: GatewayError): void;
}

/** One finished attempt, for x-microgate-route, error messages and telemetry. */
export interface AttemptResult {
  readonly target: Target;
  readonly key: KeyPlan;
  /** The provider's status, 0 when the attempt failed without one (then `flag` says why; it does too for a stream that failed after its 200). */
  readonly status: number;
  readonly flag: string;
  readonly ms: number;
}

/** What the rest of the request path needs of its failover loop (upstream/failover.ts). */
export interface FailoverHandle {
  readonly records: readonly AttemptResult[];
  readonly attempts: number;
  /** The path taken, e.g. "openai/gpt-4o#k1:429 > openai/gpt-4o#k2:200". */
  route(): string;
  /** The client left: stop waiting for a backoff. */
  cancel(): void;
  /** The client left: the attempt in flight, which reached the provider, goes in the records (flag DC). */
  abandon(): void;
}

/** The attempt in flight (upstream/attempt.ts): a client abort cancels it. */
export interface AttemptHandle {
  abort(reason: Error): void;
}

const NO_TENANT = Object.freeze({ virtualKey: '', team: '', customer: '' });

/** Bytes of a request and of its answer the request log keeps (telemetry.log.payloads). */
export const PAYLOAD_BYTES = 65_536;

export class RequestContext {
  readonly plan: RuntimePlan;
  readonly res: HttpResponse;
  readonly sink: RequestSink;
  readonly endpoint: EndpointName;
  /** The wire format the client speaks (OpenAI's on /v1/chat/completions, Anthropic's on /v1/messages). */
  readonly dialect: Dialect;
  readonly id: string;
  /** Request headers, lower-case names, copied out of uWS's stack-allocated request. */
  readonly headers: Record<string, string>;
  /** performance.now() at arrival. */
  readonly t0: number;

  /** The client's method: POST for most routes, GET and DELETE for files, batches and model lookups. */
  method = 'POST';
  /** For provider-owned resources (files, batches): the client's path after /v1, query included. */
  subpath = '';
  /** A multipart/form-data upload (audio, files): its content type, boundary included; null for JSON. */
  formType: string | null = null;
  /** Where the upload's `model` field sits, to route it and to put the target's model there. */
  formModel: FieldSpan | null = null;
  /** A translated stream's own error event (its encoder numbers events), used by the error boundary; null: the dialect's. */
  streamError: ((err: GatewayError) => string | null) | null = null;
  /** The provider's answer is relayed as bytes (audio, a transcript as text, a file's content), not as JSON or SSE. */
  relayBytes = false;

  // Body, as read from the client.
  bodyParts: Buffer[] | null = null;
  /** A refusal decided before the body was read (413, 415): the body is read and discarded, then this is sent. */
  refusal: GatewayError | null = null;
  bodyLength = 0;
  raw: Buffer | null = null;
  body: Record<string, unknown> | null = null;
  /** The model name as the client wrote it. */
  model = '';
  /** Top-level `model` members in the JSON body, escaped spellings included (parse counted them); -1 unknown. */
  modelMembers = -1;
  stream = false;
  /** Query parameters (rules' `params`), or null when the URL had none. */
  query: Record<string, string> | null = null;
  /** Who is calling: ids of the virtual key, team and customer (empty until governance exists). */
  tenant: Readonly<Record<'virtualKey' | 'team' | 'customer', string>> = NO_TENANT;
  /** POST /v1/route/explain: decide, describe the decision, send nothing upstream. */
  explain = false;
  /** What the rules decided, when there are rules. */
  rules: RuleDecision | null = null;
  private classified: Classification | null = null;

  // Routing decision: the targets to try in order; the target and key of the attempt in flight (or
  // the last one).
  targets: readonly Target[] = [];
  target: Target | null = null;
  key: KeyPlan | null = null;
  failover: FailoverHandle | null = null;
  /** The request in canonical form, made on the first attempt at a provider of another format. */
  canonical: CanonicalRequest | null = null;
  /** Embeddings in canonical form, likewise. */
  canonicalEmbeddings: CanonicalEmbeddingsRequest | null = null;
  /** Fields of the client's request left out for a provider that refuses them (x-microgate-dropped). */
  dropped: string[] | null = null;
  /** The client did not ask for stream usage, yet the provider sends it (the gateway asked for it, or the
   *  provider sends it unasked): the usage chunk is read for accounting and not relayed. */
  hideUsage = false;
  /** A Responses request continuing a response the gateway sealed: the id as the client has it, and the provider's (pipeline/continuation.ts). */
  previousResponse: { readonly sealed: string; readonly original: string } | null = null;
  /** The body as sent upstream, for `bodyFor` (reused by retries of the same target). */
  upstreamRaw: Buffer | null = null;
  bodyFor: Target | null = null;

  // Lifecycle. `aborted`: the client went away; `done`: the response is complete. After either,
  // nothing may touch `res` (uWS throws, and from a timer that would crash the process).
  aborted = false;
  done = false;
  /** Response head written (a stream has started): errors must now travel in-band. */
  headSent = false;
  error: GatewayError | null = null;
  status = 0;
  /** telemetry.log.payloads only: the answer as sent (a stream's events, capped). */
  responseText: Buffer[] | null = null;
  responseBytes = 0;
  /** The answer was longer than the 64 KiB kept (the request log says so). */
  responseCut = false;
  /** Bytes of the provider's answer still counted in the plan's buffer budget (released once sent). */
  heldBytes = 0;
  /** Bytes of the request's body held in the same budget while the request lives (server/app.ts). */
  bodyHeld = 0;
  /** A large JSON answer still being sent (server/respond.ts, tryEnd), or null. */
  unsent: Buffer | null = null;
  /** From the provider's usage, -1 while unknown. The prompt includes cache reads and writes. */
  promptTokens = -1;
  completionTokens = -1;
  /** Of the prompt, tokens read from and written to the provider's prompt cache (priced apart). */
  cacheReadTokens = 0;
  cacheWriteTokens = 0;
  /** The answer's cost in USD (-1 unknown; -2 not computed yet). */
  costUsd = -2;
  /** The caller's virtual key, when governance is on. */
  vk: VirtualKey | null = null;
  /** What admission found (the x-ratelimit-* headers), or null. */
  admitted: Admitted | null = null;
  /** What admission charged ahead of the answer (governance/admission.ts Reservation), settled at the end. */
  reserved: Reservation | null = null;
  /** When it was charged (epoch ms): a give-back goes to that window only. */
  reservedAt = 0;

  // Timing (performance.now() ms): the upstream's share is subtracted to get the gateway's own time.
  /** Time spent on attempts that failed and on backoffs, before the attempt in flight. */
  priorWaitMs = 0;
  tDispatch = 0;
  tUpstreamHead = 0;
  tUpstreamEnd = 0;
  /** Streams: when the provider's first whole event arrived. */
  tUpstreamFirst = 0;
  /** Streams: when the response head and first bytes went to the client. */
  tFirstWrite = 0;
  tEnd = 0;
  /** The upstream attempt in flight, so a client abort can cancel it. */
  attempt: AttemptHandle | null = null;

  constructor(plan: RuntimePlan, res: HttpResponse, sink: RequestSink, endpoint: EndpointName, dialect: Dialect, id: string, headers: Record<string, string>, t0: number) {
    this.plan = plan;
    this.res = res;
    this.sink = sink;
    this.endpoint = endpoint;
    this.dialect = dialect;
    this.id = id;
    this.headers = headers;
    this.t0 = t0;
  }

  /** Keeps answer bytes for the request log (telemetry.log.payloads), up to 64 KiB. */
  capture(chunk: Buffer): void {
    if (this.responseBytes + chunk.length > PAYLOAD_BYTES) this.responseCut = true;
    if (this.responseBytes >= PAYLOAD_BYTES) return;
    const part = chunk.length + this.responseBytes > PAYLOAD_BYTES ? chunk.subarray(0, PAYLOAD_BYTES - this.responseBytes) : chunk;
    (this.responseText ??= []).push(part);
    this.responseBytes += part.length;
  }

  /** The prompt's complexity, computed on first use only (rules that read it, explain). */
  usedPercent(kind: 'budget' | 'tpm' | 'rpm'): number {
    return this.vk === null ? 0 : usedPercent(this.vk, this.plan.governance.store, kind, Date.now());
  }

  classification(): Classification {
    if (this.classified === null) this.classified = this.plan.classifier.classifyMessages(this.classifierInput());
    return this.classified;
  }

  /**
   * What the classifier reads, as OpenAI chat messages: the chat messages; a completion prompt as one
   * user message; a Responses request's instructions and input items; a Messages request's system,
   * with tool results as tool turns (a user turn holding only results is not the question: the user
   * turn before it is, as for an OpenAI client). Each dialect read as chat messages had a Responses
   * request classified from nothing (always SIMPLE).
   */
  classifierInput(): unknown {
    const b = this.body;
    if (b === null) return [];
    if (this.endpoint === 'responses') return responsesAsChat(b);
    if (this.dialect.format === 'anthropic') return messagesAsChat(b);
    if (b.messages !== undefined) return b.messages;
    const prompt = Array.isArray(b.prompt) ? b.prompt.filter((p) => typeof p === 'string').join('\n') : b.prompt;
    return [{ role: 'user', content: typeof prompt === 'string' ? prompt : '' }];
  }

  get classifiedTier(): string | null {
    return this.classified === null ? null : this.classified.tier;
  }

  /**
   * Microseconds the gateway itself spent (BENCHMARKING.md): arrival to last byte written minus the
   * wait on the provider (dispatch to its last byte). For a relayed stream: arrival to the first bytes
   * written minus dispatch to the provider's response head; the relay of later events is not in it.
   */
  gatewayMicros(): number {
    let end = this.tEnd;
    let wait = this.priorWaitMs;
    if (this.tDispatch !== 0) {
      if (this.tFirstWrite !== 0) {
        end = this.tFirstWrite;
        wait += this.tUpstreamFirst - this.tDispatch;
      } else {
        wait += (this.tUpstreamEnd !== 0 ? this.tUpstreamEnd : this.tEnd) - this.tDispatch;
      }
    }
    return Math.max(0, Math.round((end - this.t0 - wait) * 1000));
  }

  /** Everything spent waiting on providers and backoffs, ms. */
  upstreamWaitMs(now: number): number {
    // No attempt in flight: the failed ones (and their backoffs), which fail() moved here. Answering 0
    // put a failed attempt's wait in the gateway's time (server-timing, the request log's upstreamUs).
    if (this.tDispatch === 0) return this.priorWaitMs;
    const last = this.tUpstreamEnd !== 0 ? this.tUpstreamEnd : this.tUpstreamFirst !== 0 ? this.tUpstreamFirst : now;
    return this.priorWaitMs + (last - this.tDispatch);
  }
}

/** The text parts of a Responses item's content ("input_text", "output_text") as chat text parts, which both scorers read. */
function textParts(content: unknown): Array<{ type: 'text'; text: string }> | string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.flatMap((p) => {
    if (typeof p !== 'object' || p === null) return [];
    const { type, text } = p as { type?: unknown; text?: unknown };
    return (type === 'text' || type === 'input_text' || type === 'output_text') && typeof text === 'string' ? [{ type: 'text' as const, text }] : [];
  });
}

/** A Responses request (instructions, input) as chat messages for the classifier. */
function responsesAsChat(b: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  if (typeof b.instructions === 'string') out.push({ role: 'system', content: b.instructions });
  if (typeof b.input === 'string') out.push({ role: 'user', content: b.input });
  else if (Array.isArray(b.input)) {
    for (const item of b.input as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const it = item as { type?: unknown; role?: unknown; content?: unknown; output?: unknown };
      if ((it.type === undefined || it.type === 'message') && typeof it.role === 'string') out.push({ role: it.role === 'developer' ? 'system' : it.role, content: textParts(it.content) });
      else if (it.type === 'function_call_output') out.push({ role: 'tool', content: typeof it.output === 'string' ? it.output : '' });
    }
  }
  return out;
}

/**
 * A Messages request (system, messages with tool results) as chat messages for the classifier: its
 * messages as they are (Anthropic's text blocks are chat's), each tool result as a tool turn.
 */
function messagesAsChat(b: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  const sys = b.system;
  if (typeof sys === 'string' || Array.isArray(sys)) out.push({ role: 'system', content: sys });
  if (!Array.isArray(b.messages)) return out;
  for (const m of b.messages as unknown[]) {
    if (typeof m !== 'object' || m === null) continue;
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (Array.isArray(content)) {
      for (const p of content as unknown[]) {
        if (typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'tool_result') out.push({ role: 'tool', content: (p as { content?: unknown }).content });
      }
      // A user turn of tool results (and images) only: its results are the tool turns above.
      if (role !== 'user' || textOf(m) !== '') out.push(m);
    } else out.push(m);
  }
  return out;
}
