import { describe, it, expect } from 'vitest';
import { Circuit } from '../../src/state/circuit.ts';
import type { CircuitOptions } from '../../src/state/circuit.ts';

const BASE: CircuitOptions = { consecutiveFailures: 3, errorRate: 0.5, minRequests: 10, windowMs: 10_000, cooldownMs: 5_000 };

function circuit(over: Partial<CircuitOptions> = {}): Circuit {
  return new Circuit({ ...BASE, ...over });
}

/** Trips `c` at time `at` by consecutive failures. */
function trip(c: Circuit, at: number): void {
  for (let i = 0; i < c.opts.consecutiveFailures; i++) c.record(false, 50, at);
  expect(c.state).toBe('open');
  expect(c.openedAt).toBe(at);
}

describe('Circuit: closed', () => {
  it('starts closed and lets everything through', () => {
    const c = circuit();
    expect(c.state).toBe('closed');
    expect(c.allow(0)).toBe(true);
    expect(c.allow(0)).toBe(true);
    expect(c.available(0)).toBe(true);
    expect(c.counts(0)).toEqual({ ok: 0, failed: 0 });
    expect(c.errorRate(0)).toBe(0);
  });

  it('stays closed under successes', () => {
    const c = circuit();
    for (let t = 0; t < 1000; t++) {
      c.record(true, 100, t * 37);
      expect(c.allow(t * 37)).toBe(true);
    }
    expect(c.state).toBe('closed');
    expect(c.consecutiveFailures).toBe(0);
  });

  it('opens after N consecutive failures, not before', () => {
    const c = circuit({ minRequests: 1000 });
    c.record(false, 10, 100);
    c.record(false, 10, 200);
    expect(c.state).toBe('closed');
    expect(c.consecutiveFailures).toBe(2);
    expect(c.allow(250)).toBe(true);
    c.record(false, 10, 300);
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(300);
    expect(c.allow(300)).toBe(false);
    expect(c.available(300)).toBe(false);
  });

  it('a success resets the consecutive count', () => {
    // errorRate 1 can never be exceeded, so only the consecutive rule can trip.
    const c = circuit({ errorRate: 1, minRequests: 1 });
    c.record(false, 10, 0);
    c.record(false, 10, 1);
    c.record(true, 10, 2);
    expect(c.consecutiveFailures).toBe(0);
    c.record(false, 10, 3);
    c.record(false, 10, 4);
    expect(c.state).toBe('closed');
    expect(c.consecutiveFailures).toBe(2);
    c.record(false, 10, 5);
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(5);
  });

  it('with consecutiveFailures 1, one failure opens it', () => {
    const c = circuit({ consecutiveFailures: 1, minRequests: 1000 });
    c.record(true, 10, 0);
    c.record(false, 10, 1);
    expect(c.state).toBe('open');
  });
});

