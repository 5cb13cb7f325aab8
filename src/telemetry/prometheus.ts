// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). It lives
// in the telemetry worker, which sees every record, so counts are complete whichever thread served
// the request. Series are keyed by their label values joined once; nothing here runs per request
// on the request thread.

type Labels = Readonly<Record<string, string>>;

/**
 * A backstop on series per metric. Label values a client can grow (model names) are capped before
 * they get here (metrics.ts, LabelCap); this keeps any other mistake from growing the registry, and
 * the scrape with it, without bound. Past it, new series are dropped and counted.
 */
export const MAX_SERIES = 5_000;

/** A series as it travels to a restarted worker: label values, then the counter value or histogram state. */
export type SeriesState = [values: string[], n: number] | [values: string[], buckets: number[], sum: number, count: number];
export type RegistryState = Record<string, SeriesState[]>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
}

abstract class Metric {
  /** Series refused past MAX_SERIES. */
  dropped = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  abstract render(out: string[]): void;
  abstract state(): SeriesState[];
  abstract restore(state: readonly SeriesState[]): void;
  protected key(labels: Labels): string[] {
    return this.labelNames.map((n) => labels[n] ?? '');
  }
}

/** One number per label set: what counters and gauges share (they differ in how it changes). */
abstract class ScalarMetric extends Metric {
  protected readonly series = new Map<string, { values: string[]; n: number }>();
  protected abstract readonly type: 'counter' | 'gauge';

  state(): SeriesState[] {
    return [...this.series.values()].map((s) => [s.values, s.n]);
  }

  restore(state: readonly SeriesState[]): void {
    for (const [values, n] of state) if (typeof n === 'number') this.series.set(values.join('\u0000'), { values, n });
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatNumber(s.n)}`);
  }
}

export class Counter extends ScalarMetric {
  protected readonly type = 'counter';

  inc(labels: Labels = {}, by = 1): void {
    const values = this.key(labels);
    const id = values.join('\u0000');
    const s = this.series.get(id);
    if (s !== undefined) s.n += by;
    else if (this.series.size < MAX_SERIES) this.series.set(id, { values, n: by });
    else this.dropped++;
  }
}

export class Gauge extends ScalarMetric {
  protected readonly type = 'gauge';

  set(labels: Labels, value: number): void {
    const values = this.key(labels);
    const id = values.join('\u0000');
    if (this.series.size < MAX_SERIES || this.series.has(id)) this.series.set(id, { values, n: value });
    else this.dropped++;
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { values: string[]; buckets: Float64Array; sum: number; count: number }>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    /** Upper bounds, ascending, in the metric's unit (seconds). */
    readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  observe(labels: Labels, value: number): void {
    const values = this.key(labels);
    const id = values.join('\u0000');
    let s = this.series.get(id);
    if (s === undefined) {
      if (this.series.size >= MAX_SERIES) {
        this.dropped++;
        return;
      }
      s = { values, buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(id, s);
    }
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }

  state(): SeriesState[] {
    return [...this.series.values()].map((s) => [s.values, [...s.buckets], s.sum, s.count]);
  }

  restore(state: readonly SeriesState[]): void {
    for (const st of state) {
      if (st.length !== 4 || st[1].length !== this.bounds.length) continue;
      this.series.set(st[0].join('\u0000'), { values: st[0], buckets: Float64Array.from(st[1]), sum: st[2], count: st[3] });
    }
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      for (let i = 0; i < this.bounds.length; i++) out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, `le="${this.bounds[i]}"`)} ${s.buckets[i]}`);
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${s.count}`);
    }
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }

  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    const dropped = this.metrics.reduce((n, m) => n + m.dropped, 0);
    out.push('# HELP microgate_metric_series_dropped_total Series not created because a metric reached its cap.', '# TYPE microgate_metric_series_dropped_total counter', `microgate_metric_series_dropped_total ${dropped}`);
    return `${out.join('\n')}\n`;
  }

  /** Every series' values, for the worker that replaces this one after a crash. */
  state(): RegistryState {
    const out: RegistryState = {};
    for (const m of this.metrics) out[m.name] = m.state();
    return out;
  }

  /** Every value a label has in any series (a restored worker re-learns which models it already names). */
  labelValues(label: string): Set<string> {
    const out = new Set<string>();
    for (const m of this.metrics) {
      const i = m.labelNames.indexOf(label);
      if (i >= 0) for (const [values] of m.state()) out.add(values[i]!);
    }
    return out;
  }

  restore(state: RegistryState): void {
    for (const m of this.metrics) {
      const s = state[m.name];
      if (s !== undefined) m.restore(s);
    }
  }
}

/** Seconds, from 5 µs to 1 ms: the gateway's own time per request. */
export const MICRO_BUCKETS = [5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 5e-3, 0.05];
/** Seconds, from 10 ms to 5 min: provider latency and time to first token. */
export const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
