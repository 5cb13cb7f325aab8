// The uWS application: routes, the synchronous part of every request (copy what we need out of
// uWS's stack-allocated request, register onAborted, reject what we can before reading the body),
// body reading, and the server's own counters.
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { EndpointName, RuntimePlan } from '../plan/types.ts';
import type { Dialect } from '../formats/format.ts';
import { FORMATS } from '../formats/index.ts';
import { responsesDialect } from '../formats/responses/index.ts';
import { boundaryOf } from '../util/multipart-field.ts';
import { isSurface, SURFACE } from '../formats/openai/surface.ts';
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import { openaiError } from '../formats/errors.ts';
import { resolveTarget } from '../plan/routes.ts';
import { checkModelName } from '../pipeline/parse.ts';
import { RequestContext, type RequestSink } from '../request/context.ts';
import { handleRequest } from '../pipeline/handle.ts';
import { MicrosHistogram } from '../state/micros-histogram.ts';
import { PROCESS, THREAD, THREAD_FIELDS } from '../state/shared-state.ts';
import { ALONE, mergeStats, type LocalStats, type Peers } from './peers.ts';
import { NO_TELEMETRY, type TelemetrySink } from '../telemetry/telemetry.ts';
import { MAX_MODEL_LABELS } from '../telemetry/metrics.ts';
import { endStream, failStream, markAborted, sendError, sendJson, startStream, statusLine, writeStream } from './respond.ts';
import { listenOn, uWS } from './uws.ts';
import { ConnectionGuard, fdLimit, highMark, type Listener } from './connection-guard.ts';
import { Cors, corsOf } from './cors.ts';
import { mountAdmin, refuseAdmin } from './admin.ts';
import { adminRefusal } from './ui-auth.ts';
import { presentedKey } from '../governance/governance.ts';
import type { Directory, VirtualKey } from '../governance/directory.ts';
import { settle } from '../pipeline/govern.ts';
import type { Config } from '../config/schema.ts';
import { mountUi } from './ui.ts';
import { targetHealth } from './admin-stats.ts';

/** Routes this server answers, and their methods: anything else on these paths is a 405. */
const ROUTES: ReadonlyMap<string, string> = new Map([
  ['/v1/chat/completions', 'POST'],
  ['/v1/completions', 'POST'],
  ['/v1/embeddings', 'POST'],
  ['/v1/messages', 'POST'],
  ['/v1/messages/count_tokens', 'POST'],
  ['/v1/responses', 'POST'],
  ['/v1/moderations', 'POST'],
  ['/v1/images/generations', 'POST'],
  ['/v1/audio/speech', 'POST'],
  ['/v1/audio/transcriptions', 'POST'],
  ['/v1/audio/translations', 'POST'],
  ['/v1/files', 'GET, POST'],
  ['/v1/batches', 'GET, POST'],
  ['/v1/models', 'GET'],
  ['/metrics', 'GET'],
  ['/health', 'GET'],
  ['/ready', 'GET'],
  ['/v1/route/explain', 'POST'],
  ['/admin/stats', 'GET'],
  ['/admin/stats/reset', 'POST'],
]);

/** `application/json`, with parameters, or any `+json` type (RFC 6839). An absent type is read as JSON, as curl -d users expect. */
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

// req.forEach is handed one module-level function instead of a closure per request.
let headerSink: Record<string, string> = Object.create(null);
function collectHeader(name: string, value: string): void {
  const prev = headerSink[name];
  headerSink[name] = prev === undefined ? value : `${prev}, ${value}`;
}

function copyHeaders(req: HttpRequest): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  headerSink = out;
  req.forEach(collectHeader);
  return out;
}

const VALID_REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface ServerOptions {
  host: string;
  port: number;
}

export class GatewayServer implements RequestSink, Listener {
  plan: RuntimePlan;
  readonly app: TemplatedApp;
  telemetry: TelemetrySink = NO_TELEMETRY;
  /** The validated config the plan was compiled from, for GET /admin/config and the request log's place (/admin/requests). */
  config: Config | null = null;
  /** In-gateway time of every finished request (µs), in this thread's slice of the shared histogram. */
  readonly gatewayTime: MicrosHistogram;
  /** The shared rows of per-thread counters (requests, in flight, aborted), and where this thread's starts. */
  private readonly rows: Float64Array;
  private readonly row: number;
  /** Times a stream relay paused its provider for a slow client (backpressure at work). */
  backpressurePauses = 0;
  draining = false;
  port = 0;
  private host = '';
  /** Refuses new connections near the fd limit (server/connection-guard.ts). */
  guard: ConnectionGuard | null = null;
  private listenSocket: us_listen_socket | null = null;
  private readonly idPrefix = `mg${Math.floor(Math.random() * 0x10000000).toString(36)}-`;
  private seq = 0;
  private drained: (() => void) | null = null;
  /** Requests in flight, so a shutdown past its grace period can end each one with an error. */
  private readonly live = new Set<RequestContext>();
  /** Plans a hot reload replaced whose requests are still in flight here: how many, and what to do after the last. */
  private readonly retiring = new Map<RuntimePlan, { left: number; retire: () => void }>();

