import { describe, it, expect } from 'vitest';
import { SseFramer } from '../../src/util/sse-framer.ts';

/** Feeds chunks through a fresh framer; returns what it forwarded (one string per non-null push) and the framer. */
function run(chunks: readonly string[]): { outputs: string[]; framer: SseFramer } {
  const framer = new SseFramer();
  const outputs: string[] = [];
  for (const c of chunks) {
    const out = framer.push(Buffer.from(c, 'utf8'));
    if (out !== null) {
      expect(out.length).toBeGreaterThan(0);
      outputs.push(out.toString('utf8'));
    }
  }
  return { outputs, framer };
}

/** Splits s at the given offsets (ascending, within 1..len-1). */
function splitAt(s: string, cuts: readonly number[]): string[] {
  const b = Buffer.from(s, 'utf8');
  const parts: string[] = [];
  let prev = 0;
  for (const c of [...cuts, b.length]) {
    parts.push(b.subarray(prev, c).toString('latin1'));
    prev = c;
  }
  return parts;
}

/** Like run(), but takes raw byte chunks so cuts may fall inside a multi-byte character. */
function runBytes(whole: string, cuts: readonly number[]): { outputs: Buffer[]; framer: SseFramer } {
  const b = Buffer.from(whole, 'utf8');
  const framer = new SseFramer();
  const outputs: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, b.length]) {
    const out = framer.push(Buffer.from(b.subarray(prev, c)));
    if (out !== null) outputs.push(Buffer.from(out));
    prev = c;
  }
  return { outputs, framer };
}

const EV1 = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n';
const EV2 = 'data: {"choices":[{"delta":{"content":"lo 👋"}}]}\n\n';
const DONE = 'data: [DONE]\n\n';

describe('SseFramer: whole events', () => {
  it('passes a whole event through in one push', () => {
    const { outputs, framer } = run([EV1]);
    expect(outputs).toEqual([EV1]);
    expect(framer.pending).toBe(0);
  });

  it('passes several whole events in one chunk through together', () => {
    const { outputs, framer } = run([EV1 + EV2 + DONE]);
    expect(outputs).toEqual([EV1 + EV2 + DONE]);
    expect(framer.pending).toBe(0);
    expect(framer.sawDone).toBe(true);
  });

  it('forwards multi-line events and comments whole', () => {
    const ev = 'event: message\nid: 7\ndata: line one\ndata: line two\n\n: keep-alive\n\n';
    expect(run([ev]).outputs).toEqual([ev]);
  });

  it('returns null and keeps the bytes while no event is complete', () => {
    const framer = new SseFramer();
    expect(framer.push(Buffer.from('data: {"a"'))).toBeNull();
    expect(framer.pending).toBe(10);
    expect(framer.push(Buffer.from(':1}\n'))).toBeNull();
    expect(framer.pending).toBe(14);
    expect(framer.push(Buffer.from('\n'))?.toString()).toBe('data: {"a":1}\n\n');
    expect(framer.pending).toBe(0);
  });

  it('forwards complete events and carries the incomplete tail of a chunk', () => {
    const framer = new SseFramer();
    const out = framer.push(Buffer.from(EV1 + 'data: {"par'));
    expect(out?.toString()).toBe(EV1);
    expect(framer.pending).toBe('data: {"par'.length);
    expect(framer.push(Buffer.from('t":1}\n\n'))?.toString()).toBe('data: {"part":1}\n\n');
    expect(framer.pending).toBe(0);
  });

  it('does not keep a reference to a chunk buffer the caller may reuse', () => {
    const framer = new SseFramer();
    const chunk = Buffer.from('data: abc');
    framer.push(chunk);
    chunk.fill(0x78); // undici may hand out pooled buffers
    expect(framer.push(Buffer.from('\n\n'))?.toString()).toBe('data: abc\n\n');
  });
});

describe('SseFramer: events split across chunks', () => {
  const stream = EV1 + EV2 + DONE;
  const total = Buffer.byteLength(stream);

  it('emits each event exactly once and whole for every 2-way split', () => {
    for (let a = 1; a < total; a++) {
      const { outputs, framer } = runBytes(stream, [a]);
      expect(Buffer.concat(outputs).toString('utf8'), `cut at ${a}`).toBe(stream);
      // Every output ends on an event boundary.
      for (const o of outputs) expect(o.toString('latin1').endsWith('\n\n'), `cut at ${a}`).toBe(true);
      expect(framer.pending).toBe(0);
      expect(framer.sawDone).toBe(true);
    }
  });

  it('emits each event exactly once and whole for every 3-way split', () => {
    for (let a = 1; a < total - 1; a++) {
      for (let b = a + 1; b < total; b++) {
        const { outputs, framer } = runBytes(stream, [a, b]);
        const joined = Buffer.concat(outputs).toString('utf8');
        if (joined !== stream) expect(joined, `cuts at ${a},${b}`).toBe(stream);
        const events = outputs.flatMap((o) => o.toString('utf8').split(/(?<=\n\n)/));
        if (events.join('|') !== [EV1, EV2, DONE].join('|')) expect(events, `cuts at ${a},${b}`).toEqual([EV1, EV2, DONE]);
        if (framer.pending !== 0 || !framer.sawDone) expect({ pending: framer.pending, done: framer.sawDone }).toEqual({ pending: 0, done: true });
      }
    }
  });

  it('handles one byte per push', () => {
    const b = Buffer.from(stream);
    const cuts = Array.from({ length: b.length - 1 }, (_, i) => i + 1);
    const { outputs, framer } = runBytes(stream, cuts);
    expect(outputs.map((o) => o.toString('utf8'))).toEqual([EV1, EV2, DONE]);
    expect(framer.sawDone).toBe(true);
  });
});

