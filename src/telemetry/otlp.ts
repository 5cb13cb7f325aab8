// OpenTelemetry trace export over OTLP/HTTP with the JSON encoding, run inside the telemetry worker
// thread. One finished request (a TelemetryRecord) becomes one SERVER span, "{operation} {requested
// model}", with one CLIENT child span per upstream attempt, "{operation} {attempt model}".
//
// Wire format (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"): the body of
// POST {endpoint}/v1/traces is an ExportTraceServiceRequest in the protobuf JSON mapping, with the
// OTLP exceptions: traceId/spanId are lowercase hex (not base64), enums are integers, and 64-bit
// integers (intValue, *UnixNano) are decimal strings.
//
// Attribute names follow the OpenTelemetry GenAI semantic conventions where one applies
// (gen_ai.*, http.response.status_code, error.type); the rest are microgate.*. No attribute ever
// holds a provider key's value: the record has only the key's configured NAME (microgate.key).
//
// Ids. Every trace id and span id is random (crypto.randomBytes, one call per batch). The trace id is
// deliberately NOT derived from the request id: a client may send its own x-request-id and reuse it
// (its retries, a constant in a script), and a hashed trace id would merge those requests into one
// trace. A log line and a trace are joined on the `microgate.request_id` attribute instead, which is
// on every span (request and attempts), so any trace backend can search for it.
//
// Export. Records are queued (bounded by maxQueue; beyond it they are dropped and counted) and sent
// in batches of at most maxBatch records: by an unref'd interval timer, early when a full batch is
// waiting, and on flush()/close(). One POST is in flight at a time. A failed POST (network error,
// timeout, non-2xx) is counted and its batch dropped: telemetry is never retried without bound and
// never slows the gateway. The module has no side effects at import; nothing runs until an
// OtlpExporter is constructed (the worker only constructs one when OTLP is configured).
import { randomBytes } from 'node:crypto';
import type { AttemptRecord, TelemetryRecord } from './types.ts';

/** What is read of a collector's answer (its body says nothing the exporter uses). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads a response body to its end, or cancels it past `max` bytes. Never rejects. */
async function drain(res: Response, max: number): Promise<void> {
  const reader = res.body?.getReader();
  if (reader === undefined) return;
  try {
    for (let n = 0; ; ) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.byteLength;
      if (n > max) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // a reset mid-body: nothing to read
  }
}

/** The instrumentation scope version (and service.version unless told otherwise). */
export const MICROGATE_VERSION = '0.1.0';

export interface OtlpOptions {
  /** The collector's base URL, e.g. http://collector:4318; spans go to {endpoint}/v1/traces. A URL already ending in /v1/traces is used as it is. */
  endpoint: string;
  /** Extra request headers (a collector's auth token, for instance). */
  headers?: Record<string, string>;
  /** service.name of the resource; default 'microgate'. */
  serviceName?: string;
  /** service.version of the resource and the scope version; default MICROGATE_VERSION. */
  serviceVersion?: string;
  /** More resource attributes (deployment.environment.name, service.instance.id, …). */
  resourceAttributes?: Record<string, string>;
  /** Records (each one request span plus its attempts) per POST; default 512. */
  maxBatch?: number;
  /** Default 2000. */
  flushIntervalMs?: number;
  /** Records waiting to be sent; beyond it new records are dropped and counted. Default 10_000. */
  maxQueue?: number;
  /** Per POST; default 10_000. */
  timeoutMs?: number;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Told of records lost (a failed POST's, or beyond the queue) and why: the worker counts them and says so. */
  onLoss?: (records: number, why: string) => void;
}

export interface OtlpStats {
  /** Records (requests) the collector accepted with a 2xx. */
  exported: number;
  /** Records never sent: queue full, or added after close(). */
  dropped: number;
  /** POSTs that failed (network error, timeout, non-2xx); their records are lost. */
  failedPosts: number;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** SpanKind (trace.proto). */
const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
/** Status.StatusCode (trace.proto). */
const STATUS_CODE_OK = 1;
const STATUS_CODE_ERROR = 2;

type AnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean } | { arrayValue: { values: AnyValue[] } };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events?: { timeUnixNano: string; name: string; attributes: KeyValue[] }[];
  status: { code: number; message?: string };
}

export interface ExportTraceServiceRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: { scope: { name: string; version: string }; spans: OtlpSpan[] }[];
  }[];
}

