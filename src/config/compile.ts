// Config → RuntimePlan. Everything the hot path needs is built here: pools, key pickers with
// cumulative weights, prebuilt header arrays, the route table and the /v1/models body.
import { WeightedPicker } from '../util/weighted.ts';
import { Redactor } from '../util/redact.ts';
import { PoolRegistry } from '../upstream/pools.ts';
import type { Config, ProviderConfig } from './schema.ts';
import type { EndpointName, KeyPlan, ProviderPlan, RuntimePlan, Target } from './plan.ts';

export const USER_AGENT = 'microgate/0.1';

const ENDPOINT_PATHS: Readonly<Record<EndpointName, string>> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' };

export function compilePlan(config: Config): RuntimePlan {
  const pools = new PoolRegistry();
  const providers = new Map<string, ProviderPlan>();
  const secrets: string[] = [];

  for (const [name, pc] of Object.entries(config.providers)) {
    providers.set(name, compileProvider(name, pc, pools));
    for (const k of pc.keys) secrets.push(k.value);
    for (const v of Object.values(pc.headers)) secrets.push(v);
  }

  const routes = new Map<string, WeightedPicker<Target>>();
  const targets = new Map<string, Target>();
  const target = (p: ProviderPlan, model: string): Target => {
    const label = `${p.name}/${model}`;
    let t = targets.get(label);
    if (t === undefined) {
      t = Object.freeze({ provider: p, model, label, modelJson: JSON.stringify(model) });
      targets.set(label, t);
    }
    return t;
  };

  // Aliases first: an alias may shadow a provider's model name on purpose.
  for (const [alias, a] of Object.entries(config.models)) {
    routes.set(alias, new WeightedPicker(a.targets.map((t) => ({ item: target(providers.get(t.provider)!, t.model), weight: t.weight }))));
  }
  // Declared models: "provider/model" always; a bare name spreads evenly over every provider declaring it.
  const bare = new Map<string, Target[]>();
  for (const p of providers.values()) {
    for (const m of p.models) {
      const t = target(p, m);
      routes.set(t.label, new WeightedPicker([{ item: t, weight: 1 }]));
      const list = bare.get(m) ?? [];
      list.push(t);
      bare.set(m, list);
    }
  }
  for (const [m, list] of bare) if (!routes.has(m)) routes.set(m, new WeightedPicker(list.map((t) => ({ item: t, weight: 1 }))));

  const modelsJson = buildModelsList(config, providers);
  return Object.freeze({
    server: Object.freeze({ ...config.server }),
    providers,
    routes,
    modelsJson,
    redactor: new Redactor(secrets),
    pools,
    close: () => pools.close(),
  });
}

function compileProvider(name: string, pc: ProviderConfig, pools: PoolRegistry): ProviderPlan {
  const url = new URL(pc.baseUrl);
  const base = url.pathname.replace(/\/+$/, '');
  const paths = {} as Record<EndpointName, string>;
  for (const e of Object.keys(ENDPOINT_PATHS) as EndpointName[]) paths[e] = base + ENDPOINT_PATHS[e];

  const extra: string[] = [];
  for (const [h, v] of Object.entries(pc.headers)) extra.push(h.toLowerCase(), v);

  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const f of pc.forwardHeaders) f.endsWith('*') ? prefixes.push(f.slice(0, -1)) : exact.add(f);

  const plan = {
    name,
    type: pc.type,
    origin: url.origin,
    paths: Object.freeze(paths),
    pool: pools.get(url.origin, { connections: pc.maxConnections, connectTimeoutMs: pc.timeouts.connectMs }),
    timeouts: Object.freeze({ ...pc.timeouts }),
    models: new Set(pc.models),
    anyModelKeys: null as WeightedPicker<KeyPlan> | null,
    keysByModel: new Map<string, WeightedPicker<KeyPlan>>(),
    forward: exact.size + prefixes.length === 0 ? null : { exact, prefixes },
  };

  const keys = pc.keys.map((k) => ({
    cfg: k,
    plan: Object.freeze({
      name: k.name,
      provider: plan as ProviderPlan,
      // OpenAI-style bearer auth (https://platform.openai.com/docs/api-reference/authentication).
      headers: Object.freeze(['content-type', 'application/json', 'authorization', `Bearer ${k.value}`, 'user-agent', USER_AGENT, ...extra]),
    }) as KeyPlan,
  }));
  const unrestricted = keys.filter((k) => k.cfg.models === undefined);
  if (unrestricted.length > 0) plan.anyModelKeys = new WeightedPicker(unrestricted.map((k) => ({ item: k.plan, weight: k.cfg.weight })));
  const restrictedModels = new Set(keys.flatMap((k) => k.cfg.models ?? []));
  for (const m of restrictedModels) {
    const eligible = keys.filter((k) => k.cfg.models === undefined || k.cfg.models.includes(m));
    plan.keysByModel.set(m, new WeightedPicker(eligible.map((k) => ({ item: k.plan, weight: k.cfg.weight }))));
  }
  return Object.freeze(plan) as ProviderPlan;
}

function buildModelsList(config: Config, providers: ReadonlyMap<string, ProviderPlan>): string {
  const created = Math.floor(Date.now() / 1000);
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
