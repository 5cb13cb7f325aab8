// Governance: virtual keys, teams and customers with their usage against limits (GET /admin/usage),
// and the admin API's changes: create, rotate and revoke keys, create and delete teams and customers,
// reset a budget. A new or rotated key's value is shown here once; the gateway keeps only its digest.
import type { Page } from '../app.ts';
import { api, errorText } from '../api.ts';
import { fill, fmt, h, notice, table } from '../dom.ts';

interface Usage {
  requestsPerMinute?: { limit: number; used: number };
  tokensPerMinute?: { limit: number; used: number };
  budget?: { usd: number; period: string; spentUsd: number; resetsAt: string };
}
interface Level {
  id: string;
  name: string;
  usage: Usage;
  team?: string | null;
  customer?: string | null;
}
interface UsageAnswer {
  virtualKeys: Level[];
  teams: Level[];
  customers: Level[];
  store: { kind: string; connected: boolean };
}
interface Entity {
  id: string;
  name?: string;
  source: 'config' | 'api';
  team?: string | null;
  customer?: string | null;
}

export const governance: Page = (root) => {
  const secret = h('div', { 'data-testid': 'secret-slot' });
  const message = h('div', {});
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h2', {}, 'Governance'), message, secret, body);

  const fail = (err: unknown): void => fill(message, notice(errorText(err)));
  const act = (f: () => Promise<unknown>): void => {
    fill(message);
    f().then(load, fail);
  };
  /** A key's value, once: shown until dismissed, never stored by the page. */
  const reveal = (id: string, value: string): void => {
    const code = h('code', { 'data-testid': 'new-key-value' }, value);
    fill(
      secret,
      h(
        'div',
        { class: 'notice secret' },
        h('strong', {}, `Key ${id}: copy its value now. It is not shown again.`),
        h('div', {}, code),
        h('button', { onclick: () => void navigator.clipboard?.writeText(value) }, 'Copy'),
        h('button', { class: 'link', 'data-testid': 'dismiss-secret', onclick: () => fill(secret) }, 'Done'),
      ),
    );
  };

  const keyName = h('input', { placeholder: 'name', 'data-testid': 'new-key-name' });
  const keyTeam = h('input', { placeholder: 'team id (optional)', size: 14 });
  const keyBudget = h('input', { placeholder: 'budget USD/day (optional)', size: 18, inputmode: 'decimal' });
  const createKey = (ev: Event): void => {
    ev.preventDefault();
    const input: Record<string, unknown> = {};
    if (keyName.value.trim() !== '') input.name = keyName.value.trim();
    if (keyTeam.value.trim() !== '') input.team = keyTeam.value.trim();
    if (keyBudget.value.trim() !== '') input.limits = { budget: { usd: Number(keyBudget.value), period: '1d' } };
    fill(message);
    api<{ id: string; value: string }>('POST', '/admin/virtual-keys', input).then((k) => {
      reveal(k.id, k.value);
      keyName.value = '';
      load();
    }, fail);
  };
  const entityForm = (kind: 'teams' | 'customers'): HTMLElement => {
    const id = h('input', { placeholder: 'id', size: 12, required: true });
    const name = h('input', { placeholder: 'name', size: 14 });
    const usd = h('input', { placeholder: 'budget USD/month', size: 16, inputmode: 'decimal' });
    return h(
      'form',
      {
        class: 'row',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const b: Record<string, unknown> = {};
          if (name.value.trim() !== '') b.name = name.value.trim();
          if (usd.value.trim() !== '') b.limits = { budget: { usd: Number(usd.value), period: '1mo' } };
          act(() => api('PUT', `/admin/${kind}/${encodeURIComponent(id.value.trim())}`, b));
        },
      },
      id,
      name,
      usd,
      h('button', { type: 'submit' }, kind === 'teams' ? 'Add team' : 'Add customer'),
    );
  };

  function load(): void {
    Promise.all([
      api<UsageAnswer>('GET', '/admin/usage'),
      api<{ data: Entity[] }>('GET', '/admin/virtual-keys'),
      api<{ data: Entity[] }>('GET', '/admin/teams'),
      api<{ data: Entity[] }>('GET', '/admin/customers'),
    ]).then(([usage, keys, teams, customers]) => {
      const src = new Map<string, string>();
      for (const e of [...keys.data.map((k) => ['k:' + k.id, k.source]), ...teams.data.map((t) => ['t:' + t.id, t.source]), ...customers.data.map((c) => ['c:' + c.id, c.source])]) src.set(e[0]!, e[1]!);
      const resetButton = (field: string, id: string, u: Usage): HTMLElement | null =>
        u.budget === undefined && u.tokensPerMinute === undefined ? null : h('button', { class: 'link', onclick: () => act(() => api('POST', '/admin/budgets/reset', { [field]: id })) }, 'reset budget');
      fill(
        body,
        h('p', { class: 'muted small' }, `Counters: ${usage.store.kind}${usage.store.connected ? '' : ' (not connected)'}.`),
        h('h3', {}, 'Virtual keys'),
        h('form', { class: 'row', onsubmit: createKey, 'data-testid': 'create-key' }, keyName, keyTeam, keyBudget, h('button', { type: 'submit', 'data-testid': 'create-key-submit' }, 'Create key')),
        table(
          ['id', 'name', 'team', 'requests/min', 'tokens/min', 'budget', ''],
          usage.virtualKeys.map((k) => {
            const fromApi = src.get('k:' + k.id) === 'api';
            return [
              k.id,
              k.name,
              [k.team, k.customer].filter(Boolean).join(' / ') || '–',
              rate(k.usage.requestsPerMinute),
              rate(k.usage.tokensPerMinute),
              budget(k.usage),
              h(
                'span',
                { class: 'actions', 'data-key': k.id },
                fromApi ? h('button', { class: 'link', 'data-testid': 'rotate-key', onclick: () => (fill(message), void api<{ id: string; value: string }>('POST', `/admin/virtual-keys/${encodeURIComponent(k.id)}/rotate`).then((r) => (reveal(r.id, r.value), load()), fail)) }, 'rotate') : null,
                fromApi ? h('button', { class: 'link danger', 'data-testid': 'revoke-key', onclick: () => confirm(`Revoke key ${k.id}? Requests presenting it are refused at once.`) && act(() => api('DELETE', `/admin/virtual-keys/${encodeURIComponent(k.id)}`)) }, 'revoke') : h('span', { class: 'muted small' }, 'config'),
                resetButton('virtualKey', k.id, k.usage),
              ),
            ];
          }),
          'keys',
        ),
        h('h3', {}, 'Teams'),
        entityForm('teams'),
        levels(usage.teams, 'team', (id) => src.get('t:' + id) === 'api', resetButton, (id) => act(() => api('DELETE', `/admin/teams/${encodeURIComponent(id)}`))),
        h('h3', {}, 'Customers'),
        entityForm('customers'),
        levels(usage.customers, 'customer', (id) => src.get('c:' + id) === 'api', resetButton, (id) => act(() => api('DELETE', `/admin/customers/${encodeURIComponent(id)}`))),
      );
    }, fail);
  }
  load();
};

