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

  start(everyMs = 10): void {
    if (!Number.isFinite(this.high)) return;
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
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
