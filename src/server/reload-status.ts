// When the running config was loaded, and how the last reload went: GET /admin/config shows it, the
// dashboard's Config page with it. The process's reloader (threads/reloader.ts) sets it in every
// request thread (setReloadStatus; module state, one copy per thread); until a reload happens,
// lastReload is null.

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

/** Replaces the status whole: the reloader's outcome, in each thread. */
export function setReloadStatus(next: ReloadStatus): void {
  reloadStatus.loadedAt = next.loadedAt;
  reloadStatus.lastReload = next.lastReload;
}
