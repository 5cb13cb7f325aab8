// Providers that zero-config mode picks up from their usual environment variables: Anthropic in its
// own Messages format, the rest in OpenAI's at these base URLs (each provider's "OpenAI compatibility" page). The model
// lists only seed /v1/models and bare-name routing; `provider/model` reaches any model a provider has.
export interface WellKnownProvider {
  readonly name: string;
  /** The wire format (providers.X.type). */
  readonly type: 'openai' | 'anthropic';
  readonly env: string;
  readonly baseUrl: string;
  readonly models: readonly string[];
}

export const WELL_KNOWN_PROVIDERS: readonly WellKnownProvider[] = [
  { name: 'anthropic', type: 'anthropic', env: 'ANTHROPIC_API_KEY', baseUrl: 'https://api.anthropic.com/v1', models: ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1'] },
  { name: 'openai', type: 'openai', env: 'OPENAI_API_KEY', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'o4-mini', 'text-embedding-3-small'] },
  { name: 'groq', type: 'openai', env: 'GROQ_API_KEY', baseUrl: 'https://api.groq.com/openai/v1', models: ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant'] },
  { name: 'mistral', type: 'openai', env: 'MISTRAL_API_KEY', baseUrl: 'https://api.mistral.ai/v1', models: ['mistral-large-latest', 'mistral-small-latest', 'mistral-embed'] },
  { name: 'deepseek', type: 'openai', env: 'DEEPSEEK_API_KEY', baseUrl: 'https://api.deepseek.com/v1', models: ['deepseek-chat', 'deepseek-reasoner'] },
  { name: 'together', type: 'openai', env: 'TOGETHER_API_KEY', baseUrl: 'https://api.together.xyz/v1', models: [] },
  { name: 'openrouter', type: 'openai', env: 'OPENROUTER_API_KEY', baseUrl: 'https://openrouter.ai/api/v1', models: [] },
  { name: 'fireworks', type: 'openai', env: 'FIREWORKS_API_KEY', baseUrl: 'https://api.fireworks.ai/inference/v1', models: [] },
  { name: 'xai', type: 'openai', env: 'XAI_API_KEY', baseUrl: 'https://api.x.ai/v1', models: ['grok-3', 'grok-3-mini'] },
  { name: 'cerebras', type: 'openai', env: 'CEREBRAS_API_KEY', baseUrl: 'https://api.cerebras.ai/v1', models: ['llama-3.3-70b'] },
];
