// Azure OpenAI: /openai/deployments/{deployment}/chat/completions?api-version=…, with the key in
// `api-key` (learn.microsoft.com, Azure OpenAI REST reference). The deployment in the path picks the
// model; `deployments` maps model names to deployment names (default: the same name). The body is
// OpenAI's: the codec is OpenAI's, a pass-through. The Responses API has no deployment path: it is
// /openai/v1/responses (the v1 API, no api-version), with the deployment in the body's `model`
// (learn.microsoft.com, "Azure OpenAI Responses API"); it was sent under the deployment, a 404.
import { GatewayError } from '../errors/gateway-error.ts';
import { OPENAI_PATHS } from './openai.ts';
import { basePath, extraExcept, USER_AGENT, type Endpoint, type EndpointConfig } from './endpoint.ts';

/** The GA data-plane version the defaults are written against. */
export const AZURE_API_VERSION = '2024-10-21';
const OWN = new Set(['content-type', 'api-key', 'user-agent']);

export function azureEndpoint(c: EndpointConfig): Endpoint {
  const base = `${basePath(c.url)}/openai/deployments/`;
  const query = `?api-version=${encodeURIComponent(c.apiVersion ?? AZURE_API_VERSION)}`;
  const v1Responses = `${basePath(c.url)}/openai/v1/responses`;
  return {
    path: (kind, model) => {
      // The deployment is the model: a request that names none (an image, a moderation) has no path here.
      if (model === '') throw new GatewayError('missing_required_parameter', "Azure OpenAI serves a model through its deployment: name one in 'model'.", { param: 'model' });
      if (kind === 'responses') return v1Responses;
      return `${base}${encodeURIComponent(c.deployments[model] ?? model)}${OPENAI_PATHS[kind]}${query}`;
    },
    // Where the path has no deployment (the Responses API), the body names it; elsewhere Azure ignores it.
    bodyModel: (model) => c.deployments[model] ?? model,
    // Files and batches belong to the resource, not a deployment: /openai/files?api-version=…
    resource: (subpath) => `${basePath(c.url)}/openai${subpath}${subpath.includes('?') ? '&' : '?'}${query.slice(1)}`,
    keyHeaders: (key, extra) => ['content-type', 'application/json', 'api-key', key.value ?? '', 'user-agent', USER_AGENT, ...extraExcept(extra, OWN)],
    forward: [],
  };
}
