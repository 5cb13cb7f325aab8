import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import { compilePlan } from '../../src/config/compile.ts';
import { routeRequest } from '../../src/pipeline/route.ts';
import { pickKey, resolveTarget } from '../../src/plan/routes.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import type { ProviderPlan, RuntimePlan, Target } from '../../src/plan/types.ts';
import type { RequestContext } from '../../src/request/context.ts';

const KEYS = {
  general: 'sk-general-1111111111',
  miniOnly: 'sk-mini-only-2222222222',
  groq: 'gsk_groq_3333333333',
  together: 'tg-4444444444',
  dsA: 'ds-aaaaaaaaaa',
  dsB: 'ds-bbbbbbbbbb',
};

const RAW = {
  version: 1,
  providers: {
    openai: {
      baseUrl: 'https://api.openai.com/v1',
      keys: [
        { name: 'general', value: KEYS.general },
        { name: 'mini-only', value: KEYS.miniOnly, weight: 3, models: ['gpt-4o-mini'] },
      ],
      models: ['gpt-4o', 'gpt-4o-mini', 'shared-model'],
    },
    groq: {
      baseUrl: 'https://api.groq.com/openai/v1',
      // Every key is model-restricted: nothing else can be served.
      keys: [{ name: 'llama', value: KEYS.groq, models: ['llama-3.3-70b'] }],
      models: ['llama-3.3-70b', 'shared-model'],
    },
    together: {
      baseUrl: 'https://api.together.xyz/v1',
      keys: [{ name: 't', value: KEYS.together }],
      headers: { 'X-Extra': 'extra-value' },
    },
    deepseek: {
      baseUrl: 'https://api.deepseek.com',
      keys: [
        { name: 'a', value: KEYS.dsA, weight: 1 },
        { name: 'b', value: KEYS.dsB, weight: 4 },
      ],
    },
  },
  models: {
    fast: {
      targets: [
        { provider: 'openai', model: 'gpt-4o-mini', weight: 3 },
        { provider: 'groq', model: 'llama-3.3-70b', weight: 1 },
      ],
    },
    // An alias may shadow a declared model name on purpose.
    'gpt-4o': { targets: [{ provider: 'openai', model: 'gpt-4o-2024-11-20' }] },
  },
};

let plan: RuntimePlan;

beforeAll(() => {
  plan = compilePlan(validateConfig(structuredClone(RAW), {}));
});

afterAll(async () => {
  await plan.close();
});

function provider(name: string): ProviderPlan {
  const p = plan.providers.get(name);
  if (p === undefined) throw new Error(`no provider ${name}`);
  return p;
}

function shares<T>(n: number, draw: () => T): Map<T, number> {
  const counts = new Map<T, number>();
  for (let i = 0; i < n; i++) {
    const v = draw();
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return new Map([...counts].map(([k, c]) => [k, c / n]));
}

function expectModelNotFound(fn: () => unknown): GatewayError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GatewayError);
  const err = caught as GatewayError;
  expect(err.code).toBe('model_not_found');
  expect(err.status).toBe(404);
  expect(err.param).toBe('model');
  return err;
}

