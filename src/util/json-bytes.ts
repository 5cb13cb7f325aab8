// Byte-level JSON scanning shared by the scanners that never build a JS value: json-check.ts (is a
// provider's body JSON at all?) and json-splice.ts (edit one member of the client's body in place).

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Index of the first byte at or after i that is not JSON whitespace (RFC 8259 §2). */
export function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * Index just past the closing quote of the string opening at b[i] (a quote), or -1 when it never closes.
 * Jumps quote to quote with the native indexOf: string content is most of a chat body, and a JS loop over
 * every byte cost ~3 ns/byte (bench/micro.ts). A quote after an odd run of backslashes is escaped.
 */
export function skipString(b: Uint8Array, i: number): number {
  let from = i + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) return -1;
    let k = q - 1;
    while (b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

/**
 * Where the last `key` (a quoted JSON key, as bytes) at or before `from` whose value opens with `open`
 * (`{`, `[`) starts in `buf`, or -1. Spaces around the colon are allowed (`"usage": {`), and a key whose
 * value is something else (`"usage":null`, as some providers repeat in later chunks) is passed over.
 */
export function lastKeyOpening(buf: Buffer, key: Buffer, open: number, from = buf.length): number {
  let at = buf.lastIndexOf(key, from);
  while (at >= 0) {
    let i = skipWs(buf, at + key.length);
    if (buf[i] === 0x3a) {
      i = skipWs(buf, i + 1);
      if (buf[i] === open) return at;
    }
    if (at === 0) return -1;
    at = buf.lastIndexOf(key, at - 1);
  }
  return -1;
}
