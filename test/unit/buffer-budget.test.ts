// server.maxBufferedBytes holds for the process: every request thread and every plan (a reload's too)
// take from one count in shared memory (state/buffer-budget.ts). One budget's own rules: hostile-units.test.ts.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { BufferBudget } from '../../src/state/buffer-budget.ts';
import { compilePlan } from '../../src/config/compile.ts';
import { validateConfig } from '../../src/config/load.ts';
import { SharedState } from '../../src/state/shared-state.ts';

describe('BufferBudget', () => {
  it('one count for every thread of the process and every plan, a reload included', async () => {
    const config = validateConfig({ version: 1, server: { maxBufferedBytes: 1000 }, providers: { p: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k', value: 'sk-0123456789abcdef' }] } } }, {});
    const shared = new SharedState(2);
    const first = compilePlan(config, { shared });
    const other = compilePlan(config, { shared: SharedState.of(shared.buffers) }); // another thread's
    const reloaded = compilePlan(config, { shared, previous: first });
    expect(first.bufferBudget.take(600)).toBe(true);
    expect(other.bufferBudget.take(600)).toBe(false);
    expect(reloaded.bufferBudget.bytes).toBe(600);
    // A worker thread takes from the same count.
    const w = new Worker(`const { parentPort, workerData } = require('node:worker_threads'); const a = new BigInt64Array(workerData, 0, 1); Atomics.add(a, 0, 300n); parentPort.postMessage(0);`, { eval: true, workerData: shared.buffers.bufferHeld });
    await new Promise((r) => w.once('message', r));
    await w.terminate();
    expect(first.bufferBudget.bytes).toBe(900);
    expect(other.bufferBudget.take(101)).toBe(false);
    first.bufferBudget.give(900);
    await Promise.all([first.close(), other.close(), reloaded.close()]);
  });
});
