// The rest of the OpenAI API surface the openai SDK (v6) calls, mounted by server.ts beside its chat routes.
// Every route takes the chat route's flow: the request is counted (requests, byPath, byKey, lastHeaders) as it
// arrives, its body read (JSON whole; multipart incrementally, multipart.ts), then the key's latency, the bearer
// key against validKeys (gate.ts), the route's own checks (400/404 in OpenAI's error shape, byModel), one fault
// roll (status / errorRate / resetRate / timeoutRate / malformedRate, per key or x-mock-* header), the answer.
//   POST   /v1/responses                  responses-route.ts (Responses API, JSON or SSE)
//   GET    /v1/models/{id}                {id, object:"model", created, owned_by} of a listed model (config.models,
//                                         the same list as GET /v1/models); else 404 model_not_found
//   POST   /v1/moderations                moderations.ts
//   POST   /v1/images/generations         images.ts (GET /_mock/image.png serves its URLs, uncounted)
//   POST   /v1/audio/transcriptions       audio.ts (multipart)
//   POST   /v1/audio/translations         audio.ts (multipart)
//   POST   /v1/audio/speech               audio.ts (binary, chunked)
//   POST   /v1/files, GET /v1/files, GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}   files.ts
//   POST   /v1/batches, GET /v1/batches, GET /v1/batches/{id}, POST /v1/batches/{id}/cancel                  batches.ts
// Files, batches and the ids of created responses are kept per mock instance (per mount).

