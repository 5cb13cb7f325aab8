// Providers and keys: each target's success rate and latency over its circuit windows, circuit states,
// keys resting after a 429 or 401/403 with the time left, and the effective (adaptive) route weights.
// From /admin/stats, every 5 s.
import type { Page } from '../app.ts';
import { api, errorText } from '../api.ts';
import { fill, fmt, h, notice, table } from '../dom.ts';
import type { LocalStats } from '../../src/server/peers.ts';

interface Stats {
  targets: Record<string, { successRate: number; latencyMs: number; requests: number }>;
  circuits: Record<string, { state: string; errorRate: number; latencyMs: number }>;
  restingKeys: Record<string, { reason: string; seconds: number }>;
  routeWeights: Record<string, Record<string, number>>;
  pools: LocalStats['pools'];
  inFlight: number;
  requests: number;
}

export const providers: Page = (root) => {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h2', {}, 'Providers & keys'), body);
  const load = (): void => {
    api<Stats>('GET', '/admin/stats').then(
      (s) => fill(body, ...view(s)),
      (err: unknown) => fill(body, notice(errorText(err))),
    );
  };
  load();
  const timer = window.setInterval(load, 5_000);
  return () => window.clearInterval(timer);
};

function state(s: string): HTMLElement {
  return h('span', { class: `badge ${s}` }, s.replace('_', '-'));
}

function view(s: Stats): Node[] {
  const targets = Object.entries(s.targets ?? {}).sort((a, b) => a[0].localeCompare(b[0]));
  const circuits = Object.entries(s.circuits).sort((a, b) => a[0].localeCompare(b[0]));
  const resting = Object.entries(s.restingKeys);
  const weights = Object.entries(s.routeWeights);
  return [
    h('h3', {}, 'Targets'),
    h('p', { class: 'muted small' }, "Over the circuit breaker's current window, every key of the target."),
    table(
      ['target', 'success', 'latency', 'requests'],
      targets.map(([label, t]) => [label, h('span', { class: t.successRate < 0.9 ? 'bad' : '' }, fmt.pct(t.successRate)), `${fmt.num(t.latencyMs, 1)} ms`, fmt.num(t.requests)]),
      'targets',
    ),
    h('h3', {}, 'Circuits (provider / key / model)'),
    table(
      ['circuit', 'state', 'error rate', 'latency'],
      circuits.map(([id, c]) => [id, state(c.state), fmt.pct(c.errorRate), `${fmt.num(c.latencyMs, 1)} ms`]),
      'circuits',
    ),
    h('h3', {}, 'Resting keys'),
    table(
      ['key', 'reason', 'time left'],
      resting.map(([id, r]) => [id, r.reason.replace(/_/g, ' '), `${r.seconds} s`]),
      'resting',
    ),
    h('h3', {}, 'Effective route weights'),
    h('p', { class: 'muted small' }, "Configured weights adjusted for health and latency (adaptive weighting); the answering thread's view."),
    table(
      ['route', 'target', 'share'],
      weights.flatMap(([route, ts]) => Object.entries(ts).map(([t, w]) => [route, t, bar(w)])),
      'weights',
    ),
    h('h3', {}, 'Connection pools'),
    table(
      ['origin', 'connected', 'running', 'pending'],
      Object.entries(s.pools).map(([o, p]) => [o, fmt.num(p.connected), fmt.num(p.running), fmt.num(p.pending)]),
    ),
  ];
}

function bar(share: number): HTMLElement {
  const meter = h('meter', { min: 0, max: 1, value: share });
  return h('span', { class: 'share' }, meter, ` ${fmt.pct(share)}`);
}
