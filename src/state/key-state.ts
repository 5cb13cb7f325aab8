// A provider key's rest (after a 429 or 401/403), kept in shared memory so every request thread of the
// process agrees (state/shared-state.ts): in the key's slot of a shared table, found by the key's
// identity (provider, name, and a digest of its secret), so a config reload that keeps the key keeps
// its rest, and one that changes its secret starts it afresh. Read and written like the plain object it
// replaces (plan/types.ts KeyState), on the caller's clock: performance.now(), converted here to the
// epoch clock the threads share. A single writer wins; a rest is only ever extended by its caller.

const ORIGIN = performance.timeOrigin;
const REASONS = ['', 'rate_limited', 'auth_failed', 'quota_exhausted'] as const;
type Reason = (typeof REASONS)[number];

/** Fields of a key's slot in the shared table: one float64 (the rest), one int32 (its reason). */
export const KEY_FLOATS = 1;
export const KEY_INTS = 1;

export class SharedKeyState {
  constructor(
    private readonly rests: Float64Array,
    private readonly restAt: number,
    private readonly reasons: Int32Array,
    private readonly reasonAt: number,
  ) {}

  /** performance.now() until which the key is not used; 0 when it is fine. */
  get restUntil(): number {
    const v = this.rests[this.restAt]!;
    return v === 0 ? 0 : v - ORIGIN;
  }

  set restUntil(v: number) {
    this.rests[this.restAt] = v === 0 ? 0 : v + ORIGIN;
  }

  get reason(): Reason {
    return REASONS[this.reasons[this.reasonAt]!] ?? '';
  }

  set reason(r: Reason) {
    this.reasons[this.reasonAt] = REASONS.indexOf(r);
  }
}
