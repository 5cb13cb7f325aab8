// Keeps the process below its file-descriptor limit by refusing new connections early.
//
// uWS 20.30 has no connection cap, no per-socket open hook for HTTP and no way to set its idle
// timeout (compiled in: a silent connection is closed 8–12 s after its last byte). When accept()
// fails with EMFILE it spins: epoll returns the listen socket at once, accept fails again, and the
// thread runs at 100% while new clients sit in the kernel's backlog for seconds (measured with
// `ulimit -n 512` and 600 idle connections; uSockets marks the spot "start timer here").
//
// So the guard watches the open-fd count and closes the listen socket before the limit: new
// connections are then refused at once (ECONNREFUSED) while every open connection is still served.
// Once idle ones have been closed and the count is back under the low mark, it listens again.
// Closing a listen socket resets connections already queued in its backlog, which is why the high
// mark leaves room: the guard acts while the backlog still drains. It caps the process as a whole;
// per-client limits belong in a front proxy (nginx limit_conn, HAProxy maxconn).
import { readdirSync, readFileSync, statSync } from 'node:fs';

/** Open file descriptors of this process: one stat on Linux 6.2+, a directory listing before that. */
export function openFds(): number {
  try {
    const n = statSync('/proc/self/fd').size;
    return n > 0 ? n : readdirSync('/proc/self/fd').length;
  } catch {
    return 0; // not Linux: the guard stays idle
  }
}

/** The soft limit on open files (`ulimit -n`), or Infinity when it cannot be read. */
export function fdLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? Infinity : Number(m[1]);
  } catch {
    return Infinity;
  }
}

/**
 * The fd count at which new connections are refused: the limit less a reserve for what the process
 * opens itself (provider connections, log files, worker pipes). `configured` wins when set.
 */
export function highMark(limit: number, configured: number | undefined): number {
  if (configured !== undefined) return configured;
  return Number.isFinite(limit) ? limit - Math.max(256, Math.ceil(limit / 20)) : Infinity;
}

/** Fastest that new descriptors are assumed to open (accepted connections and our own): 50 per ms. */
const OPENS_PER_MS = 50;

/**
 * When to count again: soon enough that, opening OPENS_PER_MS descriptors a millisecond, the count
 * cannot pass the high mark in between; every `minMs` while paused (to resume promptly) or close to it,
 * and at least once a second.
 */
export function nextCheckMs(high: number, count: number, paused: boolean, minMs: number): number {
  if (paused) return minMs;
  return Math.min(1000, Math.max(minMs, Math.floor((high - count) / OPENS_PER_MS)));
}

export interface Listener {
  /** Stops accepting (closes the listen socket). */
  pause(): void;
  /** Starts accepting again; calls back with false when the port could not be taken. */
  resume(done: (ok: boolean) => void): void;
}

export class ConnectionGuard {
  paused = false;
  /** Times accepting was paused. */
  pauses = 0;
  lastCount = 0;
  private timer: NodeJS.Timeout | null = null;
  private resuming = false;
  private readonly low: number;

  constructor(
    private readonly listener: Listener,
    readonly high: number,
    private readonly count: () => number = openFds,
  ) {
    this.low = Math.floor(high * 0.8);
  }

  /**
   * Counts every `minMs` near the mark, less often with room to spare: counting (a stat of /proc/self/fd)
   * takes the kernel tens of µs with a thousand sockets open, which at a fixed 10 ms was ~0.6 µs per
   * request at 4,000 req/s (bench:profile --perf).
   */
  start(minMs = 10): void {
    if (!Number.isFinite(this.high)) return;
    const tick = (): void => {
      this.check();
      this.timer = setTimeout(tick, nextCheckMs(this.high, this.lastCount, this.paused, minMs));
      if (!this.paused) this.timer.unref();
    };
    tick();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  check(): void {
    const n = (this.lastCount = this.count());
    if (!this.paused && n >= this.high) {
      this.listener.pause();
      this.paused = true;
      this.pauses++;
      // With the listen socket closed, this timer may be all that keeps the event loop alive: once
      // the open connections close, an unref'd timer would let the process exit (with code 0).
      this.timer?.ref();
    } else if (this.paused && !this.resuming && n <= this.low) {
      this.resuming = true;
      this.listener.resume((ok) => {
        this.resuming = false;
        if (!ok) return;
        this.paused = false;
        this.timer?.unref();
      });
    }
  }
}