describe('resolveTarget', () => {
  it('resolves an alias to its targets by weight', () => {
    const seen = shares(20_000, () => resolveTarget(plan, 'fast').label);
    expect([...seen.keys()].sort()).toEqual(['groq/llama-3.3-70b', 'openai/gpt-4o-mini']);
    expect(Math.abs(seen.get('openai/gpt-4o-mini')! - 0.75)).toBeLessThan(0.02);
  });

  it('gives alias targets the upstream model name and its JSON form', () => {
    const labels = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = resolveTarget(plan, 'fast');
      labels.add(t.label);
      expect(t.label).toBe(`${t.provider.name}/${t.model}`);
      expect(t.modelJson).toBe(JSON.stringify(t.model));
      expect(t.provider).toBe(provider(t.provider.name));
    }
    expect(labels.size).toBe(2);
  });

  it('lets an alias shadow a declared model name, while provider/model still reaches the model', () => {
    expect(resolveTarget(plan, 'gpt-4o')).toMatchObject({ model: 'gpt-4o-2024-11-20', label: 'openai/gpt-4o-2024-11-20' });
    expect(resolveTarget(plan, 'openai/gpt-4o')).toMatchObject({ model: 'gpt-4o', label: 'openai/gpt-4o' });
  });

  it('resolves provider/model for a declared model to the prebuilt target', () => {
    const t = resolveTarget(plan, 'groq/llama-3.3-70b');
    expect(t.provider.name).toBe('groq');
    expect(t.model).toBe('llama-3.3-70b');
    expect(t.modelJson).toBe('"llama-3.3-70b"');
    expect(resolveTarget(plan, 'groq/llama-3.3-70b')).toBe(t);
  });

  it('resolves provider/model for a model the provider does not declare', () => {
    const t = resolveTarget(plan, 'openai/gpt-5-preview');
    expect(t.provider).toBe(provider('openai'));
    expect(t).toMatchObject({ model: 'gpt-5-preview', label: 'openai/gpt-5-preview', modelJson: '"gpt-5-preview"' });
  });

  it('keeps everything after the first "/" as the model name', () => {
    const t = resolveTarget(plan, 'together/meta-llama/Llama-3.3-70B');
    expect(t.provider.name).toBe('together');
    expect(t.model).toBe('meta-llama/Llama-3.3-70B');
    expect(t.label).toBe('together/meta-llama/Llama-3.3-70B');
    expect(JSON.parse(t.modelJson)).toBe('meta-llama/Llama-3.3-70B');
  });

  it('serializes odd upstream model names safely', () => {
    const t = resolveTarget(plan, 'together/we"ird\\name');
    expect(t.model).toBe('we"ird\\name');
    expect(JSON.parse(t.modelJson)).toBe('we"ird\\name');
  });

  it('resolves a bare declared model to the provider declaring it', () => {
    expect(resolveTarget(plan, 'gpt-4o-mini')).toMatchObject({ model: 'gpt-4o-mini', label: 'openai/gpt-4o-mini' });
    expect(resolveTarget(plan, 'llama-3.3-70b').provider.name).toBe('groq');
  });

  it('spreads a bare model declared by two providers over both', () => {
    const seen = shares(20_000, () => resolveTarget(plan, 'shared-model').label);
    expect([...seen.keys()].sort()).toEqual(['groq/shared-model', 'openai/shared-model']);
    expect(Math.abs(seen.get('openai/shared-model')! - 0.5)).toBeLessThan(0.02);
  });

  it.each(['gpt-5', 'anthropic/claude-3', 'meta-llama/Llama-3.3-70B', 'openai/', '/gpt-4o', '', 'OPENAI/gpt-4o', 'Fast'])(
    'rejects unknown model %j with model_not_found',
    (model) => {
      const err = expectModelNotFound(() => resolveTarget(plan, model));
      expect(err.message).toContain('provider/model');
      expect(err.message).toContain(`'${model}'`);
      for (const p of ['openai', 'groq', 'together', 'deepseek']) expect(err.message).toContain(p);
      expect(err.toJSON().error).toMatchObject({ code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
    },
  );
});

describe('pickKey', () => {
  const keyNames = (p: string, model: string, n = 4000) => shares(n, () => pickKey(provider(p), model).name);

  it('uses a model-restricted key only for its models, alongside unrestricted keys, by weight', () => {
    const mini = keyNames('openai', 'gpt-4o-mini', 20_000);
    expect([...mini.keys()].sort()).toEqual(['general', 'mini-only']);
    expect(Math.abs(mini.get('mini-only')! - 0.75)).toBeLessThan(0.02);
  });

  it('uses only unrestricted keys for every other model, declared or not', () => {
    for (const model of ['gpt-4o', 'shared-model', 'gpt-5-preview', 'gpt-4o-mini-2024-07-18']) {
      expect([...keyNames('openai', model).keys()], model).toEqual(['general']);
    }
  });

  it('spreads unrestricted keys by weight', () => {
    const s = keyNames('deepseek', 'deepseek-chat', 20_000);
    expect(Math.abs(s.get('b')! - 0.8)).toBeLessThan(0.02);
  });

  it('fails with model_not_found when no key serves the model', () => {
    expect(pickKey(provider('groq'), 'llama-3.3-70b').name).toBe('llama');
    for (const model of ['shared-model', 'llama-3.1-8b-instant']) {
      const err = expectModelNotFound(() => pickKey(provider('groq'), model));
      expect(err.message).toContain('groq');
      expect(err.message).toContain(model);
      expect(err.message).not.toContain(KEYS.groq);
    }
  });

  it('prebuilds each key\'s headers with its bearer token', () => {
    const expected: Array<[string, string, string]> = [
      ['openai', 'general', KEYS.general],
      ['openai', 'mini-only', KEYS.miniOnly],
      ['groq', 'llama', KEYS.groq],
      ['together', 't', KEYS.together],
      ['deepseek', 'a', KEYS.dsA],
      ['deepseek', 'b', KEYS.dsB],
    ];
    for (const [p, name, value] of expected) {
      const pp = provider(p);
      const all = [...(pp.anyModelKeys?.items ?? []), ...[...pp.keysByModel.values()].flatMap((k) => k.items)];
      const key = all.find((k) => k.name === name);
      expect(key, `${p}/${name}`).toBeDefined();
      expect(key!.provider).toBe(pp);
      const headers = key!.headers;
      expect(headers.length % 2).toBe(0);
      const auth: string[] = [];
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'authorization') auth.push(headers[i + 1]!);
      expect(auth, `${p}/${name}`).toEqual([`Bearer ${value}`]);
    }
  });

  it('adds provider headers to every key\'s headers', () => {
    const h = pickKey(provider('together'), 'x').headers;
    const i = h.indexOf('x-extra');
    expect(i % 2).toBe(0);
    expect(h[i + 1]).toBe('extra-value');
  });
});

