// The state every request thread of one process must agree on, in SharedArrayBuffers: which keys rest
// (after a 429 or 401), circuit states, the retry budget, the embedded governance counters, and each
// thread's own counters (so /admin/stats answers for the whole process). Made once by the process
// (main.ts, or startGateway for a single thread) and handed to every request thread, whose compiled
// plan then reads and writes these arrays instead of objects of its own.
//
// Times in shared memory are on the epoch clock (performance.timeOrigin + performance.now()): each
// thread's performance.now() starts at its own origin.
import { CIRCUIT_FLOATS, CIRCUIT_INTS } from './circuit.ts';
import { QUOTA_FLOATS, QUOTA_INTS } from './quota-memory.ts';
import { KEY_FLOATS, KEY_INTS } from './key-state.ts';
import { SharedTable, type SharedTableBuffers } from './shared-table.ts';
import { HISTOGRAM_FIELDS } from './micros-histogram.ts';
import { randomFillSync } from 'node:crypto';

function randomShared(bytes: number): SharedArrayBuffer {
  const b = new SharedArrayBuffer(bytes);
  randomFillSync(new Uint8Array(b));
  return b;
}

// Table sizes. A SharedArrayBuffer's pages are committed only when written (a 64 MB one adds nothing to
// RSS until used), so room for large deployments costs only what is used: 340 bytes a circuit, 180 a
// counter. Slots are never freed, so the caps bound what a process meets in its lifetime.
/** Provider keys a process may know (over every config it has loaded): each key's id is its slot. */
export const MAX_KEYS = 4_096;
/** (key, model) circuits: every declared pair, claimed at load, and run-time pairs that failed (state/health.ts). */
export const MAX_CIRCUITS = 16_384;
/** Governance counters: up to three limits (requests, tokens, spend) per virtual key, team and customer. */
export const MAX_QUOTA_COUNTERS = 65_536;
export const MAX_THREADS = 64;
const RETRY_BUCKETS = 10;

/**
 * Per request thread, float64 fields, each written by its thread only (counts as doubles: they outgrow
 * int32 on a long-lived gateway). `lost` and `restarts` are written by the supervisor, after the thread
 * died: requests it had in flight, and how many times its slot was started again.
 */
export const THREAD = {
  requests: 0,
  inFlight: 1,
  aborted: 2,
  pauses: 3,
  alive: 4,
  loopP50: 5,
  loopP99: 6,
  loopMax: 7,
  telemetryDropped: 8,
  lost: 9,
  restarts: 10,
} as const;
export const THREAD_FIELDS = 11;

/** Process-wide fields, written by whoever owns them (the telemetry hub). */
export const PROCESS = { telemetryRestarts: 0, configReloads: 1, configReloadFailures: 2 } as const;
const PROCESS_FIELDS = Object.keys(PROCESS).length;

export interface SharedBuffers {
  readonly keys: SharedTableBuffers;
  readonly circuits: SharedTableBuffers;
  readonly retryF64: SharedArrayBuffer;
  readonly retryI32: SharedArrayBuffer;
  readonly quota: SharedTableBuffers;
  readonly threads: SharedArrayBuffer;
  readonly process: SharedArrayBuffer;
  /** The in-gateway time histogram, one slice per request thread (state/micros-histogram.ts). */
  readonly gatewayTime: SharedArrayBuffer;
  /** 32 random bytes drawn once per process: the id secret of a config that sets none (config/compile.ts). */
  readonly processSecret: SharedArrayBuffer;
  /** Bytes of provider answers held, over every thread and plan (state/buffer-budget.ts). */
  readonly bufferHeld: SharedArrayBuffer;
}

export class SharedState {
  /** Provider keys by identity (compile.ts keyIdentity): until when each rests (epoch ms; 0: it does not), and why. */
  readonly keys: SharedTable;
  readonly circuits: SharedTable;
  /** The retry budget's sliding window: epochs, and counts (requests, retries). */
  readonly retryF64: Float64Array;
  readonly retryI32: Int32Array;
  readonly quota: SharedTable;
  readonly threads: Float64Array;
  readonly process: Float64Array;
  readonly gatewayTime: Float64Array;
  readonly processSecret: Uint8Array;
  /** How many request threads the process runs (slots 0 … threadCount - 1). */
  readonly threadCount: number;

  /** `threads`: the request threads this state serves (made by the process that starts them). */
  constructor(threads = 1, readonly buffers: SharedBuffers = SharedState.allocate(threads)) {
    this.keys = new SharedTable(MAX_KEYS, KEY_INTS, KEY_FLOATS, buffers.keys);
    this.circuits = new SharedTable(MAX_CIRCUITS, CIRCUIT_INTS, CIRCUIT_FLOATS, buffers.circuits);
    this.retryF64 = new Float64Array(buffers.retryF64);
    this.retryI32 = new Int32Array(buffers.retryI32);
    this.quota = new SharedTable(MAX_QUOTA_COUNTERS, QUOTA_INTS, QUOTA_FLOATS, buffers.quota);
    this.threads = new Float64Array(buffers.threads);
    this.process = new Float64Array(buffers.process);
    this.gatewayTime = new Float64Array(buffers.gatewayTime);
    this.processSecret = new Uint8Array(buffers.processSecret);
    this.threadCount = this.gatewayTime.length / HISTOGRAM_FIELDS;
  }

  /** The same memory, in another thread. */
  static of(buffers: SharedBuffers): SharedState {
    return new SharedState(0, buffers);
  }

  private static allocate(threads: number): SharedBuffers {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new RangeError(`request threads: 1 to ${MAX_THREADS}, not ${threads}`);
    const table = (slots: number, ints: number, floats: number) => new SharedTable(slots, ints, floats).buffers;
    return {
      keys: table(MAX_KEYS, KEY_INTS, KEY_FLOATS),
      circuits: table(MAX_CIRCUITS, CIRCUIT_INTS, CIRCUIT_FLOATS),
      retryF64: new SharedArrayBuffer(RETRY_BUCKETS * 8),
      retryI32: new SharedArrayBuffer(RETRY_BUCKETS * 2 * 4),
      quota: table(MAX_QUOTA_COUNTERS, QUOTA_INTS, QUOTA_FLOATS),
      threads: new SharedArrayBuffer(MAX_THREADS * THREAD_FIELDS * 8),
      process: new SharedArrayBuffer(PROCESS_FIELDS * 8),
      gatewayTime: new SharedArrayBuffer(threads * HISTOGRAM_FIELDS * 8),
      processSecret: randomShared(32),
      bufferHeld: new SharedArrayBuffer(8),
    };
  }

  /** Thread `t`'s field `f`. */
  thread(t: number, f: number): number {
    return this.threads[t * THREAD_FIELDS + f]!;
  }

  /** Sets thread `t`'s field `f` (only thread `t` writes its row, and the supervisor once it died). */
  setThread(t: number, f: number, v: number): void {
    this.threads[t * THREAD_FIELDS + f] = v;
  }

  /** Adds to thread `t`'s field `f`. */
  addThread(t: number, f: number, v: number): void {
    this.threads[t * THREAD_FIELDS + f]! += v;
  }

  /** Field `f` summed over the threads: every one that ever ran (counts), or only those alive (gauges). */
  sum(f: number, aliveOnly = false): number {
    let n = 0;
    for (let t = 0; t < this.threadCount; t++) if (!aliveOnly || this.threads[t * THREAD_FIELDS + THREAD.alive] === 1) n += this.threads[t * THREAD_FIELDS + f]!;
    return n;
  }
}
