// OpenAI and the OpenAI-compatible family: {base}/chat/completions, /completions, /embeddings, with
// bearer auth (https://platform.openai.com/docs/api-reference/authentication).
import type { EndpointName } from '../formats/canonical.ts';
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig } from './endpoint.ts';

export const OPENAI_PATHS: Readonly<Record<EndpointName, string>> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings', responses: '/responses' };
const OWN = new Set(['content-type', 'authorization', 'user-agent']);

export function openaiEndpoint(c: EndpointConfig): Endpoint {
  const base = basePath(c.url);
  const paths = { chat: base + OPENAI_PATHS.chat, completions: base + OPENAI_PATHS.completions, embeddings: base + OPENAI_PATHS.embeddings, responses: base + OPENAI_PATHS.responses };
  return {
    path: (kind) => paths[kind],
    keyHeaders: (key, extra) => {
      const own = ['content-type', 'application/json', 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)];
      // A local server's keyless entry (config/load.ts) has an empty value: no header, not "Bearer ".
      return key.value === null || key.value === '' ? own : ['authorization', `Bearer ${key.value}`, ...own];
    },
    forward: [],
  };
}
