// GET /admin/config: the loaded config with every secret masked, and when it was loaded and how the
// last reload went (server/reload-status.ts). Masked: provider keys and AWS credentials, virtual key
// values, the admin key and the id secret, header values (all but a few known to be harmless: a vendor's header such as
// x-honeycomb-team carries a credential without saying so), URL passwords (Redis, OTLP), and any other
// string that contains one of those secrets.
import type { Config } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Route } from './admin-route.ts';
import { reloadStatus } from './reload-status.ts';

const MASK = '********';

/**
 * Fields that hold a secret wherever they appear (keys[].value, virtualKeys[].value, AWS credentials,
 * the admin key, the id secrets): any name ending in Secret, Secrets, Token or Password is one, so a field added
 * later is masked without being listed here. (`key` and `virtualKey` name a key; they hold no secret.)
 */
const SECRET_FIELD = /^value$|(?:secrets?|token|password|apiKey|adminKey|accessKey|accessKeyId)$/i;
/** Header names whose values are shown: versions, betas, organizations and projects, content negotiation. Others are masked. */
const PLAIN_HEADER = /^(?:[\w-]*-version|[\w-]*-beta|openai-organization|openai-project|content-type|accept|accept-language|user-agent)$/i;
/** scheme://user:password@ → the password. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)([^\s/@]+)(@)/gi;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The config as JSON with its secrets masked. */
export function maskConfig(config: Config): Json {
  const secrets = new Set<string>();
  const first = walk(config as unknown as Json, '', false, secrets);
  // Secrets short enough to hide inside ordinary words are not searched for elsewhere (their own field is masked).
  const known = [...secrets].filter((s) => s.length >= 8).sort((a, b) => b.length - a.length);
  return known.length === 0 ? first : scrub(first, known);
}

/** Masks by position (field and header names, URL passwords); collects what it masked. */
function walk(v: Json, name: string, inHeaders: boolean, secrets: Set<string>): Json {
  if (typeof v === 'string') {
    if (inHeaders ? !PLAIN_HEADER.test(name) : SECRET_FIELD.test(name)) {
      secrets.add(v);
      return MASK;
    }
    return v.replace(URL_PASSWORD, (_m, head: string, pw: string, at: string) => {
      secrets.add(decodeURIComponent(pw));
      secrets.add(pw);
      return `${head}${MASK}${at}`;
    });
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, name, false, secrets));
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x as Json, k, name === 'headers' && !Array.isArray(x), secrets);
    return out;
  }
  return v;
}

/** Replaces every occurrence of a known secret in any string (a key pasted into a URL or a header). */
function scrub(v: Json, known: readonly string[]): Json {
  if (typeof v === 'string') {
    let s = v;
    for (const k of known) if (s.includes(k)) s = s.split(k).join(MASK);
    return s;
  }
  if (Array.isArray(v)) return v.map((x) => scrub(x, known));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrub(k, known) as string, scrub(x as Json, known)]));
  return v;
}

/** A message that may quote the config (a reload's error): with the config's secrets masked. */
export function maskText(text: string, config: Config): string {
  const secrets = new Set<string>();
  walk(config as unknown as Json, '', false, secrets);
  let s = text.replace(URL_PASSWORD, (_m, head: string, _pw: string, at: string) => `${head}${MASK}${at}`);
  for (const k of [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) s = s.split(k).join(MASK);
  return s;
}

export function mountConfigView(route: Route, config: () => Config | null): void {
  route('get', '/admin/config', 0, async () => {
    const c = config();
    if (c === null) throw new GatewayError('not_ready', 'The loaded config is not known to this server (it was started without it).');
    const last = reloadStatus.lastReload;
    return [
      200,
      {
        config: maskConfig(c),
        reload: {
          loadedAt: new Date(reloadStatus.loadedAt).toISOString(),
          at: last === null ? null : new Date(last.at).toISOString(),
          outcome: last === null ? null : last.ok ? 'ok' : 'failed',
          error: last?.error == null ? null : maskText(last.error, c),
        },
      },
    ];
  });
}
