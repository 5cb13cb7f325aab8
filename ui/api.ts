// Calls to the gateway, same origin only. The session cookie goes with every call by itself (it is
// HttpOnly: this script never sees it); changes carry the CSRF token GET /ui/session gave the page.

import { CSRF_HEADER } from '../src/server/csrf-header.ts';

let csrf: string | null = null;
let onLoggedOut: () => void = () => {};

export function setCsrf(token: string | null): void {
  csrf = token;
}

/** What to do when a call answers 401 (the session expired): show the login form. */
export function whenLoggedOut(f: () => void): void {
  onLoggedOut = f;
}

/** An error answer, in the gateway's (OpenAI's) shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a page shows for a failed call: the API's own message, or the error as text. */
export function errorText(err: unknown): string {
  return err instanceof ApiError ? err.message : String(err);
}

export interface Session {
  adminKeyRequired: boolean;
  authenticated: boolean;
  csrf: string | null;
  expiresAt: string | null;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== null) h[CSRF_HEADER] = csrf;
  return fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
}

async function read<T>(r: Response, quiet401 = false): Promise<T> {
  const text = await r.text();
  let data: unknown = text;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: /metrics, or a proxy's page
  }
  if (!r.ok) {
    const e = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (r.status === 401 && !quiet401) onLoggedOut();
    throw new ApiError(r.status, e?.code ?? `http_${r.status}`, e?.message ?? `HTTP ${r.status}`);
  }
  return data as T;
}

/**
 * A JSON call to the admin API (or the gateway's own routes). A 401 from /v1/* (the Routing page's
 * explain) is about the virtual key sent with it, not the dashboard's session: it does not log out.
 */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  return read<T>(await call(method, path, body, headers), path.startsWith('/v1/'));
}

export async function session(): Promise<Session> {
  return read<Session>(await call('GET', '/ui/session'));
}

export async function login(key: string): Promise<{ csrf: string }> {
  return read<{ csrf: string }>(await call('POST', '/ui/login', { key }), true);
}

export async function logout(): Promise<void> {
  await read(await call('POST', '/ui/logout', {}));
}

/** GET /metrics as text (Prometheus exposition format). */
export async function metrics(): Promise<string> {
  const r = await call('GET', '/metrics');
  if (!r.ok) return read<string>(r);
  return r.text();
}