const str = (attrs: KeyValue[], key: string, v: string): void => {
  attrs.push({ key, value: { stringValue: v } });
};
/** Skips empty strings: an absent attribute says "not applicable" better than "". */
const strIf = (attrs: KeyValue[], key: string, v: string): void => {
  if (v !== '') attrs.push({ key, value: { stringValue: v } });
};
/** int64 travels as a decimal string in OTLP/JSON. */
const int = (attrs: KeyValue[], key: string, v: number): void => {
  if (Number.isFinite(v)) attrs.push({ key, value: { intValue: String(Math.trunc(v)) } });
};
const dbl = (attrs: KeyValue[], key: string, v: number): void => {
  if (Number.isFinite(v)) attrs.push({ key, value: { doubleValue: v } });
};
const bool = (attrs: KeyValue[], key: string, v: boolean): void => {
  attrs.push({ key, value: { boolValue: v } });
};

/** gen_ai.operation.name for a gateway endpoint (GenAI semconv well-known values). */
export function operationName(endpoint: string): string {
  switch (endpoint) {
    case 'chat':
      return 'chat';
    case 'completions':
      return 'text_completion';
    case 'embeddings':
      return 'embeddings';
    default:
      return endpoint;
  }
}

/**
 * µs since the epoch → the decimal string of ns since the epoch. Whole microseconds keep the number
 * below 2^53 (≈ 1.8e15 today), so no BigInt is needed: ns is the µs digits followed by "000".
 */
function nanos(us: number): string {
  if (!(us > 0) || !Number.isFinite(us)) return '0';
  return `${Math.round(us)}000`;
}

/** Hands out ids from one randomBytes() call per batch. An all-zero id is invalid in OTLP: never produce one. */
class IdSource {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  next(bytes: 8 | 16): string {
    const start = this.pos;
    this.pos += bytes;
    let zero = true;
    for (let i = start; i < this.pos; i++) if (this.buf[i] !== 0) zero = false;
    if (zero) this.buf[this.pos - 1] = 1;
    return this.buf.toString('hex', start, this.pos);
  }
}

function attemptFailed(a: AttemptRecord): boolean {
  return a.flag !== '' || a.status === 0 || a.status >= 400;
}

/** error.type of a failed request: its gateway error code; else why it ended badly; else '' (not failed). */
function requestErrorType(r: TelemetryRecord): string {
  if (r.error !== '') return r.error;
  if (r.streamFailed) return 'stream_failed';
  if (r.aborted) return 'client_aborted';
  if (r.status >= 500) return String(r.status);
  return '';
}

