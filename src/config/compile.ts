// Config → RuntimePlan. Everything the hot path needs is built here: pools, key pickers with
// cumulative weights, prebuilt header arrays, the route table and the /v1/models body.
import { WeightedPicker } from '../util/weighted.ts';
import { Redactor } from '../util/redact.ts';
import { Directory, digestOf, type DirectorySource } from '../governance/directory.ts';
import { Governance } from '../governance/governance.ts';
import { PriceBook } from '../governance/prices.ts';
import type { QuotaStore } from '../state/quota.ts';
import { MemoryQuota } from '../state/quota-memory.ts';
import { MAX_CIRCUITS, MAX_KEYS, SharedState } from '../state/shared-state.ts';
import { SharedKeyState } from '../state/key-state.ts';
import { RedisQuota } from '../state/quota-redis.ts';
import { HeaderMatcher } from '../util/header-matcher.ts';
import { CODECS } from '../formats/index.ts';
import type { KeySecret } from '../endpoints/endpoint.ts';
import { PROVIDER_KINDS } from './provider-kinds.ts';
import { ENDPOINTS } from '../endpoints/index.ts';
import { PoolRegistry } from '../state/pools.ts';
import { HealthRegistry } from '../state/health.ts';
import { ResponseIds } from '../formats/responses/ids.ts';
import { ResourceIds } from '../formats/openai/resource-ids.ts';
import { BufferBudget } from '../state/buffer-budget.ts';
import { RetryBudget } from '../state/retry-budget.ts';
import { ConfigError } from './load.ts';
import { compileRules, unroutable } from '../rules/compile.ts';
import { RuleStats } from '../state/rule-stats.ts';
import { ruleEnvironment } from '../rules/variables.ts';
import { Classifier } from '../classify/index.ts';
import type { Config, KeyConfig, ProviderConfig, RoutingConfig } from './schema.ts';
import type { KeyPlan, ProviderPlan, Route, RuntimePlan, Target } from '../plan/types.ts';
import { keysFor, makeRoute } from '../plan/routes.ts';

const SECRET_HEADER = /auth|key|token|secret|cookie|signature|credential|session/i;


export interface CompileOptions {
  /** The governance counters to keep using (a reload keeps them); a new store is made when absent. */
  quota?: QuotaStore;
  /**
   * The process's shared state (state/shared-state.ts): key rests, circuits, the retry budget and the
   * embedded governance counters, the same for every request thread. A new one when absent (one thread).
   */
  shared?: SharedState;
  /**
   * A hot reload: the plan this one replaces. Its connection pools to origins the new config still
   * reaches with the same settings carry over (sockets and all); the rest close with the old plan.
   */
  previous?: RuntimePlan;
}

/** Which plan closes a quota store: the last to take it over (hot reload), never one a caller passed in. */
const storeOwners = new WeakMap<QuotaStore, object>();

