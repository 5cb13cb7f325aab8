// Is a provider's body JSON? A pass-through relays the provider's bytes without parsing them (a full
// JSON.parse costs µs per KB on every answer), but a 200 whose body is not JSON (`{this is not json}`,
// an HTML error page, a body cut short) must fail the attempt instead of reaching the client as a 200.
//
// This checks the grammar of RFC 8259 at the level of tokens: brackets, commas, colons, literals,
// numbers and string boundaries. Strings are jumped over quote to quote with the native indexOf,
// which is where a chat answer's bytes are, so a 4 KB answer costs about a microsecond
// (bench/micro.ts). What it does not check is the inside of strings (escape sequences, raw control
// characters): a body that passes may still fail JSON.parse there, and the client's parser will say so.
// Iterative, so nesting depth costs memory in a byte array, never stack.

import { QUOTE, skipString, skipWs } from './json-bytes.ts';

// What the scanner expects next.
const VALUE = 0;
const KEY = 1;
const AFTER = 2;

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** Index just past the number starting at b[i] (RFC 8259 §6), or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function literalAt(b: Uint8Array, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

const OBJECT = 1;
const ARRAY = 2;

/** Whether `b` is one JSON value and nothing else (whitespace aside), as far as tokens go. */
export function isWellFormedJson(b: Uint8Array): boolean {
  let stack = new Uint8Array(64);
  let depth = 0;
  let mode: number = VALUE;
  let i = 0;
  for (;;) {
    i = skipWs(b, i);
    if (mode === AFTER) {
      if (depth === 0) return i === b.length;
      const c = b[i];
      const top = stack[depth - 1];
      if (c === 0x2c) {
        i++;
        mode = top === OBJECT ? KEY : VALUE;
      } else if ((c === 0x7d && top === OBJECT) || (c === 0x5d && top === ARRAY)) {
        i++;
        depth--;
      } else return false;
      continue;
    }
    if (mode === KEY) {
      if (b[i] !== QUOTE) return false;
      i = skipString(b, i);
      if (i < 0) return false;
      i = skipWs(b, i);
      if (b[i] !== 0x3a) return false;
      i++;
      mode = VALUE;
      continue;
    }
    const c = b[i];
    if (c === 0x7b || c === 0x5b) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c === 0x7b ? OBJECT : ARRAY;
      i = skipWs(b, i + 1);
      if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
        i++;
        depth--;
        mode = AFTER;
      } else mode = c === 0x7b ? KEY : VALUE;
      continue;
    }
    if (c === QUOTE) i = skipString(b, i);
    else if (c === 0x74) i = literalAt(b, i, 'true') ? i + 4 : -1;
    else if (c === 0x66) i = literalAt(b, i, 'false') ? i + 5 : -1;
    else if (c === 0x6e) i = literalAt(b, i, 'null') ? i + 4 : -1;
    else i = skipNumber(b, i);
    if (i < 0) return false;
    mode = AFTER;
  }
}