  /** `thread`: this request thread's slot in the plan's shared state; `peers`: the other threads. */
  constructor(
    plan: RuntimePlan,
    readonly thread = 0,
    private readonly peers: Peers = ALONE,
  ) {
    this.plan = plan;
    this.rows = plan.shared.threads;
    this.row = thread * THREAD_FIELDS;
    this.gatewayTime = new MicrosHistogram(plan.shared.gatewayTime, thread);
    this.app = this.routes(uWS.App());
    plan.governance.changed = () => peers.entitiesChanged();
  }

  /**
   * A hot reload: requests from now on take `plan`; those in flight finish on the plan they started
   * with, and `retire(old)` runs once the last of them has ended (at once when none is in flight).
   */
  swap(plan: RuntimePlan, config: Config, retire: (old: RuntimePlan) => void): void {
    const old = this.plan;
    plan.governance.changed = () => this.peers.entitiesChanged();
    this.plan = plan;
    this.config = config;
    let left = 0;
    for (const ctx of this.live) if (ctx.plan === old) left++;
    if (left === 0) retire(old);
    else this.retiring.set(old, { left, retire: () => retire(old) });
  }

  /** Plans replaced by a reload and still finishing requests (closed with the server on shutdown). */
  get retiringPlans(): RuntimePlan[] {
    return [...this.retiring.keys()];
  }

  private retiredRequestEnded(plan: RuntimePlan): void {
    const r = this.retiring.get(plan);
    if (r === undefined || --r.left > 0) return;
    this.retiring.delete(plan);
    r.retire();
  }

  /** Requests this thread is serving. */
  get inFlight(): number {
    return this.rows[this.row + THREAD.inFlight]!;
  }

  /** Requests this thread's clients abandoned. */
  get aborted(): number {
    return this.rows[this.row + THREAD.aborted]!;
  }

  /** Requests this thread has taken since it started (its slot's, across restarts). */
  get requests(): number {
    return this.rows[this.row + THREAD.requests]!;
  }

  private routes(app: TemplatedApp): TemplatedApp {
    const openai = FORMATS.openai.dialect;
    const proxy = (endpoint: EndpointName, dialect: Dialect, body: BodyMode = 'json') => (res: HttpResponse, req: HttpRequest) => this.onProxyRequest(res, req, endpoint, dialect, body);
    app
      .post('/v1/chat/completions', proxy('chat', openai))
      .post('/v1/completions', proxy('completions', openai))
      .post('/v1/embeddings', proxy('embeddings', openai))
      // The Anthropic SDK's route: the same pipeline, in Anthropic's dialect.
      .post('/v1/messages', proxy('chat', FORMATS.anthropic.dialect))
      // messages.countTokens: Anthropic's providers count it themselves, Gemini's and Bedrock's are asked
      // in their own formats; an OpenAI-format provider has no such request (404 model_not_found).
      .post('/v1/messages/count_tokens', proxy('count_tokens', FORMATS.anthropic.dialect))
      .post('/v1/responses', proxy('responses', responsesDialect))
      // The rest of OpenAI's surface, relayed to OpenAI-format providers (formats/openai/surface.ts).
      .post('/v1/moderations', proxy('moderations', openai))
      .post('/v1/images/generations', proxy('images', openai))
      .post('/v1/audio/speech', proxy('speech', openai))
      .post('/v1/audio/transcriptions', proxy('transcriptions', openai, 'form'))
      .post('/v1/audio/translations', proxy('translations', openai, 'form'))
      .post('/v1/files', proxy('files', openai, 'form'))
      .get('/v1/files', proxy('files', openai, 'none'))
      .get('/v1/files/:id', proxy('files', openai, 'none'))
      .del('/v1/files/:id', proxy('files', openai, 'none'))
      .get('/v1/files/:id/content', proxy('files', openai, 'none'))
      .post('/v1/batches', proxy('batches', openai))
      .get('/v1/batches', proxy('batches', openai, 'none'))
      .get('/v1/batches/:id', proxy('batches', openai, 'none'))
      .post('/v1/batches/:id/cancel', proxy('batches', openai, 'none'))
      // The routing decision for a chat request, without sending it (README: "Routing rules").
      .post('/v1/route/explain', (res, req) => this.onProxyRequest(res, req, 'chat', openai, 'json', true))
      .get('/v1/models', (res, req) => this.keyed(res, req, () => this.small(res, req, 200, this.plan.modelsJson)))
      .get('/v1/models/*', (res, req) => this.keyed(res, req, () => this.onModel(res, req)))
      .get('/metrics', (res, req) => {
        const refused = this.plan.governance.protectMetrics ? adminRefusal(this.plan, res, req) : null;
        if (refused !== null) refuseAdmin(res, refused);
        else this.onMetrics(res);
      })
      .get('/health', (res, req) => writeSmall(res, 200, '{"status":"ok"}', this.idOf(req)))
      .get('/ready', (res, req) => {
        // Ready while serving; the governance store's state is shown (its failure policy keeps the gateway serving).
        const store = this.plan.governance.store.health();
        if (this.draining) writeSmall(res, 503, '{"status":"shutting_down"}', this.idOf(req));
        else writeSmall(res, 200, JSON.stringify({ status: 'ready', providers: this.plan.providers.size, governance: { store: store.kind, connected: store.connected } }), this.idOf(req));
      })
      .get('/admin/stats', (res, req) => {
        const refused = adminRefusal(this.plan, res, req);
        if (refused !== null) return refuseAdmin(res, refused);
        const id = this.idOf(req);
        let gone = false;
        res.onAborted(() => (gone = true));
        void this.stats().then((stats) => {
          if (!gone) res.cork(() => writeSmall(res, 200, JSON.stringify(stats), id));
        });
      })
      .post('/admin/stats/reset', (res, req) => {
        const refused = adminRefusal(this.plan, res, req);
        if (refused !== null) return refuseAdmin(res, refused);
        this.gatewayTime.reset();
        writeSmall(res, 200, '{"reset":true}', this.idOf(req));
      });
    // Virtual keys, teams, customers, usage and budget resets (governance).
    mountAdmin(app, () => this.plan, () => this.config);
    // The dashboard (/ui), its login and session.
    mountUi(app, () => this.plan);
    return app
      // Browser preflights, when server.cors names origins; otherwise OPTIONS is a 405 like any other method.
      .options('/*', (res, req) => {
        const cors = corsOf(this.plan.server);
        if (cors.enabled) cors.preflight(res, req, this.idOf(req));
        else notFound(res, req, this.idOf(req), this.plan.server.maxBodyBytes, this.draining, cors);
      })
      // uWS closes the socket without a word on an unmatched route (engineering.md §1): answer instead.
      .any('/*', (res, req) => notFound(res, req, this.idOf(req), this.plan.server.maxBodyBytes, this.draining, corsOf(this.plan.server)));
  }

