// Edits one top-level member of a JSON object without re-serializing the rest.
//
// Why: the gateway forwards the client's body as bytes. Re-serializing a parsed body costs a few µs
// per KB and changes it (number formatting, precision of 64-bit integers such as `seed`, key order).
// The common edit is rewriting `model` ("openai/gpt-4o" → "gpt-4o"), so we locate that member's value
// in the raw bytes and splice. The input has already passed JSON.parse, so the scanner can assume
// valid JSON; anything it does not recognise (an escaped key, say) returns null and the caller falls
// back to JSON.stringify of the parsed body.

import { BACKSLASH, QUOTE, skipString, skipWs } from './json-bytes.ts';

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Index just past the value starting at b[i]. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i]!;
      if (d === QUOTE) {
        i = skipString(b, i);
        if (i < 0) return -1;
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // number, true, false, null
  while (i < b.length) {
    const d = b[i]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    i++;
  }
  return i;
}

function keyEquals(b: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  // start/end bound the key's characters, without quotes.
  if (end - start !== key.length) return false;
  for (let j = 0; j < key.length; j++) if (b[start + j] !== key[j]) return false;
  return true;
}

export interface MemberSpan {
  /** First byte of the member's key (its opening quote). */
  keyStart: number;
  /** First byte of the value. */
  valueStart: number;
  /** One past the value's last byte. */
  valueEnd: number;
}

const decoder = new TextDecoder();

/** Whether the key b[start, end) (quotes included) contains an escape and decodes to `key`. */
function escapedKeyEquals(b: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  let escaped = false;
  for (let j = start + 1; j < end - 1; j++) if (b[j] === BACKSLASH) escaped = true;
  return escaped && JSON.parse(decoder.decode(b.subarray(start, end))) === decoder.decode(key);
}

/**
 * Finds a top-level member by key (ASCII keys without escapes). Returns null when the key occurs more
 * than once, including spelled with escapes: JSON.parse keeps the last duplicate, an upstream parser
 * may keep the first, so splicing one copy could route one model and send another.
 * `unique`: the caller knows the object has exactly one member of that name, in any spelling (parse
 * counted them: countTopLevelKey), so the first plain match is the one and the members after it need
 * not be read. On bodies that write `model` first, that skips the walk over `messages` (issue 14).
 */
export function findTopLevelMember(b: Uint8Array, key: Uint8Array, unique = false): MemberSpan | null {
  let i = skipWs(b, 0);
  if (b[i] !== LBRACE) return null;
  i = skipWs(b, i + 1);
  if (b[i] === RBRACE) return null;
  let found: MemberSpan | null = null;
  while (i < b.length) {
    if (b[i] !== QUOTE) return null;
    const keyStart = i;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return null;
    i = skipWs(b, keyEnd);
    if (b[i] !== COLON) return null;
    const valueStart = skipWs(b, i + 1);
    const valueEnd = skipValue(b, valueStart);
    if (valueEnd < 0) return null;
    if (escapedKeyEquals(b, keyStart, keyEnd, key)) return null;
    if (keyEquals(b, keyStart + 1, keyEnd - 1, key)) {
      if (found !== null) return null;
      found = { keyStart, valueStart, valueEnd };
      if (unique) return found;
    }
    i = skipWs(b, valueEnd);
    if (b[i] === COMMA) i = skipWs(b, i + 1);
    else return b[i] === RBRACE ? found : null;
  }
  return null;
}

/**
 * How many top-level members of the object in `b` are named `key`, escaped spellings included, or
 * -1 when the bytes are not a shape the scanner handles. `needle` is `"key"` as bytes. The common
 * case costs about one native pass: the key's quoted form occurs at most once and no `\u` escape
 * exists, so no second member can be named `key` (an escape is the only way to spell a key differently).
 */
