// Exponential backoff with full jitter: wait a uniform random time in [0, min(cap, base × 2^n)).
// Full jitter spreads retries of many clients apart instead of synchronising them into waves
// ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).

/** Milliseconds to wait before retry number `retry` (0 for the first retry). `r` in [0, 1). */
export function fullJitterMs(retry: number, baseMs: number, capMs: number, r: number = Math.random()): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(r * ceiling);
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP date; OpenAI-style `retry-after-ms` wins
 * when present. Returns ms, or null when absent or unreadable.
 */
export function retryAfterMs(retryAfter: string | string[] | undefined, retryAfterMsHeader: string | string[] | undefined, now: number = Date.now()): number | null {
  if (typeof retryAfterMsHeader === 'string') {
    const ms = Number(retryAfterMsHeader);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  if (typeof retryAfter !== 'string' || retryAfter === '') return null;
  const secs = Number(retryAfter);
  if (Number.isFinite(secs)) return secs >= 0 ? secs * 1000 : null;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