  /** The synchronous part of a proxied request: everything here runs before the handler returns. */
  private onProxyRequest(res: HttpResponse, req: HttpRequest, endpoint: EndpointName, dialect: Dialect, body: BodyMode, explain = false): void {
    const t0 = performance.now();
    const headers = copyHeaders(req);
    const ctx = new RequestContext(this.plan, res, this, endpoint, dialect, this.requestId(headers['x-request-id']), headers, t0);
    ctx.explain = explain;
    // A route with a body is a POST (RequestContext's default); the others are GET, DELETE or a bodiless POST.
    if (body === 'none') ctx.method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    if (query !== undefined && query !== '') ctx.query = Object.fromEntries(new URLSearchParams(query));
    // A provider-owned resource's path (files, batches) goes to the provider as the client wrote it, once checked.
    const subpath = isSurface(endpoint) && SURFACE[endpoint].routedBy === 'provider' ? resourcePath(req.getUrl(), query) : '';
    this.rows[this.row + THREAD.inFlight]!++;
    this.rows[this.row + THREAD.requests]!++;
    this.live.add(ctx);
    // Registered before anything asynchronous: without it uWS terminates the process (uWS.js#1296).
    res.onAborted(() => {
      // Mark first: undici calls onResponseError synchronously from abort(), and that path must
      // already see the client as gone, or it would write to a dead response (uWS throws).
      markAborted(ctx);
      ctx.failover?.cancel();
      ctx.attempt?.abort(CLIENT_GONE);
    });

    if (this.draining) {
      sendError(ctx, new GatewayError('shutting_down', 'The gateway is shutting down; retry on another instance.'), true);
      return;
    }
    // Governance: once any virtual key exists, a request must present one (before its body is read).
    const gov = this.plan.governance;
    if (gov.directory.enforced) {
      const key = callerOf(gov.directory, headers);
      if (key instanceof GatewayError) {
        this.refuseAfterBody(ctx, key);
        return;
      }
      ctx.vk = key;
      ctx.tenant = key.tenant;
    }
    if (subpath === null) {
      this.refuseAfterBody(ctx, new GatewayError('invalid_request', 'The path holds characters or segments the gateway does not pass on.'));
      return;
    }
    ctx.subpath = subpath;
    if (body === 'none') {
      // GET, DELETE and body-less POSTs: nothing to read (a stray body is read and dropped first).
      const limit = drainLimit(this.plan.server.maxBodyBytes);
      discardBody(res, headers['content-length'], headers['transfer-encoding'] !== undefined, limit, () => ctx.done || ctx.aborted, (ended) => (ended ? handleRequest(ctx) : sendError(ctx, tooLarge(limit), true)));
      return;
    }
    // A compressed body would be parsed as JSON and its bytes echoed in the error (RFC 9110 §15.5.16:
    // a coding the server does not take is a 415). Bodies are read as sent, uncompressed.
    const coding = headers['content-encoding'];
    if (coding !== undefined && coding.toLowerCase() !== 'identity') {
      this.refuseAfterBody(ctx, new GatewayError('unsupported_media_type', `Content-Encoding '${coding.slice(0, 50)}' is not accepted: send the body uncompressed.`));
      return;
    }
    const type = headers['content-type'];
    if (body === 'form') {
      if (type === undefined || !PRINTABLE.test(type) || boundaryOf(type) === null) {
        this.refuseAfterBody(ctx, new GatewayError('unsupported_media_type', `Content-Type must be multipart/form-data with a boundary, got '${(type ?? '').slice(0, 100)}'.`));
        return;
      }
      ctx.formType = type;
    } else if (type !== undefined && !JSON_CONTENT_TYPE.test(type)) {
      this.refuseAfterBody(ctx, new GatewayError('unsupported_media_type', `Content-Type must be application/json, got '${type.slice(0, 100)}'.`));
      return;
    }
    const max = this.plan.server.maxBodyBytes;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      this.refuseAfterBody(ctx, tooLarge(max));
      return;
    }
    res.onData((chunk, isLast) => this.onBodyChunk(ctx, chunk, isLast));
  }

  /**
   * Refuses a request whose body is not wanted, after reading it. Closing the connection at once would
   * leave a client still uploading with a broken pipe (the OpenAI SDK sees EPIPE, not the 413, retries
   * and uploads again); answering without reading would make uWS parse the body as the next request.
   * So the body is read and discarded (nothing kept), then the error is sent on a connection that stays
   * usable. Past drainLimit bytes the client is sending far too much to wait for: answer and close.
   */
  private refuseAfterBody(ctx: RequestContext, err: GatewayError): void {
    ctx.refusal = err;
    ctx.bodyParts = null;
    const h = ctx.headers;
    discardBody(ctx.res, h['content-length'], h['transfer-encoding'] !== undefined, drainLimit(this.plan.server.maxBodyBytes), () => ctx.done || ctx.aborted, (ended) => sendError(ctx, err, !ended));
  }

  private onBodyChunk(ctx: RequestContext, chunk: ArrayBuffer, isLast: boolean): void {
    if (ctx.done || ctx.aborted) return;
    const max = this.plan.server.maxBodyBytes;
    ctx.bodyLength += chunk.byteLength;
    if (ctx.refusal !== null) {
      // Draining a refused body: count it, keep nothing.
      if (isLast) sendError(ctx, ctx.refusal);
      else if (ctx.bodyLength > drainLimit(max)) sendError(ctx, ctx.refusal, true);
      return;
    }
    if (ctx.bodyLength > max) {
      // A chunked body with no declared length, or a lying one: stop keeping it at the limit.
      ctx.bodyParts = null;
      ctx.refusal = tooLarge(max);
      if (isLast) sendError(ctx, ctx.refusal);
      return;
    }
    // Bodies held share the process's buffer budget with the answers (server.maxBufferedBytes): each is
    // capped by maxBodyBytes, but twenty unfinished 45 MiB uploads took RSS to 1 GB with nothing counting
    // them. Past the budget the body is drained, not kept, and refused as the gateway's overload.
    if (!ctx.plan.bufferBudget.take(chunk.byteLength)) {
      ctx.bodyParts = null;
      ctx.refusal = new GatewayError('gateway_overloaded', 'The gateway holds as many request and answer bytes as it may (server.maxBufferedBytes); retry shortly.');
      if (isLast) sendError(ctx, ctx.refusal);
      return;
    }
    ctx.bodyHeld += chunk.byteLength;
    // uWS detaches the ArrayBuffer when this callback returns: copy it.
    const copy = Buffer.from(chunk.slice(0));
    if (isLast && ctx.bodyParts === null) {
      ctx.raw = copy;
    } else {
      (ctx.bodyParts ??= []).push(copy);
      if (isLast) {
        ctx.raw = Buffer.concat(ctx.bodyParts, ctx.bodyLength);
        ctx.bodyParts = null;
      }
    }
    if (isLast) handleRequest(ctx);
  }

  /**
   * GET /v1/models/{id}: any name the gateway can route (listed, "provider/…", or caught by
   * routing.defaultProvider), as OpenAI's model object; otherwise 404 model_not_found. The SDK
   * percent-encodes the id, so "openai/gpt-4o" arrives as "openai%2Fgpt-4o".
   */
  private onModel(res: HttpResponse, req: HttpRequest): void {
    let id = req.getUrl().slice('/v1/models/'.length);
    try {
      id = decodeURIComponent(id);
    } catch {
      // kept as sent: it will not resolve
    }
    const plan = this.plan;
    let owner: string;
    try {
      checkModelName(id, 'model');
      owner = plan.routes.has(id) && plan.routes.get(id)!.targets.length > 1 ? 'microgate' : resolveTarget(plan, id).provider.name;
    } catch (err) {
      const e = isGatewayError(err) ? err : new GatewayError('model_not_found', `The model '${id.slice(0, 256)}' does not exist.`);
      this.small(res, req, e.status, JSON.stringify({ error: openaiError(e) }));
      return;
    }
    this.small(res, req, 200, JSON.stringify({ id, object: 'model', created: plan.createdAt, owned_by: owner }));
  }

  /**
   * Once virtual keys are enforced, the model list needs one too, as OpenAI's does: it names every
   * routable model and the providers behind them: `answer` runs when the request may go on.
   */
  private keyed(res: HttpResponse, req: HttpRequest, answer: () => void): void {
    const directory = this.plan.governance.directory;
    if (!directory.enforced) return answer();
    const key = callerOf(directory, { authorization: req.getHeader('authorization'), 'x-api-key': req.getHeader('x-api-key') });
    if (key instanceof GatewayError) this.small(res, req, key.status, JSON.stringify(key));
    else answer();
  }

  /** A gateway-own answer (not proxied), with its request id and, for an allowed browser origin, CORS headers. */
  private small(res: HttpResponse, req: HttpRequest, status: number, body: string): void {
    const id = this.idOf(req);
    const origin = req.getHeader('origin');
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').writeHeader('x-request-id', id);
    if (origin !== '') corsOf(this.plan.server).writeHeaders(res, origin);
    res.end(body);
  }

  /** The request id of a gateway-own answer (not proxied): the client's, if sane, else a new one. */
  private idOf(req: HttpRequest): string {
    const h = req.getHeader('x-request-id');
    return this.requestId(h === '' ? undefined : h);
  }

  private requestId(fromClient: string | undefined): string {
    if (fromClient !== undefined && VALID_REQUEST_ID.test(fromClient)) return fromClient;
    return this.idPrefix + (this.seq++).toString(36);
  }

  /** Prometheus text: the worker's record metrics (every thread's records), then the process's gauges. */
  private onMetrics(res: HttpResponse): void {
    let gone = false;
    res.onAborted(() => (gone = true));
    void this.peers
      .gather(this.localStats())
      .then((all) => this.telemetry.metrics(this.gauges(mergeStats(all))))
      .then((text) => {
      if (gone) return;
      res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8').end(text));
    });
  }

  private gauges(merged: ReturnType<typeof mergeStats>): string {
    const now = performance.now();
    const shared = this.plan.shared;
    const lines = [
      '# HELP microgate_in_flight Requests being served, by every request thread.',
      '# TYPE microgate_in_flight gauge',
      `microgate_in_flight ${shared.sum(THREAD.inFlight, true)}`,
      '# HELP microgate_config_reload_total Config reloads (SIGHUP or a change to the file), by outcome: error keeps the running config.',
      '# TYPE microgate_config_reload_total counter',
      `microgate_config_reload_total{result="ok"} ${shared.process[PROCESS.configReloads]!}`,
      `microgate_config_reload_total{result="error"} ${shared.process[PROCESS.configReloadFailures]!}`,
      '# HELP microgate_request_threads Request threads serving.',
      '# TYPE microgate_request_threads gauge',
      `microgate_request_threads ${shared.sum(THREAD.alive)}`,
      '# HELP microgate_request_thread_restarts_total Request threads that died and were started again.',
      '# TYPE microgate_request_thread_restarts_total counter',
      `microgate_request_thread_restarts_total ${shared.sum(THREAD.restarts)}`,
      '# HELP microgate_requests_lost_total Requests in flight in a request thread when it died (each counted as failed).',
      '# TYPE microgate_requests_lost_total counter',
      `microgate_requests_lost_total ${shared.sum(THREAD.lost)}`,
      '# HELP microgate_circuit_state Circuit per provider, key and model: 0 closed, 1 half-open (or open with its cooldown over: the next request probes), 2 open.',
      '# TYPE microgate_circuit_state gauge',
    ];
    const states: Record<string, number> = { closed: 0, half_open: 1, open: 2 };
    // Model names are label values for the first MAX_MODEL_LABELS distinct ones here too (the snapshot
    // lists open and half-open circuits first): clients naming models freely made 500 series.
    const models = new Set<string>();
    for (const [id, c] of Object.entries(this.plan.health.snapshot(this.plan.keysById, now))) {
      const [provider, key, ...rest] = id.split('/');
      const model = rest.join('/');
      if (!models.has(model)) {
        if (models.size >= MAX_MODEL_LABELS) continue;
        models.add(model);
      }
      lines.push(`microgate_circuit_state{provider="${provider}",key="${key}",model="${model.replace(/["\\\n]/g, '_')}"} ${states[c.state] ?? 0}`);
    }
    const g = this.guard;
    if (g !== null) {
      lines.push(
        '# HELP microgate_open_fds Open file descriptors of the process (connections, provider sockets, files).',
        '# TYPE microgate_open_fds gauge',
        `microgate_open_fds ${g.lastCount}`,
        '# HELP microgate_accept_paused 1 while new connections are refused because open files neared the limit (server.maxOpenFiles).',
        '# TYPE microgate_accept_paused gauge',
        `microgate_accept_paused ${g.paused ? 1 : 0}`,
        '# HELP microgate_accept_pauses_total Times new connections were refused near the fd limit.',
        '# TYPE microgate_accept_pauses_total counter',
        `microgate_accept_pauses_total ${merged.acceptPauses}`,
      );
    }
    const store = { kind: this.plan.governance.store.health().kind, ...merged.governance };
    lines.push(
      '# HELP microgate_governance_store_up 1 while the governance counter store answers (always 1 in process; Redis: connected).',
      '# TYPE microgate_governance_store_up gauge',
      `microgate_governance_store_up{store="${store.kind}"} ${store.connected ? 1 : 0}`,
      '# HELP microgate_governance_fail_open_total Requests admitted by the failure policy while the store was unreachable.',
      '# TYPE microgate_governance_fail_open_total counter',
      `microgate_governance_fail_open_total ${store.failOpenAdmits}`,
      '# HELP microgate_governance_fail_closed_total Requests refused by the failure policy while the store was unreachable.',
      '# TYPE microgate_governance_fail_closed_total counter',
      `microgate_governance_fail_closed_total ${store.failClosedRefusals}`,
      '# HELP microgate_governance_permit_waits_total Times a request waited a Redis round trip for a rate-limit permit (a small limit, or a block on its way).',
      '# TYPE microgate_governance_permit_waits_total counter',
      `microgate_governance_permit_waits_total ${store.permitWaits}`,
    );
    lines.push('# HELP microgate_rule_evaluation_errors_total Rule evaluations that failed (counted as no match).', '# TYPE microgate_rule_evaluation_errors_total counter');
    for (const [rule, n] of Object.entries(merged.rules.evaluationErrors)) lines.push(`microgate_rule_evaluation_errors_total{rule="${rule}"} ${n}`);
    lines.push('# HELP microgate_rule_missing_keys_total Rule evaluations that read a header or query parameter the request lacks (no match).', '# TYPE microgate_rule_missing_keys_total counter');
    for (const [rule, n] of Object.entries(merged.rules.missingKeys)) lines.push(`microgate_rule_missing_keys_total{rule="${rule}"} ${n}`);
    return `${lines.join('\n')}\n`;
  }

  requestFinished(ctx: RequestContext): void {
    if (ctx.bodyHeld !== 0) {
      ctx.plan.bufferBudget.give(ctx.bodyHeld);
      ctx.bodyHeld = 0;
    }
    settle(ctx);
    this.telemetry.record(ctx);
    this.live.delete(ctx);
    if (ctx.plan !== this.plan) this.retiredRequestEnded(ctx.plan);
    this.rows[this.row + THREAD.inFlight]!--;
    if (ctx.aborted) this.rows[this.row + THREAD.aborted]!++;
    else if (ctx.tDispatch !== 0) this.gatewayTime.record(ctx.gatewayMicros());
    if (this.inFlight === 0 && this.drained !== null) this.drained();
  }

  upstreamPaused(): void {
    this.backpressurePauses++;
  }

  // RequestSink: the response writer lives in server/respond.ts; these hand requests to it.
  json(ctx: RequestContext, status: number, body: string | Buffer, upstream: IncomingHttpHeaders | null): void {
    sendJson(ctx, status, body, upstream);
  }

  error(ctx: RequestContext, err: GatewayError, closeConnection = false, extra: IncomingHttpHeaders | null = null): void {
    sendError(ctx, err, closeConnection, extra);
  }

  startStream(ctx: RequestContext, status: number, upstream: IncomingHttpHeaders, firstEvents: string | Buffer): boolean {
    return startStream(ctx, status, upstream, firstEvents);
  }

  writeStream(ctx: RequestContext, chunk: string | Buffer): boolean {
    return writeStream(ctx, chunk);
  }

  endStream(ctx: RequestContext, last?: string): void {
    endStream(ctx, last);
  }

  failStream(ctx: RequestContext, err: GatewayError): void {
    failStream(ctx, err);
  }

  /** What this thread alone knows (peers.ts): the rest of the stats is in shared memory. */
  localStats(): LocalStats {
    const store = this.plan.governance.store.health();
    const rs = this.plan.ruleStats;
    return {
      thread: this.thread,
      backpressurePauses: this.backpressurePauses,
      acceptPauses: this.guard?.pauses ?? 0,
      pools: this.plan.pools.stats(),
      rules: { matches: Object.fromEntries(rs.matches), evaluationErrors: Object.fromEntries(rs.errors), missingKeys: Object.fromEntries(rs.missing), chainLimitHits: rs.chainLimitHits },
      droppedFields: Object.fromEntries(this.plan.droppedFields),
      governance: { connected: store.connected, failOpenAdmits: store.failOpenAdmits, failClosedRefusals: store.failClosedRefusals, permitWaits: store.permitWaits },
    };
  }

  /** GET /admin/stats: the whole process, whichever thread answers. */
  async stats(): Promise<Record<string, unknown>> {
    const all = await this.peers.gather(this.localStats());
    const m = mergeStats(all);
    const shared = this.plan.shared;
    const threads = [];
    for (let t = 0; t < shared.threadCount; t++) {
      threads.push({
        thread: t,
        alive: shared.thread(t, THREAD.alive) === 1,
        requests: shared.thread(t, THREAD.requests),
        inFlight: shared.thread(t, THREAD.inFlight),
        aborted: shared.thread(t, THREAD.aborted),
        lost: shared.thread(t, THREAD.lost),
        restarts: shared.thread(t, THREAD.restarts),
      });
    }
    return {
      requests: shared.sum(THREAD.requests),
      inFlight: shared.sum(THREAD.inFlight, true),
      aborted: shared.sum(THREAD.aborted),
      lost: shared.sum(THREAD.lost),
      backpressurePauses: m.backpressurePauses,
      threads,
      answeredBy: this.thread,
      telemetry: { dropped: this.telemetry.dropped, workerRestarts: this.telemetry.restarts },
      gatewayTimeUs: this.gatewayTime.summary(),
      pools: m.pools,
      circuits: this.plan.health.snapshot(this.plan.keysById, performance.now()),
      targets: targetHealth(this.plan),
      rules: m.rules,
      restingKeys: restingKeys(this.plan),
      // Adaptive weights are learnt by each thread from its own answers: these are the answering thread's.
      routeWeights: routeWeights(this.plan),
      droppedFields: m.droppedFields,
      memory: { rssBytes: process.memoryUsage.rss() },
    };
  }

  /**
   * `exclusive`: fail if anything else listens on the port (one gateway, one process). Request threads
   * share theirs (SO_REUSEPORT), and so does server.reusePort.
   */
  listen(host: string, port: number, exclusive = !this.plan.server.reusePort): Promise<number> {
    return new Promise((resolve, reject) => {
      listenOn(this.app, host, port, exclusive, (token) => {
        if (!token) {
          reject(new Error(`cannot listen on ${host}:${port}: address in use (another gateway?) or not permitted`));
          return;
        }
        this.listenSocket = token;
        this.port = uWS.us_socket_local_port(token);
        this.host = host;
        this.guard = new ConnectionGuard(this, highMark(fdLimit(), this.plan.server.maxOpenFiles));
        this.guard.start();
        this.rows[this.row + THREAD.alive] = 1;
        resolve(this.port);
      });
    });
  }

  /** ConnectionGuard's Listener: stop accepting, near the fd limit. */
  pause(): void {
    if (this.listenSocket === null) return;
    uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /**
   * ConnectionGuard's Listener: accept again on the same port (unless shutting down). Without
   * SO_REUSEADDR, which this uWS build sets only together with SO_REUSEPORT, the port cannot be bound
   * again while the connections it closed sit in TIME_WAIT (60 s): so the port is taken shared here.
   * Only the start-up listen must be exclusive, to catch a stale instance on the same port.
   */
  resume(done: (ok: boolean) => void): void {
    if (this.draining) return done(false);
    listenOn(this.app, this.host, this.port, false, (token) => {
      if (token) this.listenSocket = token;
      done(token !== false);
    });
  }

  /** Ends every request in flight with `err` (an error event, on a stream already started), and cancels its provider request. */
  private endLive(err: GatewayError): void {
    for (const ctx of this.live) {
      try {
        sendError(ctx, err);
        ctx.failover?.cancel();
        ctx.attempt?.abort(SHUT_DOWN);
      } catch {
        // a request the failure left half-written: its socket closes with the app
      }
    }
  }

  /**
   * Ends every request in flight with an error, then closes every socket: for a request thread about
   * to die (threads/), since uWS aborts the process when a thread exits with its app open.
   */
  abandon(): void {
    this.draining = true;
    this.guard?.stop();
    this.rows[this.row + THREAD.alive] = 0;
    // Each request in flight gets an answer that says what happened, and is recorded as failed.
    this.endLive(new GatewayError('internal_error', "The gateway's request thread failed while serving this request."));
    try {
      (this.app as TemplatedApp & { close(): void }).close();
    } catch {
      // already closed
    }
  }

  /**
   * Graceful stop: refuse new connections, let requests in flight finish within `graceMs`, then close
   * every socket (pending responses get onAborted, which cancels their upstream requests).
   */
  async close(graceMs = 0): Promise<void> {
    this.draining = true;
    this.guard?.stop();
    if (this.listenSocket !== null) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    if (this.inFlight > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.drained = null;
    }
    // The grace period is over: what is still running ends with an answer that says so (a 503, or an
    // error event on a stream already started), is recorded as such, and its provider request is cancelled.
    // Answered first, so the cancelled attempt finds the request done and reports nothing to the failover loop.
    this.endLive(new GatewayError('shutting_down', 'The gateway shut down before the request finished; retry it.'));
    // app.close() exists in this build (it closes every socket and fires onAborted) but not in its typings.
    (this.app as TemplatedApp & { close(): void }).close();
    this.rows[this.row + THREAD.alive] = 0;
  }
}

