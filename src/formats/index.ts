// The wire formats microgate speaks, by name: `providers.X.type` picks a provider's codec at load,
// the route picks a client's dialect (/v1/messages is Anthropic's, the rest OpenAI's).
import { ANTHROPIC } from './anthropic/index.ts';
import type { FormatName, WireFormat } from './format.ts';
import { OPENAI } from './openai/index.ts';

export const FORMATS: Readonly<Record<FormatName, WireFormat>> = { openai: OPENAI, anthropic: ANTHROPIC };