describe('Circuit: error rate', () => {
  // consecutiveFailures out of reach: only the error-rate rule can trip.
  const opts = { consecutiveFailures: 1_000, errorRate: 0.5, minRequests: 10 };

  it('opens when the error rate exceeds the threshold over at least minRequests', () => {
    const c = circuit(opts);
    // Alternate: 5 ok, 5 failed = 0.5, which is not above the threshold.
    for (let i = 0; i < 10; i++) c.record(i % 2 === 0, 10, i);
    expect(c.counts(10)).toEqual({ ok: 5, failed: 5 });
    expect(c.errorRate(10)).toBe(0.5);
    expect(c.state).toBe('closed');
    c.record(false, 10, 11); // 6 / 11 > 0.5
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(11);
  });

  it('does not open on error rate before minRequests are in the window', () => {
    const c = circuit(opts);
    c.record(true, 10, 0);
    for (let i = 1; i < 9; i++) c.record(false, 10, i);
    // 8 of 9 failed: well above 50 %, but only 9 requests.
    expect(c.errorRate(9)).toBeCloseTo(8 / 9, 12);
    expect(c.state).toBe('closed');
    c.record(false, 10, 9); // the 10th request
    expect(c.state).toBe('open');
  });

  it('a success never trips it, whatever the rate', () => {
    const c = circuit({ ...opts, minRequests: 2 });
    c.record(false, 10, 0);
    expect(c.state).toBe('closed'); // 1 request < minRequests
    c.record(true, 10, 1);
    expect(c.state).toBe('closed');
    c.record(false, 10, 2); // 2/3 > 0.5
    expect(c.state).toBe('open');
  });

  it('old requests fall out of the window', () => {
    const c = circuit(opts);
    // 5 failures and 4 successes at t = 0: one more failure within the window would trip it.
    for (let i = 0; i < 5; i++) c.record(false, 10, 0);
    for (let i = 0; i < 4; i++) c.record(true, 10, 0);
    expect(c.counts(0)).toEqual({ ok: 4, failed: 5 });
    expect(c.counts(BASE.windowMs - 1)).toEqual({ ok: 4, failed: 5 });
    expect(c.counts(BASE.windowMs)).toEqual({ ok: 0, failed: 0 });
    expect(c.counts(BASE.windowMs * 5)).toEqual({ ok: 0, failed: 0 });
    expect(c.errorRate(BASE.windowMs)).toBe(0);

    // A window later, the same failure is one request of one: below minRequests.
    c.record(false, 10, BASE.windowMs);
    expect(c.state).toBe('closed');
    expect(c.counts(BASE.windowMs)).toEqual({ ok: 0, failed: 1 });
  });

  it('the same failure inside the window trips it (control for the test above)', () => {
    const c = circuit(opts);
    for (let i = 0; i < 5; i++) c.record(false, 10, 0);
    for (let i = 0; i < 4; i++) c.record(true, 10, 0);
    c.record(false, 10, BASE.windowMs / 2);
    expect(c.state).toBe('open');
  });

  it('the window slides bucket by bucket', () => {
    const c = circuit(opts); // 10 buckets of 1 s
    for (let s = 0; s < 10; s++) c.record(true, 10, s * 1000);
    expect(c.counts(9_500)).toEqual({ ok: 10, failed: 0 });
    expect(c.counts(10_500)).toEqual({ ok: 9, failed: 0 }); // the t = 0 bucket is out
    expect(c.counts(14_500)).toEqual({ ok: 5, failed: 0 });
    expect(c.counts(19_000)).toEqual({ ok: 0, failed: 0 });
    // A reused bucket starts from zero, not from what it held a window ago.
    c.record(false, 10, 20_000);
    expect(c.counts(20_000)).toEqual({ ok: 0, failed: 1 });
  });

  it('errorRate() and counts() agree', () => {
    const c = circuit({ ...opts, minRequests: 1_000 });
    for (let i = 0; i < 3; i++) c.record(true, 10, i);
    c.record(false, 10, 3);
    expect(c.counts(4)).toEqual({ ok: 3, failed: 1 });
    expect(c.errorRate(4)).toBe(0.25);
  });
});

