import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, mockConfig, validateConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { compilePlan } from '../../src/config/compile.ts';

const SECRET = 'sk-proj-TOPSECRET0123456789abcdefXYZ';

/** A minimal valid config; `patch` edits a deep copy. */
function cfg(patch?: (c: any) => void): unknown {
  const c: ConfigInput = {
    version: 1,
    providers: {
      openai: { baseUrl: 'https://api.openai.com/v1', keys: [{ name: 'main', value: SECRET }] },
    },
  };
  const copy = structuredClone(c);
  patch?.(copy);
  return copy;
}

/** The ConfigError message thrown by fn (fails the test if fn does not throw one). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('validateConfig: defaults', () => {
  it('accepts a minimal config and fills in every default', () => {
    const c = validateConfig(cfg(), {});
    expect(c.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      maxBodyBytes: 50 * 1024 * 1024,
      maxResponseBytes: 64 * 1024 * 1024,
      maxStreamEventBytes: 8 * 1024 * 1024,
      maxBufferedBytes: 256 * 1024 * 1024,
      shutdownGraceMs: 10_000,
      reusePort: false,
      workers: 'auto',
      cors: { origins: [], maxAgeSeconds: 600 },
    });
    const p = c.providers.openai!;
    expect(p.type).toBe('openai');
    expect(p.keys).toEqual([{ name: 'main', value: SECRET, weight: 1 }]);
    expect(p.timeouts).toEqual({ connectMs: 5_000, firstByteMs: 120_000, idleMs: 300_000 });
    expect(p.models).toEqual([]);
    expect(p.headers).toEqual({});
    expect(p.forwardHeaders).toEqual([]);
    expect(p.maxConnections).toBe(2048);
    expect(c.models).toEqual({});
  });

  it('fills the missing fields of a partially written section', () => {
    const c = validateConfig(
      cfg((c) => {
        c.server = { port: 9000 };
        c.providers.openai.timeouts = { connectMs: 250 };
        c.models = { fast: { targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] } };
      }),
      {},
    );
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 9000 });
    expect(c.providers.openai!.timeouts).toEqual({ connectMs: 250, firstByteMs: 120_000, idleMs: 300_000 });
    expect(c.models.fast!.targets).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', weight: 1 }]);
  });

  it('keeps explicit values', () => {
    const c = validateConfig(
      cfg((c) => {
        c.providers.openai.keys = [
          { name: 'a', value: 'k1', weight: 3, models: ['gpt-4o'] },
          { name: 'b', value: 'k2', weight: 0.5 },
        ];
        c.providers.openai.forwardHeaders = ['openai-organization', 'x-trace-*'];
      }),
      {},
    );
    expect(c.providers.openai!.keys).toEqual([
      { name: 'a', value: 'k1', weight: 3, models: ['gpt-4o'] },
      { name: 'b', value: 'k2', weight: 0.5 },
    ]);
    expect(c.providers.openai!.forwardHeaders).toEqual(['openai-organization', 'x-trace-*']);
  });
});

describe('validateConfig: unknown keys name their JSON path', () => {
  it.each([
    ['root', (c: any) => (c.extra = 1), 'extra'],
    ['server', (c: any) => (c.server = { prot: 1 }), 'server.prot'],
    ['provider', (c: any) => (c.providers.openai.base_url = 'x'), 'providers.openai.base_url'],
    ['key', (c: any) => (c.providers.openai.keys[0].wieght = 2), 'providers.openai.keys[0].wieght'],
    ['timeouts', (c: any) => (c.providers.openai.timeouts = { idle: 5 }), 'providers.openai.timeouts.idle'],
    [
      'alias target',
      (c: any) => (c.models = { fast: { targets: [{ provider: 'openai', model: 'm', providr: 'x' }] } }),
      'models.fast.targets[0].providr',
    ],
  ])('at the %s level', (_level, patch, path) => {
    const msg = errorOf(() => validateConfig(cfg(patch), {}));
    expect(msg).toContain(path);
  });

  it('reports every unknown key, not only the first', () => {
    const msg = errorOf(() =>
      validateConfig(
        cfg((c) => {
          c.providers.openai.keys[0].wieght = 2;
          c.providers.openai.keys[0].modles = ['x'];
        }),
        {},
      ),
    );
    expect(msg).toContain('providers.openai.keys[0].wieght');
    expect(msg).toContain('providers.openai.keys[0].modles');
  });
});

describe('validateConfig: bad values name their JSON path', () => {
  it.each([
    ['negative key weight', (c: any) => (c.providers.openai.keys[0].weight = -1), 'providers.openai.keys[0].weight'],
    ['zero key weight', (c: any) => (c.providers.openai.keys[0].weight = 0), 'providers.openai.keys[0].weight'],
    ['key weight of the wrong type', (c: any) => (c.providers.openai.keys[0].weight = 'three'), 'providers.openai.keys[0].weight'],
    ['non-URL baseUrl', (c: any) => (c.providers.openai.baseUrl = 'api.openai.com/v1'), 'providers.openai.baseUrl'],
    ['non-HTTP baseUrl', (c: any) => (c.providers.openai.baseUrl = 'ftp://example.com/v1'), 'providers.openai.baseUrl'],
    ['version 2', (c: any) => (c.version = 2), 'version'],
    ['port out of range', (c: any) => (c.server = { port: 70000 }), 'server.port'],
    ['no keys', (c: any) => (c.providers.openai.keys = []), 'providers.openai.keys'],
    ['bad key name', (c: any) => (c.providers.openai.keys[0].name = 'has space'), 'providers.openai.keys[0].name'],
    ['empty key value', (c: any) => (c.providers.openai.keys[0].value = ''), 'providers.openai.keys[0].value'],
    ['unknown provider type', (c: any) => (c.providers.openai.type = 'cohere'), 'providers.openai.type'],
    ['non-integer timeout', (c: any) => (c.providers.openai.timeouts = { connectMs: 1.5 }), 'providers.openai.timeouts.connectMs'],
    ['upper-case forward header', (c: any) => (c.providers.openai.forwardHeaders = ['X-Trace']), 'providers.openai.forwardHeaders[0]'],
    ['upper-case provider name', (c: any) => (c.providers = { OpenAI: c.providers.openai }), 'providers.OpenAI'],
    ['alias target weight 0', (c: any) => (c.models = { fast: { targets: [{ provider: 'openai', model: 'm', weight: 0 }] } }), 'models.fast.targets[0].weight'],
    ['alias without targets', (c: any) => (c.models = { fast: { targets: [] } }), 'models.fast.targets'],
  ])('%s', (_name, patch, path) => {
    const msg = errorOf(() => validateConfig(cfg(patch), {}));
    expect(msg).toMatch(new RegExp(`(^|\\s)${path.replace(/[.[\]]/g, '\\$&')}:`, 'm'));
  });

  it('rejects a config without providers', () => {
    expect(errorOf(() => validateConfig({ version: 1, providers: {} }, {}))).toMatch(/at least one provider/);
    expect(errorOf(() => validateConfig({ version: 1 }, {}))).toContain('providers');
  });

  it.each([null, 'version: 1', [], 42])('rejects a non-object config (%j)', (raw) => {
    errorOf(() => validateConfig(raw, {}));
  });

  it('includes the origin in the message', () => {
    expect(errorOf(() => validateConfig(cfg((c) => (c.version = 2)), {}, '/etc/microgate.yaml'))).toContain('/etc/microgate.yaml');
  });
});

describe('validateConfig: env.NAME secrets', () => {
  it('resolves key values and header values from the env object passed in', () => {
    const c = validateConfig(
      cfg((c) => {
        c.providers.openai.keys[0].value = 'env.MY_OPENAI_KEY';
        c.providers.openai.headers = { 'OpenAI-Organization': 'env.MY_ORG' };
      }),
      { MY_OPENAI_KEY: 'sk-from-env', MY_ORG: 'org-123' },
    );
    expect((c.providers.openai!.keys[0] as { value: string }).value).toBe('sk-from-env');
    expect(c.providers.openai!.headers).toEqual({ 'OpenAI-Organization': 'org-123' });
  });

  it("resolves the OTLP collector's headers too (a token was sent as the string 'env.NAME')", () => {
    const c = validateConfig(
      cfg((c) => {
        c.telemetry = { otlp: { endpoint: 'http://127.0.0.1:4318', headers: { authorization: 'env.OTLP_TOKEN' } } };
      }),
      { OTLP_TOKEN: 'Bearer otlp-token-123' },
    );
    expect(c.telemetry.otlp!.headers).toEqual({ authorization: 'Bearer otlp-token-123' });
    const msg = errorOf(() => validateConfig(cfg((c) => (c.telemetry = { otlp: { endpoint: 'http://127.0.0.1:4318', headers: { authorization: 'env.NOT_SET_OTLP' } } })), {}));
    expect(msg).toContain('telemetry.otlp.headers.authorization');
  });

  it('leaves literals that merely look similar alone', () => {
    for (const literal of ['env.', 'ENV.X', 'env.1ABC', 'xenv.X', 'env.A B']) {
      const c = validateConfig(cfg((c) => (c.providers.openai.keys[0].value = literal)), { X: 'no', ABC: 'no' });
      expect((c.providers.openai!.keys[0] as { value: string }).value).toBe(literal);
    }
  });

  it('reads only the env object passed in, not process.env', () => {
    process.env.MICROGATE_UNIT_TEST_ONLY = 'from-process-env';
    try {
      const msg = errorOf(() => validateConfig(cfg((c) => (c.providers.openai.keys[0].value = 'env.MICROGATE_UNIT_TEST_ONLY')), {}));
      expect(msg).toContain('MICROGATE_UNIT_TEST_ONLY');
    } finally {
      delete process.env.MICROGATE_UNIT_TEST_ONLY;
    }
  });

  it('names the path and the variable when a variable is missing or empty', () => {
    const msg = errorOf(() =>
      validateConfig(
        cfg((c) => {
          c.providers.openai.keys.push({ name: 'second', value: 'env.SECOND_KEY' });
          c.providers.openai.headers = { 'X-Org': 'env.ORG_ID' };
        }),
        { ORG_ID: '' },
      ),
    );
    expect(msg).toContain('providers.openai.keys[1].value');
    expect(msg).toContain('SECOND_KEY');
    expect(msg).toContain('providers.openai.headers.X-Org');
    expect(msg).toContain('ORG_ID');
  });
});

describe('validateConfig: cross-field checks', () => {
  it('rejects an alias target naming an unknown provider', () => {
    const msg = errorOf(() =>
      validateConfig(
        cfg((c) => (c.models = { fast: { targets: [{ provider: 'openai', model: 'a' }, { provider: 'anthropic', model: 'b' }] } })),
        {},
      ),
    );
    expect(msg).toContain('models.fast.targets[1].provider');
    expect(msg).toContain('anthropic');
    expect(msg).not.toContain('targets[0]');
  });

  it('rejects duplicate key names within a provider', () => {
    const msg = errorOf(() =>
      validateConfig(
        cfg((c) => {
          c.providers.openai.keys = [
            { name: 'a', value: 'k1' },
            { name: 'b', value: 'k2' },
            { name: 'a', value: 'k3' },
          ];
        }),
        {},
      ),
    );
    expect(msg).toContain('providers.openai.keys[2].name');
    expect(msg).toMatch(/duplicate/);
  });

  it('allows the same key name in two providers', () => {
    const c = validateConfig(
      cfg((c) => (c.providers.groq = { baseUrl: 'https://api.groq.com/openai/v1', keys: [{ name: 'main', value: 'gsk_1' }] })),
      {},
    );
    expect(Object.keys(c.providers)).toEqual(['openai', 'groq']);
  });
});

describe('validateConfig: secret values never appear in an error', () => {
  const wrongs: Array<[string, (c: any) => void]> = [
    ['bad baseUrl', (c) => (c.providers.openai.baseUrl = 'nope')],
    ['negative weight', (c) => (c.providers.openai.keys[0].weight = -1)],
    ['unknown key next to the secret', (c) => (c.providers.openai.keys[0].wieght = 2)],
    ['secret under a misspelled field name', (c) => ((c.providers.openai.keys[0].api_key = SECRET), (c.providers.openai.keys[0].value = 'x1234'))],
    ['invalid key name', (c) => (c.providers.openai.keys[0].name = 'bad name!')],
    ['version 2', (c) => (c.version = 2)],
    ['bad header name with a secret header value', (c) => (c.providers.openai.headers = { 'bad header': SECRET })],
    ['secret as a non-string header value', (c) => (c.providers.openai.headers = { 'x-key': [SECRET] })],
    ['secret inside a models list of the wrong type', (c) => (c.providers.openai.keys[0].models = SECRET)],
    ['duplicate key name', (c) => c.providers.openai.keys.push({ name: 'main', value: SECRET + '2' })],
    ['unknown alias provider', (c) => (c.models = { fast: { targets: [{ provider: 'nope', model: 'm' }] } })],
    ['missing env var for another key', (c) => c.providers.openai.keys.push({ name: 'b', value: 'env.NOT_SET_ANYWHERE' })],
    ['secret in an unknown provider field', (c) => (c.providers.openai.apiKey = SECRET)],
    ['secret where a number belongs', (c) => (c.providers.openai.maxConnections = SECRET)],
  ];

  it.each(wrongs)('%s', (_name, patch) => {
    const msg = errorOf(() => validateConfig(cfg(patch), {}));
    expect(msg).not.toContain('TOPSECRET');
  });

  it('does not print a secret resolved from the environment', () => {
    const msg = errorOf(() =>
      validateConfig(
        cfg((c) => {
          c.providers.openai.keys = [
            { name: 'a', value: 'env.K' },
            { name: 'a', value: 'env.K' },
          ];
        }),
        { K: SECRET },
      ),
    );
    expect(msg).not.toContain('TOPSECRET');
  });
});

describe('loadConfig', () => {
  let dir: string;
  const json = (c: unknown) => JSON.stringify(c, null, 2);
  const yaml = `version: 1
server:
  host: 0.0.0.0
  maxBodyBytes: 1000
providers:
  groq:
    baseUrl: https://api.groq.com/openai/v1
    keys:
      - name: main
        value: env.GROQ_KEY
    models: [llama-3.3-70b-versatile]
`;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'microgate-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a JSON file named by --config, relative to cwd', () => {
    writeFileSync(join(dir, 'gw.json'), json(cfg()));
    const { config, source } = loadConfig({ argv: ['--config', 'gw.json'], env: {}, cwd: dir });
    expect(source).toEqual({ kind: 'file', path: join(dir, 'gw.json') });
    expect((config!.providers.openai!.keys[0] as { value: string }).value).toBe(SECRET);
  });

  it('reads a YAML file named by --config=PATH and resolves env.NAME from opts.env', () => {
    writeFileSync(join(dir, 'gw.yaml'), yaml);
    const { config, source } = loadConfig({ argv: ['--config=gw.yaml'], env: { GROQ_KEY: 'gsk_abc' }, cwd: dir });
    expect(source).toEqual({ kind: 'file', path: join(dir, 'gw.yaml') });
    expect(config!.server).toMatchObject({ host: '0.0.0.0', port: 8080, maxBodyBytes: 1000 });
    expect((config!.providers.groq!.keys[0] as { value: string }).value).toBe('gsk_abc');
    expect(config!.providers.groq!.models).toEqual(['llama-3.3-70b-versatile']);
  });

  it('reads the file named by MICROGATE_CONFIG', () => {
    writeFileSync(join(dir, 'other.json'), json(cfg()));
    const { source } = loadConfig({ argv: [], env: { MICROGATE_CONFIG: join(dir, 'other.json') }, cwd: '/' });
    expect(source).toEqual({ kind: 'file', path: join(dir, 'other.json') });
  });

  it('prefers --config over MICROGATE_CONFIG, and a file over provider keys in env', () => {
    writeFileSync(join(dir, 'a.json'), json(cfg()));
    writeFileSync(join(dir, 'b.yaml'), yaml);
    const { source } = loadConfig({ argv: ['--config', 'a.json'], env: { MICROGATE_CONFIG: 'b.yaml', OPENAI_API_KEY: 'sk-env', GROQ_KEY: 'g' }, cwd: dir });
    expect(source).toEqual({ kind: 'file', path: join(dir, 'a.json') });
  });

  it('falls back to ./microgate.yaml in cwd', () => {
    writeFileSync(join(dir, 'microgate.yaml'), yaml);
    const { config, source } = loadConfig({ argv: [], env: { GROQ_KEY: 'g', OPENAI_API_KEY: 'sk-env' }, cwd: dir });
    expect(source).toEqual({ kind: 'file', path: join(dir, 'microgate.yaml') });
    expect(Object.keys(config!.providers)).toEqual(['groq']);
  });

  it('falls back to ./microgate.json when there is no YAML file', () => {
    writeFileSync(join(dir, 'microgate.json'), json(cfg()));
    expect(loadConfig({ argv: [], env: {}, cwd: dir }).source).toEqual({ kind: 'file', path: join(dir, 'microgate.json') });
  });

  it('throws a ConfigError for a missing explicit file instead of falling back', () => {
    writeFileSync(join(dir, 'microgate.yaml'), yaml);
    expect(errorOf(() => loadConfig({ argv: ['--config', 'nope.yaml'], env: { GROQ_KEY: 'g' }, cwd: dir }))).toContain(join(dir, 'nope.yaml'));
    expect(errorOf(() => loadConfig({ argv: [], env: { MICROGATE_CONFIG: 'missing.json', OPENAI_API_KEY: 'sk-x' }, cwd: dir }))).toContain('not found');
  });

  it('names the file when it does not validate', () => {
    writeFileSync(join(dir, 'gw.json'), json(cfg((c) => (c.version = 2))));
    const msg = errorOf(() => loadConfig({ argv: ['--config', 'gw.json'], env: {}, cwd: dir }));
    expect(msg).toContain(join(dir, 'gw.json'));
    expect(msg).toContain('version');
  });

  it('throws a ConfigError for unparseable files without echoing their contents', () => {
    // The yaml package quotes the offending source line: here the one holding the secret.
    for (const text of [
      `version: 1\nproviders:\n  openai:\n    keys:\n      - value: ${SECRET}\n          name: a\n`,
      `version: 1\nproviders:\n  openai:\n    keys:\n      - value: "${SECRET}\n`,
    ]) {
      writeFileSync(join(dir, 'bad.yaml'), text);
      const y = errorOf(() => loadConfig({ argv: ['--config', 'bad.yaml'], env: {}, cwd: dir }));
      expect(y).toMatch(/cannot parse/);
      expect(y).toMatch(/line \d+/);
      expect(y).not.toContain('TOPSECRET');
    }

    // V8 quotes the text around some JSON errors: here the unquoted secret itself.
    writeFileSync(join(dir, 'bad.json'), `{"version":1,"providers":{"openai":{"keys":[{"name":"a","value":${SECRET}}]}}}`);
    const j = errorOf(() => loadConfig({ argv: ['--config', 'bad.json'], env: {}, cwd: dir }));
    expect(j).toMatch(/cannot parse/);
    expect(j).not.toContain('TOPSECRET');
    expect(j).not.toContain('sk-proj');

    writeFileSync(join(dir, 'bad2.json'), `{"version":1,"providers":{"openai":{"keys":[{"name":"a","value":"${SECRET}" "weight": 1}]}}}`);
    const j2 = errorOf(() => loadConfig({ argv: ['--config', 'bad2.json'], env: {}, cwd: dir }));
    expect(j2).toMatch(/cannot parse/);
    expect(j2).not.toContain('TOPSECRET');
  });

  it('builds a zero-config from well-known provider keys in env', () => {
    const { config, source } = loadConfig({ argv: [], env: { OPENAI_API_KEY: 'sk-zero', GROQ_API_KEY: 'gsk_zero', MISTRAL_API_KEY: '' }, cwd: dir });
    expect(source).toEqual({ kind: 'env', providers: ['openai', 'groq'] });
    expect(Object.keys(config!.providers)).toEqual(['openai', 'groq']);
    expect(config!.providers.openai).toMatchObject({ type: 'openai', baseUrl: 'https://api.openai.com/v1', keys: [{ name: 'default', value: 'sk-zero', weight: 1 }] });
    expect(config!.providers.openai!.models).toContain('gpt-4o');
    expect(config!.providers.groq).toMatchObject({ baseUrl: 'https://api.groq.com/openai/v1', keys: [{ value: 'gsk_zero' }] });
    expect(config!.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });

  it('returns the mock source and no config when nothing is configured', () => {
    expect(loadConfig({ argv: [], env: {}, cwd: dir })).toEqual({ config: null, source: { kind: 'mock' } });
    expect(loadConfig({ argv: [], env: { OPENAI_API_KEY: '', NODE_ENV: 'development' }, cwd: dir })).toEqual({ config: null, source: { kind: 'mock' } });
  });

  it('refuses to fall back to the mock in production', () => {
    const msg = errorOf(() => loadConfig({ argv: [], env: { NODE_ENV: 'production' }, cwd: dir }));
    expect(msg).toContain('OPENAI_API_KEY');
    expect(loadConfig({ argv: [], env: { NODE_ENV: 'production', GROQ_API_KEY: 'gsk_1' }, cwd: dir }).source.kind).toBe('env');
  });

  it('applies --port and MICROGATE_PORT over a file, keeping its other server fields', () => {
    writeFileSync(join(dir, 'microgate.yaml'), yaml);
    const env = { GROQ_KEY: 'g' };
    expect(loadConfig({ argv: ['--port', '9001'], env, cwd: dir }).config!.server).toMatchObject({ host: '0.0.0.0', port: 9001, maxBodyBytes: 1000 });
    expect(loadConfig({ argv: [], env: { ...env, MICROGATE_PORT: '9002' }, cwd: dir }).config!.server.port).toBe(9002);
    expect(loadConfig({ argv: ['--port=9003'], env: { ...env, MICROGATE_PORT: '9002' }, cwd: dir }).config!.server.port).toBe(9003);
    expect(loadConfig({ argv: ['--host', '::1'], env, cwd: dir }).config!.server.host).toBe('::1');
  });

  it('applies port and host overrides in zero-config mode', () => {
    const { config } = loadConfig({ argv: ['--port', '0'], env: { OPENAI_API_KEY: 'sk-x', MICROGATE_HOST: '0.0.0.0' }, cwd: dir });
    expect(config!.server).toMatchObject({ host: '0.0.0.0', port: 0 });
  });

  it('applies --workers and MICROGATE_WORKERS over a file; refuses a count outside 1–64', () => {
    writeFileSync(join(dir, 'microgate.yaml'), yaml);
    const env = { GROQ_KEY: 'g' };
    expect(loadConfig({ argv: [], env, cwd: dir }).config!.server.workers).toBe('auto');
    expect(loadConfig({ argv: ['--workers', '2'], env, cwd: dir }).config!.server.workers).toBe(2);
    expect(loadConfig({ argv: [], env: { ...env, MICROGATE_WORKERS: 'auto' }, cwd: dir }).config!.server.workers).toBe('auto');
    expect(loadConfig({ argv: ['--workers=1'], env: { ...env, MICROGATE_WORKERS: '4' }, cwd: dir }).config!.server.workers).toBe(1);
    for (const bad of ['0', '65', 'two', '1.5']) expect(errorOf(() => loadConfig({ argv: ['--workers', bad], env, cwd: dir }))).toContain(`"${bad}"`);
    expect(() => validateConfig({ ...(cfg() as object), server: { workers: 0 } }, {})).toThrow(/server\.workers/);
  });

  it.each(['abc', '-1', '65536', '80.5'])('rejects port %s', (port) => {
    expect(errorOf(() => loadConfig({ argv: ['--port', port], env: { OPENAI_API_KEY: 'sk-x' }, cwd: dir }))).toContain(port);
  });
});

describe('classifier options', () => {
  const base = { version: 1, providers: { p: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k', value: 'sk-0123456789abcdef' }] } }, telemetry: { enabled: false } };

  it('the learned model by default; the heuristic when asked for or when its weights are tuned', async () => {
    for (const [classifier, model] of [[{}, 'learned'], [{ model: 'heuristic' }, 'heuristic'], [{ weights: { code: 0.3 } }, 'heuristic'], [{ model: 'learned', vocabulary: { reasoningStrong: ['weigh the options'] } }, 'learned']] as const) {
      const plan = compilePlan(validateConfig({ ...base, classifier }, {}));
      expect(plan.classifier.model, JSON.stringify(classifier)).toBe(model);
      await plan.close();
    }
    expect(() => validateConfig({ ...base, classifier: { model: 'neural' } }, {})).toThrow(/classifier\.model/);
  });

  it('adds configured phrases to the cue lists, the task list included', async () => {
    const vocabulary = { task: ['jot a memo'], code: ['zorblang'] };
    const plan = compilePlan(validateConfig({ ...base, classifier: { vocabulary } }, {}));
    const cues = plan.classifier.explain([{ role: 'user', content: 'jot a memo about the zorblang migration' }])!.cues;
    expect(cues.task).toContain('jot a memo');
    expect(cues.code).toContain('zorblang');
    await plan.close();
    expect(() => validateConfig({ ...base, classifier: { vocabulary: { tasks: ['x'] } } }, {})).toThrow(/tasks/);
  });
});

describe('mockConfig', () => {
  it('gives one provider named mock at the given URL', () => {
    const c = mockConfig('http://127.0.0.1:4010/v1', { argv: [], env: {} });
    expect(Object.keys(c.providers)).toEqual(['mock']);
    expect(c.providers.mock).toMatchObject({ type: 'openai', baseUrl: 'http://127.0.0.1:4010/v1' });
    expect(c.providers.mock!.keys).toHaveLength(1);
    expect(c.providers.mock!.models.length).toBeGreaterThan(0);
    expect(c.server.port).toBe(8080);
  });

  it('honours port overrides', () => {
    expect(mockConfig('http://127.0.0.1:4010/v1', { argv: ['--port', '7000'], env: {} }).server.port).toBe(7000);
  });
});

describe('weights', () => {
  it('are bounded: a weight that would sink to 0 or sum to Infinity is a config error', () => {
    const cfg = (weight: number) => ({ version: 1, providers: { p: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k', value: 'v', weight }] } } });
    expect(() => validateConfig(cfg(5e-324), {})).toThrow(/weight/);
    expect(() => validateConfig(cfg(1e308), {})).toThrow(/weight/);
    expect(() => validateConfig(cfg(0.5), {})).not.toThrow();
  });
});
