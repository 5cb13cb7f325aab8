// Dashboard sessions, stateless: the cookie is `v1.<expiry>.<random id>.<HMAC>`, signed with a key
// derived from the admin key (Governance.derivedKey). Any request thread of any replica that has the
// same admin key can check it without shared state; changing the admin key ends every session. The
// CSRF token is an HMAC of the session id under a second derived key: a page on another origin can
// neither read it (no CORS on /ui) nor compute it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mg_session';
/** How long a login lasts: a working day. Logging out only clears the cookie (there is no server state to revoke). */
export const SESSION_TTL_S = 12 * 3600;

const SESSION_LABEL = 'ui-session-v1';
const CSRF_LABEL = 'ui-csrf-v1';

export interface SessionKeys {
  sign: Buffer;
  csrf: Buffer;
}

/** The two keys, from a deriver (Governance.derivedKey); null without an admin key. */
export function sessionKeys(derive: (label: string) => Buffer | null): SessionKeys | null {
  const sign = derive(SESSION_LABEL);
  const csrf = derive(CSRF_LABEL);
  return sign === null || csrf === null ? null : { sign, csrf };
}

const mac = (key: Buffer, text: string): string => createHmac('sha256', key).update(text).digest('base64url');

export interface Session {
  id: string;
  /** Unix seconds. */
  expires: number;
}

/** A new session's cookie value. */
export function issue(keys: SessionKeys, nowMs: number): { token: string; session: Session } {
  const session = { id: randomBytes(16).toString('base64url'), expires: Math.floor(nowMs / 1000) + SESSION_TTL_S };
  const body = `v1.${session.expires}.${session.id}`;
  return { token: `${body}.${mac(keys.sign, body)}`, session };
}

const TOKEN = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** The session a cookie value stands for, or null when it is malformed, forged or expired. */
export function verify(keys: SessionKeys, token: string, nowMs: number): Session | null {
  const m = TOKEN.exec(token);
  if (m === null) return null;
  const expected = Buffer.from(mac(keys.sign, `v1.${m[1]}.${m[2]}`));
  const given = Buffer.from(m[3]!);
  if (!timingSafeEqual(expected, given)) return null;
  const expires = Number(m[1]);
  return expires * 1000 > nowMs ? { id: m[2]!, expires } : null;
}

export function csrfToken(keys: SessionKeys, session: Session): string {
  return mac(keys.csrf, session.id);
}

/** Constant-time check of a presented CSRF token. */
export function csrfMatches(keys: SessionKeys, session: Session, presented: string): boolean {
  const expected = Buffer.from(csrfToken(keys, session));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(expected, given);
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string, name: string): string | null {
  if (header === '') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Set-Cookie for a session: HttpOnly, SameSite=Strict, Path=/, an expiry, Secure when the page came over https. */
export function sessionCookie(token: string, session: Session, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_S}; Expires=${new Date(session.expires * 1000).toUTCString()}${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session cookie (logout). */
export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${secure ? '; Secure' : ''}`;
}
