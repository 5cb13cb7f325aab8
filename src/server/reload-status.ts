// When the running config was loaded, and how the last reload went: GET /admin/config shows it, the
// dashboard's Config page with it. Hot reload sets it (recordReload); until a reload happens,
// lastReload is null. Module state: each request thread has its own copy, so a reload that runs on
// every thread records on every thread.

export interface ReloadOutcome {
  /** ms since the epoch. */
  at: number;
  ok: boolean;
  /** Why it failed (no secret in it: the caller passes the loader's message); null when it worked. */
  error: string | null;
}

export interface ReloadStatus {
  /** When the running config was loaded (ms since the epoch). */
  loadedAt: number;
  lastReload: ReloadOutcome | null;
}

export const reloadStatus: ReloadStatus = { loadedAt: Date.now(), lastReload: null };

/** A reload finished: on success the new config's load time is now `at`; a failure keeps the old config's. */
export function recordReload(ok: boolean, error: string | null = null, at = Date.now()): void {
  reloadStatus.lastReload = { at, ok, error: ok ? null : (error ?? 'failed') };
  if (ok) reloadStatus.loadedAt = at;
}

/** Replaces the status whole (tests; a reload that tracks its own). */
export function setReloadStatus(next: ReloadStatus): void {
  reloadStatus.loadedAt = next.loadedAt;
  reloadStatus.lastReload = next.lastReload;
}