export function compilePlan(config: Config, opts: CompileOptions = {}): RuntimePlan {
  const shared = opts.shared ?? new SharedState();
  const pools = new PoolRegistry(opts.previous?.pools);
  const providers = new Map<string, ProviderPlan>();
  const keysById = new Map<number, KeyPlan>();
  for (const [name, pc] of Object.entries(config.providers)) providers.set(name, compileProvider(name, pc, pools, config.routing, keysById, shared));

  const routes = new Map<string, Route>();
  const targets = new Map<string, Target>();
  // Targets are shared objects (their circuits cache lives on them). Those the config names are
  // made here; those rules make at run time ("same model, cheaper provider") are cached up to a cap.
  // Each gets a small id (telemetry records carry ids, the worker holds the names); past the cap a
  // run-time target is not kept and reports as id 0, "unknown".
  let runtimeTargets = 0;
  const targetsById: Array<Target | undefined> = [undefined];
  const target = (p: ProviderPlan, model: string, atRuntime = false): Target => {
    // A request routed without a model (files, batches) targets the provider itself.
    const label = model === '' ? p.name : `${p.name}/${model}`;
    let t = targets.get(label);
    if (t === undefined) {
      const keep = !atRuntime || runtimeTargets++ < 4096;
      // A run-time target has no circuit cache: its circuit is claimed only when it fails (state/health.ts).
      const bodyModel = p.endpoint.bodyModel?.(model) ?? model;
      const base = { id: keep ? targetsById.length : 0, provider: p, model, label, bodyModel, modelJson: JSON.stringify(bodyModel) };
      t = Object.freeze(atRuntime ? base : { ...base, circuits: [] });
      if (keep) {
        targets.set(label, t);
        targetsById.push(t);
      }
    }
    return t;
  };
  const pinnedTargets = new Map<string, Target>();
  const pinned = (t: Target, key: KeyPlan): Target => {
    const id = `${t.label}#${key.name}`;
    let p = pinnedTargets.get(id);
    if (p === undefined) {
      // Same label (the key shows in the route as "#key"); its own circuit cache, as a pin is another path.
      p = Object.freeze(t.circuits === undefined ? { ...t, key } : { ...t, key, circuits: [] });
      if (pinnedTargets.size < 4096) pinnedTargets.set(id, p);
    }
    return p;
  };

  // Declared models: "provider/model" always; a bare name spreads evenly over every provider declaring it.
  const bare = new Map<string, Target[]>();
  for (const p of providers.values()) {
    for (const m of p.models) {
      const t = target(p, m);
      routes.set(t.label, makeRoute(t.label, [t], [1], []));
      const list = bare.get(m) ?? [];
      list.push(t);
      bare.set(m, list);
    }
  }
  for (const [m, list] of bare) routes.set(m, makeRoute(m, list, list.map(() => 1), []));
  // Aliases last: an alias may shadow a provider's model name on purpose. Fallbacks name targets:
  // "provider/model" or a declared name (whose first target is taken).
  // A fallback may name an alias declared after it: every alias's targets are made first.
  const aliasTargets = new Map(Object.entries(config.models).map(([alias, a]) => [alias, a.targets.map((t) => target(providers.get(t.provider)!, t.model))]));
  for (const [alias, a] of Object.entries(config.models)) {
    const fallbacks = a.fallbacks.map((name) => {
      const declared = aliasTargets.get(name) ?? routes.get(name)?.targets;
      if (declared !== undefined && declared.length > 0) return declared[0]!;
      const slash = name.indexOf('/');
      const p = slash > 0 ? providers.get(name.slice(0, slash)) : undefined;
      if (p === undefined || slash === name.length - 1) throw new ConfigError(`invalid config:\n  - ${unroutable(`models.${alias}.fallbacks`, name)}`);
      return target(p, name.slice(slash + 1));
    });
    routes.set(alias, makeRoute(alias, aliasTargets.get(alias)!, a.targets.map((t) => t.weight), fallbacks));
  }

  /** When this config was loaded: the `created` of every model the gateway lists. */
  const createdAt = Math.floor(Date.now() / 1000);
  const modelsJson = buildModelsList(config, providers, createdAt);
  const health = new HealthRegistry(config.routing.circuit, shared.circuits);
  // A rule's fallbacks are resolved per request (resolveRoute); a name that never resolves is a config error now.
  const routable = (name: string): boolean => {
    const slash = name.indexOf('/');
    return routes.has(name) || (slash > 0 && slash < name.length - 1 && providers.has(name.slice(0, slash))) || config.routing.defaultProvider !== undefined;
  };
  const rules = compileRules(config.rules, ruleEnvironment(), { providers }, target, routable);
  // Every target made so far is the config's own: their circuits are claimed now, before any client
  // can spend the table on model names of its choosing.
  const untracked = health.claimDeclared([...targets.values()].flatMap((t) => (keysFor(t.provider, t.model)?.items ?? []).map((k) => [k, t] as const)));
  if (untracked > 0) process.stderr.write(`microgate: config: ${untracked} (key, model) circuits of declared targets are untracked: the circuit table (${MAX_CIRCUITS}) is full\n`);
  // A reload keeps the counters (and a Redis store's connection): the new plan takes the store over.
  const inherited = opts.quota ?? opts.previous?.governance.store;
  const governance = compileGovernance(config, providers, inherited, shared);
  // A store this plan made is its own to close; one it inherits becomes its own only at commit(), so a
  // reload that fails before then closes nothing the running plan still uses.
  const owner = {};
  if (opts.quota === undefined && inherited === undefined) storeOwners.set(governance.store, owner);
  // Virtual keys and the admin key are not the redactor's: no provider ever receives one (the client's
  // credentials are never forwarded), so no answer can echo one; scanning every answer for them would
  // cost per key (bench: +1.3 µs a request with 20 keys). They are never logged either: records carry ids.
  const c = config.classifier;
  // Every replica seals ids with the configured secret; without one, with one drawn once per process,
  // which all its threads share. Never derived from a credential: every tenant holds sealed ids, and
  // could test guesses of that credential against them offline.
  const idSecret = config.governance.idSecret !== undefined ? Buffer.from(config.governance.idSecret) : Buffer.from(shared.processSecret);
  const previousIdSecrets = config.governance.previousIdSecrets.map((s) => Buffer.from(s));
  const classifier = new Classifier({ ...(c.model === undefined ? {} : { model: c.model }), weights: c.weights, boundaries: c.boundaries, extra: c.vocabulary, strongReasoningForces: c.strongReasoningForces });
  return Object.freeze({
    server: Object.freeze({ ...config.server }),
    bufferBudget: new BufferBudget(config.server.maxBufferedBytes, shared.buffers.bufferHeld),
    providers,
    routes,
    routing: config.routing,
    health,
    retryBudget: new RetryBudget(config.routing.retryBudget.ratio, config.routing.retryBudget.minPerSecond, 10_000, { epochs: shared.retryF64, counts: shared.retryI32 }, performance.timeOrigin),
    shared,
    keysById,
    rules,
    ruleStats: new RuleStats(),
    classifier,
    capturePayloads: config.telemetry.enabled && config.telemetry.log.enabled && config.telemetry.log.payloads,
    target: (p: ProviderPlan, model: string) => target(p, model, true),
    targetsById,
    pinned,
    forwardedHeaders: HeaderMatcher.of([...providers.values()].flatMap((p) => p.forward?.patterns ?? [])),
    droppedFields: new Map(),
    modelsJson,
    createdAt,
    generation: opts.previous === undefined ? 0 : opts.previous.generation + 1,
    redactor: new Redactor(providerSecrets(config)),
    responseIds: new ResponseIds(idSecret, previousIdSecrets),
    resourceIds: new ResourceIds(idSecret, previousIdSecrets),
    pools,
    governance,
    commit: () => {
      pools.commit();
      if (opts.quota === undefined) storeOwners.set(governance.store, owner);
    },
    close: async () => {
      await pools.close();
      if (storeOwners.get(governance.store) === owner) await governance.store.close();
    },
  });
}

