// AWS Bedrock runtime: POST /model/{modelId}/converse, /converse-stream and /count-tokens on
// bedrock-runtime.{region}.amazonaws.com. Each attempt is signed with SigV4 over its exact body bytes
// and time (providers.md §3.4), by `aws4` (MIT, synchronous, ~12 µs for a 2 KB body here, the signer
// of Node's old `request` library): the model id is URI-encoded once in the path and once more in
// the signed canonical request (`:0` → `%3A0` → `%253A0`), which aws4 does for every service but S3.
// A Bedrock API key is sent as a bearer token instead (docs: "API keys for Amazon Bedrock").
import aws4 from 'aws4';
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig, type KeySecret } from './endpoint.ts';

const OWN = new Set(['content-type', 'authorization', 'accept', 'user-agent', 'x-amz-date', 'x-amz-security-token']);

export function bedrockEndpoint(c: EndpointConfig): Endpoint {
  const base = `${basePath(c.url)}/model/`;
  const host = c.url.host;
  const region = c.region ?? 'us-east-1';
  return {
    path: (kind, model, stream) =>
      kind === 'count_tokens' ? `${base}${encodeURIComponent(countedModel(model))}/count-tokens` : `${base}${encodeURIComponent(model)}/${stream ? 'converse-stream' : 'converse'}`,
    keyHeaders(key, extra) {
      const own = ['content-type', 'application/json', 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)];
      return key.aws === null ? ['authorization', `Bearer ${key.value ?? ''}`, ...own] : own;
    },
    sign: (headers, key, path, body) => (key.aws === null ? (headers as string[]) : signed(headers, key, host, region, path, body)),
    forward: [],
  };
}

/**
 * The model id CountTokens takes: a foundation model's. Inference profiles ("us.anthropic.claude-…",
 * or their ARN) are refused there with "The provided model doesn't support counting tokens"
 * (pydantic-ai #4001, agentcore-public-stack #430), though newer Claude models are invoked only
 * through them; counting invokes nothing, so the profile's model is counted.
 */
export function countedModel(model: string): string {
  const profile = /(?:^|:inference-profile\/)(?:us|eu|apac|jp|au|ca|us-gov|global)\.([a-z0-9-]+\..+)$/.exec(model);
  return profile === null ? model : profile[1]!;
}

function signed(headers: readonly string[], key: KeySecret, host: string, region: string, path: string, body: Buffer): string[] {
  const h: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) h[headers[i]!] = headers[i + 1]!;
  const request = { host, path, method: 'POST', service: 'bedrock', region, body, headers: h };
  aws4.sign(request, key.aws!);
  const out: string[] = [];
  for (const name in request.headers) {
    // undici sets Host from the origin and Content-Length from the body: the same values aws4 signed.
    const lower = name.toLowerCase();
    if (lower !== 'host' && lower !== 'content-length') out.push(lower, String(request.headers[name]));
  }
  return out;
}
