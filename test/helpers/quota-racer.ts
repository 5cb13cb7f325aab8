// A worker thread for test/unit/quota-threads.test.ts: each round, once released, reserves one token
// of the shared counter (a limit of 1, in the round's own window) and reports whether it passed.
import { workerData } from 'node:worker_threads';
import { MemoryQuota, QUOTA_FLOATS, QUOTA_INTS } from '../../src/state/quota-memory.ts';
import { SharedTable, type SharedTableBuffers } from '../../src/state/shared-table.ts';
import type { Counter } from '../../src/state/quota.ts';

const { buffers, slots, sync, counter, rounds, start } = workerData as { buffers: SharedTableBuffers; slots: number; sync: SharedArrayBuffer; counter: Counter; rounds: number; start: number };
const store = new MemoryQuota(new SharedTable(slots, QUOTA_INTS, QUOTA_FLOATS, buffers));
// [round released, answers this round, passes this round]
const s = new Int32Array(sync);
for (let r = 1; r <= rounds; r++) {
  while (Atomics.load(s, 0) < r) Atomics.wait(s, 0, r - 1, 50);
  // Every round is a minute later: a new window, empty.
  if (store.reserve(counter, 1, 'fits', start + r * 60_000)) Atomics.add(s, 2, 1);
  Atomics.add(s, 1, 1);
  Atomics.notify(s, 1);
}
