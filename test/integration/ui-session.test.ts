// The dashboard's stateless session tokens (src/server/ui-session.ts): what verifies, what does not.
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { cookieValue, csrfMatches, csrfToken, issue, SESSION_TTL_S, sessionCookie, sessionKeys, verify } from '../../src/server/ui-session.ts';

const keysFor = (secret: string) => sessionKeys((label) => createHmac('sha256', secret).update(label).digest())!;
const keys = keysFor('admin-one');
const NOW = Date.parse('2026-06-01T12:00:00Z');

describe('ui sessions', () => {
  it('a token verifies until it expires, under the key that signed it only', () => {
    const { token, session } = issue(keys, NOW);
    expect(verify(keys, token, NOW)).toEqual(session);
    expect(verify(keys, token, NOW + (SESSION_TTL_S - 1) * 1000)).toEqual(session);
    expect(verify(keys, token, NOW + SESSION_TTL_S * 1000)).toBeNull();
    // Another admin key (rotated): every session ends.
    expect(verify(keysFor('admin-two'), token, NOW)).toBeNull();
  });

  it('a changed expiry, id or signature, or garbage, is no session', () => {
    const { token } = issue(keys, NOW);
    const [v, exp, id, mac] = token.split('.') as [string, string, string, string];
    expect(verify(keys, [v, String(Number(exp) + 3600), id, mac].join('.'), NOW)).toBeNull();
    expect(verify(keys, [v, exp, `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`, mac].join('.'), NOW)).toBeNull();
    expect(verify(keys, [v, exp, id, `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`].join('.'), NOW)).toBeNull();
    for (const junk of ['', 'v1', 'v1...', `v2.${exp}.${id}.${mac}`, `${token}.x`]) expect(verify(keys, junk, NOW)).toBeNull();
  });

  it('the CSRF token belongs to one session', () => {
    const a = issue(keys, NOW).session;
    const b = issue(keys, NOW).session;
    expect(csrfMatches(keys, a, csrfToken(keys, a))).toBe(true);
    expect(csrfMatches(keys, a, csrfToken(keys, b))).toBe(false);
    expect(csrfMatches(keys, a, '')).toBe(false);
  });

  it('cookies: read by name, written HttpOnly, SameSite=Strict, with an expiry', () => {
    expect(cookieValue('a=1; mg_session=v1.x; b=2', 'mg_session')).toBe('v1.x');
    expect(cookieValue('xmg_session=1', 'mg_session')).toBeNull();
    const { token, session } = issue(keys, NOW);
    const c = sessionCookie(token, session, true);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain(`Expires=${new Date(session.expires * 1000).toUTCString()}`);
    expect(c).toContain('; Secure');
  });
});
