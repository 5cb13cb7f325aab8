// How each kind of provider is reached (config/provider-kinds.ts names the endpoint of each type).
import { anthropicEndpoint } from './anthropic.ts';
import { azureEndpoint } from './azure.ts';
import { bedrockEndpoint } from './bedrock.ts';
import type { Endpoint, EndpointConfig } from './endpoint.ts';
import { geminiEndpoint } from './gemini.ts';
import { openaiEndpoint } from './openai.ts';

export type EndpointKind = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'azure';

export const ENDPOINTS: Readonly<Record<EndpointKind, (c: EndpointConfig) => Endpoint>> = {
  openai: openaiEndpoint,
  anthropic: anthropicEndpoint,
  gemini: geminiEndpoint,
  bedrock: bedrockEndpoint,
  azure: azureEndpoint,
};
