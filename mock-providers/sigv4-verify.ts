// Verifies an AWS Signature V4 `Authorization` header the way AWS does (providers.md §3.4), by recomputing it with
// an implementation other than the gateway's: the AWS SDK's own signer, @smithy/signature-v4, over the request as
// it arrived (method, raw path, query, the signed headers' values, the exact body bytes, x-amz-date and
// x-amz-security-token), with the secret of the key id named in the credential scope.
//
// The canonical URI is the raw path URI-encoded AGAIN (`…v1%3A0…` → `…v1%253A0…`): the signer's default
// `uriEscapePath: true` does exactly that, so it is given the path as uWS received it (still encoded once).
// Messages and error types are AWS's (x-amzn-errortype InvalidSignatureException etc.; re:Post and issue threads
// quote them: higress #2396, aider #1986). The SDK modules load lazily, on the first Bedrock request: they are
// devDependencies, and src/main.ts bundles this mock as its zero-config provider.

import { createHash, timingSafeEqual } from 'node:crypto';

export interface SigV4Header {
  accessKeyId: string;
  /** YYYYMMDD of the credential scope. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface SignedRequest {
  method: string;
  /** The raw path, as the client sent it (its model id still URI-encoded once). */
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface AuthFailure {
  status: number;
  /** The x-amzn-errortype's name, which the SDK turns into the exception's `name`. */
  type: string;
  message: string;
  /** The coral namespace after the type in x-amzn-errortype. */
  namespace: string;
}

const CORAL = 'http://internal.amazon.com/coral/com.amazon.coral.service/';
const fail = (type: string, message: string, status = 403): AuthFailure => ({ status, type, message, namespace: CORAL });

/** AWS's answer when the recomputed signature differs (the SDK raises it as InvalidSignatureException). */
export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ' +
  'Consult the service documentation for details.';

const SCHEME = 'AWS4-HMAC-SHA256 ';
const FIELD = /(Credential|SignedHeaders|Signature)=([^,\s]+)/g;

/** `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=a;b, Signature=hex`,
 *  or null for anything else. Synchronous and cheap: the key id picks the per-key behaviour before the body arrives. */
export function parseSigV4(authorization: string | undefined): SigV4Header | null {
  if (authorization === undefined || !authorization.startsWith(SCHEME)) return null;
  const fields: Record<string, string> = {};
  for (const m of authorization.slice(SCHEME.length).matchAll(FIELD)) fields[m[1]!] = m[2]!;
  const scope = fields.Credential?.split('/');
  if (scope === undefined || scope.length !== 5 || scope[4] !== 'aws4_request' || !fields.SignedHeaders || !fields.Signature) return null;
  return {
    accessKeyId: scope[0]!,
    date: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: fields.SignedHeaders.split(';'),
    signature: fields.Signature,
  };
}

/** ISO 8601 basic (`20240101T120000Z`) as epoch ms, or NaN. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m === null ? NaN : Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

const amzDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

/** A request must reach AWS within five minutes of its x-amz-date (providers.md §3.4). */
const MAX_SKEW_MS = 5 * 60 * 1000;

type Signer = typeof import('@smithy/signature-v4').SignatureV4;
type HashCtor = typeof import('@smithy/hash-node').Hash;
let smithy: Promise<{ SignatureV4: Signer; Hash: HashCtor }> | null = null;

/** The signer and Node's sha256 for it, imported once. */
export function loadSigner(): Promise<{ SignatureV4: Signer; Hash: HashCtor }> {
  smithy ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]).then(([s, h]) => ({ SignatureV4: s.SignatureV4, Hash: h.Hash }));
  return smithy;
}

function queryObject(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Null when the signature is AWS's for this request with `secretOf(keyId)`; otherwise AWS's 403. The checks run
 * in the order AWS reports them: date present, not skewed, scoped to that day and to bedrock, a known key id,
 * then the signature itself.
 */
export async function verifySigV4(
  req: SignedRequest,
  auth: SigV4Header,
  secretOf: (accessKeyId: string) => string | null,
  now = Date.now(),
): Promise<AuthFailure | null> {
  const date = req.headers['x-amz-date'];
  if (date === undefined) return fail('IncompleteSignatureException', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const at = parseAmzDate(date);
  if (Number.isNaN(at)) return fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'. Got '${date}'.`);
  if (now - at > MAX_SKEW_MS) return fail('InvalidSignatureException', `Signature expired: ${date} is now earlier than ${amzDate(now - MAX_SKEW_MS)} (${amzDate(now)} - 5 min.)`);
  if (at - now > MAX_SKEW_MS) return fail('InvalidSignatureException', `Signature not yet current: ${date} is still later than ${amzDate(now + MAX_SKEW_MS)} (${amzDate(now)} + 5 min.)`);
  if (auth.date !== date.slice(0, 8)) {
    return fail('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${date.slice(0, 8)}', from '${date}'.`);
  }
  if (auth.service !== 'bedrock') return fail('InvalidSignatureException', "Credential should be scoped to correct service: 'bedrock'. ");
  const secret = secretOf(auth.accessKeyId);
  if (secret === null) return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');

  // The signer trusts a client-sent payload hash instead of hashing the body: check that it describes these bytes.
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== createHash('sha256').update(req.body).digest('hex')) {
    return fail('InvalidSignatureException', SIGNATURE_MISMATCH);
  }

  // Only the headers the client signed, with the values that arrived: any other header would change the list.
  const signed = new Set(auth.signedHeaders);
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const { SignatureV4, Hash } = await loadSigner();
  const token = signed.has('x-amz-security-token') ? req.headers['x-amz-security-token'] : undefined;
  const signer = new SignatureV4({
    service: 'bedrock',
    region: auth.region,
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: secret, sessionToken: token },
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: true, // the double encoding of the path (the default, spelled out)
    applyChecksum: false, // never add an x-amz-content-sha256 the client did not sign
  });
  const out = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: headers.host ?? '', path: req.path, query: queryObject(req.query), headers, body: req.body },
    { signingDate: new Date(at), signableHeaders: signed },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(String(out.headers.authorization))?.[1] ?? '';
  return sameHex(expected, auth.signature) ? null : fail('InvalidSignatureException', SIGNATURE_MISMATCH);
}
