// The metrics the telemetry worker keeps from records (GET /metrics). Gauges the request thread
// owns (circuit states, in flight, event-loop delay, dropped records) are appended there at scrape
// time (telemetry/telemetry.ts).
import { Counter, Histogram, MICRO_BUCKETS, Registry, UPSTREAM_BUCKETS, type RegistryState } from './prometheus.ts';
import type { TelemetryRecord } from './types.ts';

/**
 * Distinct model names kept as label values. "provider/any-model" lets clients name models freely,
 * and each name would be a new series in several metrics (150 long names once crashed the worker's
 * render); past the cap a model is reported as "other", and each such record is counted.
 */
export const MAX_MODEL_LABELS = 100;
export const OTHER = 'other';

class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(value);
    return value;
  }

  remember(value: string): void {
    if (value !== OTHER && this.seen.size < this.max) this.seen.add(value);
  }
}

export class RecordMetrics {
  readonly registry = new Registry();
  private readonly requests = this.registry.add(new Counter('microgate_requests_total', 'Requests finished, by the provider and model that answered (or last failed) and the status sent.', ['provider', 'model', 'status']));
  private readonly errors = this.registry.add(new Counter('microgate_errors_total', 'Requests that ended in an error, by code.', ['code']));
  private readonly attempts = this.registry.add(new Counter('microgate_upstream_attempts_total', 'Attempts sent to providers, by result (status, or a cause such as UF, UT, UR).', ['provider', 'model', 'result']));
  private readonly retries = this.registry.add(new Counter('microgate_retries_total', 'Attempts after the first one of a request, at the same target.', ['provider']));
  private readonly fallbacks = this.registry.add(new Counter('microgate_fallbacks_total', 'Attempts that moved a request to another target.', ['provider']));
  private readonly tokens = this.registry.add(new Counter('microgate_tokens_total', 'Tokens reported by providers.', ['provider', 'model', 'direction']));
  private readonly cost = this.registry.add(new Counter('microgate_cost_usd_total', 'Cost in USD (price catalog, or the config\'s price), by provider and model.', ['provider', 'model']));
  private readonly tenantCost = this.registry.add(new Counter('microgate_tenant_cost_usd_total', 'Cost in USD by virtual key, team and customer (governance).', ['virtual_key', 'team', 'customer']));
  private readonly tenantRequests = this.registry.add(new Counter('microgate_tenant_requests_total', 'Requests by virtual key, team and customer, and the status sent.', ['virtual_key', 'team', 'customer', 'status']));
  private readonly tenantTokens = this.registry.add(new Counter('microgate_tenant_tokens_total', 'Tokens by virtual key, team and customer (input and output, cache included).', ['virtual_key', 'team', 'customer']));
  private readonly aborted = this.registry.add(new Counter('microgate_client_aborts_total', 'Requests the client abandoned before the end.', []));
  private readonly streamFailures = this.registry.add(new Counter('microgate_stream_failures_total', 'Streams that started and then ended with an error event.', []));
  private readonly rules = this.registry.add(new Counter('microgate_rule_decisions_total', 'Requests whose route a rule decided.', ['rule']));
  // Tags come from the config's rules only, so the label's values are bounded by the config.
  private readonly tags = this.registry.add(new Counter('microgate_rule_tags_total', "Requests tagged by a matching rule's tag (shadow rules included).", ['tag']));
  private readonly gatewayTime = this.registry.add(new Histogram('microgate_gateway_time_seconds', "The gateway's own time per request: arrival to last byte (first byte for streams) minus the wait on providers.", [], MICRO_BUCKETS));
  private readonly upstreamTime = this.registry.add(new Histogram('microgate_upstream_latency_seconds', 'Latency of each attempt: to the last byte, or to the first event of a stream.', ['provider', 'model'], UPSTREAM_BUCKETS));
  private readonly ttfb = this.registry.add(new Histogram('microgate_stream_ttfb_seconds', 'Streams: arrival to the first byte sent to the client.', ['provider', 'model'], UPSTREAM_BUCKETS));
  private readonly overflow = this.registry.add(new Counter('microgate_label_overflow_total', `Records whose label value was reported as "${OTHER}" because the label reached its cap of distinct values.`, ['label']));
  private readonly models = new LabelCap(MAX_MODEL_LABELS);
  private readonly failures = this.registry.add(new Counter('microgate_telemetry_errors_total', 'Records a telemetry stage failed on (the worker skips them and carries on).', ['stage']));

  /** A stage threw on a batch of records: counted, never fatal to the worker. */
  failed(stage: 'metrics' | 'log' | 'otlp', records = 1): void {
    this.failures.inc({ stage }, records);
  }

  private model(name: string): string {
    const label = this.models.label(name);
    if (label === OTHER) this.overflow.inc({ label: 'model' });
    return label;
  }

  /** Counters of a worker that crashed, so they carry on instead of starting again from zero. */
  restore(state: RegistryState): void {
    this.registry.restore(state);
    for (const m of this.registry.labelValues('model')) this.models.remember(m);
  }

  add(r: TelemetryRecord): void {
    const last = r.attempts[r.attempts.length - 1];
    const provider = last?.provider ?? '';
    const model = last === undefined ? '' : this.model(last.model);
    this.requests.inc({ provider, model, status: r.aborted ? 'aborted' : String(r.status) });
    if (r.error !== '') this.errors.inc({ code: r.error });
    if (r.aborted) this.aborted.inc();
    if (r.streamFailed) this.streamFailures.inc();
    if (r.rule !== '') this.rules.inc({ rule: r.rule });
    for (let i = 0; i < r.tags.length; i++) this.tags.inc({ tag: r.tags[i]! });
    if (!r.aborted && r.attempts.length > 0) this.gatewayTime.observe({}, r.gatewayUs / 1e6);
    for (let i = 0; i < r.attempts.length; i++) {
      const a = r.attempts[i]!;
      const m = a === last ? model : this.model(a.model);
      this.attempts.inc({ provider: a.provider, model: m, result: a.flag !== '' ? a.flag : String(a.status) });
      // A token count answers in milliseconds: among generations it would pull the latencies down.
      if (r.endpoint !== 'count_tokens') this.upstreamTime.observe({ provider: a.provider, model: m }, a.latencyUs / 1e6);
      if (i > 0) (a.target === r.attempts[i - 1]!.target ? this.retries : this.fallbacks).inc({ provider: a.provider });
    }
    if (r.stream && r.ttfbUs > 0) this.ttfb.observe({ provider, model }, r.ttfbUs / 1e6);
    if (r.promptTokens > 0) this.tokens.inc({ provider, model, direction: 'input' }, r.promptTokens);
    if (r.completionTokens > 0) this.tokens.inc({ provider, model, direction: 'output' }, r.completionTokens);
    if (r.cost > 0) this.cost.inc({ provider, model }, r.cost);
    const t = r.tenant;
    if (t.virtualKey !== '') {
      const who = { virtual_key: t.virtualKey, team: t.team, customer: t.customer };
      this.tenantRequests.inc({ ...who, status: r.aborted ? 'aborted' : String(r.status) });
      const tokens = Math.max(0, r.promptTokens) + Math.max(0, r.completionTokens);
      if (tokens > 0) this.tenantTokens.inc(who, tokens);
      if (r.cost > 0) this.tenantCost.inc(who, r.cost);
    }
  }
}
