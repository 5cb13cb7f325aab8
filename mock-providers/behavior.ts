// Decides what happens to one request: which fault (if any) and how long to wait first.
// All randomness goes through one Rng so a seeded mock replays the same faults for the same request sequence.

import type { Behavior } from './config.ts';
import { mulberry32 } from '../src/util/prng.ts';

export type Rng = () => number;

export function makeRng(seed: number | undefined): Rng {
  return seed === undefined ? Math.random : mulberry32(seed);
}

export type Fault = 'none' | 'error' | 'reset' | 'timeout' | 'malformed';

export interface Decision {
  fault: Fault;
  status: number;
}

const OK: Decision = { fault: 'none', status: 200 };
const RESET: Decision = { fault: 'reset', status: 0 };
const TIMEOUT: Decision = { fault: 'timeout', status: 0 };
const MALFORMED: Decision = { fault: 'malformed', status: 200 };

/** One draw, cut into slices in a fixed order (timeout, reset, error, malformed), so each rate is exact
 *  while their sum stays <= 1, and the number of draws per request never depends on the outcome. */
export function decide(b: Behavior, rng: Rng): Decision {
  if (b.status >= 400) return { fault: 'error', status: b.status };
  if (b.status > 0 || !b.rolls) return OK;
  let u = rng();
  if ((u -= b.timeoutRate) < 0) return TIMEOUT;
  if ((u -= b.resetRate) < 0) return RESET;
  if ((u -= b.errorRate) < 0) {
    // Reuse the draw's position inside the error slice to pick the status uniformly.
    const i = Math.floor(((u + b.errorRate) / b.errorRate) * b.errorStatuses.length);
    return { fault: 'error', status: b.errorStatuses[i] ?? 500 };
  }
  if ((u -= b.malformedRate) < 0) return MALFORMED;
  return OK;
}

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** z-score of the 99th percentile: turns a (p50, p99) pair into a lognormal sigma. */
const Z99 = 2.3263478740408408;

export function sampleLatency(b: Behavior, rng: Rng): number {
  const d = b.latency;
  if (d === null) return b.latencyMs;
  let ms: number;
  switch (d.dist) {
    case 'uniform':
      ms = d.min + rng() * (d.max - d.min);
      break;
    case 'normal':
      ms = d.mean + d.sd * gaussian(rng);
      break;
    case 'lognormal': {
      const p50 = Math.max(d.p50, 1e-3);
      const sigma = Math.log(Math.max(d.p99, p50) / p50) / Z99;
      ms = p50 * Math.exp(sigma * gaussian(rng));
      break;
    }
  }
  return Math.max(0, ms);
}
