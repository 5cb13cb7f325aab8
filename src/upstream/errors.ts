// Transport failures (undici error codes, Node socket errors) → GatewayError. Classified by code,
// never by instanceof (nodejs/undici#3987). Codes: undici docs/api/Errors.md.
import { GatewayError } from '../errors/gateway-error.ts';
import type { ProviderPlan } from '../plan/types.ts';

const CONNECT_FAILED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const RESET = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

export function fromTransportError(err: unknown, provider: ProviderPlan, headSeen: boolean): GatewayError {
  const code = (err as { code?: unknown } | null)?.code;
  const name = provider.name;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GatewayError('upstream_connect_timeout', `Could not connect to provider '${name}' within ${provider.timeouts.connectMs} ms.`, { cause: err });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new GatewayError('upstream_timeout', `Provider '${name}' sent no response within ${provider.timeouts.firstByteMs} ms.`, { cause: err });
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new GatewayError('upstream_timeout', `Provider '${name}' went silent for more than ${provider.timeouts.idleMs} ms ${headSeen ? 'in the middle of its response' : 'before answering'}.`, { cause: err });
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    // undici refused the request the gateway built (a header value, say): the gateway's fault, never the provider's.
    return new GatewayError('internal_error', `The gateway could not send the request to provider '${name}' (${code}).`, { cause: err });
  }
  if (typeof code === 'string' && CONNECT_FAILED.has(code)) {
    return new GatewayError('upstream_connect_failed', `Could not connect to provider '${name}' (${code}).`, { cause: err });
  }
  if (typeof code === 'string' && RESET.has(code)) {
    return new GatewayError('upstream_reset', `Provider '${name}' closed the connection ${headSeen ? 'in the middle of its response' : 'before answering'}.`, { cause: err });
  }
  return new GatewayError('upstream_error', `Request to provider '${name}' failed${typeof code === 'string' ? ` (${code})` : ''}.`, { cause: err });
}
