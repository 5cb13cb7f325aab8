// /ui: the dashboard. Its files (built, held in memory: server/ui-assets.ts) under a strict
// Content-Security-Policy, and its session: POST /ui/login trades the admin key for a signed cookie
// (server/ui-session.ts), GET /ui/session tells the page whether it is logged in and gives it its
// CSRF token, POST /ui/logout clears the cookie. The pages call the admin API with that cookie
// (server/ui-auth.ts decides). Without an admin key the dashboard needs no login and, like the admin
// API, answers only on loopback.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { RuntimePlan } from '../plan/types.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { statusLine } from './respond.ts';
import { readSmallJson } from './small-json-body.ts';
import { findUiDir, loadAssets, type Asset } from './ui-assets.ts';
import { forwarded, fromLoopback, guessRefusal, keysOf, loopbackHost, originRefusal, peerAddress, sessionOf, viaHttps, wrongAdminKey } from './ui-auth.ts';
import { clearedCookie, csrfToken, issue, sessionCookie } from './ui-session.ts';

/** No inline script or style, nothing from anywhere else, never framed. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const MAX_LOGIN_BODY = 4 * 1024;

/** Headers of every /ui answer. Written after writeStatus (uWS sends 200 for a header written first). */
function writeUiHeaders(res: HttpResponse, cache: string): void {
  res
    .writeHeader('content-security-policy', CSP)
    .writeHeader('x-content-type-options', 'nosniff')
    .writeHeader('x-frame-options', 'DENY')
    .writeHeader('referrer-policy', 'no-referrer')
    .writeHeader('cross-origin-opener-policy', 'same-origin')
    .writeHeader('cross-origin-resource-policy', 'same-origin')
    .writeHeader('cache-control', cache);
}

function sendJson(res: HttpResponse, status: number, body: unknown, cookie: string | null = null, close = false, retryAfterMs: number | null = null): void {
  res.cork(() => {
    res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json');
    writeUiHeaders(res, 'no-store');
    if (cookie !== null) res.writeHeader('set-cookie', cookie);
    if (retryAfterMs !== null) res.writeHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
    res.end(JSON.stringify(body), close);
  });
}

const sendError = (res: HttpResponse, err: GatewayError, close = false): void => sendJson(res, err.status, err.toJSON(), null, close, err.retryAfterMs);

/** Without an admin key, the dashboard is for this machine only (see ui-auth.ts on DNS rebinding). */
function openRefusal(plan: RuntimePlan, res: HttpResponse, req: HttpRequest): GatewayError | null {
  if (plan.governance.hasAdminKey) return null;
  if (!fromLoopback(res) || forwarded(req)) return new GatewayError('permission_denied', 'Without governance.adminKey, the dashboard answers only on loopback, not through a proxy.');
  if (!loopbackHost(req.getHeader('host'))) return new GatewayError('permission_denied', 'Without governance.adminKey, open the dashboard as http://localhost or http://127.0.0.1.');
  return null;
}

export function mountUi(app: TemplatedApp, plan: () => RuntimePlan): void {
  let assets: Map<string, Asset> | null = null;
  let triedAt = -Infinity;
  /** Loaded on first use; when not built yet, looked for again at most every 5 s (a dev running the build). */
  const asset = (path: string): Asset | null | undefined => {
    if (assets === null || (assets.size === 0 && performance.now() - triedAt > 5_000)) {
      triedAt = performance.now();
      assets = loadAssets(findUiDir());
    }
    if (assets.size === 0) return null;
    return assets.get(path);
  };

  const serve = (res: HttpResponse, req: HttpRequest, path: string): void => {
    const refused = openRefusal(plan(), res, req);
    if (refused !== null) return sendError(res, refused);
    const a = asset(path);
    if (a === null) return sendError(res, new GatewayError('not_ready', 'The dashboard is not built: run `npm run build`.'));
    if (a === undefined) return sendError(res, new GatewayError('not_found', `No dashboard file ${path.slice(0, 100)}.`));
    res.writeStatus('200 OK').writeHeader('content-type', a.type);
    writeUiHeaders(res, path.endsWith('.html') ? 'no-store' : 'no-cache');
    res.end(a.body);
  };

  app
    .get('/ui', (res, req) => serve(res, req, '/ui/index.html'))
    .get('/ui/', (res, req) => serve(res, req, '/ui/index.html'))
    .get('/ui/session', (res, req) => {
      const p = plan();
      const refused = openRefusal(p, res, req);
      if (refused !== null) return sendError(res, refused);
      const keys = keysOf(p);
      if (keys === null) return sendJson(res, 200, { adminKeyRequired: false, authenticated: true, csrf: null, expiresAt: null });
      const session = sessionOf(keys, req);
      sendJson(res, 200, {
        adminKeyRequired: true,
        authenticated: session !== null,
        csrf: session === null ? null : csrfToken(keys, session),
        expiresAt: session === null ? null : new Date(session.expires * 1000).toISOString(),
      });
    })
    .post('/ui/login', (res, req) => {
      const p = plan();
      const keys = keysOf(p);
      const cross = originRefusal(req);
      const secure = viaHttps(res, req);
      const address = peerAddress(res);
      let gone = false;
      res.onAborted(() => (gone = true));
      // The body is read before answering, even a refusal: uWS would parse an unread body as the next request.
      readSmallJson(res, MAX_LOGIN_BODY, 'A login is a small JSON body: {"key": "<admin key>"}.', 'The body is not JSON: send {"key": "<admin key>"}.', ({ value, error, close }) => {
        if (gone) return;
        if (cross !== null) return sendError(res, cross, close);
        if (keys === null) return sendError(res, new GatewayError('invalid_request', 'No governance.adminKey is configured: the dashboard needs no login, on loopback.'), close);
        if (error !== null) return sendError(res, error, close);
        if (value === undefined) return sendError(res, new GatewayError('invalid_json', 'The body is empty: send {"key": "<admin key>"}.'));
        const key = (value as { key?: unknown } | null)?.key;
        const now = Date.now();
        const locked = guessRefusal(address, now);
        if (locked !== null) return sendError(res, locked);
        // The admin key is compared in constant time (Governance.isAdmin) and never echoed.
        if (typeof key !== 'string' || key === '' || !p.governance.isAdmin(`Bearer ${key}`)) {
          wrongAdminKey(address, now);
          return sendError(res, new GatewayError('invalid_api_key', 'Incorrect admin key.', { param: 'key' }));
        }
        const { token, session } = issue(keys, Date.now());
        sendJson(res, 200, { csrf: csrfToken(keys, session), expiresAt: new Date(session.expires * 1000).toISOString() }, sessionCookie(token, session, secure));
      });
    })
    .post('/ui/logout', (res, req) => {
      const cross = originRefusal(req);
      const secure = viaHttps(res, req);
      let gone = false;
      res.onAborted(() => (gone = true));
      // Whatever body comes is read and ignored (within the same cap as a login's).
      readSmallJson(res, MAX_LOGIN_BODY, '', '', ({ close }) => {
        if (gone) return;
        if (cross !== null) return sendError(res, cross, close);
        // Stateless sessions cannot be revoked one by one: the cookie is cleared (rotate the admin key to end them all).
        sendJson(res, 200, { loggedOut: true }, clearedCookie(secure), close);
      });
    })
    .get('/ui/*', (res, req) => serve(res, req, req.getUrl()));
}