const CLIENT_GONE = Object.freeze(new Error('client closed the connection'));
const SHUT_DOWN = Object.freeze(new Error('the gateway shut down'));

/** How a route's request body arrives: JSON, a multipart form, or none. */
type BodyMode = 'json' | 'form' | 'none';

/** A header value passed on as it is (an upload's content type): printable ASCII only. */
const PRINTABLE = /^[\x20-\x7e]+$/;

/** A path segment passed on to a provider as it is: no '.', '..', slashes or escapes beyond these. */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]*$/;
const QUERY = /^[A-Za-z0-9_.~\-=&%+]*$/;

/** The path after /v1, query included, when every segment is plain; else null. */
function resourcePath(url: string, query: string | undefined): string | null {
  const segments = url.slice(3).split('/').slice(1);
  for (const s of segments) if (!SEGMENT.test(s)) return null;
  if (query !== undefined && query !== '' && !QUERY.test(query)) return null;
  return `/${segments.join('/')}${query === undefined || query === '' ? '' : `?${query}`}`;
}

/** How much of a refused body is read (and discarded) so the client gets its answer; past it, the connection is closed. */
const drainLimit = (maxBodyBytes: number): number => Math.max(4 * maxBodyBytes, 64 * 1024 * 1024);

/**
 * Reads and discards a body no one will use, so the connection stays usable: uWS would parse unread body
 * bytes as the next request, and closing at once would leave an uploading client with a broken pipe.
 * `done(true)` once it has ended (at once when the head announces none); `done(false)` as soon as it is
 * declared or sent past `limit`: answer and close. `gone()` says the client left or was answered (its
 * onAborted stays the caller's: uWS keeps one per response).
 */
