// The request deadline of every attempt in flight (upstream/attempt.ts armDeadline), on one Node timer.
//
// Why not a setTimeout per attempt: Node keeps one timer list per distinct duration (in whole ms)
// and a priority queue of those lists, and drops a list when its last timer goes. An attempt's
// duration is what is left of the request's deadline, so it varies from request to request, and at
// a few thousand requests a second with a few in flight a list was created, queued and dequeued
// again for nearly every attempt: setTimeout and clearTimeout cost ~3 µs (sampled) per request, most
// of it in the list queue (issue 14's profile, results/profiles/).
//
// Here: a binary min-heap of the attempts by expiry, each holding its own index in it (so one that
// settles leaves in O(log n) with no search), and one timer set for the earliest expiry. The timer
// moves only when an earlier deadline arrives; an attempt leaving never moves it (the timer may then
// fire with nothing due, and is set again for the next one). With requests sharing one deadline
// setting, each new expiry is the latest, so the common attempt costs a heap push and a pop.
//
// Precision is Node's own: setTimeout counts whole milliseconds of the loop's clock, so a timer could
// fire up to ~1 ms early by performance.now(); an entry is due within SLACK_MS of its expiry alike.

/** What the queue holds: an attempt's expiry (performance.now() ms) and its place in the heap (-1: not queued). */
export interface Expiring {
  expiresAt: number;
  heapIndex: number;
  onDeadline(): void;
}

const SLACK_MS = 1;
/** A timer this far past its time has not fired (tests swap in fake timers, say): it is set again. */
const OVERDUE_MS = 50;

export class DeadlineQueue {
  private readonly heap: Expiring[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the timer is set to fire (performance.now() ms), or Infinity when none is set. */
  private timerAt = Infinity;
  private readonly onTimer = (): void => this.fire();

  get size(): number {
    return this.heap.length;
  }

  /** Queues `x` to have onDeadline() called at `at` (performance.now() ms), unless removed first. */
  add(x: Expiring, at: number, now: number): void {
    x.expiresAt = at;
    const heap = this.heap;
    x.heapIndex = heap.length;
    heap.push(x);
    this.up(x.heapIndex);
    if (at < this.timerAt || now > this.timerAt + OVERDUE_MS) this.arm(now);
  }

  /** Takes `x` out of the queue (its deadline no longer applies); a no-op when it is not queued. */
  remove(x: Expiring): void {
    const i = x.heapIndex;
    if (i < 0) return;
    x.heapIndex = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (i === heap.length) return;
    heap[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  private arm(now: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const first = this.heap[0];
    if (first === undefined) {
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = first.expiresAt;
    // Unref'd: an attempt in flight holds its socket, which keeps the process alive; a deadline alone must not.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(first.expiresAt - now)));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = performance.now();
    const heap = this.heap;
    // onDeadline may settle other attempts (and so remove them) or start new ones (and add them):
    // the root is read again after each call.
    while (heap.length > 0 && heap[0]!.expiresAt <= now + SLACK_MS) {
      const x = heap[0]!;
      this.remove(x);
      x.onDeadline();
    }
    if (heap.length > 0 && this.timer === null) this.arm(performance.now());
  }

  private up(i: number): void {
    const heap = this.heap;
    const x = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.expiresAt <= x.expiresAt) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    heap[i] = x;
    x.heapIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const x = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.expiresAt < heap[l]!.expiresAt ? r : l;
      const child = heap[c]!;
      if (child.expiresAt >= x.expiresAt) break;
      heap[i] = child;
      child.heapIndex = i;
      i = c;
    }
    heap[i] = x;
    x.heapIndex = i;
  }
}

/** The request thread's one queue (each worker thread has its own module instance, and its own loop). */
export const deadlines = new DeadlineQueue();
