// A token limit shared by request threads (state/quota-memory.ts reserve): two worker threads, released
// together, reserve the last token of a window at once, round after round; never do both get it.
import { expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { QUOTA_FLOATS, QUOTA_INTS } from '../../src/state/quota-memory.ts';
import { SharedTable } from '../../src/state/shared-table.ts';
import type { Counter } from '../../src/state/quota.ts';
import { raceRound } from '../helpers/race-round.ts';

const ROUNDS = 20_000;

it('one reservation of the last token per window, whichever thread asks first', async () => {
  const table = new SharedTable(64, QUOTA_INTS, QUOTA_FLOATS);
  const counter: Counter = { id: 'vk:k:tpm', limit: 1, period: '1m' };
  const start = Date.UTC(2026, 0, 1, 12, 0, 10);
  const sync = new Int32Array(new SharedArrayBuffer(12));
  const script = resolve(import.meta.dirname, '../helpers/quota-racer.mjs');
  const workers = [0, 1].map(() => new Worker(script, { workerData: { buffers: table.buffers, slots: table.slots, sync: sync.buffer, counter, rounds: ROUNDS, start } }));
  let doubles = 0;
  let none = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const passed = raceRound(sync, r, 2);
    if (passed > 1) doubles++;
    if (passed === 0) none++;
  }
  await Promise.all(workers.map((w) => w.terminate()));
  expect(none).toBe(0);
  expect(doubles).toBe(0);
}, 60_000);
