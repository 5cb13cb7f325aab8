// The RuntimePlan: what the request path reads. Compiled once from a validated Config
// (config/compile.ts); nothing here is computed per request.
import type { ResponseIds } from '../formats/responses/ids.ts';
import type { ResourceIds } from '../formats/openai/resource-ids.ts';
import type { Pool } from 'undici';
import type { WeightedPicker } from '../util/weighted.ts';
import type { Redactor } from '../util/redact.ts';
import type { PoolRegistry } from '../state/pools.ts';
import type { HealthRegistry } from '../state/health.ts';
import type { Circuit } from '../state/circuit.ts';
import type { RuleStats } from '../state/rule-stats.ts';
import type { Classifier } from '../classify/index.ts';
import type { RetryBudget } from '../state/retry-budget.ts';
import type { HeaderMatcher } from '../util/header-matcher.ts';

export type { HeaderMatcher };
import type { BufferBudget } from '../state/buffer-budget.ts';
import type { Config, ProviderConfig, RoutingConfig } from '../config/schema.ts';

import type { EndpointName } from '../formats/canonical.ts';
import type { Codec } from '../formats/format.ts';
import type { Endpoint, KeySecret } from '../endpoints/endpoint.ts';
import type { Deviations } from '../config/provider-kinds.ts';
import type { Governance } from '../governance/governance.ts';
import type { SharedState } from '../state/shared-state.ts';

export type { EndpointName };

/** Why a key is out of rotation: a 429, a 401/403, or a 429 that said the account has no quota left. */
export type RestReason = 'rate_limited' | 'auth_failed' | 'quota_exhausted';

/** Mutable health of one key, referenced by its frozen plan (a key is rested after 429 or 401/403). */
export interface KeyState {
  /** performance.now() until which the key is not used; 0 when it is fine. */
  restUntil: number;
  reason: '' | RestReason;
}

export interface KeyPlan {
  /** Small integer, unique in the plan (config order): telemetry's key id, and its place in caches. */
  readonly id: number;
  /** Its slot in the process's shared key table (state/shared-state.ts), stable across reloads that
   *  keep the key: where its rest lives, and part of its circuits' ids. -1: untracked (table full). */
  readonly slot: number;
  readonly name: string;
  readonly provider: ProviderPlan;
  /** Flat [name, value, ...] request headers for this key, auth included: built once. */
  readonly headers: string[];
  /** Its secret material, for endpoints that sign each attempt (Bedrock's SigV4). */
  readonly secret: KeySecret;
  readonly state: KeyState;
}

export interface ProviderPlan {
  readonly name: string;
  readonly type: ProviderConfig['type'];
  readonly origin: string;
  /** Its wire format's provider side: builds requests from canonical ones, reads answers back. */
  readonly codec: Codec;
  /** Its paths and per-key headers. */
  readonly endpoint: Endpoint;
  /** Where it departs from its format (config/provider-kinds.ts): fields to drop, stream usage. */
  readonly deviations: Deviations;
  /** It serves OpenAI's Responses API itself: /v1/responses is a pass-through, not translated to a chat. */
  readonly nativeResponses: boolean;
  readonly pool: Pool;
  readonly timeouts: Readonly<ProviderConfig['timeouts']>;
  readonly models: ReadonlySet<string>;
  /** Keys that serve any model (no `models` list). Null when every key is model-restricted. */
  readonly anyModelKeys: WeightedPicker<KeyPlan> | null;
  /** Keys for a model named in some key's `models` list (those keys plus the unrestricted ones). */
  readonly keysByModel: ReadonlyMap<string, WeightedPicker<KeyPlan>>;
  readonly retry: Readonly<RoutingConfig['retry']>;
  /** USD per million tokens by upstream model. */
  readonly pricing: ReadonlyMap<string, { readonly input: number; readonly output: number }>;
  /** Client headers to pass on. Null when none (the common case). */
  readonly forward: HeaderMatcher | null;
}

/** One place a request can go: a provider and the model name it knows. */
export interface Target {
  /** Small integer for telemetry records (0: not tracked). */
  readonly id: number;
  readonly provider: ProviderPlan;
  readonly model: string;
  /** "provider/model", used in headers and telemetry. */
  readonly label: string;
  /** The name the provider's body takes for the model (Endpoint.bodyModel: Azure's deployment), and it as a JSON string, ready to splice into the upstream body. */
  readonly bodyModel: string;
  readonly modelJson: string;
  /** Declared targets: their circuits by key id, filled on first use (upstream/health.ts). */
  readonly circuits?: Array<Circuit | undefined>;
  /** A rule pinned this target to one key. */
  readonly key?: KeyPlan;
}

/**
 * Where a model name leads: weighted targets, then fallbacks in order. `picker` starts with the
 * configured weights; adaptive weighting (upstream/adaptive.ts) swaps in health-adjusted ones.
 */
