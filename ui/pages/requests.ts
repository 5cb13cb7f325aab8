// Requests: the request log (GET /admin/requests) with its filters, and one request's detail
// (GET /admin/requests/:id): its attempts, rule, the rules matched and their tags, tier, tokens, cost and timings.
import type { Page } from '../app.ts';
import { api, errorText } from '../api.ts';
import { fill, fmt, h, notice, table } from '../dom.ts';
import type { LogLine as Line } from '../../src/telemetry/log-line.ts';

const FILTERS: Array<[string, string]> = [
  ['status', '2xx, 429, 4xx,5xx'],
  ['provider', 'provider'],
  ['model', 'model'],
  ['key', 'provider key name'],
  ['virtualKey', 'virtual key id'],
  ['rule', 'rule'],
  ['tag', 'rule tag'],
  ['error', 'error code'],
  ['since', '15m, 2h or a date'],
  ['until', 'date'],
  ['limit', '100'],
];

export const requests: Page = (root) => {
  const inputs = FILTERS.map(([name, placeholder]) => h('input', { name, placeholder, 'aria-label': name, size: 12 }));
  const list = h('div', {});
  const detail = h('div', { class: 'detail' });
  const search = (): void => {
    const q = new URLSearchParams();
    for (const i of inputs) if (i.value.trim() !== '') q.set(i.name, i.value.trim());
    fill(list, h('p', { class: 'muted' }, 'Searching…'));
    api<{ data: Line[]; truncated: boolean; scannedBytes: number }>('GET', `/admin/requests?${q}`).then(
      (r) => fill(list, r.truncated ? notice(`Searched the newest ${fmt.num(r.scannedBytes / 1048576, 0)} MiB of the log only.`, 'info') : null, rows(r.data, (id) => void show(id))),
      (err: unknown) => fill(list, notice(errorText(err))),
    );
  };
  const show = async (id: string): Promise<void> => {
    fill(detail, h('p', { class: 'muted' }, 'Loading…'));
    try {
      fill(detail, ...view(await api<Line>('GET', `/admin/requests/${encodeURIComponent(id)}`)));
    } catch (err) {
      fill(detail, notice(errorText(err)));
    }
  };
  root.append(
    h('h2', {}, 'Requests'),
    h(
      'form',
      {
        class: 'filters',
        'data-testid': 'request-filters',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          search();
        },
      },
      ...inputs,
      h('button', { type: 'submit' }, 'Search'),
    ),
    h('div', { class: 'split' }, list, detail),
  );
  search();
};

function route(l: Line): string {
  return l.attempts.map((a) => (a.status >= 200 && a.status < 300 ? a.target : `${a.target} (${a.status || a.flag || '?'})`)).join(' → ') || '–';
}

function rows(lines: Line[], open: (id: string) => void): HTMLElement {
  const t = table(
    ['time', 'status', 'model', 'route', 'total', 'cost', 'error'],
    lines.map((l) => [
      h('a', { href: '#/requests', onclick: (ev: Event) => (ev.preventDefault(), open(l.id)) }, fmt.time(l.time)),
      h('span', { class: l.status >= 400 ? 'bad' : '' }, String(l.status)),
      l.requestedModel,
      route(l),
      fmt.ms(l.totalUs),
      l.cost === undefined ? '–' : fmt.usd(l.cost),
      [l.error, l.streamFailed ? 'stream failed' : '', l.aborted ? 'aborted' : ''].filter(Boolean).join(' ') || '–',
    ]),
    'request-list',
  );
  return t;
}

function view(l: Line): Node[] {
  const kv = (pairs: Array<[string, string]>): HTMLElement => h('dl', {}, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const out: Node[] = [
    h('h3', {}, `Request ${l.id}`),
    kv([
      ['time', fmt.time(l.time)],
      ['endpoint', l.endpoint],
      ['model asked', l.requestedModel],
      ['status', String(l.status) + (l.error ? ` (${l.error})` : '')],
      ['rule', l.rule ?? '–'],
      ['rules matched', l.matched?.join(', ') || '–'],
      ['tags', l.tags?.join(', ') || '–'],
      ['tier', l.tier ?? '–'],
      ['tokens', l.tokens === undefined ? '–' : `${l.tokens.prompt ?? '?'} in, ${l.tokens.completion ?? '?'} out`],
      ['cost', l.cost === undefined ? '–' : fmt.usd(l.cost)],
      ['total', fmt.ms(l.totalUs)],
      ['in gateway', fmt.ms(l.gatewayUs)],
      ['upstream', fmt.ms(l.upstreamUs)],
      ['first byte', l.stream ? fmt.ms(l.ttfbUs) : '–'],
      ['virtual key', [l.tenant.virtualKey, l.tenant.team, l.tenant.customer].filter(Boolean).join(' / ') || '–'],
    ]),
    h('h4', {}, 'Attempts'),
    table(
      ['#', 'target', 'key', 'status', 'latency'],
      l.attempts.map((a, i) => [String(i + 1), a.target, a.key, a.status === 0 ? (a.flag ?? '?') : String(a.status) + (a.flag ? ` ${a.flag}` : ''), fmt.ms(a.latencyUs)]),
      'attempts',
    ),
  ];
  if (l.request !== undefined) out.push(h('h4', {}, 'Request body'), h('pre', {}, l.request));
  if (l.response !== undefined) out.push(h('h4', {}, 'Answer'), h('pre', {}, l.response));
  return out;
}
