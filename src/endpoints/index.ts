// The endpoint of each provider type, from its baseUrl's path.
import type { FormatName } from '../formats/format.ts';
import { anthropicEndpoint } from './anthropic.ts';
import type { Endpoint } from './endpoint.ts';
import { openaiEndpoint } from './openai.ts';

export const ENDPOINTS: Readonly<Record<FormatName, (basePath: string) => Endpoint>> = { openai: openaiEndpoint, anthropic: anthropicEndpoint };