function rate(u: { limit: number; used: number } | undefined): string {
  return u === undefined ? '–' : `${fmt.num(u.used)} / ${fmt.num(u.limit)}`;
}

function budget(u: Usage): HTMLElement | string {
  const b = u.budget;
  if (b === undefined) return '–';
  return h('span', { class: 'share' }, h('meter', { min: 0, max: b.usd, value: Math.min(b.spentUsd, b.usd), high: b.usd * 0.8 }), ` ${fmt.usd(b.spentUsd)} / ${fmt.usd(b.usd)} per ${b.period}`);
}

function levels(rows: Level[], field: string, fromApi: (id: string) => boolean, reset: (field: string, id: string, u: Usage) => HTMLElement | null, remove: (id: string) => void): HTMLElement {
  return table(
    ['id', 'name', 'requests/min', 'tokens/min', 'budget', ''],
    rows.map((r) => [
      r.id,
      r.name,
      rate(r.usage.requestsPerMinute),
      rate(r.usage.tokensPerMinute),
      budget(r.usage),
      h('span', { class: 'actions' }, fromApi(r.id) ? h('button', { class: 'link danger', onclick: () => confirm(`Delete ${field} ${r.id}?`) && remove(r.id) }, 'delete') : h('span', { class: 'muted small' }, 'config'), reset(field, r.id, r.usage)),
    ]),
  );
}
