// Token counts read from bytes the gateway relays without parsing: the last occurrence of a key and
// the digits after it, found with native lastIndexOf (a JSON.parse of every answer would cost µs per KB).

/** The integer at buf[i…] after spaces and ':', or -1 when no digit follows. */
function numberAt(buf: Buffer, i: number): number {
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x3a)) i++; // spaces and ':'
  let n = 0;
  let digits = 0;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

/** The integer after the last `key` (a quoted JSON key as bytes) in `buf`, or -1. */
export function numberAfter(buf: Buffer, key: Buffer): number {
  const at = buf.lastIndexOf(key);
  return at < 0 ? -1 : numberAt(buf, at + key.length);
}

/**
 * numberAfter for several keys at once, in one backward pass. Why: a key that is absent (OpenAI's
 * cache-write counts, usually) costs numberAfter a search of the whole buffer, and a usage read asks
 * for up to seven keys: four whole-buffer searches of a 5 KB answer per request (issue 14's profile).
 * Every key ends with the same `suffix` (`_tokens"`), so the suffix's occurrences are visited from
 * the end once, and each is checked against the keys not found yet: the first occurrence of a key met
 * this way is its last in the buffer, which is what numberAfter reads. A suffix occurrence ends at
 * most one key (keys start with a quote, and a quote cannot sit inside another key), and the suffix
 * cannot overlap itself, so no occurrence is missed or read twice.
 */
export class LastNumbers {
  private readonly keys: readonly Buffer[];
  private readonly suffix: Buffer;
  /** values[i]: numberAfter(buf, keys[i]) after scan(buf). Overwritten by the next scan: read it at once. */
  readonly values: Float64Array;
  private readonly found: Uint8Array;

  constructor(keys: readonly Buffer[], suffix: Buffer) {
    for (const k of keys) if (k.length < suffix.length || !k.subarray(k.length - suffix.length).equals(suffix)) throw new Error(`usage key ${k.toString()} does not end with ${suffix.toString()}`);
    this.keys = keys;
    this.suffix = suffix;
    this.values = new Float64Array(keys.length);
    this.found = new Uint8Array(keys.length);
  }

  /** `floor`: no key is looked for before this offset (where the last `"usage"` starts, say). */
  scan(buf: Buffer, floor = 0): Float64Array {
    const { keys, suffix, values, found } = this;
    values.fill(-1);
    found.fill(0);
    let left = keys.length;
    let from = buf.length - suffix.length;
    while (left > 0 && from >= floor) {
      const at = buf.lastIndexOf(suffix, from);
      if (at < floor) break;
      const end = at + suffix.length;
      for (let k = 0; k < keys.length; k++) {
        if (found[k] === 1) continue;
        const key = keys[k]!;
        const start = end - key.length;
        if (start >= 0 && sameBytes(buf, start, key, key.length - suffix.length)) {
          found[k] = 1;
          left--;
          values[k] = numberAt(buf, end);
          break;
        }
      }
      // lastIndexOf takes a negative offset as counted from the end: stop at the buffer's start.
      if (at === 0) break;
      from = at - 1;
    }
    return values;
  }
}

/** buf[start, start + n) equals key[0, n) (the rest of the key, its suffix, is known to match). */
function sameBytes(buf: Buffer, start: number, key: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[start + i] !== key[i]) return false;
  return true;
}
