// One text field of a multipart/form-data body, found without parsing the rest (RFC 7578): the audio
// or file part is only scanned for the next delimiter (native indexOf), never copied or decoded. The
// gateway needs the `model` field to route an upload, and its position to put another model there.

export interface FieldSpan {
  /** The field's value, as text. */
  readonly value: string;
  /** Byte offsets of the value in the body: replace [start, end) to change it. */
  readonly start: number;
  readonly end: number;
  /** Another field of the same name follows: which one a provider reads is its choice, not the gateway's. */
  readonly repeated: boolean;
}

/** The boundary of a multipart/form-data content type, or null when it has none. */
export function boundaryOf(contentType: string): string | null {
  if (!/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return m === null ? null : (m[1] ?? m[2]!);
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** The first field named `name` (a part without a filename), or null; `repeated` when another follows. */
export function findField(body: Buffer, boundary: string, name: string): FieldSpan | null {
  const m: Matcher = {
    delimiter: Buffer.from(`--${boundary}`),
    next: Buffer.from(`\r\n--${boundary}`),
    wanted: new RegExp(`^content-disposition:\\s*form-data;(?:.*;)?\\s*name="${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"(?:\\s*;|\\s*$)`, 'im'),
  };
  const start = fieldAt(body, m, 0);
  if (start < 0) return null;
  const end = body.indexOf(m.next, start);
  return { value: body.toString('utf8', start, end), start, end, repeated: fieldAt(body, m, end) >= 0 };
}

/** A field's delimiters and the header line that names it, built once per search. */
interface Matcher {
  readonly delimiter: Buffer;
  readonly next: Buffer;
  readonly wanted: RegExp;
}

/** Where the value of the first matching field at or after `from` starts, or -1. */
function fieldAt(body: Buffer, m: Matcher, from: number): number {
  const { delimiter, next, wanted } = m;
  let at = body.indexOf(delimiter, from);
  while (at >= 0) {
    const headStart = at + delimiter.length + 2; // past the delimiter's CRLF
    if (body[at + delimiter.length] === 0x2d && body[at + delimiter.length + 1] === 0x2d) return -1; // "--": the closing delimiter
    const headEnd = body.indexOf(CRLF2, headStart);
    if (headEnd < 0) return -1;
    const head = body.toString('latin1', headStart, headEnd);
    const valueStart = headEnd + 4;
    const valueEnd = body.indexOf(next, valueStart);
    if (valueEnd < 0) return -1;
    if (wanted.test(head) && !/filename\*?=/i.test(head)) return valueStart;
    at = valueEnd + 2;
  }
  return -1;
}

/** The body with the span's value replaced. */
export function replaceField(body: Buffer, span: FieldSpan, value: string): Buffer {
  return Buffer.concat([body.subarray(0, span.start), Buffer.from(value, 'utf8'), body.subarray(span.end)]);
}