/** Who a key is, for its shared slot: never its secret itself (the table keeps ids' first bytes for listing). */
function keyIdentity(provider: string, k: KeyConfig, where: string): string {
  const secret = 'value' in k ? k.value : `${k.accessKeyId}\0${k.secretAccessKey}\0${k.sessionToken ?? ''}`;
  return `${provider}\0${where}\0${k.name}\0${digestOf(secret).slice(0, 32)}`;
}

/** What must never leave the gateway: provider keys, AWS secrets, and extra headers named like credentials. */
export function providerSecrets(config: Config): string[] {
  const secrets: string[] = [];
  for (const pc of Object.values(config.providers)) {
    for (const k of pc.keys) {
      if ('value' in k) secrets.push(k.value);
      else secrets.push(k.secretAccessKey, ...(k.sessionToken === undefined ? [] : [k.sessionToken]));
    }
    // Extra headers are secrets when their names say so (an `anthropic-version` date is not one, and
    // redacting it would cut dates out of answers).
    for (const [h, v] of Object.entries(pc.headers)) if (SECRET_HEADER.test(h)) secrets.push(v);
  }
  return secrets;
}

/** Virtual keys, teams and customers from the config; the counter store; prices (catalog, then the config's). */
function compileGovernance(config: Config, providers: ReadonlyMap<string, ProviderPlan>, quota: QuotaStore | undefined, shared: SharedState): Governance {
  const g = config.governance;
  const configured: DirectorySource = {
    customers: Object.entries(g.customers).map(([id, c]) => ({ id, ...c, source: 'config' as const })),
    teams: Object.entries(g.teams).map(([id, t]) => ({ id, ...t, source: 'config' as const })),
    virtualKeys: g.virtualKeys.map(({ value, ...k }) => ({ ...k, digest: digestOf(value), source: 'config' as const })),
    requireKey: g.requireVirtualKey,
  };
  const directory = new Directory(configured);
  const failure = { rateLimits: g.store?.onFailure.rateLimits ?? 'open', budgets: g.store?.onFailure.budgets ?? 'closed' } as const;
  const store =
    quota ??
    (g.store === undefined
      ? new MemoryQuota(shared.quota)
      : // Spend stays countable locally while Redis is down; admission refuses budgets itself under 'closed'.
        // Every request thread leases its own blocks: to the lease sizing, each is a replica.
        new RedisQuota({ url: g.store.redis, replicas: g.store.replicas * shared.threadCount, onFailure: { permits: failure.rateLimits, spend: 'open' } }));
  const overrides = new Map([...providers.values()].map((p) => [p.name, p.pricing]));
  const governance = new Governance(configured, directory, store, new PriceBook(overrides), g.adminKey ?? null, g.protectMetrics, failure, { redis: g.store?.redis ?? null, db: g.db });
  governance.warm();
  return governance;
}

