// Rule evaluation for one request: in precedence order, first match wins; shadow rules are recorded
// and never stop the walk (those after the winner are evaluated too). An evaluation error is no match,
// counted, never a 500; a header or query parameter the request lacks (CEL's "no such key") is no
// match too, counted apart: counted as errors, every request without an optional header hid the real
// ones. A matched chain rule re-runs the walk with its target's provider/model until nothing changes,
// at most MAX_CHAIN_STEPS times.
import type { CompiledRule } from '../plan/types.ts';
import type { RuleStats } from '../state/rule-stats.ts';
import { RuleVars, type RuleInput } from './variables.ts';

export const MAX_CHAIN_STEPS = 8;

export interface RuleDecision {
  /** The rule that decides (route or deny), or null. */
  rule: CompiledRule | null;
  /** Every rule matched on the way, in order, shadow ones included: for telemetry (their tags) and explain. */
  matched: CompiledRule[];
  /** Rules whose evaluation threw (counted as no match). */
  errors: string[];
  /** Rules that read a header or query parameter the request lacks (no match). */
  missing: string[];
  /** The model and provider the last step saw. */
  model: string;
  provider: string;
}

function inScope(r: CompiledRule, ctx: RuleInput): boolean {
  // Tenants arrive with governance (virtual keys, teams, customers); until then only global rules can match.
  return r.scope.kind === 'global' || ctx.tenant[r.scope.kind] === r.scope.id;
}

/** Would the rule fail with "no such key"? (rules/compile.ts, requiredKeys) */
function missingKey(r: CompiledRule, ctx: RuleInput): boolean {
  for (const [map, key] of r.requiredKeys) {
    const m = map === 'headers' ? ctx.headers : ctx.query;
    if (m === null || m[key] === undefined) return true;
  }
  return false;
}

const FAILED = Symbol('failed');

/** A shadow rule after the deciding one: recorded when it matches, counted when it fails, nothing else. */
function shadow(r: CompiledRule, ctx: RuleInput, vars: RuleVars, stats: RuleStats, decision: RuleDecision): void {
  if (!inScope(r, ctx)) return;
  if (r.requiredKeys.length > 0 && missingKey(r, ctx)) {
    decision.missing.push(r.name);
    stats.bump(stats.missing, r.name);
    return;
  }
  let v: unknown = FAILED;
  try {
    v = r.program(vars);
  } catch {
    v = FAILED;
  }
  if (v === FAILED) {
    decision.errors.push(r.name);
    stats.bump(stats.errors, r.name);
  } else if (v === true) {
    stats.bump(stats.matches, r.name);
    decision.matched.push(r);
  }
}

export function evaluateRules(ctx: RuleInput, rules: readonly CompiledRule[], stats: RuleStats, model: string, provider: string): RuleDecision {
  const decision: RuleDecision = { rule: null, matched: [], errors: [], missing: [], model, provider };
  const vars = new RuleVars(ctx, model, provider);
  for (let step = 0; step <= MAX_CHAIN_STEPS; step++) {
    let hit: CompiledRule | null = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (!inScope(r, ctx)) continue;
      if (r.requiredKeys.length > 0 && missingKey(r, ctx)) {
        decision.missing.push(r.name);
        stats.bump(stats.missing, r.name);
        continue;
      }
      let v: unknown;
      try {
        v = r.program(vars);
      } catch {
        decision.errors.push(r.name);
        stats.bump(stats.errors, r.name);
        continue;
      }
      if (v !== true) continue;
      stats.bump(stats.matches, r.name);
      decision.matched.push(r);
      if (r.action === 'shadow') continue;
      hit = r;
      // The shadow rules after it are evaluated and recorded too: a shadow rule measures how often it
      // would match, whichever rule routes the request (it counted only requests no rule had taken).
      for (let j = i + 1; j < rules.length; j++) if (rules[j]!.action === 'shadow') shadow(rules[j]!, ctx, vars, stats, decision);
      break;
    }
    if (hit === null) return decision;
    const repeat = decision.rule === hit;
    decision.rule = hit;
    if (!hit.chain || repeat) return decision;
    // Chain: the first target's provider/model become what the next step sees.
    const t = hit.targets[0]!;
    const nextModel = t.model ?? vars.model;
    const nextProvider = t.provider?.name ?? vars.provider;
    if (nextModel === vars.model && nextProvider === vars.provider) return decision;
    vars.model = decision.model = nextModel;
    vars.provider = decision.provider = nextProvider;
  }
  stats.chainLimitHits++;
  return decision;
}
