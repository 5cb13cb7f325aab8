// CORS for browser clients (server.cors): which origins may call the gateway, the preflight answer,
// and the headers an allowed origin's responses carry. https://fetch.spec.whatwg.org/#http-cors-protocol
// Requests are not credentialed (the SDKs send keys in headers, not cookies), so "*" may be used, and
// Access-Control-Expose-Headers lets a browser read the ids, route and rate-limit headers.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { FORMATS } from '../formats/index.ts';

/** Response headers a browser script may read: request ids, where the request went, rate limits, retry hints. */
const EXPOSE = [
  'x-request-id', 'request-id', 'x-microgate-request-id', 'x-microgate-provider', 'x-microgate-model', 'x-microgate-route', 'x-microgate-attempts',
  'x-microgate-flag', 'x-microgate-dropped', 'retry-after', 'retry-after-ms', 'x-should-retry', 'server-timing',
  'x-ratelimit-limit-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens',
].join(', ');

/** Header names as a preflight may list them: tokens and commas, bounded. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export class Cors {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly maxAge: string;

  constructor(cfg: Config['server']['cors']) {
    this.any = cfg.origins.includes('*');
    this.origins = new Set(cfg.origins);
    this.maxAge = String(cfg.maxAgeSeconds);
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  /** The Access-Control-Allow-Origin value for a request from `origin`, or null when it may not. */
  allowOrigin(origin: string | undefined): string | null {
    if (origin === undefined || origin === '') return null;
    if (this.any) return '*';
    return this.origins.has(origin) ? origin : null;
  }

  /** Writes the CORS headers of an actual response (after writeStatus). */
  writeHeaders(res: HttpResponse, origin: string | undefined): void {
    const allow = this.allowOrigin(origin);
    if (allow === null) return;
    res.writeHeader('access-control-allow-origin', allow);
    if (allow !== '*') res.writeHeader('vary', 'Origin');
    res.writeHeader('access-control-expose-headers', EXPOSE);
  }

  /** OPTIONS: the preflight answer, synchronously inside the route handler. */
  preflight(res: HttpResponse, req: HttpRequest, id: string): void {
    const origin = req.getHeader('origin');
    const allow = this.allowOrigin(origin);
    const method = req.getHeader('access-control-request-method');
    if (allow === null || method === '') {
      const message = allow === null ? `Origin '${origin.slice(0, 200)}' may not call this gateway (server.cors.origins).` : 'A CORS preflight names the method it asks for (Access-Control-Request-Method).';
      // Under Anthropic's path, in Anthropic's shape, as every other error there (server/app.ts notFound).
      const body = req.getUrl().startsWith('/v1/messages')
        ? FORMATS.anthropic.dialect.renderError(new GatewayError('permission_denied', message))
        : JSON.stringify({ error: { message, type: 'permission_error', param: null, code: 'cors_origin_not_allowed' } });
      res.writeStatus('403 Forbidden').writeHeader('content-type', 'application/json').writeHeader('x-request-id', id);
      res.end(body);
      return;
    }
    res.writeStatus('204 No Content').writeHeader('access-control-allow-origin', allow);
    if (allow !== '*') res.writeHeader('vary', 'Origin');
    res.writeHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
    const wanted = req.getHeader('access-control-request-headers');
    if (wanted !== '' && wanted.length <= 2048 && HEADER_LIST.test(wanted)) res.writeHeader('access-control-allow-headers', wanted);
    res.writeHeader('access-control-max-age', this.maxAge).writeHeader('x-request-id', id).endWithoutBody();
  }
}

/** One Cors per loaded config (a reload brings a new plan, and with it new origins). */
const byConfig = new WeakMap<object, Cors>();
export function corsOf(server: Config['server']): Cors {
  let c = byConfig.get(server);
  if (c === undefined) byConfig.set(server, (c = new Cors(server.cors)));
  return c;
}
