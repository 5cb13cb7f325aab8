// Finds, reads and validates the configuration. This is the only place that reads process.env:
// everything after load works from the validated Config.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config, type ConfigInput } from './schema.ts';
import { PROVIDER_KINDS, type ProviderType } from './provider-kinds.ts';
import { ConfigError } from '../errors/config-error.ts';

export { ConfigError };

export type ConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'env'; providers: string[] }
  /** No file and no provider key: the caller starts the bundled mock and calls mockConfig(). */
  | { kind: 'mock' };

const DEFAULT_FILES = ['microgate.yaml', 'microgate.yml', 'microgate.json'];
const ENV_REF = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
/** What undici accepts in a header value (lib/core/util.js isValidHeaderValue): tab, visible ASCII, space, obs-text. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export interface LoadOptions {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Loaded {
  config: Config | null;
  source: ConfigSource;
}

/** `--config PATH`, then MICROGATE_CONFIG, then ./microgate.yaml; with none, providers from well-known env variables. */
export function loadConfig(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv.slice(2);
  const cwd = opts.cwd ?? process.cwd();
  const overrides = serverOverrides(argv, env);

  const explicit = argValue(argv, '--config') ?? env.MICROGATE_CONFIG;
  let path: string | undefined;
  if (explicit !== undefined && explicit !== '') {
    path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError(`config file not found: ${path}`);
  } else {
    path = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((p) => existsSync(p));
  }

  if (path !== undefined) {
    const raw = parseFile(path);
    return { config: validateConfig(withServer(raw, overrides), env, path), source: { kind: 'file', path } };
  }

  const fromEnv = zeroConfig(env);
  if (fromEnv !== null) {
    return { config: validateConfig(withServer(fromEnv, overrides), env, 'environment'), source: { kind: 'env', providers: Object.keys(fromEnv.providers) } };
  }
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(
      `no configuration found: pass --config PATH, set MICROGATE_CONFIG, write ./microgate.yaml, or set a provider key (${ZERO_CONFIG_ENV.join(', ')}, or AWS credentials for Bedrock). ` +
        'Outside NODE_ENV=production microgate would serve from its bundled mock provider instead.',
    );
  }
  return { config: null, source: { kind: 'mock' } };
}

/** The config used when no provider is configured: one provider named "mock" at the bundled mock's URL. */
export function mockConfig(mockBaseUrl: string, opts: LoadOptions = {}): Config {
  const input: ConfigInput = {
    version: 1,
    providers: {
      mock: { type: 'openai', baseUrl: mockBaseUrl, keys: [{ name: 'mock', value: 'mock-key' }], models: ['mock-small', 'mock-large', 'mock-embed'] },
    },
    // Any model name is the mock's, so the README's examples (openai/gpt-4o-mini, groq/…) run as written.
    routing: { defaultProvider: 'mock' },
  };
  return validateConfig(withServer(input, serverOverrides(opts.argv ?? process.argv.slice(2), opts.env ?? process.env)), opts.env ?? process.env, 'bundled mock');
}

