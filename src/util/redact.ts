// Provider keys must never reach a client, a log line or an error, whatever a provider sends back.
// Providers echo keys in error bodies (OpenAI's 401 says "Incorrect API key provided: sk-abc***xyz"),
// and a hostile or broken one may put a key in a header, a stream's error event or an answer. So
// everything relayed from a provider passes through here: header values, bodies and stream events.
//
// What counts as a leak: a configured secret, or any prefix of one of at least PREFIX characters
// (a masked echo such as `MGSECRET*****2i1o` starts with one), plus the well-known key shapes of
// the big providers in error messages. A prefix is redacted together with the rest of its token,
// so the masked tail goes too. Text cut at a window's end may end inside a secret: `cut` redacts a
// trailing partial prefix of MIN_CUT characters or more.

/** Shapes of well-known provider secrets: OpenAI/Anthropic/OpenRouter `sk-…`, Groq `gsk_…`, xAI `xai-…`, Google `AIza…`. */
const KEY_SHAPES = /\b(?:sk|gsk|xai|pk|rk)[-_][A-Za-z0-9_*\-]{6,}|\bAIza[A-Za-z0-9_\-]{20,}/g;

/** A leak is a secret's prefix this long (or the whole secret, when shorter). */
const PREFIX = 8;
/** Secrets shorter than this are not redacted at all: they would match ordinary text. */
const MIN_SECRET = 4;
/** A partial prefix at the end of cut text is redacted from this length on. */
const MIN_CUT = 4;
/** Characters that continue a key's token after its prefix (a masked echo's `*` and `•` included). */
const TOKEN_CHAR = /[A-Za-z0-9_\-*•.+/=]/;
const REPLACEMENT = '[redacted]';

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Bytes from most to least frequent in chat text and JSON (English letter frequencies, then digits and
 * punctuation as answers use them). A head is searched for by its rarest byte, so scanning a clean
 * 4 KB answer is one memchr per distinct anchor (~50 ns) instead of a substring search (~500 ns).
 */
const COMMON = ' etaoinsrhldcu"mfpgwyb,.:\n0v1k2-_TSAIC3M59D4{}8PBE76RLNH[]xOFWGjUKq/zJVYXZQ';
const rank = new Uint8Array(256).fill(COMMON.length);
for (let i = 0; i < COMMON.length; i++) rank[COMMON.charCodeAt(i)] = i;

/** body[start, start + head.length) equals head (a JS loop: 8 bytes cost less than a Buffer.compare call). */
function sameBytes(body: Buffer, start: number, head: Buffer): boolean {
  for (let i = 0; i < head.length; i++) if (body[start + i] !== head[i]) return false;
  return true;
}

interface Anchored {
  readonly head: Buffer;
  /** Where the anchor byte sits in the head. */
  readonly at: number;
}

const BACKSLASH = 0x5c;

/** Whether JSON bytes hold `\/` or a `\u00XX` escape of a character that needs none (where a key could hide). */
function hasAsciiEscape(body: Buffer): boolean {
  for (let i = body.indexOf(BACKSLASH); i >= 0 && i + 1 < body.length; i = body.indexOf(BACKSLASH, i + 2)) {
    const c = body[i + 1];
    if (c === 0x2f) return true; // \/
    if (c === 0x75 && body[i + 2] === 0x30 && body[i + 3] === 0x30) return true; // \u00
  }
  return false;
}

/**
 * JSON text with `\/` and `\u00XX` escapes of printable characters written plainly: the same JSON
 * (a `"` or a backslash stays escaped). Every escape pair is read as a pair, so `\\u0041` (a backslash
 * then "u0041") is left alone.
 */
function unescapeJson(text: string): string {
  if (text.indexOf('\\') < 0) return text;
  return text.replace(/\\(u00[2-7][0-9a-fA-F]|.)/g, (pair, e: string) => {
    if (e === '/') return '/';
    if (e.length === 1) return pair;
    const c = parseInt(e.slice(3), 16);
    return c === 0x22 || c === 0x5c || c === 0x7f ? pair : String.fromCharCode(c);
  });
}

