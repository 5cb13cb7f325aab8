// Anthropic's Messages API: {base}/messages with `x-api-key` and `anthropic-version`
// (https://docs.anthropic.com/en/api/versioning). `anthropic-beta` from the client is passed on: it
// turns on features the body then uses (providers.md §1.1). A configured `anthropic-version` header
// replaces the default.
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig } from './endpoint.ts';

/** The API version the Messages format here is written against (the SDK still sends it by default). */
export const ANTHROPIC_VERSION = '2023-06-01';
const OWN = new Set(['content-type', 'x-api-key', 'user-agent']);

export function anthropicEndpoint(c: EndpointConfig): Endpoint {
  const path = `${basePath(c.url)}/messages`;
  const countPath = `${path}/count_tokens`;
  return {
    path: (kind) => (kind === 'count_tokens' ? countPath : path),
    keyHeaders(key, extra) {
      const rest = extraExcept(extra, OWN);
      const version = rest.includes('anthropic-version') ? [] : ['anthropic-version', ANTHROPIC_VERSION];
      return ['content-type', 'application/json', 'x-api-key', key.value ?? '', ...version, 'user-agent', USER_AGENT, ...rest];
    },
    forward: ['anthropic-beta'],
  };
}
