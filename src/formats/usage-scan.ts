// Token counts read from bytes the gateway relays without parsing: the last occurrence of a key and
// the digits after it, found with native lastIndexOf (a JSON.parse of every answer would cost µs per KB).

/** The integer after the last `key` (a quoted JSON key as bytes) in `buf`, or -1. */
export function numberAfter(buf: Buffer, key: Buffer): number {
  const at = buf.lastIndexOf(key);
  if (at < 0) return -1;
  let i = at + key.length;
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