export class Redactor {
  private readonly secrets: readonly string[];
  /** The first PREFIX characters of each secret (as a string and as bytes): what every leak contains. */
  private readonly heads: readonly string[];
  private readonly headBytes: readonly Buffer[];
  /** Any head, in one pass: the fast "nothing to do" check for short strings. */
  private readonly anyHead: RegExp | null;
  /** Heads grouped by their rarest byte, for scanning bodies. */
  private readonly anchors: ReadonlyMap<number, readonly Anchored[]>;

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET).sort((a, b) => b.length - a.length);
    this.heads = [...new Set(this.secrets.map((s) => s.slice(0, PREFIX)))];
    this.headBytes = this.heads.map((h) => Buffer.from(h, 'utf8'));
    this.anyHead = this.heads.length === 0 ? null : new RegExp(this.heads.map(escapeRegExp).join('|'));
    const anchors = new Map<number, Anchored[]>();
    for (const head of this.headBytes) {
      let at = 0;
      for (let i = 1; i < head.length; i++) if (rank[head[i]!]! > rank[head[at]!]!) at = i;
      const group = anchors.get(head[at]!) ?? [];
      group.push({ head, at });
      anchors.set(head[at]!, group);
    }
    this.anchors = anchors;
  }

  /** The secrets, for a redactor in another thread (the telemetry worker). */
  secretValues(): string[] {
    return [...this.secrets];
  }

  /** Whether `text` holds a secret or a prefix of one (no well-known shapes): one regex pass. */
  leaks(text: string): boolean {
    return this.anyHead !== null && this.anyHead.test(text);
  }

  /**
   * `text` without configured secrets, their prefixes (with the rest of their token) and well-known key
   * shapes. `cut`: the text was cut at its end, so a trailing partial prefix is a leak too.
   */
  redact(text: string, cut = false): string {
    let out = this.leaks(text) ? this.redactSecrets(text) : text;
    if (cut) out = this.redactTail(out);
    return out.replace(KEY_SHAPES, REPLACEMENT);
  }

  /** For relayed header values: configured secrets and their prefixes only, without allocating when clean. */
  redactValue(value: string): string {
    return this.leaks(value) ? this.redactSecrets(value) : value;
  }

  /** For relayed bodies and stream events: the same bytes when clean, else a redacted copy. */
  redactBytes(body: Buffer): Buffer {
    if (this.bytesLeak(body)) return Buffer.from(this.redactSecrets(unescapeJson(body.toString('utf8'))), 'utf8');
    // A key written with JSON escapes ("\u0073\u006b…", or "\/" for its slashes, as PHP writes it)
    // has none of its heads in the bytes, and reached the client whole once its JSON was parsed. Such
    // escapes are rare in answers (Go writes <, > and & as \u003c…): those are read again unescaped.
    if (this.heads.length === 0 || !hasAsciiEscape(body)) return body;
    const plain = unescapeJson(body.toString('utf8'));
    return this.leaks(plain) ? Buffer.from(this.redactSecrets(plain), 'utf8') : body;
  }

  /** Whether some head occurs in `body`: memchr for each anchor byte, a compare at each hit. */
  private bytesLeak(body: Buffer): boolean {
    for (const [byte, group] of this.anchors) {
      for (let hit = body.indexOf(byte); hit >= 0; hit = body.indexOf(byte, hit + 1)) {
        for (let g = 0; g < group.length; g++) {
          const { head, at } = group[g]!;
          const start = hit - at;
          if (start >= 0 && start + head.length <= body.length && sameBytes(body, start, head)) return true;
        }
      }
    }
    return false;
  }

  private redactSecrets(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REPLACEMENT);
    for (const head of this.heads) {
      let at = out.indexOf(head);
      if (at < 0) continue;
      // Built in one pass: rebuilding the whole text at each occurrence made 15,000 occurrences of a
      // public key prefix ("sk-proj-", which a client can ask a model to repeat) take 10 s of the thread.
      let built = '';
      let from = 0;
      while (at >= 0) {
        let end = at + head.length;
        while (end < out.length && TOKEN_CHAR.test(out[end]!)) end++;
        built += out.slice(from, at) + REPLACEMENT;
        from = end;
        at = out.indexOf(head, end);
      }
      out = built + out.slice(from);
    }
    return out;
  }

  /** A cut through a secret leaves its first characters at the very end of the text. */
  private redactTail(text: string): string {
    let from = text.length;
    for (const s of this.secrets) {
      for (let n = Math.min(s.length, PREFIX) - 1; n >= MIN_CUT; n--) {
        if (text.endsWith(s.slice(0, n))) {
          from = Math.min(from, text.length - n);
          break;
        }
      }
    }
    return from === text.length ? text : text.slice(0, from) + REPLACEMENT;
  }
}
