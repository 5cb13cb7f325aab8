// A provider key's rest (after a 429 or 401/403), kept in shared memory by key id so every request
// thread of the process agrees (state/shared-state.ts). Read and written like the plain object it
// replaces (plan/types.ts KeyState), on the caller's clock: performance.now(), converted here to the
// epoch clock the threads share. A single writer wins; a rest is only ever extended by its caller.

const ORIGIN = performance.timeOrigin;
const REASONS = ['', 'rate_limited', 'auth_failed', 'quota_exhausted'] as const;
type Reason = (typeof REASONS)[number];

export class SharedKeyState {
  constructor(
    private readonly rests: Float64Array,
    private readonly reasons: Int32Array,
    private readonly id: number,
  ) {}

  /** performance.now() until which the key is not used; 0 when it is fine. */
  get restUntil(): number {
    const v = this.rests[this.id]!;
    return v === 0 ? 0 : v - ORIGIN;
  }

  set restUntil(v: number) {
    this.rests[this.id] = v === 0 ? 0 : v + ORIGIN;
  }

  get reason(): Reason {
    return REASONS[this.reasons[this.id]!] ?? '';
  }

  set reason(r: Reason) {
    this.reasons[this.id] = REASONS.indexOf(r);
  }
}