describe('Circuit: open → half-open → closed / open', () => {
  it('refuses until the cooldown has elapsed', () => {
    const c = circuit();
    trip(c, 1_000);
    for (const t of [1_000, 2_000, 5_999]) {
      expect(c.available(t)).toBe(false);
      expect(c.allow(t)).toBe(false);
      expect(c.state).toBe('open');
    }
  });

  it('failures reported while open (attempts already in flight) do not restart the cooldown', () => {
    const c = circuit();
    trip(c, 1_000);
    c.record(false, 10, 3_000);
    c.record(false, 10, 4_000);
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(1_000);
    expect(c.allow(6_000)).toBe(true);
  });

  it('available() says yes after the cooldown without claiming the probe', () => {
    const c = circuit();
    trip(c, 1_000);
    expect(c.available(6_000)).toBe(true);
    expect(c.available(6_000)).toBe(true);
    expect(c.state).toBe('open');
    expect(c.probing).toBe(false);
    // The probe is still there to take.
    expect(c.allow(6_000)).toBe(true);
  });

  it('lets exactly one probe through after the cooldown', () => {
    const c = circuit();
    trip(c, 1_000);
    expect(c.allow(6_000)).toBe(true);
    expect(c.state).toBe('half_open');
    expect(c.probing).toBe(true);
    expect(c.allow(6_000)).toBe(false);
    expect(c.available(6_000)).toBe(false);
    expect(c.allow(6_001)).toBe(false);
    expect(c.allow(10_999)).toBe(false);
    expect(c.state).toBe('half_open');
  });

  it('probe success → closed with a fresh window', () => {
    const c = circuit({ consecutiveFailures: 3, errorRate: 0.5, minRequests: 4 });
    c.record(true, 10, 0);
    trip(c, 1_000); // 1 ok, 3 failed in the window
    expect(c.counts(1_000)).toEqual({ ok: 1, failed: 3 });
    expect(c.allow(6_000)).toBe(true);
    c.record(true, 20, 6_500);
    expect(c.state).toBe('closed');
    expect(c.probing).toBe(false);
    expect(c.consecutiveFailures).toBe(0);
    expect(c.counts(6_500)).toEqual({ ok: 0, failed: 0 });
    expect(c.allow(6_500)).toBe(true);
    expect(c.allow(6_500)).toBe(true);
    expect(c.available(6_500)).toBe(true);
    // The old failures are forgotten: three requests, two failed, do not reopen it (minRequests 4),
    // where the old window (1 + 1 + 1 ok, 3 + 2 failed) would have.
    c.record(true, 10, 6_600);
    c.record(false, 10, 6_700);
    c.record(false, 10, 6_800);
    expect(c.counts(6_800)).toEqual({ ok: 1, failed: 2 });
    expect(c.state).toBe('closed');
  });

  it('probe failure → open again, with the cooldown restarted', () => {
    const c = circuit();
    trip(c, 1_000);
    expect(c.allow(6_000)).toBe(true);
    c.record(false, 10, 7_000);
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(7_000);
    expect(c.probing).toBe(false);
    // Counted from the probe's failure, not from the first trip.
    expect(c.allow(8_000)).toBe(false);
    expect(c.available(11_999)).toBe(false);
    expect(c.allow(11_999)).toBe(false);
    expect(c.available(12_000)).toBe(true);
    expect(c.allow(12_000)).toBe(true);
    expect(c.state).toBe('half_open');
    expect(c.allow(12_000)).toBe(false);
    // And this time the probe succeeds.
    c.record(true, 10, 12_100);
    expect(c.state).toBe('closed');
  });

  it('a single failed probe reopens it even when consecutiveFailures is larger', () => {
    const c = circuit({ consecutiveFailures: 5, minRequests: 1_000 });
    trip(c, 100);
    expect(c.allow(5_100)).toBe(true);
    c.record(false, 10, 5_200);
    expect(c.state).toBe('open');
    expect(c.openedAt).toBe(5_200);
  });

  it('a probe that never reports (client abort, refused request) does not hold the circuit half-open forever', () => {
    const c = circuit();
    trip(c, 1_000);
    expect(c.allow(6_000)).toBe(true);
    // No record() for the probe. Within a cooldown, still one probe at a time…
    expect(c.allow(10_999)).toBe(false);
    expect(c.available(10_999)).toBe(false);
    // …but once a whole cooldown has passed, the probe is presumed lost and another may go.
    expect(c.available(11_000)).toBe(true);
    expect(c.allow(11_000)).toBe(true);
    expect(c.allow(11_000)).toBe(false);
    c.record(true, 10, 11_500);
    expect(c.state).toBe('closed');
  });
});

describe('Circuit: latency EWMA', () => {
  it('starts at the first success and moves toward later ones', () => {
    const c = circuit();
    expect(c.latencyMs).toBe(0);
    c.record(true, 100, 0);
    expect(c.latencyMs).toBe(100);
    c.record(true, 200, 1);
    expect(c.latencyMs).toBeCloseTo(120, 9); // 0.8 × 100 + 0.2 × 200
    c.record(true, 200, 2);
    expect(c.latencyMs).toBeCloseTo(136, 9);
    for (let i = 0; i < 200; i++) c.record(true, 200, 3 + i);
    expect(c.latencyMs).toBeCloseTo(200, 6);
    c.record(true, 50, 300);
    expect(c.latencyMs).toBeGreaterThan(50);
    expect(c.latencyMs).toBeLessThan(200);
  });

  it('ignores failures', () => {
    const c = circuit({ consecutiveFailures: 1_000, minRequests: 1_000 });
    c.record(true, 100, 0);
    c.record(false, 30_000, 1);
    c.record(false, 5, 2);
    expect(c.latencyMs).toBe(100);
  });
});

