// Routing rules: compiled at load from CEL, evaluated in precedence order, first match wins.
import { openaiDialect } from '../../src/formats/openai/index.ts';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { validateConfig, ConfigError } from '../../src/config/load.ts';
import { compilePlan } from '../../src/config/compile.ts';
import type { RuntimePlan } from '../../src/plan/types.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { RequestContext, RequestSink } from '../../src/request/context.ts';
import { RequestContext as Ctx } from '../../src/request/context.ts';
import { routeRequest } from '../../src/pipeline/route.ts';
import type { GatewayError } from '../../src/errors/gateway-error.ts';

const plans: RuntimePlan[] = [];
afterAll(async () => Promise.all(plans.map((p) => p.close())));

function planWith(rules: ConfigInput['rules'], extra: Partial<ConfigInput> = {}): RuntimePlan {
  const plan = compilePlan(
    validateConfig(
      {
        version: 1,
        providers: {
          openai: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'main', value: 'a' }, { name: 'batch', value: 'b' }], models: ['gpt-4o', 'gpt-4o-mini'] },
          groq: { baseUrl: 'http://127.0.0.1:2/v1', keys: [{ name: 'g', value: 'c' }], models: ['llama'] },
          cheap: { baseUrl: 'http://127.0.0.1:3/v1', keys: [{ name: 'k', value: 'd' }] },
        },
        models: { best: { targets: [{ provider: 'openai', model: 'gpt-4o' }], fallbacks: ['groq/llama'] } },
        rules,
        ...extra,
      },
      {},
    ),
  );
  plans.push(plan);
  return plan;
}

const sink = { requestFinished() {}, upstreamPaused() {} } as unknown as RequestSink;

function ctxFor(plan: RuntimePlan, body: Record<string, unknown>, headers: Record<string, string> = {}, endpoint: 'chat' | 'completions' = 'chat'): RequestContext {
  const ctx = new Ctx(plan, null as never, sink, endpoint, openaiDialect, 'id', headers, 0);
  ctx.body = { messages: [{ role: 'user', content: 'hello' }], ...body };
  ctx.model = String(body.model);
  return ctx;
}

function route(plan: RuntimePlan, body: Record<string, unknown>, headers: Record<string, string> = {}): { labels: string[]; ctx: RequestContext } {
  const ctx = ctxFor(plan, body, headers);
  routeRequest(ctx);
  return { labels: ctx.targets.map((t) => t.label), ctx };
}

