// The exposition text of telemetry/prometheus.ts: types, labels, caps, and state carried to a new worker.
import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, MAX_SERIES, Registry } from '../../src/telemetry/prometheus.ts';

function registry() {
  const r = new Registry();
  const c = r.add(new Counter('t_requests_total', 'Requests.', ['provider']));
  const g = r.add(new Gauge('t_in_flight', 'In flight.', []));
  const h = r.add(new Histogram('t_seconds', 'Latency.', ['provider'], [0.1, 1]));
  return { r, c, g, h };
}

describe('prometheus exposition', () => {
  it('renders each metric with its TYPE, escaped labels and values', () => {
    const { r, c, g, h } = registry();
    c.inc({ provider: 'a' });
    c.inc({ provider: 'a' }, 2);
    c.inc({ provider: 'b"\\\n' });
    g.set({}, 7);
    g.set({}, 5);
    h.observe({ provider: 'a' }, 0.5);
    const text = r.render();
    expect(text).toContain('# TYPE t_requests_total counter\n');
    expect(text).toContain('t_requests_total{provider="a"} 3\n');
    expect(text).toContain('t_requests_total{provider="b\\"\\\\\\n"} 1\n');
    expect(text).toContain('# TYPE t_in_flight gauge\nt_in_flight 5\n');
    expect(text).toContain('# TYPE t_seconds histogram\n');
    expect(text).toContain('t_seconds_bucket{provider="a",le="0.1"} 0\n');
    expect(text).toContain('t_seconds_bucket{provider="a",le="1"} 1\n');
    expect(text).toContain('t_seconds_count{provider="a"} 1\n');
    expect(text).toContain('microgate_metric_series_dropped_total 0\n');
  });

  it('refuses series past the cap and counts them; a gauge may still update the series it has', () => {
    const { r, c, g } = registry();
    for (let i = 0; i < MAX_SERIES + 3; i++) c.inc({ provider: `p${i}` });
    expect(c.dropped).toBe(3);
    g.set({}, 1);
    expect(r.render()).toContain('microgate_metric_series_dropped_total 3\n');
  });

  it('a restored registry carries on from the state of the one it replaces', () => {
    const a = registry();
    a.c.inc({ provider: 'a' }, 4);
    a.g.set({}, 2);
    a.h.observe({ provider: 'a' }, 0.05);
    const b = registry();
    b.r.restore(JSON.parse(JSON.stringify(a.r.state())));
    b.c.inc({ provider: 'a' });
    expect(b.r.render()).toContain('t_requests_total{provider="a"} 5\n');
    expect(b.r.render()).toContain('t_in_flight 2\n');
    expect(b.r.render()).toContain('t_seconds_count{provider="a"} 1\n');
    expect(b.r.labelValues('provider')).toEqual(new Set(['a']));
  });
});