/** Validates a config object (as parsed from JSON/YAML) and resolves `env.NAME` secrets. */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, origin = 'config'): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid ${origin}:\n${formatIssues(result.error)}`);
  const config = result.data;
  const problems: string[] = [];
  for (const [name, p] of Object.entries(config.providers)) {
    const kind = PROVIDER_KINDS[p.type];
    p.keys.forEach((k, i) => {
      const at = `providers.${name}.keys[${i}]`;
      if ('value' in k) k.value = resolveSecret(k.value, `${at}.value`, env, problems);
      else {
        k.accessKeyId = resolveSecret(k.accessKeyId, `${at}.accessKeyId`, env, problems);
        k.secretAccessKey = resolveSecret(k.secretAccessKey, `${at}.secretAccessKey`, env, problems);
        if (k.sessionToken !== undefined) k.sessionToken = resolveSecret(k.sessionToken, `${at}.sessionToken`, env, problems);
        if (kind.endpoint !== 'bedrock') problems.push(`${at}: AWS credentials are for type bedrock; this provider takes { name, value }`);
      }
    });
    if (p.keys.length === 0) {
      // A local server takes no key; every other provider needs one.
      // An empty value: the endpoint then sends no authorization header at all.
      if (kind.keyless) p.keys.push({ name: 'none', value: '', weight: 1 });
      else problems.push(`providers.${name}.keys: at least one key is required for type ${p.type}`);
    }
    if (kind.endpoint === 'bedrock') p.region ??= env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    p.baseUrl ??= kind.endpoint === 'bedrock' ? `https://bedrock-runtime.${p.region}.amazonaws.com` : (kind.baseUrl ?? undefined);
    if (p.baseUrl === undefined) problems.push(`providers.${name}.baseUrl: required for type ${p.type}`);
    for (const h of Object.keys(p.headers)) p.headers[h] = resolveSecret(p.headers[h]!, `providers.${name}.headers.${h}`, env, problems);
    // A CR or LF in a key would let it end the Authorization line; undici refuses such values anyway,
    // and every request would fail at the provider's expense.
    p.keys.forEach((k, i) => {
      for (const [field, v] of Object.entries(k)) {
        if ((field === 'value' || field === 'accessKeyId' || field === 'secretAccessKey' || field === 'sessionToken') && typeof v === 'string' && !HEADER_VALUE.test(v)) {
          problems.push(`providers.${name}.keys[${i}].${field}: not usable in a header (control characters)`);
        }
      }
    });
    for (const [h, v] of Object.entries(p.headers)) if (!HEADER_VALUE.test(v)) problems.push(`providers.${name}.headers.${h}: not usable in a header (control characters)`);
    const keyNames = new Set<string>();
    p.keys.forEach((k, i) => {
      if (keyNames.has(k.name)) problems.push(`providers.${name}.keys[${i}].name: duplicate key name "${k.name}"`);
      keyNames.add(k.name);
    });
  }
  for (const [alias, a] of Object.entries(config.models)) {
    a.targets.forEach((t, i) => {
      if (!(t.provider in config.providers)) {
        problems.push(`models.${alias}.targets[${i}].provider: unknown provider "${t.provider}" (configured: ${Object.keys(config.providers).join(', ')})`);
      }
    });
  }
  checkGovernance(config, env, problems);
  // A collector's token is a secret like a provider's: `env.NAME` is read here (it was sent as the literal string).
  const otlp = config.telemetry.otlp;
  if (otlp !== undefined) {
    for (const h of Object.keys(otlp.headers)) {
      otlp.headers[h] = resolveSecret(otlp.headers[h]!, `telemetry.otlp.headers.${h}`, env, problems);
      if (!HEADER_VALUE.test(otlp.headers[h]!)) problems.push(`telemetry.otlp.headers.${h}: not usable in a header (control characters)`);
    }
  }
  const fallback = config.routing.defaultProvider;
  if (fallback !== undefined && !(fallback in config.providers)) {
    problems.push(`routing.defaultProvider: unknown provider "${fallback}" (configured: ${Object.keys(config.providers).join(', ')})`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid ${origin}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config;
}

/** Virtual keys, teams and customers: secrets resolved, references known, no value shared by two keys. */
function checkGovernance(config: Config, env: NodeJS.ProcessEnv, problems: string[]): void {
  const g = config.governance;
  if (g.adminKey !== undefined) g.adminKey = resolveSecret(g.adminKey, 'governance.adminKey', env, problems);
  if (g.idSecret !== undefined) {
    g.idSecret = resolveSecret(g.idSecret, 'governance.idSecret', env, problems);
    // It keys the encryption of ids every tenant holds: a short one could be guessed offline from them.
    if (g.idSecret !== '' && g.idSecret.length < 32) problems.push('governance.idSecret: must be at least 32 characters (random: openssl rand -base64 32)');
  }
  g.previousIdSecrets = g.previousIdSecrets.map((s, i) => {
    const v = resolveSecret(s, `governance.previousIdSecrets[${i}]`, env, problems);
    if (v !== '' && v.length < 32) problems.push(`governance.previousIdSecrets[${i}]: must be at least 32 characters`);
    return v;
  });
  if (g.previousIdSecrets.length > 0 && g.idSecret === undefined) problems.push('governance.previousIdSecrets: needs governance.idSecret, the secret new ids are sealed with');
  for (const [id, t] of Object.entries(g.teams)) {
    if (t.customer !== undefined && !(t.customer in g.customers)) problems.push(`governance.teams.${id}.customer: unknown customer "${t.customer}"`);
  }
  const ids = new Set<string>();
  const values = new Map<string, string>();
  g.virtualKeys.forEach((k, i) => {
    const at = `governance.virtualKeys[${i}]`;
    k.value = resolveSecret(k.value, `${at}.value`, env, problems);
    if (!HEADER_VALUE.test(k.value) || k.value.trim() !== k.value) problems.push(`${at}.value: not usable in a header (control characters, or spaces at either end)`);
    if (ids.has(k.id)) problems.push(`${at}.id: duplicate virtual key id "${k.id}"`);
    ids.add(k.id);
    const other = values.get(k.value);
    if (other !== undefined) problems.push(`${at}.value: the same value as virtual key "${other}"`);
    values.set(k.value, k.id);
    if (k.team !== undefined && !(k.team in g.teams)) problems.push(`${at}.team: unknown team "${k.team}"`);
    if (k.customer !== undefined && !(k.customer in g.customers)) problems.push(`${at}.customer: unknown customer "${k.customer}"`);
    if (k.team !== undefined && k.customer !== undefined) problems.push(`${at}: a key belongs to a team or to a customer directly, not both (the team's customer is the key's)`);
    for (const p of k.providers ?? []) if (!(p in config.providers)) problems.push(`${at}.providers: unknown provider "${p}"`);
  });
}

function resolveSecret(value: string, path: string, env: NodeJS.ProcessEnv, problems: string[]): string {
  const m = ENV_REF.exec(value);
  if (m === null) return value;
  const v = env[m[1]!];
  if (v === undefined || v === '') {
    problems.push(`${path}: environment variable ${m[1]} is not set`);
    return '';
  }
  return v;
}

/** JSON path and reason for each problem. Values are never printed: they may be secrets. */
export function formatIssues(err: z.ZodError): string {
  const line = (segments: readonly PropertyKey[], message: string) => {
    const path = segments.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc === '' ? String(seg) : `${acc}.${String(seg)}`), '');
    return `  - ${path === '' ? '(root)' : path}: ${message}`;
  };
  // zod puts an unknown key's parent in the path; name the key itself (providers.openai.keys[0].wieght).
  // A value that fits no branch of a union (a key entry: a value, or AWS credentials) is reported by the
  // branch it came nearest to, field by field: "keys[0]: Invalid input" named no field.
  const lines = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): string[] =>
    issues.flatMap((issue) => {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => line([...path, k], 'unknown key'));
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        const nearest = issue.errors.reduce((a, b) => (b.length < a.length ? b : a));
        if (nearest.length > 0) return lines(nearest, path);
      }
      return [line(path, issue.message)];
    });
  return lines(err.issues, []).join('\n');
}

function parseFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${path}: ${parseErrorSummary(err)}`);
  }
}

/**
 * Where a parse failed, without the parser's quote of the source: the yaml package prints the
 * offending line and V8 quotes the JSON around some errors, and that text may be a literal key.
 */
function parseErrorSummary(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; linePos?: ReadonlyArray<{ line: number; col: number }> };
  const pos = Array.isArray(e.linePos) ? e.linePos[0] : undefined;
  if (pos !== undefined) return `${typeof e.code === 'string' ? e.code : 'syntax error'} at line ${pos.line}, column ${pos.col}`;
  const message = typeof e.message === 'string' ? e.message : '';
  // V8: "Expected ',' or '}' after property value in JSON at position 28" quotes nothing; keep those.
  return message !== '' && !message.includes('"') ? message : 'not valid JSON';
}

/** The environment variables zero-config reads, one per provider type that has one. */
const ZERO_CONFIG_ENV = Object.values(PROVIDER_KINDS).flatMap((k) => (k.env === null ? [] : [k.env]));

function zeroConfig(env: NodeJS.ProcessEnv): ConfigInput | null {
  const providers: ConfigInput['providers'] = {};
  for (const [type, kind] of Object.entries(PROVIDER_KINDS) as Array<[ProviderType, (typeof PROVIDER_KINDS)[ProviderType]]>) {
    if (kind.env === null) continue;
    const value = env[kind.env];
    if (value === undefined || value === '') continue;
    providers[type] = { type, keys: [{ name: 'default', value: `env.${kind.env}` }], models: [...kind.models] };
  }
  // Bedrock from the AWS SDK's own variables: a Bedrock API key, or access keys (region: AWS_REGION).
  if (env.AWS_BEARER_TOKEN_BEDROCK !== undefined && env.AWS_BEARER_TOKEN_BEDROCK !== '') {
    providers.bedrock = { type: 'bedrock', keys: [{ name: 'default', value: 'env.AWS_BEARER_TOKEN_BEDROCK' }] };
  } else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const creds = { name: 'default', accessKeyId: 'env.AWS_ACCESS_KEY_ID', secretAccessKey: 'env.AWS_SECRET_ACCESS_KEY', ...(env.AWS_SESSION_TOKEN ? { sessionToken: 'env.AWS_SESSION_TOKEN' } : {}) };
    providers.bedrock = { type: 'bedrock', keys: [creds] };
  }
  return Object.keys(providers).length === 0 ? null : { version: 1, providers };
}

interface ServerOverrides {
  host?: string;
  port?: number;
  workers?: number | 'auto';
}

function serverOverrides(argv: readonly string[], env: NodeJS.ProcessEnv): ServerOverrides {
  const out: ServerOverrides = {};
  const host = argValue(argv, '--host') ?? env.MICROGATE_HOST;
  const port = argValue(argv, '--port') ?? env.MICROGATE_PORT;
  const workers = argValue(argv, '--workers') ?? env.MICROGATE_WORKERS;
  if (workers !== undefined && workers !== '') {
    const n = Number(workers);
    if (workers !== 'auto' && (!Number.isInteger(n) || n < 1 || n > 64)) throw new ConfigError(`invalid workers "${workers}" (from --workers or MICROGATE_WORKERS): a number from 1 to 64, or "auto"`);
    out.workers = workers === 'auto' ? 'auto' : n;
  }
  if (host !== undefined && host !== '') out.host = host;
  if (port !== undefined && port !== '') {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`invalid port "${port}" (from --port or MICROGATE_PORT)`);
    out.port = n;
  }
  return out;
}

function withServer(raw: unknown, o: ServerOverrides): unknown {
  if (o.host === undefined && o.port === undefined && o.workers === undefined) return raw;
  if (typeof raw !== 'object' || raw === null) return raw;
  const r = raw as { server?: Record<string, unknown> };
  return { ...r, server: { ...(r.server ?? {}), ...o } };
}

function argValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === flag) return argv[i + 1];
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}
