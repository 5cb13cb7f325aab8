// How to reach a provider: the path of each request kind and the headers of each key. Built at load
// from `baseUrl` and the keys; `path` and `headers` run per attempt, so a format that puts the model
// in the path (Gemini, Bedrock) or signs each attempt's bytes (SigV4) fits the same seam.
import type { EndpointName } from '../formats/canonical.ts';

export const USER_AGENT = 'microgate/0.1';

export interface Endpoint {
  /** The request path for this kind of request, model and stream flag (the baseUrl's path included). */
  path(kind: EndpointName, model: string, stream: boolean): string;
  /** One key's headers, auth included, as a flat [name, value, …] list: built once per key at load. */
  keyHeaders(secret: string, extra: readonly string[]): string[];
  /** Client request headers always passed on to a provider of this kind (anthropic-beta, say). */
  readonly forward: readonly string[];
}

/** Extra headers from config, lower-case, without the ones the endpoint sets itself. */
export function extraExcept(extra: readonly string[], own: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < extra.length; i += 2) if (!own.has(extra[i]!)) out.push(extra[i]!, extra[i + 1]!);
  return out;
}
