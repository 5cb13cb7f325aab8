// The RuntimePlan: what the request path reads. Compiled once from a validated Config
// (config/compile.ts); nothing here is computed per request.
import type { Pool } from 'undici';
import type { WeightedPicker } from '../util/weighted.ts';
import type { Redactor } from '../util/redact.ts';
import type { PoolRegistry } from '../upstream/pools.ts';
import type { ProviderConfig } from './schema.ts';

export type EndpointName = 'chat' | 'completions' | 'embeddings';

export interface KeyPlan {
  readonly name: string;
  readonly provider: ProviderPlan;
  /** Flat [name, value, ...] request headers for this key, auth included: built once. */
  readonly headers: string[];
}

export interface ProviderPlan {
  readonly name: string;
  readonly type: ProviderConfig['type'];
  readonly origin: string;
  /** Upstream path per endpoint, e.g. chat → "/v1/chat/completions". */
  readonly paths: Readonly<Record<EndpointName, string>>;
  readonly pool: Pool;
  readonly timeouts: Readonly<ProviderConfig['timeouts']>;
  readonly models: ReadonlySet<string>;
  /** Keys that serve any model (no `models` list). Null when every key is model-restricted. */
  readonly anyModelKeys: WeightedPicker<KeyPlan> | null;
  /** Keys for a model named in some key's `models` list (those keys plus the unrestricted ones). */
  readonly keysByModel: ReadonlyMap<string, WeightedPicker<KeyPlan>>;
  /** Client headers to pass on: exact names and prefixes. Null when none (the common case). */
  readonly forward: { readonly exact: ReadonlySet<string>; readonly prefixes: readonly string[] } | null;
}

/** One place a request can go: a provider and the model name it knows. */
export interface Target {
  readonly provider: ProviderPlan;
  readonly model: string;
  /** "provider/model", used in headers and telemetry. */
  readonly label: string;
  /** The model name as a JSON string, ready to splice into the upstream body. */
  readonly modelJson: string;
}

export interface RuntimePlan {
  readonly server: Readonly<{ host: string; port: number; maxBodyBytes: number; shutdownGraceMs: number; reusePort: boolean }>;
  readonly providers: ReadonlyMap<string, ProviderPlan>;
  /** Every name the config makes addressable (aliases, "provider/model" of declared models, bare declared models) → weighted targets. */
  readonly routes: ReadonlyMap<string, WeightedPicker<Target>>;
  /** GET /v1/models, serialized once. */
  readonly modelsJson: string;
  readonly redactor: Redactor;
  readonly pools: PoolRegistry;
  /** Closes the upstream pools. */
  close(): Promise<void>;
}
