// Response ids of a Responses API the provider stores (OpenAI's, passed through), as the gateway hands
// them out. A stored response lives in the account of the key that made it, and a client continues
// it by naming it (`previous_response_id`). Behind a gateway that balances keys, providers and
// tenants, the provider's own id falls short twice:
//   - the next turn may go to another key (another project: "Previous response not found"), or to
//     another provider;
//   - every virtual key shares the provider's account, so one tenant could continue (and read) another
//     tenant's conversation by its id.
// So the id a client sees carries where the response is stored and whom it was made for, encrypted
// and authenticated (util/sealed-ids.ts; a random nonce): "resp_mg" + base64url(nonce ‖ ciphertext ‖ tag).
// Encrypted, not only signed: a signed payload showed the provider's own id to whoever held the
// sealed one, and a raw id is what another tenant would need. OpenAI's ids are "resp_" and hex, so
// "resp_mg" can never be one of them. LiteLLM solves the first half the same way (its Responses ids
// encode the deployment); the owner is the gateway's own.
import { SealedIds, type SealedOrigin } from '../../util/sealed-ids.ts';
import { findTopLevelMember } from '../../util/json-splice.ts';

export type ResponseOrigin = SealedOrigin;

const PREFIX = 'resp_mg';

/** Responses ids: sealed with a fresh nonce each (util/sealed-ids.ts), as "resp_mg…". */
export class ResponseIds extends SealedIds {
  constructor(secret: Buffer, previous: readonly Buffer[] = []) {
    super(secret, 'response ids', PREFIX, 'random', previous);
  }
}

const ID_KEY = new TextEncoder().encode('id');
const DATA = Buffer.from('data:');
const RESPONSE_ID = /^resp_[A-Za-z0-9_-]{1,200}$/;

/**
 * The response's own id: the top-level `id` of a JSON answer, or `response.id` of a stream's first
 * event. Only there: an id-shaped string the client had echoed back (in `metadata`, say) is not one.
 */
export function responseIdIn(out: Buffer, stream: boolean): string | null {
  let id: unknown;
  if (stream) {
    // Only the first event's data line is decoded, not the whole batch.
    const at = out.indexOf(DATA);
    if (at < 0) return null;
    const end = out.indexOf(0x0a, at);
    try {
      id = (JSON.parse(out.toString('utf8', at + DATA.length, end < 0 ? out.length : end)) as { response?: { id?: unknown } }).response?.id;
    } catch {
      return null;
    }
  } else {
    const span = findTopLevelMember(out, ID_KEY);
    if (span === null) return null;
    try {
      id = JSON.parse(out.toString('utf8', span.valueStart, span.valueEnd));
    } catch {
      return null;
    }
  }
  return typeof id === 'string' && RESPONSE_ID.test(id) && !id.startsWith(PREFIX) ? id : null;
}

/** An id to swap in answers, as the quoted bytes looked for and the quoted bytes put in their place (swapId). */
export interface IdSwap {
  readonly from: Buffer;
  readonly to: Buffer;
}

/** The swap of `from` for `to`, built once per answer rather than per batch of events. */
export function idSwap(from: string, to: string): IdSwap {
  return { from: Buffer.from(`"${from}"`), to: Buffer.from(`"${to}"`) };
}

/** `buf` with every `"from"` (quoted, so only whole ids) replaced by `"to"`; `buf` itself when there is none. */
export function swapId(buf: Buffer, from: string, to: string): Buffer {
  return applySwap(buf, idSwap(from, to));
}

/** swapId with the swap built beforehand (an answer's stream applies one to every batch). */
export function applySwap(buf: Buffer, swap: IdSwap): Buffer {
  let at = buf.indexOf(swap.from);
  if (at < 0) return buf;
  const parts: Buffer[] = [];
  let start = 0;
  while (at >= 0) {
    parts.push(buf.subarray(start, at), swap.to);
    start = at + swap.from.length;
    at = buf.indexOf(swap.from, start);
  }
  parts.push(buf.subarray(start));
  return Buffer.concat(parts);
}
