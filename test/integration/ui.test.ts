// The dashboard's server side: /ui under a strict CSP, login and the stateless session cookie, CSRF and
// Origin checks on changes, loopback-only without an admin key, the masked config, and the request
// log read back through /admin/requests. Behaviour only, never timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { rawHttp } from '../helpers/raw-http.ts';
import { maskConfig } from '../../src/server/admin-config.ts';
import { setReloadStatus } from '../../src/server/reload-status.ts';

const ADMIN = 'admin-key-UI-0123456789abcdefghij';
const PROVIDER_KEY = 'sk-ui-SECRET-provider-key-0123456789';
const HEADER_SECRET = 'hdr-SECRET-value-0123456789';
const VK = 'vk-value-ui-SECRET-0123456789abcdef';
const AWS_ID = 'AKIAUISECRET01234567';
const AWS_SECRET = 'aws-SECRET-access-key-0123456789abcdef';

let mock: MockHandle;
const gateways: Gateway[] = [];

/** A gateway on loopback (startGateway hands the config to the server, for /admin/config). */
async function boot(input: ConfigInput, host = '127.0.0.1'): Promise<Gateway> {
  const config = validateConfig(input, {});
  const gw = await startGateway(config, { host, port: 0 });
  gateways.push(gw);
  return gw;
}

function withAdmin(logDir: string): ConfigInput {
  return {
    version: 1,
    providers: {
      p: { baseUrl: mock.baseUrl, keys: [{ name: 'good', value: PROVIDER_KEY }], models: ['m'], pricing: { m: { input: 2, output: 8 } }, headers: { 'x-api-key': HEADER_SECRET, 'anthropic-version': '2023-06-01' } },
      broken: { baseUrl: mock.baseUrl, keys: [{ name: 'bad', value: `${PROVIDER_KEY}-bad` }] },
      bedrock: { type: 'bedrock', region: 'us-east-1', keys: [{ name: 'aws', accessKeyId: AWS_ID, secretAccessKey: AWS_SECRET }] },
    },
    governance: { adminKey: ADMIN, db: join(mkdtempSync(join(tmpdir(), 'mg-ui-db-')), 'gov.db'), virtualKeys: [{ id: 'vk-config', value: VK }] },
    telemetry: { log: { dir: logDir } },
  };
}

let gw: Gateway;
let logDir: string;

beforeAll(async () => {
  mock = await startMock({ name: 'mock', keys: { [`${PROVIDER_KEY}-bad`]: { status: 401 } } }, { port: 0 });
  logDir = mkdtempSync(join(tmpdir(), 'mg-ui-logs-'));
  gw = await boot(withAdmin(logDir));
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await mock.close();
});

