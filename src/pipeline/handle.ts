// The request path after the body is read, in order. Each stage throws a GatewayError to stop; the
// catch hands it to the one error boundary (server/respond.ts).
//
//   parse    pipeline/parse.ts     JSON once; validate what routing needs
//   route    pipeline/route.ts     model → the targets to try, in order (weights, then fallbacks)
//   forward  upstream/forward.ts   the failover loop (upstream/failover.ts) sends attempts
//                                  (upstream/attempt.ts) until one answers; it relays the answer
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import { sendError } from '../server/respond.ts';
import { forward } from '../upstream/forward.ts';
import type { RequestContext } from './context.ts';
import { parseRequest, requestDeadline } from './parse.ts';
import { routeRequest } from './route.ts';

export function handleRequest(ctx: RequestContext): void {
  try {
    parseRequest(ctx);
    const deadlineMs = requestDeadline(ctx);
    routeRequest(ctx);
    forward(ctx, deadlineMs);
  } catch (err) {
    sendError(ctx, isGatewayError(err) ? err : new GatewayError('internal_error', 'The gateway failed to handle the request.', { cause: err }));
  }
}
