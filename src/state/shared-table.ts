// A fixed-size hash table in a SharedArrayBuffer, for state every request thread must agree on
// (circuits, quota counters): each slot is found by the 53-bit hash of a string id, claimed once by
// whichever thread meets the id first (Atomics.compareExchange), and then read and written in place by
// all of them. Open addressing with linear probing; nothing is ever removed (ids are bounded by the
// config, or capped by the caller). A full table answers -1: the caller falls back to untracked state.
//
// Slot layout, in the table's Int32Array: [state, hashHi, hashLo, idLength, ...the slot's own int32 fields]
// and in its Float64Array: [...the slot's float64 fields]; the id's first bytes are kept for listing.

const EMPTY = 0;
const CLAIMING = 1;
const READY = 2;
const HEADER = 4;
/** Bytes of a slot's id kept for /admin/stats (longer ids are cut). */
const ID_BYTES = 128;

/** FNV-1a over UTF-16 code units into two 32-bit halves (53 useful bits: a collision is negligible). */
function hash(id: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h1 >>> 13);
  }
  // 0 marks nothing here (the state word does), but keep both halves away from 0 anyway for readability.
  return [h1 | 1, h2 & 0x1fffff];
}

export interface SharedTableBuffers {
  readonly i32: SharedArrayBuffer;
  readonly f64: SharedArrayBuffer;
  readonly ids: SharedArrayBuffer;
}

export class SharedTable {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  private readonly ids: Uint8Array;
  private readonly i32Stride: number;
  /** Where each id's slot is, as this thread has found it. */
  private readonly local = new Map<string, number>();
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder();

  constructor(
    readonly slots: number,
    /** Int32 fields per slot (besides the header). */
    readonly ints: number,
    /** Float64 fields per slot. */
    readonly floats: number,
    readonly buffers: SharedTableBuffers = {
      // One more int32 at the end: how many slots are claimed.
      i32: new SharedArrayBuffer((slots * (HEADER + ints) + 1) * 4),
      f64: new SharedArrayBuffer(Math.max(8, slots * floats * 8)),
      ids: new SharedArrayBuffer(slots * ID_BYTES),
    },
  ) {
    this.i32 = new Int32Array(buffers.i32);
    this.f64 = new Float64Array(buffers.f64);
    this.ids = new Uint8Array(buffers.ids);
    this.i32Stride = HEADER + ints;
    this.countAt = slots * this.i32Stride;
  }

  /** Where the count of claimed slots is, in i32. */
  private readonly countAt: number;
  /**
   * Ids this thread found absent from a full table. A full table never changes, so a miss stays one:
   * without this, every lookup of an absent id probed every slot (250 µs at 16,384 circuits, and
   * 5 ms a request for a key whose counters did not fit).
   */
  private readonly absent = new Set<string>();

  /** How many slots are claimed, by every thread. */
  get claimed(): number {
    return Atomics.load(this.i32, this.countAt);
  }

  private full(): boolean {
    return Atomics.load(this.i32, this.countAt) >= this.slots;
  }

  /** Index into i32 of the slot's first own int32 field. */
  intBase(slot: number): number {
    return slot * this.i32Stride + HEADER;
  }

  /** Index into f64 of the slot's first float64 field. */
  floatBase(slot: number): number {
    return slot * this.floats;
  }

  /** The slot of `id`, claimed if no thread has met it yet; -1 when the table is full. */
  slot(id: string): number {
    const known = this.local.get(id);
    if (known !== undefined) return known;
    if (this.absent.has(id)) return -1;
    const [hi, lo] = hash(id);
    const i32 = this.i32;
    for (let probe = 0; probe < this.slots; probe++) {
      const s = (((hi >>> 0) + probe) % this.slots) | 0;
      const at = s * this.i32Stride;
      let state = Atomics.load(i32, at);
      if (state === EMPTY) {
        state = Atomics.compareExchange(i32, at, EMPTY, CLAIMING);
        if (state === EMPTY) {
          i32[at + 1] = hi;
          i32[at + 2] = lo;
          const bytes = SharedTable.encoder.encodeInto(id, this.ids.subarray(s * ID_BYTES, (s + 1) * ID_BYTES)).written;
          i32[at + 3] = bytes;
          Atomics.store(i32, at, READY);
          Atomics.add(i32, this.countAt, 1);
          this.local.set(id, s);
          return s;
        }
      }
      // Another thread is writing this slot's header: it takes nanoseconds.
      while (state === CLAIMING) state = Atomics.load(i32, at);
      if (i32[at + 1] === hi && i32[at + 2] === lo) {
        this.local.set(id, s);
        return s;
      }
    }
    this.rememberAbsent(id);
    return -1;
  }

  private rememberAbsent(id: string): void {
    if (this.full() && this.absent.size < 16_384) this.absent.add(id);
  }

  /** Has some thread claimed a slot for `id`? (Does not claim one.) */
  has(id: string): boolean {
    if (this.local.has(id)) return true;
    if (this.absent.has(id)) return false;
    const [hi, lo] = hash(id);
    for (let probe = 0; probe < this.slots; probe++) {
      const s = (((hi >>> 0) + probe) % this.slots) | 0;
      const at = s * this.i32Stride;
      const state = Atomics.load(this.i32, at);
      if (state === EMPTY) return false;
      if (state === READY && this.i32[at + 1] === hi && this.i32[at + 2] === lo) return true;
    }
    this.rememberAbsent(id);
    return false;
  }

  /** Every claimed slot with its id (cut at ID_BYTES), for listings. */
  *entries(): Generator<[string, number]> {
    for (let s = 0; s < this.slots; s++) {
      const at = s * this.i32Stride;
      if (Atomics.load(this.i32, at) !== READY) continue;
      yield [SharedTable.decoder.decode(this.ids.slice(s * ID_BYTES, s * ID_BYTES + this.i32[at + 3]!)), s];
    }
  }
}
