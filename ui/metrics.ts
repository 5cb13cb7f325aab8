// The Overview's numbers: /metrics (counters and histograms of the whole process, whichever request
// thread answers) sampled every POLL_MS and kept for HISTORY_MS in the page. Rates and quantiles are
// taken from the difference between consecutive samples, so each point describes its own interval.

export const POLL_MS = 2_000;
export const HISTORY_MS = 15 * 60_000;

interface Sample {
  t: number;
  requests: number;
  errors: number;
  cost: number;
  /** Cumulative bucket counts by upper bound (seconds), +Inf last. */
  gateway: Array<[number, number]>;
  upstream: Array<[number, number]>;
  upstreamSum: number;
  upstreamCount: number;
}

/** One series of the text format: name, labels, value. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

function buckets(all: Series[], name: string): Array<[number, number]> {
  const byLe = new Map<number, number>();
  for (const s of all) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].sort((a, b) => a[0] - b[0]);
}

const sum = (all: Series[], name: string, keep: (s: Series) => boolean = () => true): number => all.reduce((n, s) => (s.name === name && keep(s) ? n + s.value : n), 0);

export function sampleOf(all: Series[], t: number): Sample {
  return {
    t,
    requests: sum(all, 'microgate_requests_total'),
    // Error answers: any status from 400, and requests the client abandoned are not errors.
    errors: sum(all, 'microgate_requests_total', (s) => Number(s.labels.status) >= 400),
    cost: sum(all, 'microgate_cost_usd_total'),
    gateway: buckets(all, 'microgate_gateway_time_seconds'),
    upstream: buckets(all, 'microgate_upstream_latency_seconds'),
    upstreamSum: sum(all, 'microgate_upstream_latency_seconds_sum'),
    upstreamCount: sum(all, 'microgate_upstream_latency_seconds_count'),
  };
}

/** The q-quantile of what fell in the buckets between two samples (linear within a bucket), or NaN. */
export function quantile(prev: Array<[number, number]>, cur: Array<[number, number]>, q: number): number {
  const before = new Map(prev);
  const d = cur.map(([le, n]) => [le, n - (before.get(le) ?? 0)] as [number, number]);
  const total = d.length === 0 ? 0 : d[d.length - 1]![1];
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of d) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, n - below);
    }
    lower = le;
    below = n;
  }
  return lower;
}

/** The charts' columns: time (s) and one array per series, aligned. */
export interface History {
  t: number[];
  rps: number[];
  errorRate: number[];
  gatewayP50: number[];
  gatewayP99: number[];
  upstreamP50: number[];
  upstreamMean: number[];
  spendPerMin: number[];
  /** Totals at the last sample. */
  last: { requests: number; errors: number; cost: number } | null;
}

export class MetricsHistory {
  /** The sample before the one being added: rates are differences between two. */
  private prev: Sample | null = null;
  readonly h: History = { t: [], rps: [], errorRate: [], gatewayP50: [], gatewayP99: [], upstreamP50: [], upstreamMean: [], spendPerMin: [], last: null };

  add(s: Sample): void {
    const prev = this.prev;
    this.prev = s;
    this.h.last = { requests: s.requests, errors: s.errors, cost: s.cost };
    if (prev === null) return;
    const dt = (s.t - prev.t) / 1000;
    // A counter that went down means the worker restarted from zero: that interval has no rate.
    const dReq = s.requests - prev.requests;
    if (dt <= 0 || dReq < 0) return;
    const dErr = s.errors - prev.errors;
    const h = this.h;
    h.t.push(s.t / 1000);
    h.rps.push(dReq / dt);
    h.errorRate.push(dReq === 0 ? NaN : (100 * dErr) / dReq);
    h.gatewayP50.push(quantile(prev.gateway, s.gateway, 0.5) * 1e6);
    h.gatewayP99.push(quantile(prev.gateway, s.gateway, 0.99) * 1e6);
    h.upstreamP50.push(quantile(prev.upstream, s.upstream, 0.5) * 1e3);
    const dCount = s.upstreamCount - prev.upstreamCount;
    h.upstreamMean.push(dCount <= 0 ? NaN : ((s.upstreamSum - prev.upstreamSum) / dCount) * 1e3);
    h.spendPerMin.push(((s.cost - prev.cost) / dt) * 60);
    // Forget what is older than the window.
    const cut = (s.t - HISTORY_MS) / 1000;
    let drop = 0;
    while (drop < h.t.length && h.t[drop]! < cut) drop++;
    if (drop > 0) for (const col of [h.t, h.rps, h.errorRate, h.gatewayP50, h.gatewayP99, h.upstreamP50, h.upstreamMean, h.spendPerMin]) col.splice(0, drop);
  }
}
