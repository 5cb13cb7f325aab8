// The mock's knobs: the public config types; how base config, per-key behaviour and per-request headers
// are layered into one fully defaulted Behavior; and the Plan a config compiles to.

import { makeRng } from './behavior.ts';
import type { Rng } from './behavior.ts';
import { modelsList, Texts } from './responses.ts';

export type LatencyDist =
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'normal'; mean: number; sd: number }
  | { dist: 'lognormal'; p50: number; p99: number };

export interface MockBehavior {
  latencyMs?: number; // delay before anything happens; 0 answers synchronously, without a timer
  latency?: LatencyDist; // beats latencyMs of the same or a lower layer; samples clamp at >= 0
  errorRate?: number;
  errorStatuses?: number[]; // chosen uniformly when an error is injected; default [500]
  retryAfterSec?: number; // retry-after of injected 429s; default 1
  unavailableRetryAfterSec?: number; // retry-after of injected 503s and 529s; default 0 (none)
  resetRate?: number;
  timeoutRate?: number;
  malformedRate?: number;
  streamChunks?: number; // content chunks per stream; default 8
  chunkDelayMs?: number; // between content events of a stream; default 0 (all events in one cork)
  stallAfterChunks?: number;
  disconnectAfterChunks?: number;
  responseBytes?: number; // approximate non-stream content size; default ~4 B per max_tokens, else 200
  status?: number; // >= 400 forces that error; < 400 forces a normal answer (no fault is rolled)
  /** Anthropic, Gemini and OpenAI chat streams: an in-stream error (Anthropic's `event: error`, Gemini's and
   *  OpenAI's `{"error": …}` chunk) replaces the rest of the stream after N text deltas (the HTTP status is already
   *  200; OpenAI's role chunk, Anthropic's message_start come first). Default -1 (off); 0 when only streamErrorType
   *  is set. */
  streamErrorAfterChunks?: number;
  /** error.type of that event; default 'overloaded_error'. Gemini maps it to a status (gemini.ts): 503 by default. */
  streamErrorType?: string;
}

export interface MockConfig extends MockBehavior {
  name?: string;
  /** Also, when set, the only model ids Bedrock (404 ResourceNotFoundException) and deployments Azure
   *  (404 DeploymentNotFound) accept; unset, they accept any. */
  models?: string[];
  /** Bearer keys (OpenAI, Anthropic, Gemini, Azure's api-key, Bedrock API keys); unset, any key is accepted. */
  validKeys?: string[];
  /** Bedrock SigV4: secret access key per access key id. Unset, any key id is accepted with the secret "mock-secret". */
  awsCredentials?: Record<string, string>;
  /** Behaviour per API key, layered over the base: lets a test make one key of a provider fail. */
  keys?: Record<string, MockBehavior>;
  /** Seeds the PRNG so fault injection is reproducible; without it Math.random is used. */
  seed?: number;
}

/** The resolved form: every field present (-1 / 0 / null mean "off"), so the hot path never checks undefined. */
export type Behavior = Required<Omit<MockBehavior, 'latency'>> & {
  latency: LatencyDist | null;
  /** Some fault may be rolled: lets the default path skip the PRNG entirely. */
  rolls: boolean;
  /** responseBytes was set explicitly; otherwise the request's max_tokens decides the answer's size. */
  responseBytesSet: boolean;
};

export function resolveBehavior(b: MockBehavior): Behavior {
  const errorRate = b.errorRate ?? 0;
  const resetRate = b.resetRate ?? 0;
  const timeoutRate = b.timeoutRate ?? 0;
  const malformedRate = b.malformedRate ?? 0;
  return {
    latencyMs: Math.max(0, b.latencyMs ?? 0),
    latency: b.latency ?? null,
    errorRate,
    errorStatuses: b.errorStatuses?.length ? b.errorStatuses : [500],
    retryAfterSec: b.retryAfterSec ?? 1,
    unavailableRetryAfterSec: b.unavailableRetryAfterSec ?? 0,
    resetRate,
    timeoutRate,
    malformedRate,
    streamChunks: Math.max(0, Math.floor(b.streamChunks ?? 8)),
    chunkDelayMs: Math.max(0, b.chunkDelayMs ?? 0),
    stallAfterChunks: b.stallAfterChunks ?? -1,
    disconnectAfterChunks: b.disconnectAfterChunks ?? -1,
    responseBytes: Math.max(1, Math.floor(b.responseBytes ?? 200)),
    responseBytesSet: b.responseBytes !== undefined,
    status: b.status ?? 0,
    streamErrorAfterChunks: Math.floor(b.streamErrorAfterChunks ?? (b.streamErrorType !== undefined ? 0 : -1)),
    streamErrorType: b.streamErrorType ?? 'overloaded_error',
    rolls: errorRate + resetRate + timeoutRate + malformedRate > 0,
  };
}