describe('SseFramer: CRLF framing', () => {
  const C1 = 'data: {"x":1}\r\n\r\n';
  const C2 = 'event: ping\r\ndata: {"x":2}\r\n\r\n';
  const CDONE = 'data: [DONE]\r\n\r\n';
  const stream = C1 + C2 + CDONE;

  it('recognises \\r\\n\\r\\n as an event boundary', () => {
    const { outputs, framer } = run([C1 + 'data: {"x"']);
    expect(outputs).toEqual([C1]);
    expect(framer.pending).toBe(Buffer.byteLength('data: {"x"'));
  });

  it('does not cut at a single CRLF inside an event', () => {
    const { outputs, framer } = run(['event: ping\r\ndata: 1\r\n']);
    expect(outputs).toEqual([]);
    expect(framer.pending).toBe(Buffer.byteLength('event: ping\r\ndata: 1\r\n'));
  });

  it('emits CRLF events exactly once for every 2- and 3-way split', () => {
    const total = Buffer.byteLength(stream);
    for (let a = 1; a < total; a++) {
      for (let b = a; b < total; b++) {
        const cuts = a === b ? [a] : [a, b];
        const { outputs, framer } = runBytes(stream, cuts);
        const events = outputs.flatMap((o) => o.toString('utf8').split(/(?<=\r\n\r\n)/));
        if (events.join('|') !== [C1, C2, CDONE].join('|')) expect(events, `cuts ${cuts.join(',')}`).toEqual([C1, C2, CDONE]);
        if (framer.pending !== 0 || !framer.sawDone) expect({ pending: framer.pending, done: framer.sawDone }).toEqual({ pending: 0, done: true });
      }
    }
  });
});

describe('SseFramer: truncated streams', () => {
  it('reports the bytes of a truncated final event as pending', () => {
    const tail = 'data: {"choices":[{"delta":{"con';
    const { outputs, framer } = run([EV1, EV2 + tail]);
    expect(outputs).toEqual([EV1, EV2]);
    expect(framer.pending).toBe(Buffer.byteLength(tail));
    expect(framer.sawDone).toBe(false);
  });

  it('reports a final event missing only its blank line as pending', () => {
    const { framer } = run([EV1, 'data: [DONE]\n']);
    expect(framer.pending).toBe('data: [DONE]\n'.length);
    expect(framer.sawDone).toBe(false);
  });

  it('concatenated outputs equal the input minus the pending tail, for random chunkings', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const events = [EV1, EV2, 'data: {"x":"\\n\\n"}\n\n', ': comment\n\n', 'data: a\r\n\r\n', DONE];
    for (let trial = 0; trial < 300; trial++) {
      let input = '';
      const n = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) input += events[Math.floor(rand() * events.length)]!;
      input += 'data: {"partial":tr'.slice(0, Math.floor(rand() * 19));
      const bytes = Buffer.from(input, 'utf8');
      const cuts: number[] = [];
      for (let p = 1 + Math.floor(rand() * 20); p < bytes.length; p += 1 + Math.floor(rand() * 20)) cuts.push(p);
      const { outputs, framer } = runBytes(input, cuts);
      const forwarded = Buffer.concat(outputs);
      expect(forwarded.length + framer.pending).toBe(bytes.length);
      expect(forwarded.equals(bytes.subarray(0, forwarded.length))).toBe(true);
      // The forwarded part ends on a boundary and the pending part contains none.
      const pendingText = bytes.subarray(forwarded.length).toString('utf8');
      expect(pendingText.includes('\n\n') || pendingText.includes('\r\n\r\n')).toBe(false);
      if (forwarded.length > 0) expect(/(\n\n|\r\n\r\n)$/.test(forwarded.toString('utf8'))).toBe(true);
    }
  });
});

describe('SseFramer: sawDone', () => {
  it('is false before anything arrives', () => {
    expect(new SseFramer().sawDone).toBe(false);
  });

  it('is true when the last forwarded event is data: [DONE]', () => {
    expect(run([EV1, DONE]).framer.sawDone).toBe(true);
    expect(run([EV1 + DONE]).framer.sawDone).toBe(true);
    expect(run(['data: [DONE]\r\n\r\n']).framer.sawDone).toBe(true);
  });

  it('is false for a stream that ends without [DONE]', () => {
    expect(run([EV1, EV2]).framer.sawDone).toBe(false);
  });

  it('is false while [DONE] is still incomplete', () => {
    expect(run([EV1, 'data: [DON']).framer.sawDone).toBe(false);
  });

  it('is false when another event follows [DONE] in the same chunk', () => {
    expect(run([EV1 + DONE + 'data: x\n\n']).framer.sawDone).toBe(false);
    expect(run([DONE + ': ping\n\n']).framer.sawDone).toBe(false);
  });

  it('is false when another event follows [DONE] in a later chunk', () => {
    expect(run([DONE, EV1]).framer.sawDone).toBe(false);
    expect(run([DONE, 'data: x\n\n']).framer.sawDone).toBe(false);
  });

  it('is false when "data: [DONE]" only appears inside an event payload', () => {
    expect(run(['data: {"content":"data: [DONE]"}\n\n']).framer.sawDone).toBe(false);
    expect(run(['data: say data: [DONE]\n\n']).framer.sawDone).toBe(false);
  });

  it('stays true when a pending partial event arrives after [DONE]', () => {
    // The stream is then incomplete (pending > 0); the caller checks both.
    const { framer } = run([DONE, 'data: {"x"']);
    expect(framer.sawDone).toBe(true);
    expect(framer.pending).toBeGreaterThan(0);
  });
});
