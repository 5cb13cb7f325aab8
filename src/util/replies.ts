// Replies awaited across a MessagePort (a worker thread's answers to asks), each under a deadline: the
// ask resolves with the reply, or with its fallback when the deadline passes or the other side is gone.
// Used by the telemetry hub, the request threads and the supervisor's relay.

export class Replies<K, T> {
  private readonly pending = new Map<K, (value: T) => void>();

  /** Registers `key`, calls `send`, and resolves with what settle(key, …) gives, else `fallback()` after timeoutMs. */
  wait(key: K, timeoutMs: number, fallback: () => T, send: () => void): Promise<T> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(fallback()), timeoutMs);
      const done = (value: T): void => {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(value);
      };
      this.pending.set(key, done);
      send();
    });
  }

  /** Resolves the ask waiting on `key` (nothing when none is, or it already ended). */
  settle(key: K, value: T): void {
    this.pending.get(key)?.(value);
  }

  /** Resolves every ask still waiting with value(key): the other side is gone. */
  settleAll(value: (key: K) => T): void {
    for (const [key, done] of [...this.pending]) done(value(key));
  }
}
