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
  // Number('') and Number(' ') are 0: a blank header is absent, not "retry at once".
  if (typeof retryAfterMsHeader === 'string' && retryAfterMsHeader.trim() !== '') {
    const ms = Number(retryAfterMsHeader);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  if (typeof retryAfter !== 'string' || retryAfter.trim() === '') return null;
  const secs = Number(retryAfter);
  if (Number.isFinite(secs)) return secs >= 0 ? secs * 1000 : null;
  // Every HTTP-date form (RFC 9110 §5.6.7) carries hh:mm:ss. V8's Date.parse is lenient enough to
  // read junk such as "retry later 10" as a date in 2001, which would come out as 0 ("at once").
  if (!/\d\d:\d\d:\d\d/.test(retryAfter)) return null;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
