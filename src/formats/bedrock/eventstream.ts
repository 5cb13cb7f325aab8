// AWS's binary event stream (`application/vnd.amazon.eventstream`), decoded incrementally: the framing
// of Bedrock's ConverseStream. Each message is
//
//   total length (u32) · headers length (u32) · prelude CRC32 (u32) · headers · payload · message CRC32 (u32)
//
// with big-endian integers and both CRCs checked (a corrupt frame is an error, never a skipped event).
// Headers are name (u8 length + bytes), a type byte and a typed value; `:message-type` says whether
// a message is an event, an exception or an error, and an exception is never skipped
// (providers.md §3.3; Portkey's reader ignored headers and CRCs: §6). Tested against
// @smithy/eventstream-codec in test/unit/eventstream.test.ts. zlib.crc32 is native (Node ≥ 20.15).
import { crc32 } from 'node:zlib';

export interface EventMessage {
  /** `:message-type`: "event", "exception" or "error". */
  readonly messageType: string;
  /** `:event-type` of an event, `:exception-type` of an exception, `:error-code` of an error. */
  readonly type: string;
  /** The payload (JSON for Bedrock), or `:error-message` for an error. */
  readonly payload: string;
}

export class EventStreamError extends Error {
  override name = 'EventStreamError';
}

const PRELUDE = 12;
/** Bedrock's messages are small; a frame claiming more is corrupt (the @smithy codec caps at 16 MiB too). */
const MAX_MESSAGE = 16 * 1024 * 1024;

/** The four headers a message is read by; the rest are skipped. */
interface Headers {
  messageType: string;
  eventType: string;
  exceptionType: string;
  errorCode: string;
  errorMessage: string;
}

const FIELDS: ReadonlyArray<readonly [Buffer, keyof Headers]> = [
  [Buffer.from(':message-type'), 'messageType'],
  [Buffer.from(':event-type'), 'eventType'],
  [Buffer.from(':exception-type'), 'exceptionType'],
  [Buffer.from(':error-code'), 'errorCode'],
  [Buffer.from(':error-message'), 'errorMessage'],
];

/** The field a header name fills, or null; a byte comparison (decoding each name costs ~50 ns). */
function fieldOf(b: Buffer, at: number, length: number): keyof Headers | null {
  next: for (let f = 0; f < FIELDS.length; f++) {
    const [name, field] = FIELDS[f]!;
    if (name.length !== length) continue;
    for (let k = 1; k < length; k++) if (b[at + k] !== name[k]) continue next;
    return field;
  }
  return null;
}

/**
 * The headers Bedrock's messages are read by; values of other types are skipped by their sizes.
 */
function readHeaders(b: Buffer, start: number, end: number): Headers {
  const out: Headers = { messageType: 'event', eventType: '', exceptionType: '', errorCode: '', errorMessage: '' };
  let i = start;
  while (i < end) {
    const nameLength = b[i]!;
    const nameAt = i + 1;
    i = nameAt + nameLength;
    const type = b[i++]!;
    switch (type) {
      case 0: // true
      case 1: // false
        break;
      case 2:
        i += 1;
        break;
      case 3:
        i += 2;
        break;
      case 4:
        i += 4;
        break;
      case 5:
      case 8:
        i += 8;
        break;
      case 6:
      case 7: {
        const n = b.readUInt16BE(i);
        // Names are compared as bytes: only the values read are decoded (:content-type is not).
        if (type === 7 && b[nameAt] === 0x3a) {
          const field = fieldOf(b, nameAt, nameLength);
          if (field !== null) out[field] = b.toString('utf8', i + 2, i + 2 + n);
        }
        i += 2 + n;
        break;
      }
      case 9:
        i += 16;
        break;
      default:
        throw new EventStreamError(`unknown header value type ${type}`);
    }
  }
  if (i !== end) throw new EventStreamError('headers overrun their length');
  return out;
}

export class EventStreamDecoder {
  private parts: Buffer[] = [];
  private held = 0;
  /** Total length of the message in progress, once its first 4 bytes are in (0 before). */
  private need = 0;

  /** Bytes of an incomplete message held so far. */
  get pending(): number {
    return this.held;
  }

  /**
   * The messages now complete, in order; keeps the rest. Throws EventStreamError on a corrupt frame.
   * An incomplete message's chunks are joined once, when it is whole: linear time, whatever its size.
   */
  push(chunk: Buffer): EventMessage[] {
    let buf = chunk;
    if (this.held > 0) {
      this.parts.push(chunk);
      this.held += chunk.length;
      if (this.need === 0 && this.held >= 4) this.need = Buffer.concat(this.parts).readUInt32BE(0);
      if (this.need === 0 || this.held < this.need) return [];
      buf = Buffer.concat(this.parts, this.held);
      this.parts = [];
      this.held = 0;
      this.need = 0;
    }
    const out: EventMessage[] = [];
    let at = 0;
    while (buf.length - at >= PRELUDE) {
      const total = buf.readUInt32BE(at);
      if (total < PRELUDE + 4 || total > MAX_MESSAGE) throw new EventStreamError(`impossible message length ${total}`);
      // A message not yet whole waits for more bytes (its length is all that is known of it).
      if (buf.length - at < total) break;
      const headersLength = buf.readUInt32BE(at + 4);
      const prelude = crc32(buf.subarray(at, at + 8));
      if (prelude !== buf.readUInt32BE(at + 8)) throw new EventStreamError('prelude CRC mismatch');
      // The message CRC covers the prelude too: continue from the prelude's instead of hashing it twice.
      if (crc32(buf.subarray(at + 8, at + total - 4), prelude) !== buf.readUInt32BE(at + total - 4)) throw new EventStreamError('message CRC mismatch');
      const headersEnd = at + PRELUDE + headersLength;
      if (headersEnd > at + total - 4) throw new EventStreamError('headers overrun the message');
      const h = readHeaders(buf, at + PRELUDE, headersEnd);
      const messageType = h.messageType;
      const type = messageType === 'exception' ? h.exceptionType : messageType === 'error' ? h.errorCode : h.eventType;
      const payload = messageType === 'error' ? h.errorMessage : buf.toString('utf8', headersEnd, at + total - 4);
      out.push({ messageType, type, payload });
      at += total;
    }
    if (at < buf.length) {
      // Copied: undici may reuse the chunk's memory.
      const rest = Buffer.from(buf.subarray(at));
      this.parts.push(rest);
      this.held = rest.length;
      if (rest.length >= 4) {
        this.need = rest.readUInt32BE(0);
        if (this.need < PRELUDE + 4 || this.need > MAX_MESSAGE) throw new EventStreamError(`impossible message length ${this.need}`);
      }
    }
    return out;
  }
}
