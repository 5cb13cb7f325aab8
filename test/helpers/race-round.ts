// One round of a race between worker threads (test/helpers/*-racer.ts), over a shared Int32Array
// [round released, answers this round, yeses this round]: releases round r to every thread, waits for
// each thread's answer, and returns how many said yes.
export function raceRound(sync: Int32Array, r: number, threads: number): number {
  Atomics.store(sync, 1, 0);
  Atomics.store(sync, 2, 0);
  Atomics.store(sync, 0, r);
  Atomics.notify(sync, 0);
  while (Atomics.load(sync, 1) < threads) Atomics.wait(sync, 1, Atomics.load(sync, 1), 50);
  return Atomics.load(sync, 2);
}
