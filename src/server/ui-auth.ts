// Who may administer, decided synchronously inside a route handler (uWS's req is gone after it returns).
//
// - With governance.adminKey: `Authorization: Bearer <adminKey>` (scripts, as before), or the
//   dashboard's session cookie (server/ui-session.ts). A state-changing request authenticated by the
//   cookie must also carry the CSRF header, and its Origin, when sent, must be this host: the cookie
//   alone is what a forged cross-site request would bring.
// - Without one: loopback peers only, as before. A browser's state-changing request must come from
//   this host's own page, and every request must address the gateway by a loopback name: otherwise a
//   page on a domain that resolves to 127.0.0.1 (DNS rebinding) would be "same origin" with it.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { RuntimePlan } from '../plan/types.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { AdminGuesses } from './admin-guesses.ts';
import { CSRF_HEADER } from './csrf-header.ts';
import { cookieValue, csrfMatches, SESSION_COOKIE, sessionKeys, verify, type Session, type SessionKeys } from './ui-session.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1', '0000:0000:0000:0000:0000:0000:0000:0001']);

/** The TCP peer's address, as text. */
export function peerAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}

/** Is the TCP peer on this machine? */
export function fromLoopback(res: HttpResponse): boolean {
  return LOOPBACK.has(peerAddress(res));
}

/** Wrong admin keys by address, for this request thread (admin-guesses.ts). */
const guesses = new AdminGuesses();

/** Null when `address` may present an admin key now; else the 429 that says when it may. */
export function guessRefusal(address: string, now: number): GatewayError | null {
  const ms = guesses.lockedFor(address, now);
  return ms === 0 ? null : new GatewayError('rate_limit_exceeded', `Too many wrong admin keys from this address: retry in ${Math.ceil(ms / 1000)}s.`, { retryAfterMs: ms });
}

/** Counts a wrong admin key from `address`, and says on stderr when it has used up its tries (never the key). */
export function wrongAdminKey(address: string, now: number): void {
  if (guesses.wrong(address, now)) process.stderr.write(`microgate: wrong admin keys from ${address} used up its tries: its admin requests are refused for a minute\n`);
}

/**
 * A request a proxy forwards: its TCP peer may be this machine (a reverse proxy on the same host) while
 * the client is anywhere. Without an admin key, loopback is the only credential, so these are refused.
 */
export function forwarded(req: HttpRequest): boolean {
  return req.getHeader('x-forwarded-for') !== '' || req.getHeader('forwarded') !== '' || req.getHeader('x-real-ip') !== '';
}

/** A Host header naming this machine (localhost, 127.x.y.z, [::1]), port or not. */
export function loopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The session keys of this plan's admin key (derived once per label by Governance), or null without one. */
export function keysOf(plan: RuntimePlan): SessionKeys | null {
  const gov = plan.governance;
  return gov.hasAdminKey ? sessionKeys((label) => gov.derivedKey(label)) : null;
}

/** The valid session a request's cookie carries, or null. */
export function sessionOf(keys: SessionKeys, req: HttpRequest, nowMs = Date.now()): Session | null {
  const token = cookieValue(req.getHeader('cookie'), SESSION_COOKIE);
  return token === null ? null : verify(keys, token, nowMs);
}

/** Null when the Origin header is absent or names this host; else the 403 a cross-site request gets. */
export function originRefusal(req: HttpRequest): GatewayError | null {
  const origin = req.getHeader('origin');
  if (origin === '') return null;
  let host = '';
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (a sandboxed or file page) or garbage: not this host
  }
  if (host !== '' && host === req.getHeader('host').toLowerCase()) return null;
  return new GatewayError('permission_denied', 'Cross-origin request refused: the Origin header does not match this host.');
}

const NEEDS_KEY = 'The admin API needs "Authorization: Bearer <governance.adminKey>", or a dashboard session (/ui).';

/** Null when the request may administer; else the error that says why not. Reads `req`: call it in the handler. */
export function adminRefusal(plan: RuntimePlan, res: HttpResponse, req: HttpRequest): GatewayError | null {
  const gov = plan.governance;
  const method = req.getMethod();
  const changes = method !== 'get' && method !== 'head';
  const keys = keysOf(plan);
  if (keys === null) {
    if (!fromLoopback(res) || forwarded(req)) return new GatewayError('permission_denied', 'Without governance.adminKey, the admin API answers only on loopback, not through a proxy.');
    // Every request, not only those showing a browser's headers: a rebound page's same-origin GET over
    // plain http sends neither Origin nor Sec-Fetch-* (fetch metadata is not sent to non-trustworthy
    // origins), and read the request log's prompts from another Host name.
    if (!loopbackHost(req.getHeader('host'))) return new GatewayError('permission_denied', 'Without governance.adminKey, address the gateway as localhost or 127.0.0.1.');
    return changes ? originRefusal(req) : null;
  }
  const auth = req.getHeader('authorization');
  // Scripts present the admin key itself, as before the dashboard existed.
  if (auth !== '') {
    const address = peerAddress(res);
    const now = Date.now();
    const locked = guessRefusal(address, now);
    if (locked !== null) return locked;
    if (gov.isAdmin(auth)) return null;
    wrongAdminKey(address, now);
    return new GatewayError('invalid_api_key', NEEDS_KEY);
  }
  if (cookieValue(req.getHeader('cookie'), SESSION_COOKIE) === null) return new GatewayError('invalid_api_key', NEEDS_KEY);
  const session = sessionOf(keys, req);
  if (session === null) return new GatewayError('invalid_api_key', 'The dashboard session expired or is not valid: log in again.');
  if (!changes) return null;
  const cross = originRefusal(req);
  if (cross !== null) return cross;
  const csrf = req.getHeader(CSRF_HEADER);
  if (csrf === '' || !csrfMatches(keys, session, csrf)) return new GatewayError('permission_denied', `A change made with the dashboard's session needs its ${CSRF_HEADER} header.`);
  return null;
}

/**
 * May the response cookie be Secure? When the request came over TLS (this uWS build serves plain HTTP
 * only) or through a TLS-terminating proxy we trust to say so: one on loopback, or any when
 * MICROGATE_TRUST_PROXY=1 (read once).
 */
export function viaHttps(res: HttpResponse, req: HttpRequest): boolean {
  const proto = req.getHeader('x-forwarded-proto').split(',')[0]!.trim().toLowerCase();
  return proto === 'https' && (TRUST_PROXY || fromLoopback(res));
}

const TRUST_PROXY = process.env.MICROGATE_TRUST_PROXY === '1';
