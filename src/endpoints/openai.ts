// OpenAI and the OpenAI-compatible family: {base}/chat/completions, /completions, /embeddings, with
// bearer auth (https://platform.openai.com/docs/api-reference/authentication).
import type { EndpointName } from '../formats/canonical.ts';
import { SURFACE } from '../formats/openai/surface.ts';
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig } from './endpoint.ts';

export const OPENAI_PATHS: Readonly<Record<EndpointName, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  ...Object.fromEntries(Object.entries(SURFACE).map(([kind, r]) => [kind, r.path])),
} as Record<EndpointName, string>;
const OWN = new Set(['content-type', 'authorization', 'user-agent']);

export function openaiEndpoint(c: EndpointConfig): Endpoint {
  const base = basePath(c.url);
  const paths = Object.fromEntries(Object.entries(OPENAI_PATHS).map(([kind, p]) => [kind, base + p])) as Record<EndpointName, string>;
  return {
    path: (kind) => paths[kind],
    resource: (subpath) => base + subpath,
    keyHeaders: (key, extra) => {
      const own = ['content-type', 'application/json', 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)];
      // A local server's keyless entry (config/load.ts) has an empty value: no header, not "Bearer ".
      return key.value === null || key.value === '' ? own : ['authorization', `Bearer ${key.value}`, ...own];
    },
    forward: [],
  };
}