type Headers = Record<string, string>;
async function call(method: string, path: string, headers: Headers = {}, body?: unknown, base = gw.url) {
  const r = await request(`${base}${path}`, { method: method as 'GET', headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.body.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

const setCookie = (h: Record<string, string | string[] | undefined>): string => {
  const v = h['set-cookie'];
  return Array.isArray(v) ? v.join('\n') : (v ?? '');
};

async function login(): Promise<{ cookie: string; csrf: string }> {
  const r = await call('POST', '/ui/login', {}, { key: ADMIN });
  expect(r.status).toBe(200);
  const cookie = /mg_session=[^;]+/.exec(setCookie(r.headers))![0];
  return { cookie, csrf: r.json.csrf as string };
}

describe('/ui', () => {
  it('serves the built page, script and styles with their types and a strict CSP', async () => {
    for (const path of ['/ui', '/ui/']) {
      const r = await call('GET', path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      // Every script is a file of this origin: no inline code, no other host.
      for (const m of r.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
        expect(m[1]).toMatch(/src="\/ui\/[\w.-]+\.js"/);
        expect(m[2]!.trim()).toBe('');
      }
      expect(r.text).not.toMatch(/https?:\/\//);
    }
    const js = await call('GET', '/ui/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toBeDefined();
    const css = await call('GET', '/ui/app.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const missing = await call('GET', '/ui/nothing.js');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('not_found');
  });

  it('login: a wrong key is a 401 in the OpenAI shape with no cookie; the right one sets an HttpOnly, SameSite=Strict session', async () => {
    const bad = await call('POST', '/ui/login', {}, { key: 'not-the-admin-key' });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: 'key', code: 'invalid_api_key' } });
    expect(bad.headers['set-cookie']).toBeUndefined();
    const notJson = await call('POST', '/ui/login', { 'content-type': 'application/json' }, undefined);
    expect(notJson.status).toBe(400);

    const ok = await call('POST', '/ui/login', {}, { key: ADMIN });
    expect(ok.status).toBe(200);
    const c = setCookie(ok.headers);
    expect(c).toMatch(/^mg_session=v1\./);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain('Path=/');
    expect(c).toMatch(/Max-Age=\d+/);
    expect(c).not.toContain('Secure');
    expect(ok.text).not.toContain(ADMIN);
    expect(c).not.toContain(ADMIN);

    // Behind a TLS-terminating proxy on this host, the cookie is Secure.
    const tls = await call('POST', '/ui/login', { 'x-forwarded-proto': 'https' }, { key: ADMIN });
    expect(setCookie(tls.headers)).toContain('; Secure');

    const { cookie, csrf } = await login();
    const s = await call('GET', '/ui/session', { cookie });
    expect(s.json).toMatchObject({ adminKeyRequired: true, authenticated: true, csrf });
    const anon = await call('GET', '/ui/session');
    expect(anon.json).toMatchObject({ adminKeyRequired: true, authenticated: false, csrf: null });
  });

  it('small bodies: a login over 4 KiB or an admin body over 64 KiB → 413; one that never ends → 413 and the connection closed', async () => {
    const big = await call('POST', '/ui/login', {}, { key: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('request_too_large');
    const admin = await call('POST', '/admin/virtual-keys', { authorization: `Bearer ${ADMIN}` }, { id: 'big', name: 'x'.repeat(70_000) });
    expect(admin.status).toBe(413);
    const notJson = await request(`${gw.url}/admin/virtual-keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{"id":' });
    expect(notJson.statusCode).toBe(400);
    expect((JSON.parse(await notJson.body.text()) as { error: { code: string } }).error.code).toBe('invalid_json');
    // JSON null is not an empty body: it is refused, not taken for {} (which would make a key with defaults).
    const nullBody = await request(`${gw.url}/admin/virtual-keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: 'null' });
    expect(nullBody.statusCode).toBe(400);
    await nullBody.body.text();
    // A chunked login that keeps coming: answered once it passes 16 × 4 KiB, not read for as long as it lasts.
    const piece = `${(1024).toString(16)}\r\n${'a'.repeat(1024)}\r\n`;
    const head = 'POST /ui/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const got = await rawHttp(Number(new URL(gw.url).port), [head, ...Array.from({ length: 100 }, () => piece)], { waitMs: 3000 });
    expect(got.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(got.closed).toBe(true);
  });

  it('the cookie reads the admin API; changes need the CSRF header and this host as Origin; Bearer works as before', async () => {
    const { cookie, csrf } = await login();
    expect((await call('GET', '/admin/virtual-keys', { cookie })).status).toBe(200);
    expect((await call('GET', '/admin/stats', { cookie })).status).toBe(200);

    const made = await call('POST', '/admin/virtual-keys', { cookie, 'x-microgate-csrf': csrf, origin: gw.url }, { name: 'from the dashboard' });
    expect(made.status).toBe(201);
    expect(made.json.value).toMatch(/^mgk-/);
    // Shown once: the list never carries it.
    const list = await call('GET', '/admin/virtual-keys', { cookie });
    expect(list.text).not.toContain(made.json.value);

    const noCsrf = await call('POST', '/admin/virtual-keys', { cookie }, { name: 'forged' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.json.error.code).toBe('permission_denied');
    const wrongCsrf = await call('POST', '/admin/virtual-keys', { cookie, 'x-microgate-csrf': `${csrf.slice(0, -2)}xx` }, { name: 'forged' });
    expect(wrongCsrf.status).toBe(403);
    const crossSite = await call('POST', '/admin/virtual-keys', { cookie, 'x-microgate-csrf': csrf, origin: 'https://evil.example' }, { name: 'forged' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json.error.code).toBe('permission_denied');
    const del = await call('DELETE', `/admin/virtual-keys/${made.json.id}`, { cookie });
    expect(del.status).toBe(403);
    // /admin/stats/reset is a change too.
    expect((await call('POST', '/admin/stats/reset', { cookie })).status).toBe(403);

    // A forged or tampered cookie is no session.
    const tampered = cookie.replace(/\.(\d+)\./, (_m, n: string) => `.${Number(n) + 1000}.`);
    expect((await call('GET', '/admin/virtual-keys', { cookie: tampered })).status).toBe(401);
    expect((await call('GET', '/admin/virtual-keys', { cookie: 'mg_session=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43) })).status).toBe(401);

    // Scripts: the admin key as before, no CSRF header needed.
    const bearer = await call('DELETE', `/admin/virtual-keys/${made.json.id}`, { authorization: `Bearer ${ADMIN}` });
    expect(bearer.status).toBe(200);
    expect((await call('GET', '/admin/virtual-keys', { authorization: 'Bearer wrong' })).status).toBe(401);

    const out = await call('POST', '/ui/logout', { cookie, origin: gw.url }, {});
    expect(out.status).toBe(200);
    expect(setCookie(out.headers)).toMatch(/^mg_session=;.*Max-Age=0/);
  });

  it('/admin/config masks every secret and says how the last reload went', async () => {
    const { cookie } = await login();
    setReloadStatus({ loadedAt: Date.parse('2026-01-01T00:00:00Z'), lastReload: null });
    const r = await call('GET', '/admin/config', { cookie });
    expect(r.status).toBe(200);
    for (const secret of [ADMIN, PROVIDER_KEY, HEADER_SECRET, VK, AWS_ID, AWS_SECRET]) expect(r.text).not.toContain(secret);
    expect(r.json.config.providers.p.keys[0]).toEqual({ name: 'good', value: '********', weight: 1 });
    expect(r.json.config.providers.p.headers).toEqual({ 'x-api-key': '********', 'anthropic-version': '2023-06-01' });
    expect(r.json.config.governance.adminKey).toBe('********');
    expect(r.json.reload).toEqual({ loadedAt: '2026-01-01T00:00:00.000Z', at: null, outcome: null, error: null });

    setReloadStatus({ loadedAt: Date.parse('2026-01-01T00:00:00Z'), lastReload: { at: Date.parse('2026-01-01T01:00:00Z'), ok: false, error: `providers.p.keys[0]: rejected ${PROVIDER_KEY}` } });
    const after = await call('GET', '/admin/config', { cookie });
    expect(after.json.reload).toMatchObject({ at: '2026-01-01T01:00:00.000Z', outcome: 'failed' });
    expect(after.text).not.toContain(PROVIDER_KEY);
    expect((await call('GET', '/admin/config')).status).toBe(401);
  });

  it('masks URL passwords (Redis, OTLP), credential headers and secrets repeated elsewhere', () => {
    const c = validateConfig(
      {
        version: 1,
        providers: { p: { baseUrl: 'http://127.0.0.1:1', keys: [{ name: 'k', value: PROVIDER_KEY }], headers: { Authorization: `Bearer ${PROVIDER_KEY}`, 'x-trace': `t-${PROVIDER_KEY}` } } },
        governance: { adminKey: ADMIN, idSecret: 'id-SECRET-encrypts-response-ids-0123', previousIdSecrets: ['old-id-SECRET-retired-yesterday-0123'], store: { redis: 'redis://user:redis-SECRET-pw@10.0.0.1:6379/0' } },
        telemetry: { otlp: { endpoint: 'http://otel:otlp-SECRET-pw@127.0.0.1:4318', headers: { 'x-honeycomb-team': HEADER_SECRET } } },
      },
      {},
    );
    const text = JSON.stringify(maskConfig(c));
    for (const secret of [ADMIN, PROVIDER_KEY, 'redis-SECRET-pw', 'otlp-SECRET-pw', HEADER_SECRET, 'id-SECRET-encrypts-response-ids-0123', 'old-id-SECRET-retired-yesterday-0123']) expect(text).not.toContain(secret);
    expect(text).toContain('redis://user:********@10.0.0.1:6379/0');
  });

  it('/admin/requests reads the request log written by real requests, with filters and one request in detail', async () => {
    const send = async (model: string) => {
      const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${VK}` }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }) });
      await r.body.text();
      return r.statusCode;
    };
    for (let i = 0; i < 6; i++) expect(await send('p/m')).toBe(200);
    for (let i = 0; i < 3; i++) expect(await send('broken/x')).toBe(502);
    await gw.server.telemetry.flush(5_000);
    const auth = { authorization: `Bearer ${ADMIN}` };

    const all = await call('GET', '/admin/requests', auth);
    expect(all.status).toBe(200);
    expect(all.json.data).toHaveLength(9);
    expect(all.json.truncated).toBe(false);
    // Newest first.
    const times = (all.json.data as Array<{ time: string }>).map((l) => Date.parse(l.time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const failed = await call('GET', '/admin/requests?status=5xx', auth);
    expect(failed.json.data).toHaveLength(3);
    expect(failed.json.data.every((l: { status: number }) => l.status === 502)).toBe(true);
    expect((await call('GET', '/admin/requests?status=2xx&provider=p&model=m&key=good&virtualKey=vk-config&since=1h', auth)).json.data).toHaveLength(6);
    expect((await call('GET', '/admin/requests?provider=broken', auth)).json.data).toHaveLength(3);
    expect((await call('GET', '/admin/requests?key=bad&error=upstream_auth_failed', auth)).json.data).toHaveLength(3);
    expect((await call('GET', '/admin/requests?rule=none', auth)).json.data).toHaveLength(0);
    expect((await call('GET', '/admin/requests?until=2000-01-01T00:00:00Z', auth)).json.data).toHaveLength(0);
    expect((await call('GET', '/admin/requests?limit=2', auth)).json.data).toHaveLength(2);
    for (const bad of ['0x10', '1e3', '-1', '2.5']) expect((await call('GET', `/admin/requests?limit=${bad}`, auth)).status, bad).toBe(400);

    const badStatus = await call('GET', '/admin/requests?status=teapot', auth);
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.error).toMatchObject({ code: 'invalid_parameter', param: 'status' });
    expect((await call('GET', '/admin/requests?since=yesterday', auth)).json.error.param).toBe('since');

    const one = failed.json.data[0] as { id: string };
    const detail = await call('GET', `/admin/requests/${one.id}`, auth);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({ id: one.id, status: 502, requestedModel: 'broken/x' });
    expect(detail.json.attempts[0]).toMatchObject({ provider: 'broken', key: 'bad', status: 401 });
    expect((await call('GET', '/admin/requests/mg-no-such-id', auth)).status).toBe(404);
    // Neither the provider keys nor the virtual key's value are in the log or the answers.
    expect(all.text + detail.text).not.toContain(PROVIDER_KEY);
    expect(all.text + detail.text).not.toContain(VK);
    expect((await call('GET', '/admin/requests')).status).toBe(401);
  });
});

describe('/ui without an admin key', () => {
  let open: Gateway;
  beforeAll(async () => {
    open = await boot({ version: 1, providers: { p: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: PROVIDER_KEY }] } }, governance: { db: join(mkdtempSync(join(tmpdir(), 'mg-ui-db-')), 'gov.db') } }, '0.0.0.0');
  });
  const local = () => open.url.replace('0.0.0.0', '127.0.0.1');

  it('answers on loopback with no login, and refuses another Host or a cross-site change', async () => {
    expect((await call('GET', '/ui', {}, undefined, local())).status).toBe(200);
    const s = await call('GET', '/ui/session', {}, undefined, local());
    expect(s.json).toMatchObject({ adminKeyRequired: false, authenticated: true });
    expect((await call('POST', '/ui/login', {}, { key: 'anything' }, local())).status).toBe(400);
    expect((await call('POST', '/admin/virtual-keys', { origin: local() }, { id: 'vk-open' }, local())).status).toBe(201);
    const cross = await call('POST', '/admin/virtual-keys', { origin: 'https://evil.example' }, { id: 'vk-evil' }, local());
    expect(cross.status).toBe(403);
    // A name that resolves here but is not a loopback name (DNS rebinding) does not get the page.
    const rebound = await call('GET', '/ui', { host: 'evil.example' }, undefined, local());
    expect(rebound.status).toBe(403);
    expect(rebound.json.error.code).toBe('permission_denied');
    // Nor the admin API, whose GETs from a rebound page carry no Origin or Sec-Fetch-* over plain http.
    for (const path of ['/admin/requests', '/admin/config', '/admin/virtual-keys']) {
      const read = await call('GET', path, { host: 'evil.example:8080' }, undefined, local());
      expect(read.status).toBe(403);
      expect(read.json.error.code).toBe('permission_denied');
    }
    // A reverse proxy on this host makes every client a loopback peer: what it forwards is refused.
    for (const [name, value] of [['x-forwarded-for', '203.0.113.9'], ['forwarded', 'for=203.0.113.9'], ['x-real-ip', '203.0.113.9']] as const) {
      for (const path of ['/ui', '/admin/virtual-keys']) {
        const proxied = await call('GET', path, { [name]: value }, undefined, local());
        expect(proxied.status).toBe(403);
        expect(proxied.json.error.code).toBe('permission_denied');
      }
    }
  });

  it('refuses a peer that is not on loopback', async () => {
    const ip = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (ip === undefined) return; // no other interface on this machine: nothing to test from
    const url = open.url.replace('0.0.0.0', ip);
    for (const path of ['/ui', '/ui/session', '/admin/virtual-keys']) {
      const r = await call('GET', path, {}, undefined, url);
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('permission_denied');
    }
  });
});

// Last in this file: the lock-out holds for a minute for every loopback caller of this process.
describe('guessing the admin key', () => {
  it('ten wrong keys from one address lock it out for a minute (429, Retry-After), the right key included, for logins and Bearer alike', async () => {
    // Earlier tests of this file made a wrong try or two in this window: at most ten 401s, then 429s only.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push(i % 2 === 0 ? (await call('POST', '/ui/login', {}, { key: `guess-${i}` })).status : (await call('GET', '/admin/requests', { authorization: `Bearer guess-${i}` })).status);
    const first = statuses.indexOf(429);
    expect(first).toBeGreaterThan(0);
    expect(statuses.slice(0, first).every((st) => st === 401)).toBe(true);
    expect(statuses.slice(first).every((st) => st === 429)).toBe(true);
    expect(first).toBeLessThanOrEqual(10);
    const locked = await call('POST', '/ui/login', {}, { key: ADMIN });
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe('rate_limit_exceeded');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(50);
    expect((await call('GET', '/admin/requests', { authorization: `Bearer ${ADMIN}` })).status).toBe(429);
  });

  it('an admin key shorter than 16 characters is refused at load', () => {
    expect(() => validateConfig({ version: 1, providers: { p: { baseUrl: mock.baseUrl, keys: [{ name: 'k', value: PROVIDER_KEY }] } }, governance: { adminKey: 'short-key' } }, {})).toThrow(/governance\.adminKey: must be at least 16 characters/);
  });
});