describe('routeRequest', () => {
  const ctxFor = (model: string, body: Record<string, unknown> = {}) =>
    ({ plan, model, endpoint: 'chat', body: { model, ...body }, targets: [] as readonly Target[] }) as unknown as RequestContext;

  it('orders every alias target, the heavier one first three times in four', () => {
    let openaiFirst = 0;
    for (let i = 0; i < 4000; i++) {
      const ctx = ctxFor('fast');
      routeRequest(ctx);
      expect(ctx.targets.map((t) => t.label).sort()).toEqual(['groq/llama-3.3-70b', 'openai/gpt-4o-mini']);
      if (ctx.targets[0]!.provider.name === 'openai') openaiFirst++;
    }
    expect(openaiFirst / 4000).toBeGreaterThan(0.7);
    expect(openaiFirst / 4000).toBeLessThan(0.8);
  });

  it('appends the request\'s own fallbacks after the targets', () => {
    const ctx = ctxFor('openai/gpt-4o-mini', { fallbacks: ['groq/llama-3.3-70b', 'together/x'] });
    routeRequest(ctx);
    expect(ctx.targets.map((t) => t.label)).toEqual(['openai/gpt-4o-mini', 'groq/llama-3.3-70b', 'together/x']);
  });

  it('refuses fallbacks that are not model names, naming the param', () => {
    for (const fallbacks of ['groq/x', [1], ['nope-model'], Array(9).fill('groq/x')]) {
      try {
        routeRequest(ctxFor('openai/gpt-4o-mini', { fallbacks }));
        expect.unreachable();
      } catch (err) {
        expect((err as GatewayError).param).toBe('fallbacks');
        expect((err as GatewayError).status).toBeGreaterThanOrEqual(400);
      }
    }
  });

  it('leaves the context unrouted when the model is unknown', () => {
    const ctx = ctxFor('nope');
    expectModelNotFound(() => routeRequest(ctx));
    expect(ctx.targets).toHaveLength(0);
  });
});

describe('routing.defaultProvider: the catch-all for names nothing else matches', () => {
  it('sends an unknown name to that provider under its own name, and leaves known names alone', async () => {
    const plan = compilePlan(validateConfig({ ...RAW, routing: { defaultProvider: 'together' } }, {}));
    try {
      const t = resolveTarget(plan, 'openai-like/some-model');
      expect(t.provider.name).toBe('together');
      expect(t.model).toBe('openai-like/some-model');
      expect(resolveTarget(plan, 'anything-at-all').provider.name).toBe('together');
      expect(resolveTarget(plan, 'groq/llama-3.3-70b').provider.name).toBe('groq');
      expect(resolveTarget(plan, 'gpt-4o').provider.name).toBe('openai');
    } finally {
      await plan.close();
    }
  });

  it('must name a configured provider', () => {
    expect(() => validateConfig({ ...RAW, routing: { defaultProvider: 'nope' } }, {})).toThrow(/routing\.defaultProvider: unknown provider "nope"/);
  });
});
