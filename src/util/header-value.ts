// Every value the gateway writes into a response header passes through here, so no client- or
// provider-chosen string can end a header line or start a new one (response splitting: a model named
// "x\r\nSet-Cookie: a=1" became a real header, and with "\r\n\r\n" a whole fake response).
//
// uWS writes header values as given, without checking them. RFC 9110 §5.5 allows visible ASCII,
// spaces and tabs (obs-text aside); anything else is percent-encoded here, and a value is capped so
// a 100 KB string cannot become 100 KB of response head.

/** Longest header value the gateway writes. */
export const MAX_HEADER_VALUE = 1024;

const UNSAFE = /[^\t\x20-\x7e]/;

/** `value` unchanged when it is safe and short (the common case: one regex test), else encoded and capped. */
export function headerSafe(value: string, max = MAX_HEADER_VALUE): string {
  if (value.length <= max && !UNSAFE.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c === 0x09 || (c >= 0x20 && c <= 0x7e && c !== 0x25)) out += ch;
    // '%' is encoded too on this path, so an encoded value reads back unambiguously. A lone
    // surrogate encodes as U+FFFD (Buffer's UTF-8 encoder replaces it).
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
    if (out.length >= max) return out.slice(0, max);
  }
  return out;
}