function discardBody(res: HttpResponse, contentLength: string | undefined, chunked: boolean, limit: number, gone: () => boolean, done: (ended: boolean) => void): void {
  if (contentLength === undefined && !chunked) return done(true);
  if (Number(contentLength ?? 0) > limit) return done(false);
  let seen = 0;
  res.onData((chunk, isLast) => {
    if (gone()) return;
    seen += chunk.byteLength;
    if (isLast) done(true);
    else if (seen > limit) done(false);
  });
}

function tooLarge(max: number): GatewayError {
  return new GatewayError('request_too_large', `The request body exceeds the gateway's limit of ${max} bytes.`);
}

/** Small responses written synchronously inside a route handler (already corked by uWS), with their request id. */
function writeSmall(res: HttpResponse, status: number, body: string, id: string): void {
  res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').writeHeader('x-request-id', id).end(body);
}

function notFound(res: HttpResponse, req: HttpRequest, id: string, maxBodyBytes: number, draining: boolean, cors: Cors): void {
  const url = req.getUrl();
  // Read now: the request object is gone once the body has been drained. A browser app of an allowed
  // origin sees the 404 or 405 itself, not an opaque CORS failure.
  const origin = cors.enabled ? req.getHeader('origin') : undefined;
  const method = req.getCaseSensitiveMethod();
  const allowed = ROUTES.get(url);
  if (method === 'HEAD') {
    // uWS routes no HEAD to a .get() handler, so every HEAD lands here. A load balancer's health check
    // (HAProxy's `option httpchk HEAD /ready`) gets the GET's status: 503 while draining, which a flat
    // 200 hid. Other GET routes check a key or the admin key first: a HEAD of them is refused (405)
    // rather than answered 200 unchecked.
    const status = url === '/health' ? 200 : url === '/ready' ? (draining ? 503 : 200) : allowed === undefined ? 404 : 405;
    res.writeStatus(statusLine(status)).writeHeader('x-request-id', id);
    if (status === 405) res.writeHeader('allow', allowed!);
    // A HEAD answer has no body: endWithoutBody() with no length (with one it is broken, uWebSockets#1855).
    res.endWithoutBody();
    return;
  }
  const err =
    allowed !== undefined
      ? new GatewayError('method_not_allowed', `Method ${method} is not allowed on ${url}; use ${allowed}.`)
      : new GatewayError('not_found', `Unknown path ${method} ${url.slice(0, 200)}. microgate serves /v1/chat/completions, /v1/messages, /v1/responses, /v1/completions, /v1/embeddings, /v1/models, /v1/files, /v1/batches, /v1/moderations, /v1/images and /v1/audio (README, Endpoints).`);
  // Under Anthropic's path, in Anthropic's shape: its SDK reads {type: "error", error: {type, message}}
  // (its batches API lands here).
  const body = url.startsWith('/v1/messages') ? FORMATS.anthropic.dialect.renderError(err) : JSON.stringify(err.toJSON());
  const answer = (close: boolean) => {
    res.writeStatus(statusLine(err.status)).writeHeader('content-type', 'application/json').writeHeader('x-request-id', id);
    if (allowed !== undefined) res.writeHeader('allow', allowed);
    if (origin !== undefined) cors.writeHeaders(res, origin);
    res.end(body, close);
  };
  const declared = req.getHeader('content-length');
  let gone = false;
  res.onAborted(() => (gone = true));
  discardBody(res, declared === '' ? undefined : declared, req.getHeader('transfer-encoding') !== '', drainLimit(maxBodyBytes), () => gone, (ended) => {
    gone = true;
    answer(!ended);
  });
}