export function countTopLevelKey(b: Buffer, key: Uint8Array, needle: Uint8Array): number {
  // lastIndexOf from the end and indexOf from the start meet at the one occurrence: about one pass.
  // A body without any backslash (memchr) cannot hold an escape.
  const first = b.indexOf(needle);
  const last = first < 0 ? -1 : b.lastIndexOf(needle);
  if (first === last && (b.indexOf(BACKSLASH) < 0 || b.indexOf(BACKSLASH_U) < 0)) return first < 0 ? 0 : 1;
  let i = skipWs(b, 0);
  if (b[i] !== LBRACE) return -1;
  i = skipWs(b, i + 1);
  if (b[i] === RBRACE) return 0;
  let n = 0;
  while (i < b.length) {
    if (b[i] !== QUOTE) return -1;
    const keyStart = i;
    const keyEnd = skipString(b, i);
    if (keyEnd < 0) return -1;
    i = skipWs(b, keyEnd);
    if (b[i] !== COLON) return -1;
    const valueEnd = skipValue(b, skipWs(b, i + 1));
    if (valueEnd < 0) return -1;
    if (keyEquals(b, keyStart + 1, keyEnd - 1, key) || escapedKeyEquals(b, keyStart, keyEnd, key)) n++;
    i = skipWs(b, valueEnd);
    if (b[i] === COMMA) i = skipWs(b, i + 1);
    else return b[i] === RBRACE ? n : -1;
  }
  return -1;
}

const BACKSLASH_U = Buffer.from('\\u');

const encoder = new TextEncoder();
const encodedKeys = new Map<string, Uint8Array>();

/**
 * Returns a copy of `body` with the top-level member `key` set to `jsonValue` (already serialized),
 * or null when the member is absent or the bytes are not in a shape the scanner handles. `unique`:
 * see findTopLevelMember.
 */
export function replaceTopLevelValue(body: Buffer, key: string, jsonValue: string, unique = false): Buffer | null {
  let k = encodedKeys.get(key);
  if (k === undefined) encodedKeys.set(key, (k = encoder.encode(key)));
  const span = findTopLevelMember(body, k, unique);
  if (span === null) return null;
  // The value is encoded straight into its place: a Buffer of it first cost a pool slice and a copy.
  const valueLength = Buffer.byteLength(jsonValue, 'utf8');
  const out = Buffer.allocUnsafe(body.length - (span.valueEnd - span.valueStart) + valueLength);
  body.copy(out, 0, 0, span.valueStart);
  out.write(jsonValue, span.valueStart, valueLength, 'utf8');
  body.copy(out, span.valueStart + valueLength, span.valueEnd);
  return out;
}

/**
 * Returns a copy of `body` without the top-level member `key` (and the comma that joined it), or
 * null when it is absent or the scanner cannot be sure (duplicates, escaped keys).
 */
export function removeTopLevelMember(body: Buffer, key: string): Buffer | null {
  let k = encodedKeys.get(key);
  if (k === undefined) encodedKeys.set(key, (k = encoder.encode(key)));
  const span = findTopLevelMember(body, k);
  if (span === null) return null;
  let start = span.keyStart;
  let end = skipWs(body, span.valueEnd);
  if (body[end] === COMMA) {
    end = skipWs(body, end + 1); // a member follows: drop "key": value,
  } else {
    // the last member: drop the comma before it instead
    let i = start - 1;
    while (i > 0 && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i--;
    if (body[i] === COMMA) start = i;
  }
  return Buffer.concat([body.subarray(0, start), body.subarray(end)]);
}

/**
 * Returns a copy of `body` (a JSON object) with the member `key` added first, or null when `body`
 * does not start with an object. The caller knows the key is absent.
 */
export function insertTopLevelMember(body: Buffer, key: string, jsonValue: string): Buffer | null {
  const at = skipWs(body, 0);
  if (body[at] !== LBRACE) return null;
  const empty = body[skipWs(body, at + 1)] === RBRACE;
  const member = Buffer.from(`${JSON.stringify(key)}:${jsonValue}${empty ? '' : ','}`);
  return Buffer.concat([body.subarray(0, at + 1), member, body.subarray(at + 1)]);
}