function configError(rules: ConfigInput['rules']): string {
  try {
    planWith(rules);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('compile: a rule that cannot run rejects the config', () => {
  it('names the rule, the expression and the position of a syntax error', () => {
    const msg = configError([{ name: 'broken', when: 'model == ', targets: [{ provider: 'groq', model: 'llama' }] }]);
    expect(msg).toContain('rules[0] "broken"');
    expect(msg).toContain('"model == "');
    expect(msg).toMatch(/\^/); // the caret under the position
  });

  it('rejects unknown variables and non-boolean expressions at load (type-checked)', () => {
    expect(configError([{ name: 'typo', when: 'headrs["x"] == "y"', tag: 't' }])).toMatch(/typo.*headrs/s);
    expect(configError([{ name: 'num', when: 'budget_used + 1.0', tag: 't' }])).toMatch(/must be a bool/);
  });

  it('rejects a field the request, key, team or customer map does not have (it would type-check and never match)', () => {
    expect(configError([{ name: 'topp', when: 'request.top_p > 0.5', tag: 't' }])).toMatch(/topp.*request has no field "top_p" \(it has temperature, max_tokens, stream, tools, message_count\)/s);
    expect(configError([{ name: 'owner', when: 'has(team.owner) || customer["tier"] == "gold"', tag: 't' }])).toMatch(/team has no field "owner".*customer has no field "tier"/s);
    const plan = planWith([
      { name: 'fields', when: 'request.temperature < 0.5 && request["stream"] && has(team.name) && virtual_key.id != ""', tag: 't' },
      { name: 'maps', when: 'headers.foo == "x" || params["anything"] == "y"', tag: 't' },
    ]);
    expect(plan.rules).toHaveLength(2);
  });

  it('matches() takes only a literal pattern the linear-time engine can run (CEL specifies RE2)', () => {
    const dynamic = configError([{ name: 'dyn', when: 'headers["x"].matches(headers["y"])', tag: 't' }]);
    expect(dynamic).toMatch(/dyn.*string literal/s);
    expect(configError([{ name: 'backref', when: 'headers["x"].matches("(a*)\\\\1")', tag: 't' }])).toMatch(/backref.*linear time/s);
    expect(configError([{ name: 'look', when: 'headers["x"].matches("(?=a)b")', tag: 't' }])).toMatch(/look.*linear time/s);
    expect(planWith([{ name: 'ok', when: 'headers["x"].matches("^(gpt|claude)-[a-z0-9.-]+$")', tag: 't' }]).rules).toHaveLength(1);
  });

  it('a pattern with nested quantifiers cannot hold the thread: a match that backtracks too much goes linear', () => {
    const plan = planWith([
      { name: 'nested', when: '"x-id" in headers && headers["x-id"].matches("^(a+)+$")', targets: [{ provider: 'groq', model: 'llama' }] },
    ]);
    // 2^48 steps for a backtracking engine: without the fallback this never returns.
    expect(route(plan, { model: 'best' }, { 'x-id': `${'a'.repeat(48)}!` }).labels[0]).toBe('openai/gpt-4o');
    expect(route(plan, { model: 'best' }, { 'x-id': 'a'.repeat(48) }).labels[0]).toBe('groq/llama');
  });

  it('rejects unknown providers and keys in targets, duplicate names, and visible chain cycles', () => {
    expect(configError([{ name: 'p', when: 'true', targets: [{ provider: 'nope', model: 'x' }] }])).toMatch(/unknown provider "nope"/);
    expect(configError([{ name: 'k', when: 'true', targets: [{ provider: 'groq', model: 'x', key: 'zz' }] }])).toMatch(/no key "zz"/);
    expect(configError([{ name: 'a', when: 'true', tag: 't' }, { name: 'a', when: 'false', tag: 't' }])).toMatch(/duplicate rule name/);
    const cycle = configError([
      { name: 'x-to-y', when: 'model == "x"', chain: true, targets: [{ provider: 'groq', model: 'y' }] },
      { name: 'y-to-x', when: 'model == "y" && request_type == "chat"', chain: true, targets: [{ provider: 'groq', model: 'x' }] },
    ]);
    expect(cycle).toMatch(/x-to-y.*y-to-x|y-to-x.*x-to-y/s);
  });

  it('rejects a rule with targets and deny, or with neither targets, deny nor tag', () => {
    expect(() => planWith([{ name: 'both', when: 'true', targets: [{ provider: 'groq' }], deny: { message: 'no' } }])).toThrow(/targets or deny/);
    expect(() => planWith([{ name: 'none', when: 'true' }])).toThrow(/targets, deny, or a tag/);
  });
});

describe('evaluate', () => {
  it('first match wins, by priority', () => {
    const plan = planWith([
      { name: 'late', priority: 20, when: 'true', targets: [{ provider: 'cheap', model: 'c2' }] },
      { name: 'early', priority: 10, when: 'true', targets: [{ provider: 'cheap', model: 'c1' }] },
    ]);
    const r = route(plan, { model: 'best' });
    expect(r.labels[0]).toBe('cheap/c1');
    expect(r.ctx.rules!.rule!.name).toBe('early');
  });

  it('scopes come first: virtual key, then team, then customer, then global; a scope applies only to its tenant', () => {
    const plan = planWith([
      { name: 'global', priority: 1, when: 'true', targets: [{ provider: 'cheap', model: 'global' }] },
      { name: 'customer', scope: { customer: 'acme' }, priority: 50, when: 'true', targets: [{ provider: 'cheap', model: 'customer' }] },
      { name: 'team', scope: { team: 'ml' }, priority: 50, when: 'true', targets: [{ provider: 'cheap', model: 'team' }] },
      { name: 'vk', scope: { virtualKey: 'vk1' }, priority: 99, when: 'true', targets: [{ provider: 'cheap', model: 'vk' }] },
    ]);
    const pick = (tenant: { virtualKey: string; team: string; customer: string }) => {
      const ctx = ctxFor(plan, { model: 'best' });
      ctx.tenant = tenant;
      routeRequest(ctx);
      return ctx.targets[0]!.model;
    };
    expect(pick({ virtualKey: 'vk1', team: 'ml', customer: 'acme' })).toBe('vk');
    expect(pick({ virtualKey: 'other', team: 'ml', customer: 'acme' })).toBe('team');
    expect(pick({ virtualKey: '', team: '', customer: 'acme' })).toBe('customer');
    expect(pick({ virtualKey: '', team: '', customer: '' })).toBe('global');
  });

  it('shadow rules are recorded and change nothing', () => {
    const plan = planWith([{ name: 'watch', when: 'model == "best"', tag: 'would-downgrade' }]);
    const r = route(plan, { model: 'best' });
    expect(r.labels).toEqual(['openai/gpt-4o', 'groq/llama']);
    expect(r.ctx.rules!.matched.map((m) => m.name)).toEqual(['watch']);
    expect(r.ctx.rules!.rule).toBeNull();
  });

  it('a shadow rule after the rule that routes is evaluated and recorded too', () => {
    const plan = planWith([
      { name: 'cheap', when: 'model == "best"', targets: [{ provider: 'groq', model: 'llama' }] },
      { name: 'watch', when: 'model == "best"', tag: 'would-downgrade' },
      { name: 'never', when: 'model == "nothing"', tag: 'x' },
    ]);
    const r = route(plan, { model: 'best' });
    expect(r.labels).toEqual(['groq/llama']);
    expect(r.ctx.rules!.rule!.name).toBe('cheap');
    expect(r.ctx.rules!.matched.map((m) => m.name)).toEqual(['cheap', 'watch']);
  });

  it('deny answers with the rule\'s message and status', () => {
    const plan = planWith([{ name: 'no-o1', when: 'model.startsWith("openai/o1")', deny: { message: 'o1 is not allowed here', status: 451 } }]);
    try {
      route(plan, { model: 'openai/o1-preview' });
      expect.unreachable();
    } catch (err) {
      expect((err as GatewayError).code).toBe('request_denied');
      expect((err as GatewayError).status).toBe(451);
      expect((err as GatewayError).message).toBe('o1 is not allowed here');
    }
    expect(route(plan, { model: 'openai/gpt-4o' }).labels).toEqual(['openai/gpt-4o']);
  });

  it('an evaluation error is no match, counted, never a throw; a header the request lacks is no match, counted apart', () => {
    const plan = planWith([
      { name: 'missing-header', when: 'headers["x-tier"] == "premium"', targets: [{ provider: 'cheap', model: 'x' }] },
      { name: 'bad-conversion', when: 'int(headers["x-n"]) > 3', targets: [{ provider: 'cheap', model: 'y' }] },
      { name: 'fallback-rule', when: 'true', targets: [{ provider: 'groq', model: 'llama' }] },
    ]);
    const r = route(plan, { model: 'best' }, { 'x-n': 'abc' });
    expect(r.labels[0]).toBe('groq/llama');
    // Counted as errors, every request without an optional header hid the real ones (int("abc")).
    expect(r.ctx.rules!.missing).toEqual(['missing-header']);
    expect(r.ctx.rules!.errors).toEqual(['bad-conversion']);
    expect(plan.ruleStats.missing.get('missing-header')).toBe(1);
    expect(plan.ruleStats.errors.get('missing-header')).toBeUndefined();
    expect(plan.ruleStats.errors.get('bad-conversion')).toBe(1);
  });

  it('chains re-evaluate with the new model until nothing changes', () => {
    const plan = planWith([
      { name: 'step1', priority: 1, when: 'model == "start"', chain: true, targets: [{ provider: 'groq', model: 'middle' }] },
      { name: 'step2', priority: 2, when: 'model == "middle" && provider == "groq"', chain: true, targets: [{ provider: 'cheap', model: 'end' }] },
    ]);
    const r = route(plan, { model: 'start' });
    expect(r.labels).toEqual(['cheap/end']);
    expect(r.ctx.rules!.matched.map((m) => m.name)).toEqual(['step1', 'step2']);
  });

  it("a target after a chain that leaves out the model keeps the chain's model, not the request's", () => {
    const plan = planWith([
      { name: 'to-mini', priority: 1, when: 'model == "best"', chain: true, targets: [{ provider: 'openai', model: 'gpt-4o-mini' }] },
      { name: 'mini-cheap', priority: 2, when: 'model == "gpt-4o-mini"', targets: [{ provider: 'cheap' }] },
    ]);
    expect(route(plan, { model: 'best' }).labels[0]).toBe('cheap/gpt-4o-mini');
  });

  it('a route rule that matches a request without a model moves nothing (its provider owns it); a deny still applies', () => {
    const plan = planWith([{ name: 'tier', when: 'headers["x-tier"] == "cheap"', targets: [{ model: 'gpt-4o-mini' }] }]);
    const ctx = ctxFor(plan, { model: '' }, { 'x-tier': 'cheap', 'x-microgate-provider': 'openai' });
    routeRequest(ctx);
    expect(ctx.targets.map((t) => t.provider.name)).toEqual(['openai']);
    expect(ctx.rules!.rule?.name).toBe('tier');
  });

  it("rejects a rule's fallback that names nothing routable, and takes one naming an alias", () => {
    expect(configError([{ name: 'fb', when: 'true', targets: [{ provider: 'cheap', model: 'c' }], fallbacks: ['nonexistent'] }])).toMatch(/rules\[0\] "fb"\.fallbacks\[0\]: "nonexistent"/);
    expect(route(planWith([{ name: 'fb', when: 'true', targets: [{ provider: 'cheap', model: 'c' }], fallbacks: ['best', 'groq/x'] }]), { model: 'best' }).labels).toEqual(['cheap/c', 'openai/gpt-4o', 'groq/x']);
  });

  it('an alias fallback may name an alias declared after it', () => {
    const plan = planWith([], { models: { first: { targets: [{ provider: 'openai', model: 'gpt-4o' }], fallbacks: ['second'] }, second: { targets: [{ provider: 'groq', model: 'llama' }] } } });
    expect(route(plan, { model: 'first' }).labels).toEqual(['openai/gpt-4o', 'groq/llama']);
  });

  it('a rule can route a model name the config does not know', () => {
    const plan = planWith([{ name: 'auto', when: 'model == "auto"', targets: [{ provider: 'groq', model: 'llama', weight: 1 }, { provider: 'cheap', model: 'c', weight: 1 }], fallbacks: ['openai/gpt-4o-mini'] }]);
    const r = route(plan, { model: 'auto' });
    expect(r.labels.sort()).toEqual(['cheap/c', 'groq/llama', 'openai/gpt-4o-mini']);
    expect(() => route(plan, { model: 'unknown' })).toThrow(/does not exist/);
  });

  it('a target that leaves out the model keeps the one the request was going to; a pinned key sticks', () => {
    const plan = planWith([{ name: 'switch', when: 'true', targets: [{ provider: 'cheap' }, { provider: 'openai', model: 'gpt-4o-mini', key: 'batch', weight: 0.000001 }] }]);
    const r = route(plan, { model: 'best' });
    expect(r.labels).toContain('cheap/gpt-4o');
    const pinned = r.ctx.targets.find((t) => t.key !== undefined)!;
    expect(pinned.key!.name).toBe('batch');
  });
});

describe('variables', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, string>, boolean]> = [
    ['model == "best"', { model: 'best' }, {}, true],
    ['provider == "groq"', { model: 'groq/llama' }, {}, true],
    ['provider == ""', { model: 'best' }, {}, true],
    ['request_type == "chat"', { model: 'best' }, {}, true],
    ['headers["x-tier"] == "premium"', { model: 'best' }, { 'x-tier': 'premium' }, true],
    ['"x-tier" in headers', { model: 'best' }, {}, false],
    ['request.temperature < 0.5', { model: 'best', temperature: 0.2 }, {}, true],
    ['request.max_tokens > 1000', { model: 'best', max_tokens: 4000 }, {}, true],
    ['request.stream', { model: 'best', stream: true }, {}, true],
    ['request.tools', { model: 'best', tools: [{ type: 'function', function: { name: 'f' } }] }, {}, true],
    ['request.message_count >= 2', { model: 'best', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }, {}, true],
    ['virtual_key.id == "" && team.name == "" && customer.id == ""', { model: 'best' }, {}, true],
    ['budget_used > 85.0', { model: 'best' }, {}, false],
    ['tokens_used == 0.0 && requests_used == 0.0', { model: 'best' }, {}, true],
    ['complexity_tier == "SIMPLE"', { model: 'best', messages: [{ role: 'user', content: 'hi there!' }] }, {}, true],
    ['complexity_score >= 0.0 && complexity_score <= 1.0', { model: 'best' }, {}, true],
    ['now > timestamp("2020-01-01T00:00:00Z")', { model: 'best' }, {}, true],
  ];
  it.each(cases)('%s', (when, body, headers, expected) => {
    const plan = planWith([{ name: 'r', when, targets: [{ provider: 'cheap', model: 'hit' }] }]);
    expect(route(plan, body, headers).labels[0] === 'cheap/hit').toBe(expected);
  });

  it('params are the query string', () => {
    const plan = planWith([{ name: 'r', when: 'params["route"] == "cheap"', targets: [{ provider: 'cheap', model: 'hit' }] }]);
    const ctx = ctxFor(plan, { model: 'best' });
    ctx.query = { route: 'cheap' };
    routeRequest(ctx);
    expect(ctx.targets[0]!.label).toBe('cheap/hit');
  });

  it('the classifier runs only when a rule reads the complexity', () => {
    const plan = planWith([
      { name: 'by-header', priority: 1, when: 'headers["x-fast"] == "1"', targets: [{ provider: 'cheap', model: 'fast' }] },
      { name: 'by-tier', priority: 2, when: 'complexity_tier == "SIMPLE"', targets: [{ provider: 'cheap', model: 'simple' }] },
    ]);
    const spy = vi.spyOn(plan.classifier, 'classifyMessages');
    route(plan, { model: 'best' }, { 'x-fast': '1' });
    expect(spy).not.toHaveBeenCalled();
    route(plan, { model: 'best' }, { 'x-fast': '0' });
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('a rule target that names only a provider', () => {
  it("keeps the model the route gives that provider (an alias over two providers), else the route's first", () => {
    const plan = planWith([{ name: 'to-groq', when: 'true', targets: [{ provider: 'groq' }] }], {
      models: { split: { targets: [{ provider: 'openai', model: 'gpt-4o', weight: 9 }, { provider: 'groq', model: 'llama', weight: 1 }] }, best: { targets: [{ provider: 'openai', model: 'gpt-4o' }] } },
    });
    // gpt-4o, which groq does not serve, went to groq whenever openai was drawn first.
    for (let i = 0; i < 20; i++) expect(route(plan, { model: 'split' }).labels[0]).toBe('groq/llama');
    expect(route(plan, { model: 'best' }).labels[0]).toBe('groq/gpt-4o');
  });
});

describe('absent keys', () => {
  const cases: Array<[string, boolean]> = [
    ['headers["x-tier"] == "premium"', false],
    ['request_type == "chat" && headers["x-tier"].startsWith("p")', false],
    ['!("x-tier" in headers) || headers["x-tier"] == "premium"', true],
    ['"x-tier" in headers && headers["x-tier"] == "premium"', false],
    ['has(headers.x_tier) ? headers.x_tier == "a" : true', true],
    ['params["route"] == "cheap"', false],
  ];
  it.each(cases)('%s with the key absent → match %s, exactly as CEL evaluates it', (when, expected) => {
    const plan = planWith([{ name: 'r', when, targets: [{ provider: 'cheap', model: 'hit' }] }]);
    const r = route(plan, { model: 'best' });
    expect(r.labels[0] === 'cheap/hit').toBe(expected);
    // Where CEL would fail on the missing key, it is counted as a key absent (not as an evaluation error).
    expect(plan.ruleStats.missing.get('r') ?? 0).toBe(when.startsWith('headers') || when.startsWith('request_type') || when.startsWith('params') ? 1 : 0);
    expect(plan.ruleStats.errors.get('r') ?? 0).toBe(0);
  });

  it('only unguarded reads in top-level conjuncts are checked before evaluating', () => {
    const plan = planWith([
      { name: 'a', when: 'request_type == "chat" && headers["x-a"] == "1"', tag: 't' },
      { name: 'b', when: '!("x-b" in headers) || headers["x-b"] == "1"', tag: 't' },
    ]);
    expect(plan.rules.find((r) => r.name === 'a')!.requiredKeys).toEqual([['headers', 'x-a']]);
    expect(plan.rules.find((r) => r.name === 'b')!.requiredKeys).toEqual([]);
  });
});
