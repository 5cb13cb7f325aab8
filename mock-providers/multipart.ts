// Incremental multipart/form-data (RFC 7578, boundaries per RFC 2046 §5.1.1) for the upload routes
// (/v1/audio/transcriptions, /v1/audio/translations, /v1/files). uWS hands the body over in chunks whose
// ArrayBuffer is detached when onData returns: each chunk is scanned at once, synchronously, and only what
// must outlive it is copied (the few bytes that may hold a split delimiter, text fields, a kept file).
// A 25 MB upload therefore costs no more memory than the file itself, and nothing when the file is only counted.
//
// Why not busboy / @fastify/busboy: both are Writable streams whose events and 'finish' come on later ticks, so
// the answer would leave onData's cork; this scanner answers inside the last onData. What it accepts is what
// WHATWG FormData (undici's, the openai SDK's) and curl send: a quoted or bare `name`/`filename` (WHATWG's
// %22 / %0D / %0A escapes decoded, RFC 5987 `filename*=utf-8''…` too), any part Content-Type, transport padding
// after a delimiter, a preamble and an epilogue.

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');
/** A part's header block larger than this is an error, not a reason to buffer without end. */
const MAX_HEAD_BYTES = 16 * 1024;

/** The boundary of a multipart/form-data Content-Type, or null when it is another type or has none. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (contentType === undefined || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m === null ? null : (m[1] ?? m[2]!);
}

export interface PartHead {
  name: string;
  /** null for a plain field (no filename parameter). */
  filename: string | null;
  contentType: string | null;
}

/** Receives the parts in order. `data` gets views into the current chunk: copy what you keep. */
export interface PartSink {
  part(head: PartHead): void;
  data(chunk: Buffer): void;
  end(): void;
}

const unquote = (s: string): string => s.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');

function decodeExt(value: string): string {
  const m = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (m === null) return value;
  try {
    return decodeURIComponent(m[2]!);
  } catch {
    return m[2]!;
  }
}

/** Content-Disposition and Content-Type of one part's header block, or null if it is no form-data part. */
export function parseHead(block: string): PartHead | null {
  let disposition = '';
  let contentType: string | null = null;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'content-disposition') disposition = line.slice(colon + 1).trim();
    else if (name === 'content-type') contentType = line.slice(colon + 1).trim();
  }
  if (!/^form-data\s*(;|$)/i.test(disposition)) return null;
  const params = new Map<string, string>();
  for (const m of disposition.matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"([^"]*)"|([^;]*))/g)) {
    const key = m[1]!.toLowerCase();
    const raw = m[2] !== undefined ? unquote(m[2]) : m[3]!.trim();
    params.set(key, key.endsWith('*') ? decodeExt(raw) : raw);
  }
  const name = params.get('name*') ?? params.get('name');
  if (name === undefined) return null;
  return { name, filename: params.get('filename*') ?? params.get('filename') ?? null, contentType };
}

type State = 'preamble' | 'delimiter' | 'head' | 'body' | 'done';

/** Finds the parts of a multipart body fed chunk by chunk. `error` is set on the first malformed byte. */
export class MultipartScanner {
  /** CRLF "--" boundary: what ends a part's body. */
  private readonly delimiter: Buffer;
  private state: State = 'preamble';
  /** Unscanned bytes kept from the previous chunk: a possible delimiter prefix, or an incomplete header block. */
  private carry: Buffer = CRLF; // the first delimiter has no CRLF before it: pretend it had one
  error: string | null = null;

  constructor(
    boundary: string,
    private readonly sink: PartSink,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** The closing delimiter was seen. */
  get complete(): boolean {
    return this.state === 'done';
  }

  write(chunk: Buffer): void {
    if (this.error !== null || this.state === 'done') return;
    const buf = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const pos = this.scan(buf);
    this.carry = pos < buf.length && this.error === null && !this.complete ? Buffer.from(buf.subarray(pos)) : EMPTY;
  }

  /** Scans as far as `buf` allows; returns the offset of the first byte it could not decide on yet. */
  private scan(buf: Buffer): number {
    const d = this.delimiter;
    let pos = 0;
    for (;;) {
      switch (this.state) {
        case 'preamble':
        case 'body': {
          const at = buf.indexOf(d, pos);
          if (at < 0) {
            // A delimiter starting before `safe` would have been found whole: only the tail may hold one.
            const safe = Math.max(pos, buf.length - d.length + 1);
            if (this.state === 'body' && safe > pos) this.sink.data(buf.subarray(pos, safe));
            return safe;
          }
          if (this.state === 'body') {
            if (at > pos) this.sink.data(buf.subarray(pos, at));
            this.sink.end();
          }
          pos = at + d.length;
          this.state = 'delimiter';
          break;
        }
        case 'delimiter': {
          // "--" closes the body (the epilogue is ignored); CRLF, after optional padding, opens a part.
          while (pos < buf.length && (buf[pos] === 0x20 || buf[pos] === 0x09)) pos++;
          if (buf.length - pos < 2) return pos;
          if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) {
            this.state = 'done';
            return buf.length;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) return this.fail('bytes after a boundary delimiter');
          pos += 2;
          this.state = 'head';
          break;
        }
        case 'head': {
          if (buf.length - pos < 2) return pos;
          if (buf[pos] === 0x0d && buf[pos + 1] === 0x0a) return this.fail('a part without a Content-Disposition header');
          const at = buf.indexOf(HEADERS_END, pos);
          if (at < 0) return buf.length - pos > MAX_HEAD_BYTES ? this.fail('a part header block over 16 KiB') : pos;
          const head = parseHead(buf.toString('utf8', pos, at));
          if (head === null) return this.fail('a part without a form-data Content-Disposition and name');
          pos = at + HEADERS_END.length;
          this.state = 'body';
          this.sink.part(head);
          break;
        }
        case 'done':
          return buf.length;
      }
    }
  }

