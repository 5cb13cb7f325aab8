// The uWS app: routes, the per-request flow (latency → auth → parse → fault → body), stats and the
// control endpoints. With the default config a request is answered synchronously in onData's last chunk.
// /v1/messages takes the same flow in Anthropic's dialect (anthropic.ts, anthropic-validate.ts),
// /v1beta/models/{model}:{method} in Gemini's (gemini-route.ts after the latency), /model/{modelId}/converse(-stream)
// in Bedrock's (bedrock-route.ts, SigV4 in sigv4-verify.ts) and /openai/deployments/{deployment}/… in Azure
// OpenAI's (azure.ts). The rest of OpenAI's surface (Responses, models/{id}, moderations, images, audio, files,
// batches) is mounted from surface.ts through openExchange() and later().

import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import * as A from './anthropic.ts';
import { validateCountRequest, validateRequest } from './anthropic-validate.ts';
import { azureKey, parseAzureCall, respondAzure } from './azure.ts';
import type { AzureCall, AzureKind } from './azure.ts';
import { parseBedrockCall, respondBedrock } from './bedrock-route.ts';
import { decide, sampleLatency } from './behavior.ts';
import { compile, headerOverrides, mergeBehavior, resolveBehavior } from './config.ts';
import type { Behavior, MockConfig, Plan } from './config.ts';
import { embeddingInputs, embeddingsBody } from './embeddings.ts';
import { Exchange } from './exchange.ts';
import type { ExchangeOwner, Header } from './exchange.ts';
import { answerBytes, parseObject, streamStop } from './flow.ts';
import { faultRetryHeaders, type SurfaceHost } from './gate.ts';
import { parseCall, respondGemini } from './gemini-route.ts';
import { sampleArgs } from './sample-args.ts';
import * as R from './responses.ts';
import { bump, emptyStats } from './stats.ts';
import type { MockStats } from './stats.ts';
import { mountSurface } from './surface.ts';

export interface MockHandle {
  name: string;
  port: number;
  url: string; // http://127.0.0.1:<port>
  baseUrl: string; // url + '/v1'
  stats(): MockStats;
  resetStats(): void;
  setConfig(config: MockConfig): void;
  config(): MockConfig;
  /** Stops listening and force-closes open connections; pending timers are cleared. */
  close(): Promise<void>;
}

type Route = 'chat' | 'completions' | 'embeddings' | 'models' | 'messages' | 'count_tokens';
const PATHS: Record<Route, string> = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  models: '/v1/models',
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
};

const MAX_DIMS = 8192;
const invalid = (message: string, code: string) => R.errorBody(message, 'invalid_request_error', code);
// Never echoes the key: a gateway that logs this body must not leak it.
const INVALID_KEY = invalid('Incorrect API key provided.', 'invalid_api_key');
const BAD_JSON = invalid('We could not parse the JSON body of your request.', 'invalid_json');
const NO_MODEL = invalid('You must provide a model parameter.', 'missing_required_parameter');
const BAD_INPUT = invalid("'input' must be a string, or an array of strings or of token arrays.", 'invalid_input');
const BAD_DIMS = invalid(`'dimensions' must be an integer from 1 to ${MAX_DIMS}.`, 'invalid_dimensions');

// req.forEach gets one module-level function instead of a closure per request.
let sink: Record<string, string> = Object.create(null);
let sinkOverrides = false;
function collectHeader(name: string, value: string): void {
  const prev = sink[name];
  sink[name] = prev === undefined ? value : `${prev}, ${value}`;
  if (name.startsWith('x-mock-')) sinkOverrides = true;
}

