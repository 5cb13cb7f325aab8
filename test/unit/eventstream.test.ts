// Bedrock's binary event stream, decoded incrementally (src/formats/bedrock/eventstream.ts), checked
// against frames encoded by AWS's own codec (@smithy/eventstream-codec): every message whole, in
// order, from any split of the bytes; exceptions kept; a corrupt frame refused, never skipped.
import { describe, expect, it } from 'vitest';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { EventStreamDecoder, EventStreamError } from '../../src/formats/bedrock/eventstream.ts';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const str = (value: string) => ({ type: 'string' as const, value });

function event(type: string, payload: unknown): Buffer {
  return Buffer.from(codec.encode({ headers: { ':message-type': str('event'), ':event-type': str(type), ':content-type': str('application/json') }, body: fromUtf8(JSON.stringify(payload)) }));
}

function exception(type: string, message: string): Buffer {
  return Buffer.from(codec.encode({ headers: { ':message-type': str('exception'), ':exception-type': str(type), ':content-type': str('application/json') }, body: fromUtf8(JSON.stringify({ message })) }));
}

const stream = Buffer.concat([
  event('messageStart', { role: 'assistant' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Héllo 👋' }, p: 'abcdefghij' }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('messageStop', { stopReason: 'end_turn' }),
  event('metadata', { usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 }, metrics: { latencyMs: 12 } }),
  exception('throttlingException', 'Too many requests'),
  // An `error` message carries its code and message in headers; headers of other types are skipped by size.
  Buffer.from(
    codec.encode({
      headers: {
        ':message-type': str('error'),
        ':error-code': str('InternalFailure'),
        ':error-message': str('Something went wrong'),
        ':x-flag': { type: 'boolean', value: true },
        ':x-count': { type: 'integer', value: 7 },
        ':x-at': { type: 'timestamp', value: new Date(0) },
        ':x-id': { type: 'uuid', value: '3f5e2a10-0000-4000-8000-000000000000' },
      },
      body: new Uint8Array(0),
    }),
  ),
]);
const want = [
  ['event', 'messageStart'],
  ['event', 'contentBlockDelta'],
  ['event', 'contentBlockStop'],
  ['event', 'messageStop'],
  ['event', 'metadata'],
  ['exception', 'throttlingException'],
  ['error', 'InternalFailure'],
];

function decodeAll(parts: Buffer[]): Array<{ messageType: string; type: string; payload: string }> {
  const d = new EventStreamDecoder();
  const out = parts.flatMap((p) => d.push(p));
  expect(d.pending).toBe(0);
  return out;
}

describe('EventStreamDecoder', () => {
  it('decodes every message of a stream in one piece, with its type, payload and exception', () => {
    const got = decodeAll([stream]);
    expect(got.map((m) => [m.messageType, m.type])).toEqual(want);
    expect(JSON.parse(got[1]!.payload).delta.text).toBe('Héllo 👋');
    expect(JSON.parse(got[5]!.payload).message).toBe('Too many requests');
    expect(got[6]!.payload).toBe('Something went wrong');
  });

  it('gives the same messages for every 2-way split of the bytes', () => {
    const whole = JSON.stringify(decodeAll([stream]));
    for (let k = 1; k < stream.length; k++) {
      const got = JSON.stringify(decodeAll([stream.subarray(0, k), stream.subarray(k)]));
      if (got !== whole) expect(got, `split at ${k}`).toBe(whole);
    }
  });

  it('gives the same messages one byte at a time', () => {
    const parts = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(decodeAll(parts).map((m) => m.type)).toEqual(want.map((w) => w[1]));
  });

  it('refuses a frame whose message CRC does not match, and one whose prelude CRC does not', () => {
    const bad = Buffer.from(stream);
    bad[20] = bad[20]! ^ 0xff; // inside the first message's headers
    expect(() => new EventStreamDecoder().push(bad)).toThrow(EventStreamError);
    const prelude = Buffer.from(stream);
    prelude[9] = prelude[9]! ^ 0x01;
    expect(() => new EventStreamDecoder().push(prelude)).toThrow(/prelude CRC/);
  });

  it('refuses an impossible length at once instead of waiting for it', () => {
    const bogus = Buffer.alloc(12);
    bogus.writeUInt32BE(0x7fffffff, 0);
    expect(() => new EventStreamDecoder().push(bogus)).toThrow(/impossible message length/);
  });

  it('holds a large message in pieces until it is whole (its size reported as pending)', () => {
    const big = event('contentBlockDelta', { delta: { text: 'x'.repeat(200_000) } });
    const d = new EventStreamDecoder();
    let got: unknown[] = [];
    for (let i = 0; i < big.length; i += 1000) {
      got = d.push(big.subarray(i, i + 1000));
      if (i + 1000 < big.length) expect(got).toEqual([]);
    }
    expect(got).toHaveLength(1);
    expect(d.pending).toBe(0);
  });
});
