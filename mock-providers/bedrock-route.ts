// POST /model/{modelId}/converse and /converse-stream: Bedrock's auth (SigV4 verified by sigv4-verify.ts, or a
// Bedrock API key as a bearer token: providers.md §3.4–3.5), then its checks (operation, model, body), the same
// faults as the other routes as Bedrock's exceptions, then the answer (bedrock.ts): JSON, or binary event-stream
// frames (§3.3) encoded by AWS's own codec, @smithy/eventstream-codec (real CRCs). server.ts accepts the request
// and applies the latency; everything after that happens here. Verifying a signature is async: every write after
// it goes through ex.run(), which corks and skips an exchange that ended meanwhile (engineering.md §1).
//
// Auth modes (both required: a gateway that drops or mangles them is the bug to catch):
//   - `Authorization: AWS4-HMAC-SHA256 Credential=KEYID/…` → the signature must be AWS's for this request with the
//     secret config.awsCredentials[KEYID] (default: any key id, secret "mock-secret"); a key id not in
//     awsCredentials → 403 UnrecognizedClientException
//   - `Authorization: Bearer KEY` → KEY must be in validKeys when that is set, else 403 AccessDeniedException
//   - nothing → 403 MissingAuthenticationTokenException
// The per-key behaviour (config.keys) and stats.byKey use the access key id or the bearer key.
// With config.models set, a model id not in it → 404 ResourceNotFoundException.

import { decide } from './behavior.ts';
import type { Behavior } from './config.ts';
import * as A from './anthropic.ts';
import { validateRequest } from './anthropic-validate.ts';
import * as B from './bedrock.ts';
import { isObject, validateConverse } from './bedrock-validate.ts';
import type { Exchange, Header } from './exchange.ts';
import { answerBytes, parseObject, streamStop } from './flow.ts';
import type { RouteHost } from './gemini-route.ts';
import { truncate } from './responses.ts';
import { parseSigV4, verifySigV4 } from './sigv4-verify.ts';
import type { AuthFailure, SigV4Header } from './sigv4-verify.ts';
import { bump } from './stats.ts';

export interface BedrockCall {
  /** Decoded from the path segment (`…v1%3A0` → `…v1:0`). */
  modelId: string;
  op: string;
  method: string;
  /** Raw, as received: what the signature covers. */
  path: string;
  query: string;
  sigv4: SigV4Header | null;
  bearer: string;
  /** Arrival time, for metrics.latencyMs. */
  t0: number;
}

const OPS = new Set(['converse', 'converse-stream', 'count-tokens']);

/** A malformed escape must not throw inside a uWS callback: that would crash the process. */
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Everything taken from the stack-allocated request, synchronously; `key` picks the per-key behaviour. */
export function parseBedrockCall(modelSegment: string, op: string, method: string, url: string, query: string, headers: Record<string, string>): { call: BedrockCall; key: string } {
  const auth = headers.authorization;
  const sigv4 = parseSigV4(auth);
  const bearer = sigv4 === null && auth !== undefined && auth.slice(0, 7).toLowerCase() === 'bearer ' ? auth.slice(7).trim() : '';
  const call: BedrockCall = { modelId: decode(modelSegment), op, method: method.toUpperCase(), path: url, query, sigv4, bearer, t0: Date.now() };
  return { call, key: sigv4?.accessKeyId ?? bearer };
}

type Codec = import('@smithy/eventstream-codec').EventStreamCodec;
let codecLoad: Promise<Codec> | null = null;

