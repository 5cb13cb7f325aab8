// Small waits the mock and SDK tests share.
import type { MockHandle, MockStats } from '../../mock-providers/index.ts';

/** The error a promise rejects with; throws when it resolves instead. */
export async function failure(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Polls a mock's stats (every 10 ms, up to 2 s) until `ok` holds; throws with the last stats otherwise. */
export async function waitForStats(m: MockHandle, ok: (s: MockStats) => boolean): Promise<MockStats> {
  for (let i = 0; i < 200; i++) {
    const s = m.stats();
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`stats never matched: ${JSON.stringify(m.stats())}`);
}