/** Keys resting after a 429 or 401/403, with the seconds left: "provider/key" → {reason, seconds}. */
function restingKeys(plan: RuntimePlan): Record<string, { reason: string; seconds: number }> {
  const now = performance.now();
  const out: Record<string, { reason: string; seconds: number }> = {};
  for (const k of plan.keysById.values()) {
    if (k.state.restUntil > now) out[`${k.provider.name}/${k.name}`] = { reason: k.state.reason, seconds: Math.ceil((k.state.restUntil - now) / 1000) };
  }
  return out;
}

/** Effective weights of multi-target routes (after adaptive weighting), as shares. */
function routeWeights(plan: RuntimePlan): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [name, r] of plan.routes) {
    if (r.targets.length < 2) continue;
    const p = r.picker;
    out[name] = Object.fromEntries(p.items.map((t, i) => [t.label, Math.round((p.weights[i]! / p.total) * 1000) / 1000]));
  }
  return out;
}

/** The virtual key a request presents (Authorization or x-api-key), or the 401 when it presents none the directory knows. */
function callerOf(directory: Directory, headers: Record<string, string>): VirtualKey | GatewayError {
  const value = presentedKey(headers);
  const key = value === null ? null : directory.find(value);
  if (key !== null) return key;
  return new GatewayError('invalid_api_key', value === null ? 'Missing API key: send a virtual key as "Authorization: Bearer <key>" or "x-api-key".' : 'Incorrect API key provided.');
}