/** AWS's codec, imported once (a devDependency: see sigv4-verify.ts); utf8 through Buffer. */
function loadCodec(): Promise<Codec> {
  codecLoad ??= import('@smithy/eventstream-codec').then(
    (m) => new m.EventStreamCodec((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'), (s) => Buffer.from(s, 'utf8')),
  );
  return codecLoad;
}

let requestSeq = 0;
/** x-amzn-requestid: a UUID-shaped id, unique per mock process. */
const requestId = (): string => `00000000-0000-4000-8000-${(++requestSeq).toString(16).padStart(12, '0')}`;

const errorHeaders = (type: string, namespace: string, id: string): Header[] => [
  ['x-amzn-errortype', `${type}:${namespace}`],
  ['x-amzn-requestid', id],
];

/** Checks the credentials; null when they pass. */
async function authorize(host: RouteHost, call: BedrockCall, headers: Record<string, string>, body: Buffer): Promise<AuthFailure | null> {
  const plan = host.plan;
  if (call.sigv4 !== null) {
    const creds = plan.awsCredentials;
    const secretOf = (id: string): string | null => (creds === null ? 'mock-secret' : (creds.get(id) ?? null));
    return verifySigV4({ method: call.method, path: call.path, query: call.query, headers, body }, call.sigv4, secretOf);
  }
  const ns = 'http://internal.amazon.com/coral/com.amazon.coral.service/';
  if (call.bearer !== '') {
    if (plan.validKeys === null || plan.validKeys.has(call.bearer)) return null;
    // The API key path answers with a capitalised `Message` (ai4s-research/open-science #53 quotes the body).
    return { status: 403, type: 'AccessDeniedException', message: 'Authentication failed: Please make sure your API Key is valid.', namespace: B.ERROR_NAMESPACE };
  }
  if (headers.authorization !== undefined) {
    return {
      status: 403,
      type: 'IncompleteSignatureException',
      message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
      namespace: ns,
    };
  }
  return { status: 403, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token', namespace: ns };
}

export function respondBedrock(host: RouteHost, ex: Exchange, b: Behavior, call: BedrockCall, body: Buffer): void {
  const id = requestId();
  const fail = (status: number, type: string, message: string, namespace = B.ERROR_NAMESPACE) => ex.json(status, B.errorBody(message), errorHeaders(type, namespace, id));
  if (!OPS.has(call.op)) return fail(404, 'UnknownOperationException', `Unknown operation: ${call.op} (the mock serves converse, converse-stream and count-tokens).`, 'http://internal.amazon.com/coral/com.amazon.coral.service/');
  const stream = call.op === 'converse-stream';
  Promise.all([authorize(host, call, ex.headers, body), stream ? loadCodec() : null])
    .then(([failure, codec]) =>
      ex.run(() => {
        if (failure !== null) {
          const out = failure.type === 'AccessDeniedException' && call.sigv4 === null ? JSON.stringify({ Message: failure.message }) : B.errorBody(failure.message);
          return ex.json(failure.status, out, errorHeaders(failure.type, failure.namespace, id));
        }
        answer(host, ex, b, call, body, codec, id);
      }),
    )
    .catch((err: unknown) => ex.run(() => fail(500, 'InternalServerException', `Mock failure: ${String(err)}`)));
}

/** After auth: model, body, faults, then the answer. */
function answer(host: RouteHost, ex: Exchange, b: Behavior, call: BedrockCall, raw: Buffer, codec: Codec | null, id: string): void {
  const plan = host.plan;
  const head: Header[] = [['x-amzn-requestid', id]];
  const fail = (status: number, type: string, message: string) => ex.json(status, B.errorBody(message), errorHeaders(type, B.ERROR_NAMESPACE, id));
  if (plan.listedModels !== null && !plan.listedModels.has(call.modelId)) return fail(404, 'ResourceNotFoundException', `Model not found: ${call.modelId}. (mock wording)`);
  bump(host.counters.byModel, call.modelId);
  const parsed = parseObject(raw.toString('utf8'));
  if (parsed === null) return fail(400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
  const counting = call.op === 'count-tokens';
  // CountTokens wraps a Converse request without inferenceConfig, {"input": {"converse": {...}}}, or a
  // model's own InvokeModel body, {"input": {"invokeModel": {"body": <base64>}}} (CountTokensInput).
  const counted = counting ? countedRequest(parsed, call.modelId) : null;
  if (typeof counted === 'string') return fail(400, 'ValidationException', counted);
  const body = counted === null ? parsed : counted.converse;
  if (counted === null || counted.invokeTokens < 0) {
    const invalid = validateConverse(body);
    if (invalid !== null) return fail(400, 'ValidationException', invalid);
  }

  const decision = decide(b, plan.rng);
  if (decision.fault === 'timeout') {
    // Hold: the exchange stays open until the client leaves or the mock closes.
    host.counters.timeouts++;
    return;
  }
  if (decision.fault === 'reset') return ex.reset();
  if (decision.fault === 'error') {
    const [type, message] = B.faultError(decision.status);
    return fail(decision.status, type, message);
  }
  const malformed = decision.fault === 'malformed';
  if (malformed) host.counters.malformed++;
  if (counted !== null) {
    // The count the same request's answer reports as usage.inputTokens (Converse's, or the model's own).
    const n = counted.invokeTokens >= 0 ? counted.invokeTokens : B.inputTokens(body, body.messages as Record<string, unknown>[]);
    const out = `{"inputTokens":${n}}`;
    return ex.json(200, malformed ? truncate(out) : out, head);
  }
  const s = B.scenario(body, host.nextSeq(), plan.texts.name);
  const latencyMs = Date.now() - call.t0;
  if (codec !== null) return streamConverse(host, ex, b, malformed, s, codec, head, latencyMs);
  const config = isObject(body.inferenceConfig) ? body.inferenceConfig : {};
  const out = B.responseBody(s, plan.texts.content(answerBytes(b, config.maxTokens)), latencyMs);
  ex.json(200, malformed ? truncate(out) : out, head);
}

/**
 * What a CountTokens body asks to count: a Converse request (to validate and count as Converse usage),
 * or an Anthropic InvokeModel body already counted (invokeTokens ≥ 0); or why it is refused.
 */
function countedRequest(body: Record<string, unknown>, modelId: string): { converse: Record<string, unknown>; invokeTokens: number } | string {
  // Bedrock counts tokens for Anthropic's models only (API_runtime_CountTokens: "supported models"), by
  // their foundation model id: an inference profile ("us.anthropic.…") is refused (pydantic-ai #4001).
  if (!/^(?:arn:aws:bedrock:[^:]*::foundation-model\/)?anthropic\./.test(modelId)) return `The provided model doesn't support counting tokens: ${modelId} (mock wording).`;
  const input = body.input;
  if (!isObject(input)) return "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null";
  if (isObject(input.invokeModel)) {
    // The body a Claude model takes on InvokeModel: Anthropic's Messages request with anthropic_version
    // and without model (Anthropic's docs, "Claude on Amazon Bedrock"); base64 on the JSON wire.
    const text = typeof input.invokeModel.body === 'string' ? Buffer.from(input.invokeModel.body, 'base64').toString('utf8') : '';
    const claude = parseObject(text);
    if (claude === null) return 'Malformed input request: invokeModel.body is not a JSON object (mock wording).';
    if (claude.anthropic_version !== 'bedrock-2023-05-31') return 'Malformed input request: #: required key [anthropic_version] not found or invalid (mock wording).';
    if ('model' in claude) return 'Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again.';
    const { anthropic_version: _v, ...messages } = claude;
    const invalid = validateRequest(messages);
    if (invalid !== null) return `Malformed input request: ${invalid}`;
    return { converse: {}, invokeTokens: A.inputTokens(messages, messages.messages as Record<string, unknown>[]) };
  }
  if (!isObject(input.converse)) return 'The input has neither a converse nor an invokeModel member (mock wording).';
  if ('inferenceConfig' in input.converse) return 'Unknown field inferenceConfig in input.converse: CountTokens takes messages, system, toolConfig and additionalModelRequestFields (mock wording).';
  return { converse: input.converse, invokeTokens: -1 };
}

const str = (value: string) => ({ type: 'string' as const, value });

/** One binary message; real Bedrock orders the headers :event-type, :content-type, :message-type. */
function eventFrame(codec: Codec, e: B.StreamEvent): Uint8Array {
  return codec.encode({
    headers: { ':event-type': str(e.type), ':content-type': str('application/json'), ':message-type': str('event') },
    body: Buffer.from(e.payload, 'utf8'),
  });
}

function exceptionFrame(codec: Codec, type: string, payload: string): Uint8Array {
  return codec.encode({
    headers: { ':exception-type': str(type), ':content-type': str('application/json'), ':message-type': str('exception') },
    body: Buffer.from(payload, 'utf8'),
  });
}

/** A frame whose message CRC no longer matches: a corrupted stream, which a client must refuse, not skip. */
function corrupt(frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  out[out.length - 1]! ^= 0xff;
  return out;
}

const EVENT_STREAM = 'application/vnd.amazon.eventstream';

/** The knobs act on the text deltas; streamErrorAfterChunks replaces the rest with an exception frame. */
function streamConverse(host: RouteHost, ex: Exchange, b: Behavior, malformed: boolean, s: B.Scenario, codec: Codec, head: Header[], latencyMs: number): void {
  const textChunks = s.guardrail !== null ? 1 : Math.min(b.streamChunks, s.maxTokens);
  const { events, contentFrom } = B.streamEvents(s, host.plan.texts.words, textChunks, latencyMs);
  const frames = events.map((e) => eventFrame(codec, e));
  if (malformed) {
    const at = Math.min(contentFrom, frames.length - 1);
    const broken = [...frames.slice(0, at), corrupt(frames[at]!)];
    return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs, 0, broken.length, head, EVENT_STREAM);
  }
  const stop = streamStop(b, contentFrom, frames.length, textChunks);
  const errorAt = b.streamErrorAfterChunks >= 0 ? contentFrom + Math.min(b.streamErrorAfterChunks, textChunks) : -1;
  if (errorAt >= 0 && errorAt <= stop.limit) {
    // Ends like a finished response (the status was 200), but is not counted as a completed stream.
    const e = B.streamException(b.streamErrorType);
    const errored = [...frames.slice(0, errorAt), exceptionFrame(codec, e.type, e.payload)];
    return ex.stream(errored, errored.length, 'truncate', b.chunkDelayMs, contentFrom, errored.length, head, EVENT_STREAM);
  }
  ex.stream(frames, stop.limit, stop.end, b.chunkDelayMs, contentFrom, contentFrom + textChunks, head, EVENT_STREAM);
}
