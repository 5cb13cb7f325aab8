// The one description of microgate's configuration. Every other part of the gateway reads the
// compiled RuntimePlan, never this raw shape. Unknown keys are rejected everywhere (strict objects),
// so a typo stops start-up instead of silently doing nothing.
import { z } from 'zod';
import { PROVIDER_TYPES } from './provider-kinds.ts';

/** A secret: a literal, or `env.NAME` read from the environment at load. */
const secret = z.string().min(1, 'must not be empty');

const positiveMs = z.number().int().positive();

const timeouts = z.strictObject({
  /** TCP (and TLS) connect. */
  connectMs: positiveMs.default(5_000),
  /** From sending the request to the response head: time to first byte. */
  firstByteMs: positiveMs.default(120_000),
  /** Longest silence between two body chunks (stream events). Reasoning models pause for minutes. */
  idleMs: positiveMs.default(300_000),
});

const retry = z.strictObject({
  /** Retries of one target after its first attempt (network errors, timeouts, 408, 5xx, 529). */
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Full-jitter exponential backoff: a uniform wait in [0, min(capMs, baseMs × 2^n)). */
  baseMs: positiveMs.default(100),
  capMs: positiveMs.default(2_000),
});

const circuit = z.strictObject({
  /** Open after this many failures in a row … */
  consecutiveFailures: z.number().int().positive().default(5),
  /** … or when more than this share of attempts failed in the window (once it holds minRequests). */
  errorRate: z.number().gt(0).max(1).default(0.5),
  minRequests: z.number().int().positive().default(20),
  windowMs: positiveMs.default(10_000),
  /** How long an open circuit waits before letting one probe through. */
  cooldownMs: positiveMs.default(5_000),
});

const keyCooldown = z.strictObject({
  /** A key answered 429 without Retry-After: rest it this long. */
  rateLimitedMs: positiveMs.default(1_000),
  /** Upper bound on a provider's Retry-After. */
  maxRateLimitedMs: positiveMs.default(60_000),
  /** A key answered 401/403: unused this long (a revoked key stays dead until the config changes). */
  authFailedMs: positiveMs.default(300_000),
});

const routing = z.strictObject({
  /** Whole-request deadline: every attempt, backoff and fallback fits in it (streams: until the first event). */
  deadlineMs: positiveMs.default(300_000),
  /**
   * A model name nothing else matches (no alias, no provider's model, no "provider/…") goes to this
   * provider under its own name, instead of a 404. Zero-config mock mode sets it to the mock.
   */
  defaultProvider: z.string().min(1).optional(),
  retry: retry.prefault({}),
  retryBudget: z
    .strictObject({
      /** Retries across the process as a share of requests over the last 10 s. */
      ratio: z.number().min(0).max(1).default(0.2),
      /** Retries always allowed per second, so a quiet gateway can still retry. */
      minPerSecond: z.number().min(0).default(10),
    })
    .prefault({}),
  circuit: circuit.prefault({}),
  keyCooldown: keyCooldown.prefault({}),
  adaptive: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How often alias weights are recomputed from each target's error rate and latency. */
      intervalMs: positiveMs.default(5_000),
      /** The least share of its configured weight a target keeps, so a recovered one is found again. */
      minShare: z.number().gt(0).max(1).default(0.05),
    })
    .prefault({}),
});

/**
 * A weight for balancing keys or targets. Bounded: a weight like 5e-324 sank to 0 once adaptive
 * weights scaled it (and the picker threw from a timer), and two of 1e308 summed to Infinity (the last
 * target then took every request).
 */
const weight = z.number().min(1e-6).max(1e6).default(1);

const keyBase = {
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'may use letters, digits, "_", "." and "-"'),
  weight,
  /** If set, this key is used only for these upstream model names. */
  models: z.array(z.string().min(1)).min(1).optional(),
};

/** A key: a secret (bearer token, x-api-key, api-key, a Bedrock API key), or AWS credentials for SigV4 (Bedrock). */
const key = z.union([
  z.strictObject({ ...keyBase, value: secret }),
  z.strictObject({ ...keyBase, accessKeyId: secret, secretAccessKey: secret, sessionToken: secret.optional() }),
]);

export const providerTypes = PROVIDER_TYPES;

