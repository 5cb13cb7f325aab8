// A worker thread for test/unit/circuit-threads.test.ts: each round, once released, asks allow() of
// the shared circuit once and reports whether it got the probe.
import { workerData } from 'node:worker_threads';
import { Circuit } from '../../src/state/circuit.ts';

const { i32, f64, sync, clock, rounds, opts } = workerData as { i32: SharedArrayBuffer; f64: SharedArrayBuffer; sync: SharedArrayBuffer; clock: SharedArrayBuffer; rounds: number; opts: ConstructorParameters<typeof Circuit>[0] };
// The round's time, the same for both threads: a probe is never presumed lost within a round.
const now = new Float64Array(clock);
const s = new Int32Array(sync);
const c = new Circuit(opts, { i32: new Int32Array(i32), i32At: 0, f64: new Float64Array(f64), f64At: 0 });
for (let r = 1; r <= rounds; r++) {
  while (Atomics.load(s, 0) < r) Atomics.wait(s, 0, r - 1, 50);
  if (c.allow(now[0]!)) Atomics.add(s, 2, 1);
  Atomics.add(s, 1, 1);
  Atomics.notify(s, 1);
}
