/**
 * The automaton's input alphabet: every UTF-16 code unit maps to one small symbol, through one table
 * built once at module load (~15 ms). A table lookup lower-cases, strips accents and classifies in a
 * single load, which the scan loop needs to stay near one memory access per character.
 *
 *   SEP    anything that is not a letter or digit: spaces, punctuation, symbols, emoji halves
 *   HYPHEN "-" joins the words around it into one ("leak-proof" is not "proof", "e-mail" is "email");
 *          anywhere else it reads as a separator. Phrases drop their hyphens ("trade-off" = "tradeoff").
 *   OTHER  a letter or digit no pattern can contain (CJK, Cyrillic, ...): it continues a word, so
 *          "classе" with a Cyrillic "е" is not "class", but it never matches
 *   a–z    ASCII letters, and Latin letters whose accent-stripped lower case is one (É → e, ü → u),
 *          so "Schritt für Schritt" and "schritt fur schritt" are the same phrase
 *   0–9    ASCII digits
 */
export const SEP = 0;
export const OTHER = 1;
export const HYPHEN = 2;
export const FIRST_LETTER = 3;
export const FIRST_DIGIT = FIRST_LETTER + 26;
export const ALPHABET_SIZE = FIRST_DIGIT + 10;

const WORD_CHAR = /[\p{L}\p{N}]/u;

function symbolOfAscii(code: number): number {
  if (code === 45) return HYPHEN;
  if (code >= 97 && code <= 122) return FIRST_LETTER + code - 97;
  if (code >= 65 && code <= 90) return FIRST_LETTER + (code | 32) - 97;
  if (code >= 48 && code <= 57) return FIRST_DIGIT + code - 48;
  return SEP;
}

function buildTable(): Uint8Array {
  const table = new Uint8Array(65536);
  for (let c = 0; c < 128; c++) table[c] = symbolOfAscii(c);
  for (let c = 128; c < 65536; c++) {
    // Surrogate halves stay SEP: most astral characters are emoji, which separate words.
    if (c >= 0xd800 && c <= 0xdfff) continue;
    if (c === 0x2010 || c === 0x2011 || c === 0xad) {
      table[c] = HYPHEN;
      continue;
    }
    const ch = String.fromCharCode(c);
    if (!WORD_CHAR.test(ch)) continue;
    // NFD splits "é" into "e" + a combining accent; the first unit is the base letter.
    const base = ch.toLowerCase().normalize('NFD').charCodeAt(0);
    const sym = base < 128 ? symbolOfAscii(base) : SEP;
    table[c] = sym === SEP ? OTHER : sym;
  }
  return table;
}

/** Code unit → symbol. Shared by every automaton: it does not depend on the vocabulary. */
export const SYMBOL: Uint8Array = buildTable();

/**
 * A phrase as the scan sees it: symbols, with runs of separators collapsed to one and a separator
 * added at both ends, so a match is always a whole word or a whole sequence of words.
 * "Stack-Trace" → [SEP, s, t, a, c, k, SEP, t, r, a, c, e, SEP]. Empty when the phrase has no word.
 */
export function phraseSymbols(phrase: string): number[] {
  const out: number[] = [SEP];
  for (let i = 0; i < phrase.length; i++) {
    const sym = SYMBOL[phrase.charCodeAt(i)]!;
    if (sym === HYPHEN) continue;
    if (sym === OTHER) throw new Error(`classifier vocabulary: "${phrase}" has a character outside a-z, 0-9 and accented Latin letters`);
    if (sym !== SEP || out[out.length - 1] !== SEP) out.push(sym);
  }
  if (out.length === 1) return [];
  if (out[out.length - 1] !== SEP) out.push(SEP);
  return out;
}

/**
 * Code unit → 1 code punctuation, 2 question mark, 3 newline (slot 4 counts blank lines), 5 math
 * symbol, 6 other sentence end, 0 other. Full-width question marks count as question marks.
 */
export const PUNCT: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  for (const ch of '{}()[];=<>`_$\\|') t[ch.charCodeAt(0)] = 1;
  t[63] = 2;
  t[0xff1f] = 2;
  t[10] = 3;
  for (const ch of '^+*/%√²³×÷π≤≥≠∑∫∞') t[ch.charCodeAt(0)] = 5;
  for (const ch of '.!。！') t[ch.charCodeAt(0)] = 6;
  return t;
})();