function compileProvider(name: string, pc: ProviderConfig, pools: PoolRegistry, routing: RoutingConfig, keysById: Map<number, KeyPlan>, shared: SharedState): ProviderPlan {
  const url = new URL(pc.baseUrl!);
  const kind = PROVIDER_KINDS[pc.type];
  const endpoint = ENDPOINTS[kind.endpoint]({ url, region: pc.region ?? null, apiVersion: pc.apiVersion ?? null, deployments: pc.deployments });

  const extra: string[] = [];
  for (const [h, v] of Object.entries(pc.headers)) extra.push(h.toLowerCase(), v);
  // undici does not decode a compressed answer, and a request without Accept-Encoding accepts any
  // coding (RFC 9110 §12.5.3): a CDN in front of a provider may gzip it, and its success became a 502,
  // its error the gzip bytes as a message (which the redactor cannot read). Asked for as it is.
  if (!extra.includes('accept-encoding')) extra.push('accept-encoding', 'identity');


  const plan = {
    name,
    type: pc.type,
    origin: url.origin,
    codec: CODECS[kind.format],
    deviations: kind.deviations,
    nativeResponses: kind.format === 'openai' && (pc.responsesApi ?? (pc.type === 'openai' ? 'native' : 'chat')) === 'native',
    endpoint,
    pool: pools.get(url.origin, { connections: pc.maxConnections, connectTimeoutMs: pc.timeouts.connectMs }),
    timeouts: Object.freeze({ ...pc.timeouts }),
    retry: Object.freeze({ ...(pc.retry ?? routing.retry) }),
    pricing: new Map(Object.entries(pc.pricing)),
    models: new Set(pc.models),
    anyModelKeys: null as WeightedPicker<KeyPlan> | null,
    keysByModel: new Map<string, WeightedPicker<KeyPlan>>(),
    forward: HeaderMatcher.of([...pc.forwardHeaders, ...endpoint.forward]),
  };

  const keys = pc.keys.map((k, i) => {
    // Its slot in the shared table: the same in every thread, and across reloads that keep the key
    // (same provider, at the same server, name and secret), so its rest and its circuits carry over: a
    // provider moved to another baseUrl or region starts afresh. -1: the table is full.
    const slot = shared.keys.slot(keyIdentity(name, k, `${pc.type}\0${url.href}\0${pc.region ?? ''}`));
    return {
      cfg: k,
      plan: Object.freeze({
        id: keysById.size + i,
        slot,
        name: k.name,
        state: slot < 0 ? { restUntil: 0, reason: '' } : new SharedKeyState(shared.keys.f64, shared.keys.floatBase(slot), shared.keys.i32, shared.keys.intBase(slot)),
        provider: plan as ProviderPlan,
        secret: Object.freeze(secretOf(k)),
        headers: Object.freeze(endpoint.keyHeaders(secretOf(k), extra)),
      }) as KeyPlan,
    };
  });
  for (const k of keys) keysById.set(k.plan.id, k.plan);
  const unrestricted = keys.filter((k) => k.cfg.models === undefined);
  if (unrestricted.length > 0) plan.anyModelKeys = new WeightedPicker(unrestricted.map((k) => ({ item: k.plan, weight: k.cfg.weight })));
  const restrictedModels = new Set(keys.flatMap((k) => k.cfg.models ?? []));
  for (const m of restrictedModels) {
    const eligible = keys.filter((k) => k.cfg.models === undefined || k.cfg.models.includes(m));
    plan.keysByModel.set(m, new WeightedPicker(eligible.map((k) => ({ item: k.plan, weight: k.cfg.weight }))));
  }
  return Object.freeze(plan) as ProviderPlan;
}

function buildModelsList(config: Config, providers: ReadonlyMap<string, ProviderPlan>, created: number): string {
  const seen = new Set<string>();
  const data: Array<{ id: string; object: 'model'; created: number; owned_by: string }> = [];
  const add = (id: string, owner: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    data.push({ id, object: 'model', created, owned_by: owner });
  };
  for (const alias of Object.keys(config.models)) add(alias, 'microgate');
  for (const p of providers.values()) for (const m of p.models) add(`${p.name}/${m}`, p.name);
  for (const p of providers.values()) for (const m of p.models) add(m, p.name);
  return JSON.stringify({ object: 'list', data });
}

function secretOf(k: KeyConfig): KeySecret {
  if ('value' in k) return { value: k.value, aws: null };
  return { value: null, aws: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, ...(k.sessionToken === undefined ? {} : { sessionToken: k.sessionToken }) } };
}
