// What the mock counts, read by tests (handle.stats()) and the benchmark harness (GET /_mock/stats).

export interface MockStats {
  /** Every request to a provider route or an unknown path (control endpoints /_mock/* are not counted). */
  requests: number;
  /** Status of each response head the mock wrote. */
  byStatus: Record<string, number>;
  /** Connections the mock closed on purpose: resetRate, and disconnectAfterChunks mid-stream. */
  resets: number;
  /** Requests held without an answer (timeoutRate). */
  timeouts: number;
  malformed: number;
  /** The client went away before the mock finished (not counting the mock's own closes). */
  aborted: number;
  inFlight: number;
  maxInFlight: number;
  streamsCompleted: number;
  byKey: Record<string, number>;
  byPath: Record<string, number>;
  byModel: Record<string, number>;
  /** Lower-case headers of the most recent request, to assert what a gateway forwarded. */
  lastHeaders: Record<string, string> | null;
}

export function emptyStats(inFlight = 0): MockStats {
  return {
    requests: 0, byStatus: {}, resets: 0, timeouts: 0, malformed: 0, aborted: 0, inFlight, maxInFlight: inFlight,
    streamsCompleted: 0, byKey: {}, byPath: {}, byModel: {}, lastHeaders: null,
  };
}

export function bump(counts: Record<string, number>, key: string | number): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
