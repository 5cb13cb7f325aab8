// Every provider type a config may name, as data: its wire format, how it is reached, its defaults
// (base URL, the environment variable zero-config reads, a few model names) and its known deviations
// from its format, as flags (providers.md §4.2–4.3), never as `if (type === …)` on the request path.
// Base URLs: each provider's OpenAI-compatibility page (Portkey's src/providers/<name>/api.ts agrees).

export type FormatOf = 'openai' | 'anthropic' | 'gemini' | 'bedrock';
export type EndpointOf = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'azure';

export interface Deviations {
  /** Request fields the provider refuses with a 400: taken out before sending, and named in x-microgate-dropped. */
  readonly dropParams: readonly string[];
  /** The provider does not take `stream_options`: stream usage is not asked for. */
  readonly noStreamOptions: boolean;
  /** Tool-call ids must be nine characters of [a-zA-Z0-9]: ids from other providers are renamed (formats/openai/tool-ids.ts). */
  readonly nineCharToolIds: boolean;
  /** The provider refuses `messages[].name` with a 400: taken out before sending, and named in x-microgate-dropped. */
  readonly noMessageNames: boolean;
  /** The provider takes only `auto` and `none` as `tool_choice` (a 400 otherwise): a forced choice becomes `auto`, named in x-microgate-dropped. */
  readonly toolChoiceAutoOrNone: boolean;
  /** A translated assistant tool turn carries its thinking back as `reasoning_content`, which the provider requires there. */
  readonly reasoningOnToolTurns: boolean;
}

export interface ProviderKind {
  readonly format: FormatOf;
  readonly endpoint: EndpointOf;
  /** Null: the config must give one (Azure's resource URL). */
  readonly baseUrl: string | null;
  /** The key zero-config mode reads, or null (it is not picked up without a config file). */
  readonly env: string | null;
  /** Model names zero-config lists in /v1/models and routes by bare name. */
  readonly models: readonly string[];
  /** A local server: keys may be left out. */
  readonly keyless: boolean;
  readonly deviations: Deviations;
}

const NONE: Deviations = Object.freeze({ dropParams: [], noStreamOptions: false, nineCharToolIds: false, noMessageNames: false, toolChoiceAutoOrNone: false, reasoningOnToolTurns: false });
const deviating = (d: Partial<Deviations>): Deviations => Object.freeze({ ...NONE, ...d });

const openaiLike = (baseUrl: string | null, env: string | null, models: readonly string[] = [], deviations: Deviations = NONE, keyless = false): ProviderKind =>
  Object.freeze({ format: 'openai', endpoint: 'openai', baseUrl, env, models, keyless, deviations });

export const PROVIDER_KINDS = {
  openai: openaiLike('https://api.openai.com/v1', 'OPENAI_API_KEY', ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o4-mini', 'text-embedding-3-small']),
  anthropic: Object.freeze({ format: 'anthropic', endpoint: 'anthropic', baseUrl: 'https://api.anthropic.com/v1', env: 'ANTHROPIC_API_KEY', models: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'], keyless: false, deviations: NONE }),
  gemini: Object.freeze({ format: 'gemini', endpoint: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta', env: 'GEMINI_API_KEY', models: ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001'], keyless: false, deviations: NONE }),
  // The host follows the region (providers.X.region); a baseUrl overrides it.
  bedrock: Object.freeze({ format: 'bedrock', endpoint: 'bedrock', baseUrl: null, env: null, models: [], keyless: false, deviations: NONE }),
  'azure-openai': Object.freeze({ format: 'openai', endpoint: 'azure', baseUrl: null, env: null, models: [], keyless: false, deviations: NONE }),
  // Groq: 400 on logprobs, logit_bias, top_logprobs and messages[].name (console.groq.com/docs/openai).
  groq: openaiLike('https://api.groq.com/openai/v1', 'GROQ_API_KEY', ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant'], deviating({ dropParams: ['logprobs', 'logit_bias', 'top_logprobs'], noMessageNames: true })),
  // Mistral: tool-call ids must be nine alphanumerics (providers.md §4.3).
  mistral: openaiLike('https://api.mistral.ai/v1', 'MISTRAL_API_KEY', ['mistral-large-latest', 'mistral-small-latest', 'mistral-embed'], deviating({ nineCharToolIds: true })),
  // DeepSeek: thinking mode with tools wants reasoning_content back on tool turns, else a 400 (providers.md §4.2).
  deepseek: openaiLike('https://api.deepseek.com/v1', 'DEEPSEEK_API_KEY', ['deepseek-chat', 'deepseek-reasoner'], deviating({ reasoningOnToolTurns: true })),
  together: openaiLike('https://api.together.xyz/v1', 'TOGETHER_API_KEY'),
  fireworks: openaiLike('https://api.fireworks.ai/inference/v1', 'FIREWORKS_API_KEY'),
  xai: openaiLike('https://api.x.ai/v1', 'XAI_API_KEY', ['grok-3', 'grok-3-mini']),
  // Cerebras: 400 on the penalties, logit_bias, parallel_tool_calls and service_tier (ReqLLM Cerebras guide).
  // Cerebras: tool_choice only auto or none (inference-docs.cerebras.ai; providers.md §4.2).
  cerebras: openaiLike('https://api.cerebras.ai/v1', 'CEREBRAS_API_KEY', ['llama-3.3-70b'], deviating({ dropParams: ['frequency_penalty', 'presence_penalty', 'logit_bias', 'parallel_tool_calls', 'service_tier'], toolChoiceAutoOrNone: true })),
  // Perplexity: no /v1; usage comes in its stream chunks unasked.
  perplexity: openaiLike('https://api.perplexity.ai', 'PERPLEXITY_API_KEY', ['sonar', 'sonar-pro'], deviating({ noStreamOptions: true })),
  openrouter: openaiLike('https://openrouter.ai/api/v1', 'OPENROUTER_API_KEY'),
  deepinfra: openaiLike('https://api.deepinfra.com/v1/openai', 'DEEPINFRA_API_KEY'),
  // Local servers: no key needed (clients send one anyway; it is ignored).
  ollama: openaiLike('http://127.0.0.1:11434/v1', null, [], NONE, true),
  vllm: openaiLike('http://127.0.0.1:8000/v1', null, [], NONE, true),
  lmstudio: openaiLike('http://127.0.0.1:1234/v1', null, [], NONE, true),
} as const satisfies Record<string, ProviderKind>;

export type ProviderType = keyof typeof PROVIDER_KINDS;
export const PROVIDER_TYPES = Object.keys(PROVIDER_KINDS) as [ProviderType, ...ProviderType[]];
