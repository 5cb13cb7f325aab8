// Routing: the rules in precedence order with how often each decided a route, and an explain box that
// sends a request to POST /v1/route/explain and shows the decision without calling a provider.
import type { Page } from '../app.ts';
import { api, errorText } from '../api.ts';
import { fill, fmt, h, notice, table } from '../dom.ts';
import type { LocalStats } from '../../src/server/peers.ts';

interface Rule {
  name: string;
  scope: unknown;
  priority: number;
  when: string;
  targets?: Array<{ provider?: string; model?: string; key?: string; weight?: number }>;
  deny?: { message: string; status: number };
  tag?: string;
  chain?: boolean;
}

interface Stats {
  rules: LocalStats['rules'];
}

const EXAMPLE = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Write a Python function that merges two sorted lists.' }] }, null, 2);

export const routing: Page = (root) => {
  const rules = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const text = h('textarea', { rows: 10, spellcheck: 'false', 'data-testid': 'explain-body' });
  text.value = EXAMPLE;
  const vk = h('input', { type: 'password', placeholder: 'virtual key value (when keys are enforced)', autocomplete: 'off', size: 40 });
  const out = h('div', {});
  const explain = async (): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(text.value);
    } catch {
      return fill(out, notice('The request is not JSON.'));
    }
    try {
      const r = await api<unknown>('POST', '/v1/route/explain', body, vk.value === '' ? {} : { authorization: `Bearer ${vk.value}` });
      fill(out, h('pre', { 'data-testid': 'explain-result' }, JSON.stringify(r, null, 2)));
    } catch (err) {
      fill(out, notice(errorText(err)));
    }
  };
  root.append(
    h('h2', {}, 'Routing'),
    rules,
    h('h3', {}, 'Explain a request'),
    h('p', { class: 'muted small' }, 'The decision for this chat request: classification, the rule that matched, the attempt order. Nothing is sent to a provider.'),
    text,
    h('div', { class: 'row' }, vk, h('button', { onclick: () => void explain() }, 'Explain')),
    out,
  );
  Promise.all([api<{ config: { rules: Rule[] } }>('GET', '/admin/config'), api<Stats>('GET', '/admin/stats')]).then(
    ([c, s]) => {
      const m = s.rules.matches;
      const e = s.rules.evaluationErrors;
      const missing = s.rules.missingKeys ?? {};
      fill(
        rules,
        table(
          ['rule', 'scope', 'priority', 'when', 'does', 'matches', 'errors', 'key absent'],
          c.config.rules.map((r) => [
            r.name,
            typeof r.scope === 'string' ? r.scope : Object.entries(r.scope as object).map(([k, v]) => `${k}: ${String(v)}`).join(''),
            String(r.priority),
            h('code', {}, r.when),
            r.deny ? `deny ${r.deny.status}` : (r.targets ?? []).map((t) => [t.provider, t.model].filter(Boolean).join('/') || 'same').join(', ') + (r.chain ? ' (chain)' : ''),
            fmt.num(m[r.name] ?? 0),
            fmt.num(e[r.name] ?? 0),
            fmt.num(missing[r.name] ?? 0),
          ]),
          'rules',
        ),
      );
    },
    (err: unknown) => fill(rules, notice(errorText(err))),
  );
};
