// Gemini (Developer API): {base}/models/{model}:generateContent, :streamGenerateContent?alt=sse,
// :batchEmbedContents, :countTokens, with the key in `x-goog-api-key` (https://ai.google.dev/api, "API keys").
import type { EndpointName } from '../formats/canonical.ts';
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig } from './endpoint.ts';

const OWN = new Set(['content-type', 'x-goog-api-key', 'user-agent']);
/** The method of each request kind that is not a generation. */
const METHOD: Partial<Record<EndpointName, string>> = { embeddings: ':batchEmbedContents', count_tokens: ':countTokens' };

export function geminiEndpoint(c: EndpointConfig): Endpoint {
  const base = `${basePath(c.url)}/models/`;
  return {
    path: (kind, model, stream) => `${base}${encodeURIComponent(model)}${METHOD[kind] ?? (stream ? ':streamGenerateContent?alt=sse' : ':generateContent')}`,
    keyHeaders: (key, extra) => ['content-type', 'application/json', 'x-goog-api-key', key.value ?? '', 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)],
    forward: [],
  };
}
