// Wrong admin keys, counted per client address: after MAX_WRONG within a window, that address is
// refused (429 with Retry-After) until the window ends, even with the right key, so guessing the key
// costs a minute per ten tries rather than microseconds per try (an audit made 50 wrong logins in under
// a second, with no delay, log line or metric). Kept per request thread, in a bounded map; behind a
// proxy every client shares the proxy's address, so its admins share the lock-out too.

const MAX_WRONG = 10;
const WINDOW_MS = 60_000;
/** Addresses remembered at most (the oldest window goes first). */
const MAX_ADDRESSES = 10_000;

interface Window {
  start: number;
  wrong: number;
}

export class AdminGuesses {
  private readonly byAddress = new Map<string, Window>();

  /** Milliseconds until `address` may try again, or 0. */
  lockedFor(address: string, now: number): number {
    const w = this.byAddress.get(address);
    if (w === undefined || w.wrong < MAX_WRONG) return 0;
    const left = w.start + WINDOW_MS - now;
    if (left > 0) return left;
    this.byAddress.delete(address);
    return 0;
  }

  /** A wrong key from `address`; true when it has just used up its tries (said once per window). */
  wrong(address: string, now: number): boolean {
    let w = this.byAddress.get(address);
    if (w === undefined || now - w.start >= WINDOW_MS) {
      if (w === undefined && this.byAddress.size >= MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value!);
      w = { start: now, wrong: 0 };
      this.byAddress.delete(address);
      this.byAddress.set(address, w);
    }
    w.wrong++;
    return w.wrong === MAX_WRONG;
  }
}