describe('HealthRegistry.snapshot', () => {
  it('lists an open circuit as open even when its id is longer than the listing keeps (a long model name)', async () => {
    const { HealthRegistry } = await import('../../src/state/health.ts');
    const h = new HealthRegistry({ consecutiveFailures: 2, errorRate: 0.5, minRequests: 20, windowMs: 60_000, cooldownMs: 30_000 });
    const key = { id: 1, slot: 0, name: 'k1', provider: { name: 'openai' } };
    const c = h.failing(key as never, { model: 'm'.repeat(200) } as never);
    const now = performance.now();
    for (let i = 0; i < 3; i++) c.record(false, 10, now);
    expect(c.state).toBe('open');
    const listed = Object.values(h.snapshot(new Map([[1, key as never]]), now));
    expect(listed.map((x) => x.state)).toEqual(['open']);
  });

  it('lists an open circuit whose cooldown is over as half-open: the next request is its probe', async () => {
    const { HealthRegistry } = await import('../../src/state/health.ts');
    const h = new HealthRegistry({ consecutiveFailures: 2, errorRate: 0.5, minRequests: 20, windowMs: 60_000, cooldownMs: 30_000 });
    const key = { id: 1, slot: 0, name: 'k1', provider: { name: 'openai' } };
    const c = h.failing(key as never, { model: 'm' } as never);
    const now = performance.now();
    for (let i = 0; i < 3; i++) c.record(false, 10, now);
    const state = (at: number) => Object.values(h.snapshot(new Map([[1, key as never]]), at))[0]!.state;
    expect(state(now + 29_000)).toBe('open');
    expect(state(now + 31_000)).toBe('half_open');
    expect(c.state).toBe('open');
  });
});

describe('HealthRegistry: a bounded table that clients cannot spend', () => {
  const OPTS: CircuitOptions = { consecutiveFailures: 2, errorRate: 0.5, minRequests: 20, windowMs: 60_000, cooldownMs: 30_000 };
  const key = (id: number) => ({ id, slot: id, name: `k${id}`, provider: { name: 'openai' } }) as never;

  it("run-time targets claim a slot only when they fail, and only in the first three quarters of the table; the config's targets claimed at load stay tracked", async () => {
    const { HealthRegistry } = await import('../../src/state/health.ts');
    const { SharedTable } = await import('../../src/state/shared-table.ts');
    const { CIRCUIT_INTS, CIRCUIT_FLOATS } = await import('../../src/state/circuit.ts');
    const table = new SharedTable(8, CIRCUIT_INTS, CIRCUIT_FLOATS);
    const h = new HealthRegistry(OPTS, table);
    const declared = { model: 'gpt-4o', circuits: [] } as never;
    expect(h.claimDeclared([[key(1), declared]])).toBe(0);
    const now = performance.now();

    // A thousand made-up model names, each asked about and answered: nothing is claimed.
    for (let i = 0; i < 1000; i++) {
      const t = { model: `made-up-${i}` } as never;
      expect(h.circuit(key(1), t).available(now)).toBe(true);
      h.circuit(key(1), t).record(true, 5, now);
    }
    expect(table.claimed).toBe(1);
    // Failures claim, up to 6 of 8 slots with the declared one: five run-time circuits.
    for (let i = 0; i < 7; i++) for (let n = 0; n < 2; n++) h.failing(key(2), { model: `failing-${i}` } as never).record(false, 5, now);
    expect(table.claimed).toBe(6);
    for (let i = 0; i < 5; i++) expect(h.circuit(key(2), { model: `failing-${i}` } as never).state).toBe('open');
    // Past that share: untracked, so never open, and its failures open nothing for anyone else.
    expect(h.circuit(key(2), { model: 'failing-5' } as never).state).toBe('closed');
    for (let n = 0; n < 5; n++) h.failing(key(3), { model: 'another' } as never).record(false, 5, now);
    expect(h.circuit(key(3), { model: 'another' } as never).available(now)).toBe(true);
    expect(h.circuit(key(2), { model: 'failing-6' } as never).available(now)).toBe(true);

    // The declared target still has its own circuit, claimed at load; the last slots stay for a reload's.
    const c = h.failing(key(1), declared);
    c.record(false, 5, now);
    c.record(false, 5, now);
    expect(h.circuit(key(1), declared).state).toBe('open');
    expect(h.claimDeclared([[key(4), { model: 'added-by-a-reload', circuits: [] } as never]])).toBe(0);
  });

  it('a full table answers a lookup of an absent id without searching it again', async () => {
    const { SharedTable } = await import('../../src/state/shared-table.ts');
    const t = new SharedTable(4, 1, 0);
    for (let i = 0; i < 4; i++) expect(t.slot(`id-${i}`)).toBeGreaterThanOrEqual(0);
    expect(t.claimed).toBe(4);
    expect(t.slot('absent')).toBe(-1);
    expect(t.has('absent')).toBe(false);
    // Another thread's view of the same memory finds the claimed ids, and no room.
    const other = new SharedTable(4, 1, 0, t.buffers);
    expect(other.has('id-3')).toBe(true);
    expect(other.slot('absent-too')).toBe(-1);
  });
});
