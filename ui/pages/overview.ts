// Overview: requests per second, error rate, the gateway's own p50/p99, upstream latency and spend, as
// they come in (one point per /metrics sample, the last 15 minutes the page has seen).
import type { Page } from '../app.ts';
import { Chart } from '../chart.ts';
import { fmt, h } from '../dom.ts';

export const overview: Page = (root, ctx) => {
  const charts = {
    rps: new Chart('Requests / s', '', [{ label: 'req/s', color: '#1f6feb' }]),
    errors: new Chart('Error rate', '%', [{ label: 'errors %', color: '#d1242f' }]),
    gateway: new Chart('In-gateway time', ' µs', [
      { label: 'p50', color: '#1a7f37' },
      { label: 'p99', color: '#9a6700' },
    ]),
    upstream: new Chart('Upstream latency', ' ms', [
      { label: 'p50', color: '#8250df' },
      { label: 'mean', color: '#bf3989' },
    ]),
    spend: new Chart('Spend', ' $/min', [{ label: 'USD/min', color: '#0a7ea4' }]),
  };
  const totals = h('div', { class: 'tiles', 'data-testid': 'totals' });
  root.append(
    h('h2', {}, 'Overview'),
    h('p', { class: 'muted small' }, 'From /metrics every 2 s; history since this page was opened (up to 15 min).'),
    totals,
    h('div', { class: 'charts' }, ...Object.values(charts).map((c) => c.el)),
  );
  const draw = (): void => {
    const d = ctx.history.h;
    const last = d.last;
    totals.replaceChildren(
      tile('Requests', last === null ? '–' : fmt.num(last.requests)),
      tile('Errors', last === null ? '–' : fmt.num(last.errors)),
      tile('Spend', last === null ? '–' : fmt.usd(last.cost)),
      tile('Now', d.rps.length === 0 ? '–' : `${fmt.num(d.rps[d.rps.length - 1]!, 1)} req/s`),
    );
    charts.rps.set([d.t, d.rps]);
    charts.errors.set([d.t, d.errorRate]);
    charts.gateway.set([d.t, d.gatewayP50, d.gatewayP99]);
    charts.upstream.set([d.t, d.upstreamP50, d.upstreamMean]);
    charts.spend.set([d.t, d.spendPerMin]);
  };
  draw();
  const off = ctx.onSample(draw);
  return () => {
    off();
    for (const c of Object.values(charts)) c.destroy();
  };
};

function tile(label: string, value: string): HTMLElement {
  return h('div', { class: 'tile card' }, h('div', { class: 'muted small' }, label), h('div', { class: 'big' }, value));
}