import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { MAX_AUDIO_BYTES, respondSpeech, respondTranscription } from './audio.ts';
import { BatchStore } from './batches.ts';
import type { Behavior, Plan } from './config.ts';
import type { Exchange } from './exchange.ts';
import { FileStore, MAX_FILE_BYTES } from './files.ts';
import { parseObject } from './flow.ts';
import { authorized, decodeSegment, halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import { IMAGE_PATH, PNG, respondImages } from './images.ts';
import { respondModerations } from './moderations.ts';
import { boundaryOf, FormReader } from './multipart.ts';
import type { Form, FormError, FormOptions } from './multipart.ts';
import type { Json } from './responses-input.ts';
import { respondResponses, ResponseLog } from './responses-route.ts';
import { bump } from './stats.ts';

const BAD_JSON = invalidRequest('We could not parse the JSON body of your request.', 'invalid_json');

/** uWS detaches each chunk's ArrayBuffer when the callback returns: copy or decode it before that. */
function readText(res: HttpResponse, done: (text: string) => void): void {
  let parts: Buffer[] | null = null;
  res.onData((ab, isLast) => {
    if (!isLast) (parts ??= []).push(Buffer.from(ab.slice(0)));
    else done(parts === null ? Buffer.from(ab).toString() : Buffer.concat([...parts, Buffer.from(ab)]).toString());
  });
}

/** Parses a multipart body chunk by chunk as uWS delivers it; `done` gets the form once the last chunk is in. */
function readForm(res: HttpResponse, contentType: string | undefined, opts: FormOptions, done: (form: Form | FormError) => void): void {
  const boundary = boundaryOf(contentType);
  const reader = boundary === null ? null : new FormReader(boundary, opts);
  res.onData((ab, isLast) => {
    // A view, not a copy: the reader copies what it keeps before this callback returns.
    reader?.write(Buffer.from(ab));
    if (!isLast) return;
    if (reader !== null) return done(reader.finish());
    done({
      status: 400,
      message: `Invalid Content-Type header (${contentType ?? 'none'}), expected multipart/form-data with a boundary.`,
      code: 'invalid_content_type',
      param: null,
    });
  });
}

/** The models GET /v1/models lists, by id. */
const modelIndex = new WeakMap<Plan, Map<string, Json>>();
function listedModel(plan: Plan, id: string): Json | undefined {
  let index = modelIndex.get(plan);
  if (index === undefined) {
    const list = JSON.parse(plan.models) as { data: Json[] };
    modelIndex.set(plan, (index = new Map(list.data.map((m) => [m.id as string, m]))));
  }
  return index.get(id);
}

function respondModel(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
  bump(host.counters.byModel, id);
  const model = listedModel(host.plan, id);
  if (model === undefined) return ex.json(404, invalidRequest(`The model \`${id}\` does not exist or you do not have access to it.`, 'model_not_found'));
  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const out = JSON.stringify(model);
  ex.json(200, malformed ? halve(out) : out);
}

type Method = 'get' | 'post' | 'del';
type WithId = (ex: Exchange, b: Behavior, id: string, query: URLSearchParams) => void;

export function mountSurface(app: TemplatedApp, host: SurfaceHost): void {
  const files = new FileStore();
  const batches = new BatchStore(files);
  const responses = new ResponseLog();

  /** A JSON-body route: bad JSON → 400 after the key check. */
  const json = (path: string, respond: (ex: Exchange, b: Behavior, body: Json) => void) =>
    app.post(path, (res, req) => {
      const ex = host.openExchange(res, req);
      readText(res, (text) =>
        host.later(ex, (b) => {
          if (!authorized(host, ex)) return;
          const body = parseObject(text);
          if (body === null) return ex.json(400, BAD_JSON);
          respond(ex, b, body);
        }),
      );
    });

  /** A multipart upload route. */
  const form = (path: string, opts: FormOptions, respond: (ex: Exchange, b: Behavior, form: Form | FormError) => void) =>
    app.post(path, (res, req) => {
      const ex = host.openExchange(res, req);
      readForm(res, ex.headers['content-type'], opts, (f) => host.later(ex, (b) => authorized(host, ex) && respond(ex, b, f)));
    });

  /** A route that names its object in the path (and may take a query); a POST's body is read and ignored. */
  const byId = (method: Method, path: string, respond: WithId) =>
    app[method](path, (res, req) => {
      const id = path.includes('/:') ? decodeSegment(req.getParameter(0) ?? '') : '';
      const query = new URLSearchParams(req.getQuery() ?? '');
      const ex = host.openExchange(res, req);
      const go = () => host.later(ex, (b) => authorized(host, ex) && respond(ex, b, id, query));
      if (method === 'post') readText(res, go);
      else go();
    });

  json('/v1/responses', (ex, b, body) => respondResponses(host, responses, ex, b, body));
  // Azure's Responses API: the v1 route, no deployment in the path (its name is the body's model), key in api-key.
  json('/openai/v1/responses', (ex, b, body) => respondResponses(host, responses, ex, b, body));
  byId('get', '/v1/models/:id', (ex, b, id) => respondModel(host, ex, b, id));
  json('/v1/moderations', (ex, b, body) => respondModerations(host, ex, b, body));
  json('/v1/images/generations', (ex, b, body) => respondImages(host, ex, b, body));
  form('/v1/audio/transcriptions', { keep: false, maxFileBytes: MAX_AUDIO_BYTES }, (ex, b, f) => respondTranscription(host, ex, b, 'transcribe', f));
  form('/v1/audio/translations', { keep: false, maxFileBytes: MAX_AUDIO_BYTES }, (ex, b, f) => respondTranscription(host, ex, b, 'translate', f));
  json('/v1/audio/speech', (ex, b, body) => respondSpeech(host, ex, b, body));

  form('/v1/files', { keep: true, maxFileBytes: MAX_FILE_BYTES }, (ex, b, f) => files.create(host, ex, b, f));
  byId('get', '/v1/files', (ex, b, _id, query) => files.list(host, ex, b, query));
  byId('get', '/v1/files/:id', (ex, b, id) => files.retrieve(host, ex, b, id));
  byId('get', '/v1/files/:id/content', (ex, b, id) => files.content(host, ex, b, id));
  byId('del', '/v1/files/:id', (ex, b, id) => files.remove(host, ex, b, id));

  json('/v1/batches', (ex, b, body) => batches.create(host, ex, b, body));
  byId('get', '/v1/batches', (ex, b, _id, query) => batches.list(host, ex, b, query));
  byId('get', '/v1/batches/:id', (ex, b, id) => batches.retrieve(host, ex, b, id));
  byId('post', '/v1/batches/:id/cancel', (ex, b, id) => batches.cancel(host, ex, b, id));

  // Where the `url` images point; like the control endpoints, answered at once and not counted.
  app.get(IMAGE_PATH, (res) => {
    res.writeStatus('200 OK').writeHeader('content-type', 'image/png').end(PNG);
  });
}
