// OpenAI and the OpenAI-compatible family: {base}/chat/completions, /completions, /embeddings, with
// bearer auth (https://platform.openai.com/docs/api-reference/authentication).
import type { EndpointName } from '../formats/canonical.ts';
import { extraExcept, USER_AGENT, type Endpoint } from './endpoint.ts';

const PATHS: Readonly<Record<EndpointName, string>> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' };
const OWN = new Set(['content-type', 'authorization', 'user-agent']);

export function openaiEndpoint(basePath: string): Endpoint {
  const paths = { chat: basePath + PATHS.chat, completions: basePath + PATHS.completions, embeddings: basePath + PATHS.embeddings };
  return {
    path: (kind) => paths[kind],
    keyHeaders: (secret, extra) => ['content-type', 'application/json', 'authorization', `Bearer ${secret}`, 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)],
    forward: [],
  };
}
