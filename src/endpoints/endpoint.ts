// How to reach a provider: the path of each request kind and the headers of each key. Built at load
// from the provider's config; `path` and `sign` run per attempt, so a format that puts the model in
// the path (Gemini, Bedrock, Azure's deployments) or signs each attempt's bytes (SigV4) fits the seam.
import type { EndpointName } from '../formats/canonical.ts';

export const USER_AGENT = 'microgate/0.1';

/** A key's secret material: a token (bearer, x-api-key, api-key), or AWS credentials for SigV4. */
export interface KeySecret {
  readonly value: string | null;
  readonly aws: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } | null;
}

/** What an endpoint is built from: the provider's config, as far as reaching it goes. */
export interface EndpointConfig {
  readonly url: URL;
  readonly region: string | null;
  readonly apiVersion: string | null;
  /** Model name → Azure deployment name. */
  readonly deployments: Readonly<Record<string, string>>;
}

export interface Endpoint {
  /** The request path for this kind of request, model and stream flag (the baseUrl's path included). */
  path(kind: EndpointName, model: string, stream: boolean): string;
  /**
   * A provider-owned resource (files, batches): `subpath` is the client's path after /v1, query
   * included. Absent: the provider has no such resources.
   */
  resource?(subpath: string): string;
  /** One key's headers, auth included, as a flat [name, value, …] list: built once per key at load. */
  keyHeaders(key: KeySecret, extra: readonly string[]): string[];
  /**
   * Per attempt, when the headers depend on the request: SigV4 signs the path, the exact body bytes
   * and the time, on every attempt (a signature is only good for minutes, and retries resend).
   */
  sign?(headers: readonly string[], key: KeySecret, path: string, body: Buffer): string[];
  /** Client request headers always passed on to a provider of this kind (anthropic-beta, say). */
  readonly forward: readonly string[];
  /** The name the provider's body takes for `model`, when it is not the model's own (Azure: its deployment). */
  bodyModel?(model: string): string;
}

/** Extra headers from config, lower-case, without the ones the endpoint sets itself. */
export function extraExcept(extra: readonly string[], own: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < extra.length; i += 2) if (!own.has(extra[i]!)) out.push(extra[i]!, extra[i + 1]!);
  return out;
}

export const basePath = (url: URL): string => url.pathname.replace(/\/+$/, '');