const provider = z.strictObject({
  /**
   * The provider's type: its wire format and how it is reached (config/provider-kinds.ts): openai,
   * anthropic, gemini, bedrock, azure-openai, or an OpenAI-compatible preset (groq, mistral, …).
   */
  type: z.enum(providerTypes).default('openai'),
  /** Base URL up to and including the API version segment, e.g. https://api.openai.com/v1; the type's default when left out. */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Keys, tried by weight; a local server's type (ollama, vllm, lmstudio) needs none. */
  keys: z.array(key).default([]),
  /** Bedrock: the AWS region (default: AWS_REGION, then us-east-1). */
  region: z.string().regex(/^[a-z0-9-]+$/).optional(),
  /** Azure OpenAI: the api-version query parameter. */
  apiVersion: z.string().min(1).optional(),
  /** Azure OpenAI: model name → deployment name (default: the same name). */
  deployments: z.record(z.string().min(1), z.string().min(1)).default({}),
  /**
   * POST /v1/responses to this provider: `native` forwards the Responses API as is (OpenAI; also vLLM,
   * Ollama and others that implement it), `chat` translates it to Chat Completions (or the provider's own
   * format). Default: native for type openai, chat for every other type.
   */
  responsesApi: z.enum(['native', 'chat']).optional(),
  /** Upstream model names this provider serves: listed in /v1/models and matched for bare model names. */
  models: z.array(z.string().min(1)).default([]),
  /** Extra headers sent on every request to this provider (values may be `env.NAME`). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).default({}),
  /** Client request headers passed on to this provider; a trailing `*` matches a prefix. */
  forwardHeaders: z.array(z.string().regex(/^[a-z0-9-]+\*?$/, 'lower-case header name, optionally ending in *')).default([]),
  timeouts: timeouts.default({ connectMs: 5_000, firstByteMs: 120_000, idleMs: 300_000 }),
  /** Overrides routing.retry for this provider. */
  retry: retry.optional(),
  /** USD per million tokens, by upstream model name: telemetry then reports cost. */
  /** USD per million tokens by upstream model, over the price catalog's (cache reads and writes: the input price unless given). */
  pricing: z.record(z.string().min(1), z.strictObject({ input: z.number().min(0), output: z.number().min(0), cacheRead: z.number().min(0).optional(), cacheWrite: z.number().min(0).optional() })).default({}),
  /** Upper bound of open connections to this provider's origin: one per request in flight, streams included (a 30 s stream holds one for 30 s). Past it, requests queue (see pools.pending in /admin/stats). Each is a file descriptor: keep `ulimit -n` above the sum. */
  maxConnections: z.number().int().positive().default(2048),
});

const aliasTarget = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  weight,
});

const alias = z.strictObject({
  targets: z.array(aliasTarget).min(1),
  /** Tried in order once every target has failed: "provider/model" or another declared name. */
  fallbacks: z.array(z.string().min(1)).default([]),
});

const ruleTarget = z
  .strictObject({
    /** Omitted: the provider the request was going to. */
    provider: z.string().min(1).optional(),
    /** Omitted: the model the request was going to (its upstream name). */
    model: z.string().min(1).optional(),
    /** Pin one key of the provider. */
    key: z.string().min(1).optional(),
    weight,
  })
  .refine((t) => t.provider !== undefined || t.model !== undefined, 'a rule target needs a provider, a model, or both');

const rule = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'may use letters, digits, "_", ".", ":" and "-"'),
    /** Rules of a virtual key come before its team's, then its customer's, then global ones. */
    scope: z.union([z.literal('global'), z.strictObject({ virtualKey: z.string().min(1) }), z.strictObject({ team: z.string().min(1) }), z.strictObject({ customer: z.string().min(1) })]).default('global'),
    /** Lower first, within a scope. */
    priority: z.number().int().default(100),
    /** A CEL expression over the request (README: "Routing rules"), compiled and type-checked at load. */
    when: z.string().min(1),
    targets: z.array(ruleTarget).min(1).optional(),
    fallbacks: z.array(z.string().min(1)).optional(),
    /** Re-evaluate the rules with the new provider/model until nothing changes (bounded). */
    chain: z.boolean().default(false),
    deny: z.strictObject({ message: z.string().min(1), status: z.number().int().min(400).max(499).default(403) }).optional(),
    /** A label recorded on the request. Alone, the rule runs in shadow mode: evaluated and recorded, no effect. */
    tag: z.string().min(1).optional(),
  })
  .refine((r) => [r.targets, r.deny].filter((x) => x !== undefined).length <= 1, 'a rule has targets or deny, not both')
  .refine((r) => r.targets !== undefined || r.deny !== undefined || r.tag !== undefined, 'a rule needs targets, deny, or a tag (shadow mode)')
  .refine((r) => r.fallbacks === undefined || r.targets !== undefined, 'fallbacks belong to a rule with targets')
  .refine((r) => !r.chain || r.targets !== undefined, 'chain belongs to a rule with targets');

const vocabulary = z.array(z.string().min(1)).optional();