function requestSpans(r: TelemetryRecord, ids: IdSource, out: OtlpSpan[]): void {
  const op = operationName(r.endpoint);
  const traceId = ids.next(16);
  const spanId = ids.next(8);
  const startUs = Math.round(r.start * 1000);
  const totalUs = r.totalUs > 0 ? r.totalUs : 0;
  const n = r.attempts.length;
  const last = n > 0 ? r.attempts[n - 1] : undefined;

  const attrs: KeyValue[] = [];
  str(attrs, 'gen_ai.operation.name', op);
  // The provider that served the final attempt; microgate itself is not a GenAI system.
  if (last !== undefined) strIf(attrs, 'gen_ai.system', last.provider);
  str(attrs, 'gen_ai.request.model', r.requestedModel);
  if (last !== undefined) strIf(attrs, 'gen_ai.response.model', last.model);
  // Usage lives on the request span only (not repeated on the final attempt) so that summing
  // gen_ai.usage.* over a trace's spans does not count it twice.
  if (r.promptTokens >= 0) int(attrs, 'gen_ai.usage.input_tokens', r.promptTokens);
  if (r.completionTokens >= 0) int(attrs, 'gen_ai.usage.output_tokens', r.completionTokens);
  if (r.status > 0) int(attrs, 'http.response.status_code', r.status);
  const errorType = requestErrorType(r);
  strIf(attrs, 'error.type', errorType);
  str(attrs, 'microgate.request_id', r.id);
  str(attrs, 'microgate.endpoint', r.endpoint);
  strIf(attrs, 'microgate.rule', r.rule);
  if (r.tags.length > 0) attrs.push({ key: 'microgate.tags', value: { arrayValue: { values: r.tags.map((t) => ({ stringValue: t })) } } });
  strIf(attrs, 'microgate.tier', r.tier);
  int(attrs, 'microgate.attempts', n);
  int(attrs, 'microgate.gateway_time_us', r.gatewayUs);
  int(attrs, 'microgate.upstream_time_us', r.upstreamUs);
  bool(attrs, 'microgate.stream', r.stream);
  if (r.stream && r.ttfbUs > 0) int(attrs, 'microgate.ttfb_us', r.ttfbUs);
  if (r.streamFailed) bool(attrs, 'microgate.stream_failed', true);
  if (r.aborted) bool(attrs, 'microgate.aborted', true);
  if (last !== undefined) strIf(attrs, 'microgate.key', last.key); // the key's configured name, never its value
  if (r.cost >= 0) dbl(attrs, 'microgate.cost_usd', r.cost);
  strIf(attrs, 'microgate.virtual_key', r.tenant.virtualKey);
  strIf(attrs, 'microgate.team', r.tenant.team);
  strIf(attrs, 'microgate.customer', r.tenant.customer);

  const span: OtlpSpan = {
    traceId,
    spanId,
    name: `${op} ${r.requestedModel}`,
    kind: SPAN_KIND_SERVER,
    startTimeUnixNano: nanos(startUs),
    endTimeUnixNano: nanos(startUs + totalUs),
    attributes: attrs,
    status: errorType === '' ? { code: STATUS_CODE_OK } : { code: STATUS_CODE_ERROR, message: errorType },
  };
  if (r.stream && r.ttfbUs > 0) span.events = [{ timeUnixNano: nanos(startUs + r.ttfbUs), name: 'microgate.first_byte', attributes: [] }];
  out.push(span);

  // The record does not hold when each attempt started, only how long it took. Attempts are laid
  // out one after the other from the request's start, each lasting its measured latency, and the
  // rest of the upstream time (backoff between attempts) is spread evenly over the gaps between
  // them. Durations are exact; start times are an estimate (the first attempt really starts a few µs
  // after arrival, once the request is parsed and routed).
  let sumLatency = 0;
  for (const a of r.attempts) sumLatency += a.latencyUs > 0 ? a.latencyUs : 0;
  const gapUs = n > 1 && r.upstreamUs > sumLatency ? (r.upstreamUs - sumLatency) / (n - 1) : 0;
  let cursor = startUs;
  for (let i = 0; i < n; i++) {
    const a = r.attempts[i]!;
    const latency = a.latencyUs > 0 ? a.latencyUs : 0;
    const failed = attemptFailed(a);
    const errType = failed ? (a.flag !== '' ? a.flag : String(a.status)) : '';
    const at: KeyValue[] = [];
    str(at, 'gen_ai.operation.name', op);
    strIf(at, 'gen_ai.system', a.provider);
    str(at, 'gen_ai.request.model', a.model);
    if (a.status > 0) int(at, 'http.response.status_code', a.status);
    strIf(at, 'error.type', errType);
    str(at, 'microgate.request_id', r.id);
    strIf(at, 'microgate.target', a.target);
    strIf(at, 'microgate.key', a.key); // the key's configured name, never its value
    int(at, 'microgate.attempt', i + 1);
    out.push({
      traceId,
      spanId: ids.next(8),
      parentSpanId: spanId,
      name: `${op} ${a.model}`,
      kind: SPAN_KIND_CLIENT,
      startTimeUnixNano: nanos(cursor),
      endTimeUnixNano: nanos(cursor + latency),
      attributes: at,
      status: failed ? { code: STATUS_CODE_ERROR, message: a.flag !== '' ? a.flag : `HTTP ${a.status}` } : { code: STATUS_CODE_OK },
    });
    cursor += latency + gapUs;
  }
}

/**
 * The OTLP/JSON ExportTraceServiceRequest for these records: pure apart from the random ids.
 * `resourceAttributes` are added to the resource after service.name/service.version/telemetry.sdk.*.
 */
export function toExportRequest(
  records: readonly TelemetryRecord[],
  serviceName: string,
  serviceVersion: string = MICROGATE_VERSION,
  resourceAttributes?: Record<string, string>,
): ExportTraceServiceRequest {
  let idBytes = 0;
  for (const r of records) idBytes += 16 + 8 * (1 + r.attempts.length);
  const ids = new IdSource(randomBytes(idBytes));
  const spans: OtlpSpan[] = [];
  for (const r of records) requestSpans(r, ids, spans);

  const resource: KeyValue[] = [];
  str(resource, 'service.name', serviceName);
  str(resource, 'service.version', serviceVersion);
  // semconv: telemetry.sdk.name must not claim "opentelemetry" for an implementation that is not an official SDK.
  str(resource, 'telemetry.sdk.name', 'microgate');
  str(resource, 'telemetry.sdk.language', 'nodejs');
  str(resource, 'telemetry.sdk.version', MICROGATE_VERSION);
  if (resourceAttributes !== undefined) for (const [k, v] of Object.entries(resourceAttributes)) str(resource, k, v);

  return {
    resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ scope: { name: 'microgate', version: MICROGATE_VERSION }, spans }] }],
  };
}

