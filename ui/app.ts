// The dashboard's shell: session check and login, navigation between pages (the URL's #hash), and the
// /metrics poller the Overview draws from. It starts at page load so the history grows whichever page
// is open. No framework: each page is a function that fills an element and returns its cleanup.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, login, logout, metrics, session, setCsrf, whenLoggedOut } from './api.ts';
import { fill, h, notice } from './dom.ts';
import { MetricsHistory, parseProm, POLL_MS, sampleOf } from './metrics.ts';
import { overview } from './pages/overview.ts';
import { providers } from './pages/providers.ts';
import { requests } from './pages/requests.ts';
import { routing } from './pages/routing.ts';
import { governance } from './pages/governance.ts';
import { configPage } from './pages/config.ts';

export interface PageContext {
  history: MetricsHistory;
  /** Called after every /metrics sample; returns the unsubscribe. */
  onSample(f: () => void): () => void;
}

export type Page = (root: HTMLElement, ctx: PageContext) => (() => void) | void;

const PAGES: Array<[string, string, Page]> = [
  ['overview', 'Overview', overview],
  ['providers', 'Providers & keys', providers],
  ['requests', 'Requests', requests],
  ['routing', 'Routing', routing],
  ['governance', 'Governance', governance],
  ['config', 'Config', configPage],
];

const app = document.getElementById('app')!;
const history = new MetricsHistory();
const listeners = new Set<() => void>();
let poller: number | null = null;
let cleanup: (() => void) | void = undefined;
/** Above the page: says so while the gateway does not answer (the figures below stop where it did). */
const unreachable = h('div', { 'data-testid': 'unreachable' });
let unreachableSince: number | null = null;

const ctx: PageContext = {
  history,
  onSample(f) {
    listeners.add(f);
    return () => listeners.delete(f);
  },
};

async function poll(): Promise<void> {
  try {
    history.add(sampleOf(parseProm(await metrics()), Date.now()));
    if (unreachableSince !== null) {
      unreachableSince = null;
      unreachable.replaceChildren();
    }
    for (const f of listeners) f();
  } catch (err) {
    // The next poll tries again; a 401 has already shown the login form. Anything else: the gateway
    // is down or restarting, and the totals shown are old (they were shown as current, without a word).
    if (err instanceof ApiError && err.status === 401) return;
    if (unreachableSince === null) {
      unreachableSince = Date.now();
      fill(unreachable, notice(`The gateway has not answered since ${new Date(unreachableSince).toLocaleTimeString()}: the figures below are from then.`));
    }
  }
}

function startPolling(): void {
  if (poller !== null) return;
  void poll();
  poller = window.setInterval(() => void poll(), POLL_MS);
}

function stopPolling(): void {
  if (poller !== null) window.clearInterval(poller);
  poller = null;
}

function showLogin(message?: string): void {
  stopPolling();
  cleanup?.();
  cleanup = undefined;
  setCsrf(null);
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'current-password', placeholder: 'governance.adminKey', required: true, 'data-testid': 'login-key' });
  const status = h('div', {});
  if (message !== undefined) status.append(notice(message, 'info'));
  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        login(input.value).then(
          () => void start(),
          (err: unknown) => fill(status, notice(err instanceof ApiError ? err.message : 'The gateway did not answer.')),
        );
      },
    },
    h('h1', {}, 'microgate'),
    h('p', { class: 'muted' }, 'Log in with the admin key (governance.adminKey).'),
    input,
    h('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Log in'),
    status,
  );
  fill(app, form);
  input.focus();
}

function render(adminKeyRequired: boolean): void {
  const main = h('main', { id: 'page' });
  const nav = h('nav', {}, ...PAGES.map(([id, label]) => h('a', { href: `#/${id}`, 'data-page': id }, label)));
  const right = adminKeyRequired
    ? h('button', { class: 'link', 'data-testid': 'logout', onclick: () => void logout().finally(() => showLogin('Logged out.')) }, 'Log out')
    : h('span', { class: 'muted small' }, 'loopback, no admin key');
  fill(app, h('header', {}, h('a', { class: 'brand', href: '#/overview' }, 'microgate'), nav, right), unreachable, main);
  const show = (): void => {
    const id = location.hash.replace(/^#\//, '') || 'overview';
    const page = PAGES.find((p) => p[0] === id) ?? PAGES[0]!;
    for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.getAttribute('data-page') === page[0]);
    cleanup?.();
    main.replaceChildren();
    cleanup = page[2](main, ctx);
  };
  window.onhashchange = show;
  show();
}

async function start(): Promise<void> {
  try {
    const s = await session();
    if (s.adminKeyRequired && !s.authenticated) return showLogin();
    setCsrf(s.csrf);
    render(s.adminKeyRequired);
    startPolling();
  } catch (err) {
    fill(app, notice(err instanceof ApiError ? err.message : 'The gateway did not answer.'));
  }
}

whenLoggedOut(() => showLogin('The session ended: log in again.'));
void start();