const classifier = z.strictObject({
  /**
   * 'learned' (the default): a linear model trained offline on the project's labelled prompts
   * (src/classify/learned.ts, results/classifier.md). 'heuristic': the earlier hand-tuned score, which
   * `weights` and `boundaries` tune (setting either selects it).
   */
  model: z.enum(['learned', 'heuristic']).optional(),
  /** The heuristic's weights per dimension (selects model 'heuristic'). */
  weights: z
    .strictObject({ code: z.number().optional(), reasoning: z.number().optional(), technical: z.number().optional(), tokens: z.number().optional(), simple: z.number().optional() })
    .optional(),
  boundaries: z.strictObject({ medium: z.number().min(0).max(1).optional(), complex: z.number().min(0).max(1).optional(), reasoning: z.number().min(0).max(1).optional() }).optional(),
  /**
   * Words and phrases added to the built-in cue lists (compiled into the automaton both models read).
   * `task` (requests for an explanation, a summary or a piece of writing) is read by the learned model only.
   */
  vocabulary: z.strictObject({ code: vocabulary, reasoningStrong: vocabulary, reasoningWeak: vocabulary, technical: vocabulary, simple: vocabulary, task: vocabulary }).optional(),
  /** Heuristic model only: a strong reasoning phrase ("prove that", "step by step") makes the tier REASONING. */
  strongReasoningForces: z.boolean().optional(),
});

const telemetry = z.strictObject({
  /** Off: no worker thread, and recording a request costs one empty call. */
  enabled: z.boolean().default(true),
  /** Records the worker may fall behind by before new ones are dropped (and counted); rounded up to a power of two. */
  ringSlots: z.number().int().min(64).max(1 << 20).default(16_384),
  log: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** JSON lines, one per request, rotated by size and age (`npm run logs` reads them). */
      dir: z.string().min(1).default('./logs'),
      maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
      maxAgeMs: positiveMs.default(24 * 60 * 60 * 1000),
      keep: z.number().int().min(1).default(10),
      /**
       * Also log each request body and answer (a stream's events, up to 64 KiB). Off by default:
       * prompts and completions are the users' data. Records then travel by message, not the ring.
       */
      payloads: z.boolean().default(false),
    })
    .prefault({}),
  /** OpenTelemetry over OTLP/HTTP (JSON): one span per request, one child per attempt. Off unless set. */
  otlp: z
    .strictObject({
      endpoint: z.url({ protocol: /^https?$/ }),
      headers: z.record(z.string(), z.string()).default({}),
      intervalMs: positiveMs.default(2_000),
    })
    .optional(),
});

const server = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /**
   * The largest request body accepted. The default is the largest the providers document: OpenAI takes
   * up to 50 MB of image payload per request (Anthropic 32 MB, Gemini 20 MB inline), so a request one
   * provider would serve is never refused here; a provider refusing a smaller one answers 413 itself.
   */
  maxBodyBytes: z.number().int().positive().default(50 * 1024 * 1024),
  /** A provider's non-streamed answer larger than this is refused (502 upstream_response_too_large), not retried. */
  maxResponseBytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** One stream event larger than this (a stream with no blank line, say) ends the attempt the same way. */
  maxStreamEventBytes: z.number().int().positive().default(8 * 1024 * 1024),
  /** Bytes of request bodies and provider answers held at once across the process's requests; past it, 503 gateway_overloaded. */
  maxBufferedBytes: z.number().int().positive().default(256 * 1024 * 1024),
  /**
   * Open file descriptors at which new connections are refused at once (and accepted again at 80% of
   * it). Default: the process's `ulimit -n` less 5% (at least 256) for provider sockets and files.
   */
  maxOpenFiles: z.number().int().positive().optional(),
  /**
   * Browser clients: the origins allowed to call the gateway (exact, like "https://app.example.com", or
   * "*"). Preflights are answered and responses carry Access-Control-Allow-Origin. Empty: no CORS.
   */
  cors: z
    .strictObject({
      origins: z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)])).default([]),
      maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
    })
    .prefault({}),
  /** On SIGTERM/SIGINT, how long in-flight requests may take to finish. */
  shutdownGraceMs: z.number().int().nonnegative().default(10_000),
  /**
   * Share the port with other processes (SO_REUSEPORT), for one gateway process per core. Off by
   * default: then a second listener on the port fails to start instead of silently taking a share
   * of the traffic (engineering.md §2).
   */
  reusePort: z.boolean().default(false),
  /**
   * Request threads (worker_threads), each with its own uWS app on the one port (SO_REUSEPORT), all
   * sharing key rests, circuits, the retry budget and the governance counters in shared memory.
   * "auto": one per core (os.availableParallelism()). 1: the gateway runs in the main thread alone.
   */
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
});