// ---------------------------------------------------------------------------------------------
// Export

function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

const positive = (v: number | undefined, dflt: number): number => (v !== undefined && Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt);

export class OtlpExporter {
  readonly stats: OtlpStats = { exported: 0, dropped: 0, failedPosts: 0 };
  /** Why the last POST failed, for the worker's log; null until one fails. */
  lastError: string | null = null;
  private readonly onLoss: ((records: number, why: string) => void) | null;

  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly serviceName: string;
  private readonly serviceVersion: string;
  private readonly resourceAttributes: Record<string, string> | undefined;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private queue: TelemetryRecord[] = [];
  /** Records ever taken off the queue into a POST: flush() waits until this passes a mark. */
  private taken = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null;
  private closed = false;

  constructor(opts: OtlpOptions) {
    this.url = tracesUrl(opts.endpoint);
    this.headers = { ...opts.headers, 'content-type': 'application/json' };
    this.serviceName = opts.serviceName ?? 'microgate';
    this.serviceVersion = opts.serviceVersion ?? MICROGATE_VERSION;
    this.resourceAttributes = opts.resourceAttributes;
    this.maxBatch = positive(opts.maxBatch, 512);
    this.maxQueue = positive(opts.maxQueue, 10_000);
    this.timeoutMs = positive(opts.timeoutMs, 10_000);
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.onLoss = opts.onLoss ?? null;
    this.timer = setInterval(() => this.kick(1), positive(opts.flushIntervalMs, 2000));
    this.timer.unref();
  }

  /** Queues records; never blocks, never throws; drops (and counts) beyond maxQueue. */
  add(records: readonly TelemetryRecord[]): void {
    try {
      if (this.closed) {
        this.stats.dropped += records.length;
        return;
      }
      const room = this.maxQueue - this.queue.length;
      const take = records.length <= room ? records.length : room > 0 ? room : 0;
      for (let i = 0; i < take; i++) this.queue.push(records[i]!);
      this.stats.dropped += records.length - take;
      if (take < records.length) this.onLoss?.(records.length - take, 'the export queue is full');
      this.kick(this.maxBatch);
    } catch {
      // Telemetry must never take the worker down.
    }
  }

  /** Sends everything queued now (used on shutdown). Resolves even if the collector fails. */
  async flush(): Promise<void> {
    // Bounded by what is queued now: under a steady stream of add()s this still returns.
    const mark = this.taken + this.queue.length;
    while (this.taken < mark) {
      if (this.inFlight !== null) await this.inFlight;
      else if (this.queue.length === 0) break;
      else this.kick(1);
    }
    // The POST carrying the last of them (POSTs run one at a time, so it is this one or already done).
    if (this.inFlight !== null) await this.inFlight;
  }

  /** Stops the timer and sends what is queued; later add()s are dropped and counted. */
  async close(): Promise<void> {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
    this.closed = true;
    await this.flush();
  }

  /** Starts a POST if none is in flight and at least `min` records wait. */
  private kick(min: number): void {
    if (this.inFlight !== null || this.queue.length === 0 || this.queue.length < min) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.taken += batch.length;
    this.inFlight = this.post(batch).finally(() => {
      this.inFlight = null;
      // A full batch may have piled up while this one was on the wire.
      this.kick(this.maxBatch);
    });
  }

  /** Never rejects. */
  private async post(batch: TelemetryRecord[]): Promise<void> {
    try {
      const body = JSON.stringify(toExportRequest(batch, this.serviceName, this.serviceVersion, this.resourceAttributes));
      // No redirect is followed: fetch keeps every header but authorization across origins, and OTLP
      // headers carry the collector's credentials (an x-api-key reached the host a 307 named).
      const res = await this.fetchImpl(this.url, { method: 'POST', headers: this.headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      // Read to the end so the connection goes back to the pool, up to a bound: a collector that
      // answers an endless body took the worker to 2 GB.
      await drain(res, MAX_ANSWER_BYTES);
      if (res.ok) {
        this.stats.exported += batch.length;
      } else {
        this.stats.failedPosts++;
        this.lastError = `HTTP ${res.status}`;
        this.onLoss?.(batch.length, this.lastError);
      }
    } catch (err) {
      this.stats.failedPosts++;
      this.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.onLoss?.(batch.length, this.lastError);
    }
  }
}