export interface Route {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly weights: readonly number[];
  picker: WeightedPicker<Target>;
  readonly fallbacks: readonly Target[];
  /** targets + fallbacks when there is a single target: the attempt order, with nothing to draw. */
  readonly fixedOrder: readonly Target[] | null;
}

export interface RuntimePlan {
  readonly server: Readonly<Config['server']>;
  /** Bytes of provider answers held across requests (server.maxBufferedBytes). */
  readonly bufferBudget: BufferBudget;
  readonly providers: ReadonlyMap<string, ProviderPlan>;
  /** Every name the config makes addressable (aliases, "provider/model" of declared models, bare declared models) → weighted targets. */
  readonly routes: ReadonlyMap<string, Route>;
  readonly routing: Readonly<RoutingConfig>;
  /** Circuits per (provider, key, model), shared by every request. */
  readonly health: HealthRegistry;
  readonly retryBudget: RetryBudget;
  readonly keysById: ReadonlyMap<number, KeyPlan>;
  /** Routing rules in precedence order (scope, then priority). */
  readonly rules: readonly CompiledRule[];
  readonly ruleStats: RuleStats;
  readonly classifier: Classifier;
  /** telemetry.log.payloads: keep request and answer texts for the request log. */
  readonly capturePayloads: boolean;
  /** The shared Target for (provider, model): declared ones prebuilt, others cached (bounded). */
  target(provider: ProviderPlan, model: string): Target;
  /** Targets by id; grows as rules and "provider/model" addressing make new ones. */
  readonly targetsById: ReadonlyArray<Target | undefined>;
  /** `target` pinned to `key` (cached). */
  pinned(target: Target, key: KeyPlan): Target;
  /** Fields that translations dropped, by name: /admin/stats. */
  readonly droppedFields: Map<string, number>;
  /** Client headers some provider passes on (checked at parse); null when no provider forwards any. */
  readonly forwardedHeaders: HeaderMatcher | null;
  /** GET /v1/models, serialized once. */
  readonly modelsJson: string;
  /** State the process's request threads share (key rests, circuits, retry budget, counters, per-thread stats). */
  readonly shared: SharedState;
  /** Virtual keys, their limits and counters, prices, the admin key (governance/). */
  readonly governance: Governance;
  /** Unix seconds when the config was loaded (the `created` of listed models). */
  readonly createdAt: number;
  /** 0 for the first plan of a process, +1 per hot reload: telemetry reads a record's ids with its plan's names. */
  readonly generation: number;
  readonly redactor: Redactor;
  /** Seals and opens the Responses API ids the gateway hands out (formats/responses/ids.ts). */
  readonly responseIds: ResponseIds;
  /** Seals and opens the file and batch ids the gateway hands out (formats/openai/resource-ids.ts). */
  readonly resourceIds: ResourceIds;
  readonly pools: PoolRegistry;
  /**
   * A hot reload's new plan takes over what it shares with the one it replaces (pools, the counters'
   * store): from here they are its own to close. Until then a failed reload closes nothing shared.
   */
  commit(): void;
  /** Closes the upstream pools, and the counters' store when it is this plan's. */
  close(): Promise<void>;
}

// Routing rules as compiled from config (rules/compile.ts builds them, rules/evaluate.ts runs them).

export type Scope = { kind: 'global' } | { kind: 'virtualKey' | 'team' | 'customer'; id: string };

/** A target of a rule. Omitted parts are filled from the request's own route when the rule fires. */
export interface RuleTarget {
  readonly provider: ProviderPlan | null;
  readonly model: string | null;
  readonly key: KeyPlan | null;
  readonly weight: number;
  /** Prebuilt when provider and model are both given. */
  readonly fixed: Target | null;
}

export interface CompiledRule {
  /** Position in the precedence order (telemetry records carry it). */
  readonly index: number;
  readonly name: string;
  readonly scope: Scope;
  readonly priority: number;
  readonly source: string;
  /** Returns the expression's value; anything but `true` is no match. Throws on evaluation errors. */
  readonly program: (vars: object) => unknown;
  readonly action: 'route' | 'deny' | 'shadow';
  readonly targets: readonly RuleTarget[];
  readonly fallbacks: readonly string[] | null;
  readonly chain: boolean;
  readonly deny: { readonly message: string; readonly status: number } | null;
  readonly tag: string | null;
  /** Does the expression read the complexity variables (so `explain` can say the classifier ran)? */
  readonly readsComplexity: boolean;
  /** "x" when the expression requires `model == "x"`: what load-time chain-cycle detection can see. */
  readonly requiresModel: string | null;
  /**
   * Keys of `headers` / `params` the expression reads unguarded in a top-level conjunct: when one is
   * absent, evaluation can only end in a "no such key" error (no match). Checked before evaluating,
   * because the library's error costs ~10 µs and the lookup ~20 ns (bench/micro.ts).
   */
  readonly requiredKeys: ReadonlyArray<readonly ['headers' | 'params', string]>;
}