function bearer(authorization: string | undefined): string {
  if (authorization === undefined || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return '';
  return authorization.slice(7).trim();
}

/** Anthropic's `x-api-key`, else a bearer token (the SDK sends its apiKey as one; providers.md §1.1). */
function anthropicKey(headers: Record<string, string>): string {
  return headers['x-api-key']?.trim() || bearer(headers.authorization);
}

/** uWS detaches each chunk's ArrayBuffer when the callback returns: copy or decode it before that. */
function readBody(res: HttpResponse, done: (body: string) => void): void {
  let parts: Buffer[] | null = null;
  res.onData((ab, isLast) => {
    if (!isLast) (parts ??= []).push(Buffer.from(ab.slice(0)));
    else done(parts === null ? Buffer.from(ab).toString() : Buffer.concat([...parts, Buffer.from(ab)]).toString());
  });
}

/** The body as bytes: a SigV4 signature covers exactly these. */
function readBytes(res: HttpResponse, done: (body: Buffer) => void): void {
  let parts: Buffer[] | null = null;
  res.onData((ab, isLast) => {
    const chunk = Buffer.from(ab.slice(0));
    if (!isLast) (parts ??= []).push(chunk);
    else done(parts === null ? chunk : Buffer.concat([...parts, chunk]));
  });
}

const AZURE_PATHS: ReadonlyArray<readonly [string, AzureKind]> = [
  ['chat/completions', 'chat'],
  ['completions', 'completions'],
  ['embeddings', 'embeddings'],
];

/** Present in this build (it fires onAborted on pending responses) but missing from its typings. */
type ClosableApp = TemplatedApp & { close(): void };

class MockServer implements ExchangeOwner, MockHandle, SurfaceHost {
  readonly app = uWS.App() as ClosableApp;
  counters: MockStats = emptyStats();
  closing = false;
  port = 0;
  url = '';
  baseUrl = '';
  private readonly open = new Set<Exchange>();
  private seq = 0;
  plan: Plan;
  private listenSocket: us_listen_socket | null = null;

  constructor(config: MockConfig) {
    this.plan = compile(config);
    for (const route of Object.keys(PATHS) as Route[]) {
      const handler = (res: HttpResponse, req: HttpRequest) => this.accept(route, res, req);
      if (route === 'models') this.app.get(PATHS[route], handler);
      else this.app.post(PATHS[route], handler);
    }
    // Gemini puts model and method in one path segment; the SDK's default API version is v1beta.
    for (const version of ['/v1beta', '/v1']) this.app.post(`${version}/models/:action`, (res, req) => this.acceptGemini(res, req));
    // Bedrock's model id is one (URI-encoded) segment, even an ARN: its '/' arrive as %2F.
    this.app.post('/model/:modelId/:op', (res, req) => this.acceptBedrock(res, req));
    for (const [suffix, kind] of AZURE_PATHS) this.app.post(`/openai/deployments/:deployment/${suffix}`, (res, req) => this.acceptAzure(kind, res, req));
    mountSurface(this.app, this);
    // Control endpoints answer at once and are not counted in the stats they report.
    this.app
      .get('/_mock/stats', (res) => sendJson(res, 200, JSON.stringify(this.counters)))
      .get('/_mock/config', (res) => sendJson(res, 200, JSON.stringify(this.plan.config)))
      .post('/_mock/config', (res) => this.replaceConfig(res))
      .post('/_mock/reset', (res) => {
        this.resetStats();
        sendJson(res, 200, '{"ok":true}');
      })
      .any('/*', (res, req) => this.notFound(res, req));
  }

  get name(): string {
    return this.plan.texts.name;
  }

  config(): MockConfig {
    return this.plan.config;
  }

  setConfig(config: MockConfig): void {
    this.plan = compile(config);
  }

  stats(): MockStats {
    return structuredClone(this.counters);
  }

  resetStats(): void {
    this.counters = emptyStats(this.open.size);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  release(ex: Exchange): void {
    this.open.delete(ex);
    this.counters.inFlight = this.open.size;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (token) => {
        if (token === false) return reject(new Error(`mock ${this.name}: cannot listen on ${host}:${port}`));
        this.listenSocket = token;
        this.port = uWS.us_socket_local_port(token);
        // A wildcard bind is reached through loopback.
        this.url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${this.port}`;
        this.baseUrl = `${this.url}/v1`;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.listenSocket !== null) uWS.us_listen_socket_close(this.listenSocket);
    this.app.close();
    // Drop whatever app.close() did not abort, so none of its timers can touch a closed response.
    for (const ex of [...this.open]) ex.abandon();
  }

  private accept(route: Route, res: HttpResponse, req: HttpRequest): void {
    const headers = (sink = Object.create(null) as Record<string, string>);
    sinkOverrides = false;
    req.forEach(collectHeader);
    const key = route === 'messages' || route === 'count_tokens' ? anthropicKey(headers) : bearer(headers.authorization);
    const ex = this.register(res, headers, key, PATHS[route]);
    if (route === 'models') this.handle(route, ex, null);
    else readBody(res, (body) => this.handle(route, ex, body));
  }

  /** Gemini's key comes in `x-goog-api-key` (what @google/genai sends) or the `key` query parameter. */
  private acceptGemini(res: HttpResponse, req: HttpRequest): void {
    const headers = (sink = Object.create(null) as Record<string, string>);
    sinkOverrides = false;
    req.forEach(collectHeader);
    const call = parseCall(req.getParameter(0), req.getQuery());
    const ex = this.register(res, headers, headers['x-goog-api-key']?.trim() || call.queryKey, req.getUrl());
    readBody(res, (body) => {
      const b = this.behavior(ex);
      const ms = sampleLatency(b, this.plan.rng);
      if (ms === 0) respondGemini(this, ex, b, call, body);
      else ex.after(ms, () => respondGemini(this, ex, b, call, body));
    });
  }

  /** Bedrock: the key is the SigV4 access key id or the bearer API key; the body is kept as bytes for the signature. */
  private acceptBedrock(res: HttpResponse, req: HttpRequest): void {
    const headers = (sink = Object.create(null) as Record<string, string>);
    sinkOverrides = false;
    req.forEach(collectHeader);
    const url = req.getUrl();
    const { call, key } = parseBedrockCall(req.getParameter(0), req.getParameter(1), req.getMethod(), url, req.getQuery() ?? '', headers);
    const ex = this.register(res, headers, key, url);
    readBytes(res, (body) => this.later(ex, (b) => respondBedrock(this, ex, b, call, body)));
  }

  /** Azure: the key in `api-key` (or an Entra bearer token), the deployment and api-version from the URL. */
  private acceptAzure(kind: AzureKind, res: HttpResponse, req: HttpRequest): void {
    const headers = (sink = Object.create(null) as Record<string, string>);
    sinkOverrides = false;
    req.forEach(collectHeader);
    const call: AzureCall = parseAzureCall(kind, req.getParameter(0), req.getQuery());
    const ex = this.register(res, headers, azureKey(headers), req.getUrl());
    readBody(res, (body) => this.later(ex, (b) => respondAzure(this, ex, b, call, body)));
  }

  /** An OpenAI-surface request (surface.ts): its headers copied, its bearer key (or Azure's api-key, on Azure's v1 routes), counted. */
  openExchange(res: HttpResponse, req: HttpRequest): Exchange {
    const headers = (sink = Object.create(null) as Record<string, string>);
    sinkOverrides = false;
    req.forEach(collectHeader);
    return this.register(res, headers, azureKey(headers), req.getUrl());
  }

  /** Runs `respond` with the key's behaviour after its latency (synchronously when there is none). */
  later(ex: Exchange, respond: (b: Behavior) => void): void {
    const b = this.behavior(ex);
    const ms = sampleLatency(b, this.plan.rng);
    if (ms === 0) respond(b);
    else ex.after(ms, () => respond(b));
  }

  /** The Exchange (its constructor registers onAborted first) and the per-request counters. */
  private register(res: HttpResponse, headers: Record<string, string>, key: string, path: string): Exchange {
    const ex = new Exchange(this, res, headers, key, sinkOverrides);
    const c = this.counters;
    c.requests++;
    bump(c.byPath, path);
    if (key !== '') bump(c.byKey, key);
    c.lastHeaders = headers;
    this.open.add(ex);
    c.inFlight = this.open.size;
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight;
    return ex;
  }

  /** The key's behaviour; header overrides are parsed only when some x-mock-* header is present. */
  private behavior(ex: Exchange): Behavior {
    const plan = this.plan;
    const keyed = plan.keys.get(ex.key);
    return ex.overrides ? resolveBehavior(mergeBehavior(keyed?.layer ?? plan.baseLayer, headerOverrides(ex.headers))) : (keyed?.behavior ?? plan.base);
  }

  private handle(route: Route, ex: Exchange, text: string | null): void {
    const b = this.behavior(ex);
    const ms = sampleLatency(b, this.plan.rng);
    if (ms === 0) this.respond(route, ex, b, text);
    else ex.after(ms, () => this.respond(route, ex, b, text));
  }

  private respond(route: Route, ex: Exchange, b: Behavior, text: string | null): void {
    if (route === 'messages' || route === 'count_tokens') return this.respondMessages(ex, b, text ?? '', route === 'count_tokens');
    const plan = this.plan;
    if (plan.validKeys !== null && !plan.validKeys.has(ex.key)) return ex.json(401, INVALID_KEY);
    const body = text === null ? {} : parseObject(text);
    if (body === null) return ex.json(400, BAD_JSON);
    if (text !== null) {
      if (typeof body.model !== 'string' || body.model === '') return ex.json(400, NO_MODEL);
      bump(this.counters.byModel, body.model);
    }

    const decision = decide(b, plan.rng);
    if (decision.fault === 'timeout') {
      // Hold: the exchange stays open until the client leaves or the mock closes.
      this.counters.timeouts++;
      return;
    }
    if (decision.fault === 'reset') return ex.reset();
    const status = decision.status;
    if (decision.fault === 'error') return ex.json(status, R.faultBody(status), faultRetryHeaders(b, status));
    const malformed = decision.fault === 'malformed';
    if (malformed) this.counters.malformed++;

    let out: string;
    if (route === 'models') out = plan.models;
    else if (route === 'embeddings') {
      const items = embeddingInputs(body.input);
      if (items === null) return ex.json(400, BAD_INPUT);
      const dims = body.dimensions ?? 8;
      if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS) return ex.json(400, BAD_DIMS);
      out = embeddingsBody(JSON.stringify(body.model), items, dims, body.encoding_format === 'base64');
    } else {
      const spec: R.CompletionSpec = {
        kind: route,
        id: ++this.seq,
        created: Math.floor(Date.now() / 1000),
        model: JSON.stringify(body.model),
        promptTokens: R.promptTokens(route, body),
        chunks: b.streamChunks,
        includeUsage: (body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true,
      };
      if (body.stream === true) return this.stream(ex, b, malformed, spec);
      // Structured output (response_format json_schema): JSON sampled from the schema, as the model must answer.
      const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
      if (route === 'chat' && format?.type === 'json_schema') out = R.completion(spec, JSON.stringify(JSON.stringify(sampleArgs(format.json_schema?.schema))).slice(1, -1));
      // Like a real model, the answer's length follows max_tokens (~4 bytes a token) unless a knob sets it.
      else out = R.completion(spec, plan.texts.content(answerBytes(b, body.max_tokens ?? body.max_completion_tokens)));
    }
    ex.json(200, malformed ? R.truncate(out) : out);
  }

  private stream(ex: Exchange, b: Behavior, malformed: boolean, spec: R.CompletionSpec): void {
    const events = R.streamEvents(spec, this.plan.texts);
    if (malformed) {
      const broken = R.brokenStream(events, spec.kind);
      return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs);
    }
    const first = R.contentStart(spec.kind);
    const stop = streamStop(b, first, events.length);
    const errorAt = spec.kind === 'chat' && b.streamErrorAfterChunks >= 0 ? first + Math.min(b.streamErrorAfterChunks, spec.chunks) : -1;
    if (errorAt >= 0 && errorAt <= stop.limit) {
      // OpenAI's in-band error chunk (OpenRouter sends the same), then the connection ends: no [DONE].
      const errored = [...events.slice(0, errorAt), `data: ${JSON.stringify({ error: { message: `Injected ${b.streamErrorType} (mock).`, type: b.streamErrorType, code: null } })}\n\n`];
      return ex.stream(errored, errored.length, 'truncate', b.chunkDelayMs, first, errored.length);
    }
    ex.stream(events, stop.limit, stop.end, b.chunkDelayMs, first, first + spec.chunks);
  }

  /** POST /v1/messages: Anthropic's checks (key, version header, body; providers.md §1.1–1.3), then the same
   *  faults as the OpenAI routes in Anthropic's error shape (§1.6). Every answer carries `request-id`.
   *  `counting`: POST /v1/messages/count_tokens, whose answer is the input_tokens the message would use. */
  private respondMessages(ex: Exchange, b: Behavior, text: string, counting: boolean): void {
    const plan = this.plan;
    const seq = ++this.seq;
    const requestId = `req_mock_${seq}`;
    const head: Header[] = [['request-id', requestId]];
    const fail = (status: number, type: string, message: string, extra: readonly Header[] = []) =>
      ex.json(status, A.errorBody(type, message, requestId), extra.length === 0 ? head : [...head, ...extra]);
    // A key is required even without validKeys: a gateway that drops it is the bug to catch.
    if (ex.key === '' || (plan.validKeys !== null && !plan.validKeys.has(ex.key))) return fail(401, 'authentication_error', 'invalid x-api-key');
    if (ex.headers['anthropic-version'] === undefined) return fail(400, 'invalid_request_error', 'anthropic-version: header is required');
    const body = parseObject(text);
    if (body === null) return fail(400, 'invalid_request_error', 'The request body must be a JSON object.');
    if (typeof body.model !== 'string' || body.model === '') return fail(400, 'invalid_request_error', 'model: Field required');
    bump(this.counters.byModel, body.model);
    const invalid = counting ? validateCountRequest(body) : validateRequest(body);
    if (invalid !== null) return fail(400, 'invalid_request_error', invalid);

    const decision = decide(b, plan.rng);
    if (decision.fault === 'timeout') {
      this.counters.timeouts++;
      return;
    }
    if (decision.fault === 'reset') return ex.reset();
    if (decision.fault === 'error') {
      const [type, message] = A.faultError(decision.status);
      return fail(decision.status, type, message, faultRetryHeaders(b, decision.status));
    }
    const malformed = decision.fault === 'malformed';
    if (malformed) this.counters.malformed++;
    if (counting) {
      const out = `{"input_tokens":${A.inputTokens(body, body.messages as Record<string, unknown>[])}}`;
      return ex.json(200, malformed ? R.truncate(out) : out, head);
    }
    const s = A.scenario(body, seq, plan.texts.name);
    if (body.stream === true) return this.streamMessages(ex, b, malformed, s, head);
    const out = A.messageBody(s, plan.texts.content(answerBytes(b, body.max_tokens)));
    ex.json(200, malformed ? R.truncate(out) : out, head);
  }

  /** The knobs act on the text deltas; streamErrorAfterChunks replaces the rest with `event: error`. */
  private streamMessages(ex: Exchange, b: Behavior, malformed: boolean, s: A.Scenario, head: Header[]): void {
    const chunks = Math.min(b.streamChunks, s.maxTokens);
    const { events, contentFrom } = A.streamEvents(s, this.plan.texts.words, chunks);
    if (malformed) {
      const broken = [...events.slice(0, contentFrom), A.brokenEvent(events[contentFrom]!)];
      return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs, 0, broken.length, head);
    }
    const contentTo = contentFrom + chunks;
    const stop = streamStop(b, contentFrom, events.length, chunks);
    const errorAt = b.streamErrorAfterChunks >= 0 ? contentFrom + Math.min(b.streamErrorAfterChunks, chunks) : -1;
    if (errorAt >= 0 && errorAt <= stop.limit) {
      // Ends like a finished response (the status was 200), but is not counted as a completed stream.
      const errored = [...events.slice(0, errorAt), A.errorEvent(b.streamErrorType)];
      return ex.stream(errored, errored.length, 'truncate', b.chunkDelayMs, contentFrom, errored.length, head);
    }
    ex.stream(events, stop.limit, stop.end, b.chunkDelayMs, contentFrom, contentTo, head);
  }

  private replaceConfig(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    readBody(res, (text) => {
      if (aborted) return;
      const config = parseObject(text);
      if (config === null) return sendJson(res, 400, BAD_JSON);
      this.setConfig(config as MockConfig);
      sendJson(res, 200, JSON.stringify(config));
    });
  }

  private notFound(res: HttpResponse, req: HttpRequest): void {
    const url = req.getUrl();
    this.counters.requests++;
    bump(this.counters.byPath, url);
    bump(this.counters.byStatus, 404);
    sendJson(res, 404, invalid(`Invalid URL (${req.getMethod().toUpperCase()} ${url}).`, 'unknown_url'));
  }
}

function sendJson(res: HttpResponse, status: number, body: string): void {
  res.writeStatus(R.statusLine(status)).writeHeader('content-type', 'application/json').end(body);
}

export async function startMock(config: MockConfig = {}, opts: { host?: string; port?: number } = {}): Promise<MockHandle> {
  const server = new MockServer(config);
  await server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return server;
}
