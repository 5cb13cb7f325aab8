// A single-producer, single-consumer ring of fixed slots in a SharedArrayBuffer (engineering.md §4):
// the request thread writes a slot and publishes its write index; the telemetry worker reads up to
// it and publishes its read index. One ring per request thread; a thread started again in a dead
// one's place carries on from the write index the ring holds. Full means the worker fell behind: the record is dropped and
// counted, and the request thread never waits.
//
// control words (Int32): [0] write index, [1] read index, [2] dropped. Indexes grow without bound
// (2^31 records is ~5 days at 5k/s; they wrap with the int32 and stay consistent because only the
// difference write - read is ever used).

import { SLOT_BYTES } from './record.ts';

const WRITE = 0;
const READ = 1;
const DROPPED = 2;
const CONTROL_BYTES = 64;

export interface RingBuffers {
  readonly sab: SharedArrayBuffer;
  readonly slots: number;
}

/** `slots` is rounded up to a power of two, so slot positions stay right when the int32 indexes wrap. */
export function createRing(slots: number): RingBuffers {
  const n = 2 ** Math.ceil(Math.log2(Math.max(2, slots)));
  return { sab: new SharedArrayBuffer(CONTROL_BYTES + n * SLOT_BYTES), slots: n };
}

export class RingWriter {
  private readonly ctl: Int32Array;
  readonly dv: DataView;
  readonly u8: Uint8Array;
  private write = 0;

  constructor(readonly ring: RingBuffers) {
    this.ctl = new Int32Array(ring.sab, 0, CONTROL_BYTES / 4);
    this.dv = new DataView(ring.sab, CONTROL_BYTES);
    this.u8 = new Uint8Array(ring.sab, CONTROL_BYTES);
    this.write = Atomics.load(this.ctl, WRITE);
  }

  /** Byte offset of the next free slot, or -1 when the ring is full (the record is dropped and counted). */
  claim(): number {
    const w = this.write;
    if (((w - Atomics.load(this.ctl, READ)) | 0) >= this.ring.slots) {
      Atomics.add(this.ctl, DROPPED, 1);
      return -1;
    }
    return (w >>> 0) % this.ring.slots * SLOT_BYTES;
  }

  /** Makes the claimed slot visible to the reader. */
  publish(): void {
    this.write = (this.write + 1) | 0;
    Atomics.store(this.ctl, WRITE, this.write);
  }

  /** Counts a record dropped outside the ring (a payload the worker could not take). */
  countDrop(): void {
    Atomics.add(this.ctl, DROPPED, 1);
  }

  get dropped(): number {
    return Atomics.load(this.ctl, DROPPED);
  }

  /** Records written but not yet read. */
  get backlog(): number {
    return (this.write - Atomics.load(this.ctl, READ)) | 0;
  }
}

export class RingReader {
  private readonly ctl: Int32Array;
  readonly dv: DataView;
  readonly u8: Uint8Array;

  constructor(readonly ring: RingBuffers) {
    this.ctl = new Int32Array(ring.sab, 0, CONTROL_BYTES / 4);
    this.dv = new DataView(ring.sab, CONTROL_BYTES);
    this.u8 = new Uint8Array(ring.sab, CONTROL_BYTES);
  }

  /**
   * Calls `each(offset)` for every published slot, then releases them; returns how many. `seen` runs
   * once the write index is read, before any slot is: whatever the writer did before publishing those
   * slots (post the names they use, say) has happened by then. When `seen` returns false the slots
   * are left for a later drain.
   */
  drain(each: (offset: number) => void, max = Infinity, seen?: () => boolean): number {
    const w = Atomics.load(this.ctl, WRITE);
    if (seen !== undefined && !seen()) return 0;
    let r = Atomics.load(this.ctl, READ);
    let n = 0;
    while (r !== w && n < max) {
      each((r >>> 0) % this.ring.slots * SLOT_BYTES);
      r = (r + 1) | 0;
      n++;
    }
    Atomics.store(this.ctl, READ, r);
    return n;
  }
}