/** Layers `over` onto `base`. A layer that sets latencyMs alone drops the lower layer's distribution,
 *  otherwise a base `latency` would silently beat a nearer layer's `latencyMs`. */
export function mergeBehavior(base: MockBehavior, over: MockBehavior): MockBehavior {
  const out = { ...base, ...over };
  if (over.latencyMs !== undefined && over.latency === undefined) delete out.latency;
  return out;
}

const NUMERIC_HEADERS: ReadonlyArray<readonly [string, keyof MockBehavior]> = [
  ['x-mock-latency-ms', 'latencyMs'],
  ['x-mock-status', 'status'],
  ['x-mock-error-rate', 'errorRate'],
  ['x-mock-chunks', 'streamChunks'],
  ['x-mock-chunk-delay-ms', 'chunkDelayMs'],
  ['x-mock-stall-after', 'stallAfterChunks'],
  ['x-mock-disconnect-after', 'disconnectAfterChunks'],
  ['x-mock-response-bytes', 'responseBytes'],
  ['x-mock-stream-error-after', 'streamErrorAfterChunks'],
];
const FLAG_HEADERS: ReadonlyArray<readonly [string, keyof MockBehavior]> = [
  ['x-mock-reset', 'resetRate'],
  ['x-mock-timeout', 'timeoutRate'],
  ['x-mock-malformed', 'malformedRate'],
];

/** Reads the x-mock-* headers (lower-case map) into a behaviour layer; unparsable values are ignored. */
export function headerOverrides(headers: Readonly<Record<string, string>>): MockBehavior {
  const out: Record<string, number | string> = {};
  for (const [header, field] of NUMERIC_HEADERS) {
    const raw = headers[header];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (Number.isFinite(n)) out[field] = n;
  }
  for (const [header, field] of FLAG_HEADERS) {
    const raw = headers[header];
    if (raw !== undefined) out[field] = raw === '1' || raw === 'true' ? 1 : 0;
  }
  const streamError = headers['x-mock-stream-error'];
  if (streamError !== undefined && streamError !== '') out.streamErrorType = streamError;
  return out;
}

/** The config compiled once per setConfig, so a request only does Map lookups. */
export interface Plan {
  config: MockConfig;
  baseLayer: MockBehavior;
  base: Behavior;
  keys: Map<string, { layer: MockBehavior; behavior: Behavior }>;
  validKeys: Set<string> | null;
  awsCredentials: Map<string, string> | null;
  /** config.models when set explicitly: the ids Bedrock and Azure accept. */
  listedModels: Set<string> | null;
  texts: Texts;
  /** The /v1/models body. */
  models: string;
  /** Restarted with each config, so setting the same seed replays the same faults. */
  rng: Rng;
}

export function compile(config: MockConfig): Plan {
  const { name = 'mock', models = ['mock-small', 'mock-large', 'mock-embed'], validKeys, awsCredentials, keys = {}, seed, ...baseLayer } = config;
  const keyed = new Map<string, { layer: MockBehavior; behavior: Behavior }>();
  for (const [key, over] of Object.entries(keys)) {
    const layer = mergeBehavior(baseLayer, over);
    keyed.set(key, { layer, behavior: resolveBehavior(layer) });
  }
  return {
    config,
    baseLayer,
    base: resolveBehavior(baseLayer),
    keys: keyed,
    validKeys: validKeys ? new Set(validKeys) : null,
    awsCredentials: awsCredentials ? new Map(Object.entries(awsCredentials)) : null,
    listedModels: config.models ? new Set(config.models) : null,
    texts: new Texts(name),
    models: modelsList(models, name),
    rng: makeRng(seed),
  };
}
