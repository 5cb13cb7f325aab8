// Ids the gateway hands out in place of a provider's own: where the object lives (provider and key)
// and whom it was made for (a virtual key), encrypted and authenticated with AES-256-GCM, as
// prefix + base64url(nonce ‖ ciphertext ‖ tag). Encrypted, not only signed: the provider's own id is
// what another tenant would need, so whoever holds a sealed id must not read it.
//
// Each kind of id has its own key (HKDF with the kind's name), so an id sealed as one kind never opens
// as another. A kind is `random` (a fresh nonce per seal: Responses ids) or `deterministic` (the nonce
// is an HMAC of the plaintext: the same object sealed twice gives the same id, which a client compares,
// as when it finds the file it uploaded in a batch's input_file_id). A deterministic seal reveals only
// that two ids are the same object, which the client may know anyway.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export interface SealedOrigin {
  /** The provider, and the name of its key, that made the object and store it. */
  readonly provider: string;
  readonly key: string;
  /** The virtual key it was made for ("" without governance). */
  readonly owner: string;
  /** The provider's own id. */
  readonly id: string;
}

const NONCE = 12;
const TAG = 16;

export class SealedIds {
  private readonly key: Buffer;
  private readonly macKey: Buffer | null;
  /** The current key, then those of the previous secrets: ids sealed before a rotation still open. */
  private readonly openKeys: readonly Buffer[];

  /**
   * `secret`: governance.idSecret, or the process's random one (config/compile.ts); never a credential.
   * `previous`: governance.previousIdSecrets, which open ids and seal none.
   */
  constructor(
    secret: Buffer,
    kind: string,
    readonly prefix: string,
    nonces: 'random' | 'deterministic',
    previous: readonly Buffer[] = [],
  ) {
    const keyOf = (s: Buffer): Buffer => Buffer.from(hkdfSync('sha256', s, 'microgate', kind, 32));
    this.key = keyOf(secret);
    this.openKeys = [this.key, ...previous.map(keyOf)];
    this.macKey = nonces === 'random' ? null : Buffer.from(hkdfSync('sha256', secret, 'microgate', `${kind} nonces`, 32));
  }

  seal(o: SealedOrigin): string {
    const plain = Buffer.from(JSON.stringify([o.provider, o.key, o.owner, o.id]));
    const nonce = this.macKey === null ? randomBytes(NONCE) : createHmac('sha256', this.macKey).update(plain).digest().subarray(0, NONCE);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return this.prefix + Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64url');
  }

  /**
   * The origin of an id this gateway handed out; null for an id that is not one (a provider's own);
   * 'forged' for one that looks like ours but does not open (altered, or sealed with another secret).
   */
  open(id: string): SealedOrigin | null | 'forged' {
    if (!id.startsWith(this.prefix)) return null;
    const text = id.slice(this.prefix.length);
    const raw = Buffer.from(text, 'base64url');
    // Node's decoder skips characters outside the alphabet: "<id>~" would open as "<id>". One object,
    // one id: only the exact encoding opens.
    if (raw.length <= NONCE + TAG || raw.toString('base64url') !== text) return 'forged';
    for (const key of this.openKeys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE));
        d.setAuthTag(raw.subarray(raw.length - TAG));
        const plain = Buffer.concat([d.update(raw.subarray(NONCE, raw.length - TAG)), d.final()]);
        const [provider, k, owner, original] = JSON.parse(plain.toString()) as unknown[];
        if (typeof provider === 'string' && typeof k === 'string' && typeof owner === 'string' && typeof original === 'string') return { provider, key: k, owner, id: original };
      } catch {
        // The tag did not match this key (final() throws), or a payload this code did not write.
      }
    }
    return 'forged';
  }
}