/** Limits of a virtual key, team or customer: the tightest level wins (README "Governance"). */
export const limits = z
  .strictObject({
    requestsPerMinute: z.number().int().positive().optional(),
    /** Input plus output tokens, cache reads and writes included, from the providers' usage. */
    tokensPerMinute: z.number().int().positive().optional(),
    /** Spend in USD per calendar period (UTC): the hour, day, ISO week or month. */
    budget: z.strictObject({ usd: z.number().positive(), period: z.enum(['1h', '1d', '1w', '1mo']) }).optional(),
  })
  .default({});

export const tenantId = z.string().regex(/^[A-Za-z0-9_.:-]{1,48}$/, 'letters, digits, "_", ".", ":" and "-", at most 48');

const virtualKey = z.strictObject({
  id: tenantId,
  name: z.string().max(200).optional(),
  /** The secret clients present (Authorization: Bearer, or x-api-key); `env.NAME` reads it at start-up. */
  value: secret,
  team: tenantId.optional(),
  /** For a key without a team; a team's key belongs to the team's customer. */
  customer: tenantId.optional(),
  /** Model names as clients address them (aliases, "provider/model", bare names); absent: any. */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** Providers the key may reach; absent: any. */
  providers: z.array(z.string().min(1)).min(1).optional(),
  limits,
});

const governance = z.strictObject({
  virtualKeys: z.array(virtualKey).default([]),
  teams: z.record(tenantId, z.strictObject({ name: z.string().max(200).optional(), customer: tenantId.optional(), limits })).default({}),
  customers: z.record(tenantId, z.strictObject({ name: z.string().max(200).optional(), limits })).default({}),
  /**
   * Protects /admin/* (and /metrics with protectMetrics): `Authorization: Bearer <adminKey>`. Without
   * one, the admin routes answer only on loopback.
   */
  // It signs the dashboard's sessions too: a short one can be guessed, online or from one seen cookie.
  adminKey: z.string().min(16, 'must be at least 16 characters (it signs dashboard sessions): openssl rand -hex 24').optional(),
  /**
   * Encrypts the Responses API, file and batch ids the gateway hands out, which carry the provider key
   * that stores the object and the virtual key it was made for (util/sealed-ids.ts). At least 32 random
   * characters; give every replica the same one. Absent: random per process (ids end with it).
   */
  idSecret: secret.optional(),
  /**
   * Id secrets used before the current idSecret: ids sealed with them still open, and none is sealed
   * with them. Rotate by moving idSecret here and setting a new one; drop an old one once the ids sealed
   * with it are no longer needed (a batch's, a day).
   */
  previousIdSecrets: z.array(secret).default([]),
  protectMetrics: z.boolean().default(false),
  /**
   * true: every request needs a virtual key, even while none exists (keys made only through the admin
   * API). false: access is denied by default once any key exists, and the admin API refuses to delete
   * the last one, which would let any client in.
   */
  requireVirtualKey: z.boolean().default(false),
  /** Counters shared by every replica (absent: in this process). Leased in blocks; a small limit per request (src/state/quota-redis.ts). */
  store: z
    .strictObject({
      redis: z.url({ protocol: /^rediss?$/ }),
      /**
       * How many gateway processes share this Redis. Permits are leased in blocks sized so that what all
       * of them hold unspent stays under a tenth of a limit; each request thread leases on its own, so
       * the block is sized for replicas × request threads (src/state/quota-redis.ts).
       */
      replicas: z.number().int().min(1).max(1024).default(2),
      /** While Redis cannot be reached: rate limits admit (open) or refuse (closed); budgets likewise. */
      onFailure: z.strictObject({ rateLimits: z.enum(['open', 'closed']).default('open'), budgets: z.enum(['open', 'closed']).default('closed') }).prefault({}),
    })
    .optional(),
  /** Where keys, teams and customers created through the admin API are kept (without Redis). */
  db: z.string().min(1).default('microgate-governance.db'),
});

export const configSchema = z.strictObject({
  version: z.literal(1),
  server: server.prefault({}),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider names are lower-case letters, digits, "_" and "-"'), provider)
    .refine((p) => Object.keys(p).length > 0, 'at least one provider is required'),
  models: z.record(z.string().min(1), alias).default({}),
  routing: routing.prefault({}),
  rules: z.array(rule).default([]),
  telemetry: telemetry.prefault({}),
  classifier: classifier.prefault({}),
  governance: governance.prefault({}),
});

/** The config as written (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The config after validation and defaults. */
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][string];
export type KeyConfig = ProviderConfig['keys'][number];
export type RoutingConfig = Config['routing'];
export type RuleConfig = Config['rules'][number];
export type TelemetryConfig = Config['telemetry'];
export type GovernanceConfig = Config['governance'];
export type LimitsConfig = GovernanceConfig['teams'][string]['limits'];
