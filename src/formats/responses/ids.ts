// Response ids of a Responses API the provider stores (OpenAI's, passed through), as the gateway hands
// them out. A stored response lives in the account of the key that made it, and a client continues
// it by naming it (`previous_response_id`). Behind a gateway that balances keys, providers and
// tenants, the provider's own id falls short twice:
//   - the next turn may go to another key (another project: "Previous response not found"), or to
//     another provider;
//   - every virtual key shares the provider's account, so one tenant could continue (and read) another
//     tenant's conversation by its id.
// So the id a client sees carries where the response is stored and whom it was made for, signed:
// "resp_mg" + base64url(JSON [provider, key, owner, provider's id]) + a 22-character HMAC-SHA256 tag.
// OpenAI's ids are "resp_" and hex, so "resp_mg" can never be one of them. LiteLLM solves the first
// half the same way (its Responses ids encode the deployment); the owner is the gateway's own.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ResponseOrigin {
  /** The provider, and the name of its key, that made the response and store it. */
  readonly provider: string;
  readonly key: string;
  /** The virtual key it was made for ("" without governance). */
  readonly owner: string;
  /** The provider's own id. */
  readonly id: string;
}

const PREFIX = 'resp_mg';
const TAG_CHARS = 22; // 16 bytes of the HMAC, base64url

export class ResponseIds {
  constructor(private readonly secret: Buffer) {}

  seal(o: ResponseOrigin): string {
    const payload = Buffer.from(JSON.stringify([o.provider, o.key, o.owner, o.id])).toString('base64url');
    return PREFIX + payload + this.tag(payload);
  }

  /**
   * The origin of an id this gateway handed out; null for an id that is not one (a provider's own,
   * which goes on as it is); 'forged' for one that looks like ours but whose tag does not match (made
   * with another secret, or altered).
   */
  open(id: string): ResponseOrigin | null | 'forged' {
    if (!id.startsWith(PREFIX)) return null;
    const payload = id.slice(PREFIX.length, id.length - TAG_CHARS);
    const tag = Buffer.from(id.slice(id.length - TAG_CHARS));
    const want = Buffer.from(this.tag(payload));
    if (payload === '' || tag.length !== want.length || !timingSafeEqual(tag, want)) return 'forged';
    try {
      const [provider, key, owner, original] = JSON.parse(Buffer.from(payload, 'base64url').toString()) as unknown[];
      if (typeof provider === 'string' && typeof key === 'string' && typeof owner === 'string' && typeof original === 'string') return { provider, key, owner, id: original };
    } catch {
      // A valid tag over a payload this code did not write: another version's format.
    }
    return 'forged';
  }

  private tag(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, 16).toString('base64url');
  }
}

/** The first `"id":"resp_…"` of a Responses answer or stream batch (the response's own id comes first). */
export function responseIdIn(text: string): string | null {
  const m = /"id"\s*:\s*"(resp_[A-Za-z0-9_-]+)"/.exec(text);
  return m === null || m[1]!.startsWith(PREFIX) ? null : m[1]!;
}

/** `buf` with every `"from"` (quoted, so only whole ids) replaced by `"to"`; `buf` itself when there is none. */
export function swapId(buf: Buffer, from: string, to: string): Buffer {
  const needle = Buffer.from(`"${from}"`);
  let at = buf.indexOf(needle);
  if (at < 0) return buf;
  const replacement = Buffer.from(`"${to}"`);
  const parts: Buffer[] = [];
  let start = 0;
  while (at >= 0) {
    parts.push(buf.subarray(start, at), replacement);
    start = at + needle.length;
    at = buf.indexOf(needle, start);
  }
  parts.push(buf.subarray(start));
  return Buffer.concat(parts);
}
