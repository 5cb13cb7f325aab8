// A half-open circuit lets one probe through, across request threads racing for it (state/circuit.ts
// allow). Two worker threads call allow() on the same shared circuit, released together, for many
// reopenings; never do both get a yes for the same one.
import { expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { Circuit, CIRCUIT_FLOATS, CIRCUIT_INTS } from '../../src/state/circuit.ts';
import { raceRound } from '../helpers/race-round.ts';

const OPTS = { consecutiveFailures: 1, errorRate: 0.5, minRequests: 20, windowMs: 60_000, cooldownMs: 1 };
const ROUNDS = 20_000;

it('one probe per reopening, whichever thread claims it', async () => {
  const i32 = new SharedArrayBuffer(CIRCUIT_INTS * 4);
  const f64 = new SharedArrayBuffer(CIRCUIT_FLOATS * 8);
  // [round released, answers this round, yeses this round]
  const sync = new Int32Array(new SharedArrayBuffer(12));
  // The time every thread passes for the round: the same for both, so neither may take the other's
  // probe over as one presumed lost (that happens only a cooldown later, by design).
  const clock = new SharedArrayBuffer(8);
  const now = new Float64Array(clock);
  const script = resolve(import.meta.dirname, '../helpers/circuit-racer.mjs');
  const workers = [0, 1].map(() => new Worker(script, { workerData: { i32, f64, sync: sync.buffer, clock, rounds: ROUNDS, opts: OPTS } }));
  const circuit = new Circuit(OPTS, { i32: new Int32Array(i32), i32At: 0, f64: new Float64Array(f64), f64At: 0 });
  let doubles = 0;
  let probes = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    // Open (a failure trips it; a failed probe trips it again) at 10 r; both threads ask at 10 r + 5,
    // past the cooldown of 1.
    circuit.record(false, 1, 10 * r);
    now[0] = 10 * r + 5;
    const yes = raceRound(sync, r, 2);
    if (yes > 1) doubles++;
    probes += yes;
  }
  await Promise.all(workers.map((w) => w.terminate()));
  expect(probes).toBeGreaterThan(ROUNDS / 2);
  expect(doubles).toBe(0);
}, 60_000);
