// Small waits the tests share: polling until a condition holds, and the error a promise rejects with.
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

/** Polls until `check` holds or the bounded number of tries runs out; returns the last value. */
export async function eventually<T>(read: () => T, check: (v: T) => boolean, tries = 100, everyMs = 20): Promise<T> {
  let v = read();
  for (let i = 0; i < tries && !check(v); i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    v = read();
  }
  return v;
}

/** eventually() for a value read asynchronously (an HTTP answer, say). */
export async function eventuallyAsync<T>(read: () => Promise<T>, check: (v: T) => boolean, tries = 100, everyMs = 20): Promise<T> {
  let v = await read();
  for (let i = 0; i < tries && !check(v); i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    v = await read();
  }
  return v;
}

/** Polls a mock's stats (every 10 ms, up to 2 s) until `ok` holds; throws with the last stats otherwise. */
export async function waitForStats(m: MockHandle, ok: (s: MockStats) => boolean): Promise<MockStats> {
  const s = await eventually(() => m.stats(), ok, 200, 10);
  if (!ok(s)) throw new Error(`stats never matched: ${JSON.stringify(s)}`);
  return s;
}
