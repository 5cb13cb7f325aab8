// What a rule can read: the CEL environment (declared variables and their types, type-checked at
// load) and, per request, an object that serves them. Costly variables are getters, computed on
// first read and only if a rule reads them: the complexity classifier runs only when some rule
// evaluated for this request mentions `complexity_tier` or `complexity_score`.
import { Environment } from '@marcbachmann/cel-js';
import type { VirtualKey } from '../governance/directory.ts';

/** The declared variables, as the README documents them. */
export const RULE_VARIABLES: ReadonlyArray<readonly [name: string, type: string, doc: string]> = [
  ['model', 'string', 'the model as addressed ("best", "openai/gpt-4o"); after a chain step, the new one'],
  ['provider', 'string', 'the provider when addressed as "provider/model", else the first target\'s'],
  ['request_type', 'string', '"chat" (/v1/messages too), "responses", "count_tokens", "embeddings", "completions", or another of OpenAI\'s routes ("images", "speech", ...)'],
  ['headers', 'map<string, string>', 'request headers, lower-case names'],
  ['params', 'map<string, string>', 'query parameters'],
  ['request', 'map<string, dyn>', 'temperature (double), max_tokens (int), stream (bool), tools (bool), message_count (int)'],
  ['virtual_key', 'map<string, string>', 'id and name of the caller\'s virtual key (empty without governance)'],
  ['team', 'map<string, string>', 'id and name of its team (empty when it has none)'],
  ['customer', 'map<string, string>', 'id and name of its customer (empty when it has none)'],
  ['budget_used', 'double', 'percent of the tightest budget used, over the key, its team and customer (0 when none is set)'],
  ['tokens_used', 'double', 'percent of the tightest tokens-per-minute limit used'],
  ['requests_used', 'double', 'percent of the tightest requests-per-minute limit used'],
  ['complexity_tier', 'string', '"SIMPLE", "MEDIUM", "COMPLEX" or "REASONING" (computed only when read)'],
  ['complexity_score', 'double', '0..1 (computed only when read)'],
  ['now', 'google.protobuf.Timestamp', 'the time of evaluation'],
];

export function ruleEnvironment(): Environment {
  // Unknown names are type errors at load, never silent nulls at run time.
  const env = new Environment({ unlistedVariablesAreDyn: false });
  for (const [name, type] of RULE_VARIABLES) env.registerVariable(name, type);
  return env;
}

/** What rules read of a request (request/context.ts RequestContext is one). */
export interface RuleInput {
  readonly endpoint: string;
  /** Lower-case names. */
  readonly headers: Record<string, string>;
  readonly query: Record<string, string> | null;
  readonly body: Record<string, unknown> | null;
  readonly tenant: Readonly<Record<'virtualKey' | 'team' | 'customer', string>>;
  /** The caller's virtual key (governance), or null. */
  readonly vk: VirtualKey | null;
  /** Percent of the key's tightest limit of this kind used so far (0 without one). */
  usedPercent(kind: 'budget' | 'tpm' | 'rpm'): number;
  /** The prompt's complexity, computed on first call. */
  classification(): { readonly tier: string; readonly score: number };
}

const NO_TENANT: Readonly<Record<string, string>> = Object.freeze({ id: '', name: '' });
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** One per request (and per chain step): plain fields for the cheap variables, getters for the rest. */
export class RuleVars {
  model: string;
  provider: string;
  readonly request_type: string;
  readonly headers: Record<string, string>;
  readonly params: Readonly<Record<string, string>>;
  private readonly ctx: RuleInput;
  private req: Record<string, unknown> | null = null;

  constructor(ctx: RuleInput, model: string, provider: string) {
    this.ctx = ctx;
    this.model = model;
    this.provider = provider;
    this.request_type = ctx.endpoint;
    this.headers = ctx.headers;
    this.params = ctx.query ?? NO_PARAMS;
  }

  get request(): Record<string, unknown> {
    if (this.req === null) {
      const b = this.ctx.body!;
      const messages = b.messages;
      this.req = {
        temperature: typeof b.temperature === 'number' ? b.temperature : 1.0,
        max_tokens: typeof b.max_tokens === 'number' ? b.max_tokens : typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : 0,
        stream: b.stream === true,
        tools: Array.isArray(b.tools) && b.tools.length > 0,
        message_count: Array.isArray(messages) ? messages.length : 0,
      };
    }
    return this.req;
  }

  get virtual_key(): Readonly<Record<string, string>> {
    return this.ctx.vk?.vars.virtualKey ?? NO_TENANT;
  }

  get team(): Readonly<Record<string, string>> {
    return this.ctx.vk?.vars.team ?? NO_TENANT;
  }

  get customer(): Readonly<Record<string, string>> {
    return this.ctx.vk?.vars.customer ?? NO_TENANT;
  }

  get budget_used(): number {
    return this.ctx.usedPercent('budget');
  }

  get tokens_used(): number {
    return this.ctx.usedPercent('tpm');
  }

  get requests_used(): number {
    return this.ctx.usedPercent('rpm');
  }

  get complexity_tier(): string {
    return this.ctx.classification().tier;
  }

  get complexity_score(): number {
    return this.ctx.classification().score;
  }

  get now(): Date {
    return new Date();
  }
}
