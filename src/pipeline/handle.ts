// The request path after the body is read, in order. Each stage throws a GatewayError to stop; the
// catch hands it to the one error boundary (server/respond.ts).
//
//   parse    pipeline/parse.ts     JSON once; validate what routing needs
//   route    pipeline/route.ts     model → target → key, by weight
//   forward  upstream/forward.ts   dispatch on the provider's pool; the attempt relays the answer
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import { sendError } from '../server/respond.ts';
import { forward } from '../upstream/forward.ts';
import type { RequestContext } from './context.ts';
import { parseRequest } from './parse.ts';
import { routeRequest } from './route.ts';

export function handleRequest(ctx: RequestContext): void {
  try {
    parseRequest(ctx);
    routeRequest(ctx);
    forward(ctx);
  } catch (err) {
    sendError(ctx, isGatewayError(err) ? err : new GatewayError('internal_error', 'The gateway failed to handle the request.', { cause: err }));
  }
}
