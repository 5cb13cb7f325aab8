// The governance of one loaded config: who may call (the directory of virtual keys, teams and
// customers), the counters their limits are kept in, what answers cost, and the admin key. The
// directory is swapped whole when the admin API changes it; the store outlives config reloads.
import type { QuotaStore } from '../state/quota.ts';
import type { Directory } from './directory.ts';
import { sameSecret } from './directory.ts';
import type { FailurePolicy } from './admission.ts';

/** Usage of one answer as priced: input excludes cache reads and writes (Anthropic's semantics). */
export interface PricedUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface Pricer {
  /** USD, or null when neither the config nor the catalog knows the model. */
  costUsd(providerType: string, providerName: string, model: string, usage: PricedUsage): number | null;
}

export class Governance {
  /** Replaced whole by the admin API (governance/admin-store.ts); read once per request. */
  directory: Directory;

  constructor(
    directory: Directory,
    readonly store: QuotaStore,
    readonly prices: Pricer,
    private readonly adminKey: string | null,
    readonly protectMetrics: boolean,
    readonly failure: FailurePolicy,
  ) {
    this.directory = directory;
  }

  get hasAdminKey(): boolean {
    return this.adminKey !== null;
  }

  /** A request to /admin/* (or /metrics when protected) presents the admin key. */
  isAdmin(authorization: string | undefined): boolean {
    if (this.adminKey === null || authorization === undefined) return false;
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return m !== null && sameSecret(m[1]!, this.adminKey);
  }
}

/** The secret a client presents: `Authorization: Bearer <value>` (OpenAI's SDKs) or `x-api-key` (Anthropic's). */
export function presentedKey(headers: Record<string, string>): string | null {
  const auth = headers.authorization;
  if (auth !== undefined && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') {
    const v = auth.slice(7).trim();
    if (v !== '') return v;
  }
  const x = headers['x-api-key'];
  return x !== undefined && x !== '' ? x.trim() : null;
}
