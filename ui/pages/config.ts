// Config: the loaded config with every secret masked by the gateway (GET /admin/config), when it was
// loaded, and how the last reload went.
import type { Page } from '../app.ts';
import { api, errorText } from '../api.ts';
import { fill, fmt, h, notice } from '../dom.ts';

interface ConfigAnswer {
  config: unknown;
  reload: { loadedAt: string; at: string | null; outcome: 'ok' | 'failed' | null; error: string | null };
}

export const configPage: Page = (root) => {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h2', {}, 'Config'), body);
  api<ConfigAnswer>('GET', '/admin/config').then(
    (c) => {
      const r = c.reload;
      fill(
        body,
        h(
          'dl',
          { 'data-testid': 'reload-status' },
          h('dt', {}, 'loaded'),
          h('dd', {}, fmt.time(r.loadedAt)),
          h('dt', {}, 'last reload'),
          h('dd', {}, r.at === null ? 'none since start' : `${fmt.time(r.at)}: ${r.outcome ?? ''}`),
          r.error === null ? null : h('dt', {}, 'error'),
          r.error === null ? null : h('dd', { class: 'bad' }, r.error),
        ),
        h('p', { class: 'muted small' }, 'Secrets (provider keys, AWS credentials, virtual key values, the admin key, credential headers, URL passwords) are masked by the gateway.'),
        h('pre', { 'data-testid': 'config-json' }, JSON.stringify(c.config, null, 2)),
      );
    },
    (err: unknown) => fill(body, notice(errorText(err))),
  );
};