  private fail(what: string): number {
    this.error = `Malformed multipart body: ${what}.`;
    return 0;
  }
}

export interface UploadedFile {
  filename: string;
  contentType: string | null;
  bytes: number;
  /** The bytes, when the reader was told to keep them. */
  data: Buffer | null;
}

export interface Form {
  /** Plain fields; a repeated name (`timestamp_granularities[]`) keeps every value in order. */
  fields: Map<string, string[]>;
  file: UploadedFile | null;
}

/** What a route answers when the body is no usable form: an OpenAI-style error and its status. */
export interface FormError {
  status: number;
  message: string;
  code: string | null;
  param: string | null;
}

export interface FormOptions {
  /** The part holding the upload; default "file". */
  fileField?: string;
  /** Keep the file's bytes (/v1/files) or only count them (audio). */
  keep: boolean;
  /** Over this the answer is a 413 (the rest of the body is still read, and dropped). */
  maxFileBytes: number;
}

const MAX_FIELD_BYTES = 64 * 1024;

/** A multipart body read into its fields and one file, chunk by chunk. */
export class FormReader implements PartSink {
  private readonly scanner: MultipartScanner;
  private readonly fields = new Map<string, string[]>();
  private file: UploadedFile | null = null;
  private kept: Buffer[] = [];
  private mode: 'field' | 'file' | 'skip' = 'skip';
  private fieldName = '';
  private fieldParts: Buffer[] = [];
  private fieldBytes = 0;
  private problem: FormError | null = null;

  constructor(
    boundary: string,
    private readonly opts: FormOptions,
  ) {
    this.scanner = new MultipartScanner(boundary, this);
  }

  write(chunk: Buffer): void {
    this.scanner.write(chunk);
  }

  /** Call after the last chunk: the form, or why it cannot be used. */
  finish(): Form | FormError {
    if (this.scanner.error !== null) return { status: 400, message: this.scanner.error, code: 'invalid_multipart', param: null };
    if (!this.scanner.complete) return { status: 400, message: 'Malformed multipart body: it ends before its closing boundary.', code: 'invalid_multipart', param: null };
    if (this.problem !== null) return this.problem;
    if (this.file !== null && this.opts.keep) this.file.data = Buffer.concat(this.kept, this.file.bytes);
    return { fields: this.fields, file: this.file };
  }

  part(head: PartHead): void {
    if (head.name === (this.opts.fileField ?? 'file') && this.file === null) {
      this.mode = 'file';
      this.file = { filename: head.filename ?? 'upload', contentType: head.contentType, bytes: 0, data: null };
    } else if (head.filename === null) {
      this.mode = 'field';
      this.fieldName = head.name;
      this.fieldParts = [];
      this.fieldBytes = 0;
    } else this.mode = 'skip';
  }

  data(chunk: Buffer): void {
    if (this.mode === 'file') {
      const file = this.file!;
      file.bytes += chunk.length;
      if (file.bytes > this.opts.maxFileBytes) {
        this.problem ??= {
          status: 413,
          message: `Maximum content size limit (${this.opts.maxFileBytes}) exceeded.`,
          code: 'file_too_large',
          param: 'file',
        };
        this.kept = [];
      } else if (this.opts.keep) this.kept.push(Buffer.from(chunk));
    } else if (this.mode === 'field') {
      this.fieldBytes += chunk.length;
      if (this.fieldBytes > MAX_FIELD_BYTES) {
        this.problem ??= { status: 400, message: `The '${this.fieldName}' field is over ${MAX_FIELD_BYTES} bytes.`, code: 'invalid_value', param: this.fieldName };
      } else this.fieldParts.push(Buffer.from(chunk));
    }
  }

  end(): void {
    if (this.mode === 'field' && this.fieldBytes <= MAX_FIELD_BYTES) {
      const values = this.fields.get(this.fieldName);
      const value = Buffer.concat(this.fieldParts).toString('utf8');
      if (values === undefined) this.fields.set(this.fieldName, [value]);
      else values.push(value);
    }
    this.mode = 'skip';
    this.fieldParts = [];
  }
}

/** The last value of a plain field, or undefined. */
export function field(form: Form, name: string): string | undefined {
  const values = form.fields.get(name);
  return values === undefined ? undefined : values[values.length - 1];
}
