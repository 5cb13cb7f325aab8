// Rules from config → a frozen, ordered list of compiled programs. Everything is checked at load: a
// rule that does not parse or type-check, a target naming an unknown provider or key, or a chain
// that visibly loops rejects the whole config, naming the rule, the expression and the position.
import type { Environment, ASTNode } from '@marcbachmann/cel-js';
import { ConfigError } from '../errors/config-error.ts';
import { patternProblems } from './patterns.ts';
import type { CompiledRule, KeyPlan, ProviderPlan, RuleTarget, RuntimePlan, Scope, Target } from '../plan/types.ts';
import type { RuleConfig } from '../config/schema.ts';

/** The config problem of a fallback (an alias's or a rule's) that names nothing a request can go to. */
export function unroutable(at: string, name: string): string {
  return `${at}: "${name}" is neither "provider/model" of a configured provider nor a declared model`;
}

/** Rank of a scope in the precedence order: virtual key → team → customer → global. */
export function scopeRank(s: Scope): number {
  return s.kind === 'virtualKey' ? 0 : s.kind === 'team' ? 1 : s.kind === 'customer' ? 2 : 3;
}

export function compileRules(
  rules: readonly RuleConfig[],
  env: Environment,
  plan: Pick<RuntimePlan, 'providers'>,
  target: (p: ProviderPlan, model: string) => Target,
  routable: (model: string) => boolean = () => true,
): readonly CompiledRule[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const out: CompiledRule[] = [];
  rules.forEach((r, i) => {
    const at = `rules[${i}] "${r.name}"`;
    if (names.has(r.name)) problems.push(`${at}: duplicate rule name`);
    names.add(r.name);
    let program: CompiledRule['program'];
    let ast: ASTNode;
    try {
      const parsed = env.parse(r.when);
      const check = parsed.check();
      if (!check.valid) throw check.error ?? new Error('invalid expression');
      if (check.type !== 'bool' && check.type !== 'dyn') throw new Error(`the expression is of type ${check.type}; a rule's "when" must be a bool`);
      const unsafe = [...patternProblems(parsed.ast), ...fieldProblems(parsed.ast)];
      if (unsafe.length > 0) throw new Error(unsafe.join('; '));
      program = parsed;
      ast = parsed.ast;
    } catch (err) {
      // The library's message carries the position and a caret under the offending token.
      problems.push(`${at}: when ${JSON.stringify(r.when)}: ${(err as Error).message}`);
      return;
    }
    const targets = (r.targets ?? []).map((t, j) => {
      const provider = t.provider === undefined ? null : (plan.providers.get(t.provider) ?? null);
      if (t.provider !== undefined && provider === null) problems.push(`${at}.targets[${j}].provider: unknown provider "${t.provider}"`);
      let key: KeyPlan | null = null;
      if (t.key !== undefined) {
        if (provider === null) problems.push(`${at}.targets[${j}].key: a pinned key needs the target's provider`);
        else {
          key = [...(provider.anyModelKeys?.items ?? []), ...[...provider.keysByModel.values()].flatMap((k) => k.items)].find((k) => k.name === t.key) ?? null;
          if (key === null) problems.push(`${at}.targets[${j}].key: provider "${t.provider}" has no key "${t.key}"`);
        }
      }
      return Object.freeze({ provider, model: t.model ?? null, key, weight: t.weight, fixed: provider !== null && t.model !== undefined ? target(provider, t.model) : null });
    });
    (r.fallbacks ?? []).forEach((name, j) => {
      if (!routable(name)) problems.push(unroutable(`${at}.fallbacks[${j}]`, name));
    });
    const scope: Scope = r.scope === 'global' ? { kind: 'global' } : 'virtualKey' in r.scope ? { kind: 'virtualKey', id: r.scope.virtualKey } : 'team' in r.scope ? { kind: 'team', id: r.scope.team } : { kind: 'customer', id: r.scope.customer };
    out.push(
      Object.freeze({
        index: 0,
        name: r.name,
        scope,
        priority: r.priority,
        source: r.when,
        program,
        action: r.targets !== undefined ? 'route' : r.deny !== undefined ? 'deny' : 'shadow',
        targets: Object.freeze(targets),
        fallbacks: r.fallbacks ?? null,
        chain: r.chain,
        deny: r.deny ?? null,
        tag: r.tag ?? null,
        readsComplexity: /\bcomplexity_(tier|score)\b/.test(r.when),
        requiresModel: literalModel(ast),
        requiredKeys: Object.freeze(requiredKeys(ast)),
      } as CompiledRule),
    );
  });
  const cycle = chainCycle(out);
  if (cycle !== null) problems.push(`rules: the chain ${cycle} loops back on itself`);
  if (problems.length > 0) throw new ConfigError(`invalid config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  // Precedence: scope, then priority; config order breaks ties (sort is stable).
  const ordered = out.sort((a, b) => scopeRank(a.scope) - scopeRank(b.scope) || a.priority - b.priority);
  return Object.freeze(ordered.map((r, index) => Object.freeze({ ...r, index })));
}

/**
 * Chains that visibly loop: a chain rule whose `when` requires `model == "a"` and whose first target
 * sets model "b", followed by one requiring "b" that leads back to "a". Only literal equalities can
 * be seen at load; the evaluation bound (rules/evaluate.ts) catches the rest.
 */
function chainCycle(rules: readonly CompiledRule[]): string | null {
  const edges = new Map<string, { to: string; rule: string }>();
  for (const r of rules) {
    if (!r.chain) continue;
    const from = r.requiresModel;
    const to = r.targets[0]?.model;
    if (from !== null && to !== null && to !== undefined) edges.set(from, { to, rule: r.name });
  }
  for (const start of edges.keys()) {
    const seen: string[] = [];
    let at: string | undefined = start;
    while (at !== undefined && edges.has(at)) {
      if (seen.includes(at)) return seen.map((m) => `${edges.get(m)!.rule} (${m} → ${edges.get(m)!.to})`).join(', ');
      seen.push(at);
      at = edges.get(at)!.to;
    }
  }
  return null;
}

/**
 * The maps whose fields are fixed (rules/variables.ts), and their fields. The type checker sees only
 * `map<string, …>`, so `request.top_p` type-checks, and then fails on every request ("no such key"):
 * a rule that loads and never matches. Named fields are checked here instead, `has()` included (a
 * test for a field that never exists is a typo too).
 */
const FIXED_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['request', ['temperature', 'max_tokens', 'stream', 'tools', 'message_count']],
  ['virtual_key', ['id', 'name']],
  ['team', ['id', 'name']],
  ['customer', ['id', 'name']],
]);

/** Each read of a field the map does not have (`request.top_p`, `team["owner"]`). */
function fieldProblems(root: ASTNode): string[] {
  const out: string[] = [];
  const walk = (n: ASTNode): void => {
    if ((n.op === '.' || n.op === '[]') && n.args[0].op === 'id') {
      const fields = FIXED_FIELDS.get(n.args[0].args);
      const key = n.op === '.' ? n.args[1] : n.args[1].op === 'value' ? n.args[1].args : null;
      if (fields !== undefined && typeof key === 'string' && !fields.includes(key)) out.push(`${n.args[0].args} has no field "${key}" (it has ${fields.join(', ')})`);
    }
    const args = n.args as unknown;
    if (Array.isArray(args)) for (const a of args.flat()) if (typeof a === 'object' && a !== null && 'op' in a) walk(a as ASTNode);
  };
  walk(root);
  return out;
}

/** "x" when the expression requires `model == "x"` (alone or in a conjunction). */
function literalModel(node: ASTNode): string | null {
  if (node.op === '&&') return literalModel(node.args[0]) ?? literalModel(node.args[1]);
  if (node.op === '==') {
    const [a, b] = node.args;
    if (a.op === 'id' && a.args === 'model' && b.op === 'value' && typeof b.args === 'string') return b.args;
    if (b.op === 'id' && b.args === 'model' && a.op === 'value' && typeof a.args === 'string') return a.args;
  }
  return null;
}

/** Operators and macros that can turn an error into a value: below them, an access may not throw. */
const ABSORBING = new Set(['||', '?:', '!_', 'in', 'has', 'all', 'exists', 'exists_one', 'map', 'filter', 'orValue', 'hasValue', 'or']);

/**
 * Literal-key reads of `headers` / `params` that make the whole expression fail when the key is
 * absent: those in a top-level `&&` conjunct, reached only through operators that propagate errors.
 * (In CEL, `false && error` is false and `true && error` an error: neither is a match.)
 */
function requiredKeys(root: ASTNode): Array<['headers' | 'params', string]> {
  // A key the expression tests anywhere ("k" in headers, has(headers.k)) may be absent on purpose:
  // `false && …` is false, not an error, so such keys are left to the evaluator.
  const guarded = new Set<string>();
  const findGuards = (n: ASTNode): void => {
    if (n.op === 'in' && n.args[0].op === 'value' && n.args[1].op === 'id') guarded.add(`${n.args[1].args}:${String(n.args[0].args)}`);
    if (n.op === 'call' && n.args[0] === 'has') {
      const f = n.args[1][0];
      if (f !== undefined && f.op === '.' && f.args[0].op === 'id') guarded.add(`${f.args[0].args}:${f.args[1]}`);
    }
    const args = n.args as unknown;
    if (Array.isArray(args)) for (const a of args.flat()) if (typeof a === 'object' && a !== null && 'op' in a) findGuards(a as ASTNode);
  };
  findGuards(root);
  return conjunctKeys(root).filter(([map, key]) => !guarded.has(`${map}:${key}`));
}

function conjunctKeys(node: ASTNode): Array<['headers' | 'params', string]> {
  if (node.op === '&&') return [...conjunctKeys(node.args[0]), ...conjunctKeys(node.args[1])];
  const out: Array<['headers' | 'params', string]> = [];
  const walk = (n: ASTNode): void => {
    const name = n.op === 'call' ? n.args[0] : n.op === 'rcall' ? n.args[0] : n.op;
    if (ABSORBING.has(name)) return;
    if (n.op === '[]' || n.op === '.') {
      const target = n.args[0];
      if (target.op === 'id' && (target.args === 'headers' || target.args === 'params')) {
        let k: string | null = null;
        if (n.op === '.') k = n.args[1];
        else if (n.args[1].op === 'value' && typeof n.args[1].args === 'string') k = n.args[1].args;
        if (k !== null) out.push([target.args, k]);
        return;
      }
    }
    const args = n.args as unknown;
    if (Array.isArray(args)) for (const a of args.flat()) if (typeof a === 'object' && a !== null && 'op' in a) walk(a as ASTNode);
  };
  walk(node);
  return out;
}
