// The dashboard in a real browser (Debian's chromium, driven by playwright-core), against a gateway
// running here and a mock provider (issue 15): log in; the Overview's request count rises with traffic;
// a key answering 429 with a long Retry-After shows as resting on Providers & keys; a virtual key made
// on Governance works for the OpenAI SDK and, revoked there, gets the SDK a 401; one request's attempts
// on Requests; an explain on Routing; a failed hot reload on Config; and across every page no console
// error, no CSP violation and no request to another origin. Behaviour only, never timings.
// MICROGATE_SCREENSHOT=1 also saves docs/dashboard.png (the README's picture), a screenshot of each page
// under results/ui/ and, there, README.md with the page weight (ui-weight.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import OpenAI, { AuthenticationError } from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { reloadStatus, setReloadStatus } from '../../src/server/reload-status.ts';
import { isAsset, measureLoad, writeWeightReport, type Transfer } from './ui-weight.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const ADMIN = 'admin-key-BROWSER-0123456789abcdef';
const PROVIDER_KEY = 'sk-browser-provider-key-0123456789';
/** The mock answers this key with a 429 and Retry-After: 600. */
const LIMITED = 'sk-browser-limited-key-0123456789';
/** A virtual key of the config: keys are enforced from the start, so revoking the page's key leaves the gateway closed. */
const VK = 'vk-browser-config-0123456789abcdef';
const RELOAD_ERROR = 'config reload failed: routing.deadlineMs: Number must be greater than 0';
const SHOTS = process.env.MICROGATE_SCREENSHOT === '1';
const RESULTS = resolve(import.meta.dirname, '../../results/ui');

let mock: MockHandle;
let gw: Gateway;
let browser: Browser;
let page: Page;
const origins = new Set<string>();
const problems: string[] = [];
/** [title, file] of each screenshot taken, for results/ui/README.md. */
const shots: Array<[string, string]> = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  mock = await startMock({ name: 'mock', keys: { [LIMITED]: { status: 429, retryAfterSec: 600 } } }, { port: 0 });
  const config = validateConfig(
    {
      version: 1,
      providers: {
        mock: {
          baseUrl: mock.baseUrl,
          keys: [
            { name: 'k1', value: PROVIDER_KEY },
            { name: 'limited', value: LIMITED },
          ],
          models: ['mock-small'],
          pricing: { 'mock-small': { input: 1000, output: 1000 } },
        },
      },
      // The rest follows the provider's Retry-After (600 s) instead of the default 60 s cap.
      routing: { keyCooldown: { maxRateLimitedMs: 900_000 } },
      rules: [{ name: 'auto-small', when: 'model == "auto"', targets: [{ provider: 'mock', model: 'mock-small' }] }],
      governance: { adminKey: ADMIN, db: join(mkdtempSync(join(tmpdir(), 'mg-ui-db-')), 'gov.db'), virtualKeys: [{ id: 'vk-config', value: VK }] },
      telemetry: { log: { dir: mkdtempSync(join(tmpdir(), 'mg-ui-logs-')) } },
    },
    {},
  );
  gw = await startGateway(config, { host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // A CSP violation becomes a console error (Chromium logs most itself; this catches every kind).
  await context.addInitScript(() => {
    const g = globalThis as unknown as { document: { addEventListener(t: string, f: (e: { violatedDirective: string; blockedURI: string }) => void): void } };
    g.document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page = await context.newPage();
  // A wait that fails, fails well within the test's time.
  page.setDefaultTimeout(8_000);
  const here = new URL(gw.url).origin;
  // Refusals the test asks for: a wrong admin key at login, an explain without a virtual key.
  const expected401 = [`${here}/ui/login`, `${here}/v1/route/explain`];
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/status of 401/.test(m.text()) && expected401.includes(m.location().url)) return;
    problems.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('dialog', (d) => void d.accept());
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await mock?.close();
});

async function shot(title: string, file: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, file) });
  shots.push([title, file]);
}

/** One chat request with the config's virtual key; answers its status. */
async function chat(model = 'auto'): Promise<number> {
  const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${VK}` }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  await r.body.text();
  return r.statusCode;
}

/** Chat requests at a steady pace until stopped, so the Overview's charts have something to draw. */
function traffic(): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      await chat();
      await new Promise((ok) => setTimeout(ok, 20));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

async function open(name: string): Promise<void> {
  await page.getByRole('link', { name, exact: true }).click();
  await page.locator('main h2', { hasText: name }).waitFor();
}

/** The cells of the rows of a table (by data-testid), as text. */
async function cells(testid: string): Promise<string[][]> {
  const rows = await page.getByTestId(testid).locator('tbody tr').all();
  return Promise.all(rows.map(async (r) => (await r.locator('td').allTextContents()).map((t) => t.trim())));
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in chromium', () => {
  it('logs in with the admin key after refusing a wrong one', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByTestId('login-key').fill('wrong-key');
    await page.getByTestId('login-submit').click();
    await page.getByRole('alert').getByText('Incorrect admin key').waitFor();
    await page.getByTestId('login-key').fill(ADMIN);
    await page.getByTestId('login-submit').click();
    await page.locator('main h2', { hasText: 'Overview' }).waitFor();
  });

  it('Overview: the request count shown rises with traffic, and the charts draw it', async () => {
    const shown = async (): Promise<number> => {
      const text = (await page.getByTestId('totals').locator('.tile .big').first().textContent()) ?? '';
      return /\d/.test(text) ? Number(text.replace(/\D/g, '')) : NaN;
    };
    // The first /metrics sample is taken when the page opens.
    await expect.poll(shown, { timeout: 5_000, interval: 100 }).toBeGreaterThanOrEqual(0);
    const before = await shown();
    for (let i = 0; i < 5; i++) expect(await chat()).toBe(200);
    await expect.poll(shown, { timeout: 6_000, interval: 200 }).toBeGreaterThanOrEqual(before + 5);

    const stop = traffic();
    try {
      // Each sample after the first adds a point to every chart: wait for a line (two points; for the
      // screenshot, a few more).
      const fewest = async (): Promise<number> => {
        const points = await page.getByTestId('chart').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-points'))));
        return points.length === 0 ? 0 : Math.min(...points);
      };
      await expect.poll(fewest, { timeout: SHOTS ? 16_000 : 8_000, interval: 200 }).toBeGreaterThanOrEqual(SHOTS ? 6 : 2);
    } finally {
      await stop();
    }
    expect(await page.locator('[data-testid="chart"] canvas').count()).toBe(5);
    if (SHOTS) {
      mkdirSync(resolve(import.meta.dirname, '../../docs'), { recursive: true });
      await page.screenshot({ path: resolve(import.meta.dirname, '../../docs/dashboard.png') });
    }
    await shot('Overview', 'overview.png');
  }, 30_000);

  it('Providers & keys: a key answering 429 with a long Retry-After shows as resting, with time left', async () => {
    // Requests go on to the other key, so each is answered; stop once the 429 key has been tried.
    for (let i = 0; i < 40 && (mock.stats().byKey[LIMITED] ?? 0) === 0; i++) expect(await chat()).toBe(200);
    expect(mock.stats().byKey[LIMITED]).toBeGreaterThanOrEqual(1);

    await open('Providers & keys');
    await page.getByTestId('resting').getByText('mock/limited').waitFor();
    const resting = await cells('resting');
    expect(resting.map((r) => r[0])).toEqual(['mock/limited']);
    const [, reason, left] = resting[0]!;
    expect(reason).toBe('rate limited');
    expect(left).toMatch(/^\d+ s$/);
    // Retry-After: 600, less the time since the key was tried.
    expect(Number(left!.replace(' s', ''))).toBeGreaterThan(60);
    expect(Number(left!.replace(' s', ''))).toBeLessThanOrEqual(600);
    await shot('Providers & keys', 'providers.png');
  });

  it('Governance: a key made in the page works for the OpenAI SDK; revoked in the page, the SDK gets a 401', async () => {
    await open('Governance');
    await page.getByTestId('new-key-name').fill('browser-made');
    await page.getByTestId('create-key-submit').click();
    const value = (await page.getByTestId('new-key-value').textContent()) ?? '';
    expect(value).toMatch(/^mgk-/);

    const sdk = new OpenAI({ apiKey: value, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answer = await sdk.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBeTruthy();

    // The admin API never shows the value again; once dismissed, or after a reload, the page neither.
    const keys = (await (await request(`${gw.url}/admin/virtual-keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { data: Array<{ id: string; name: string }> };
    const made = keys.data.find((k) => k.name === 'browser-made')!;
    expect(made).toBeDefined();
    expect(JSON.stringify(keys)).not.toContain(value);
    await page.getByTestId('dismiss-secret').click();
    expect(await page.content()).not.toContain(value);
    await page.reload();
    await page.locator(`[data-key="${made.id}"]`).waitFor();
    expect(await page.content()).not.toContain(value);
    await shot('Governance', 'governance.png');

    await page.locator(`[data-key="${made.id}"] [data-testid="revoke-key"]`).click();
    await page.locator(`[data-key="${made.id}"]`).waitFor({ state: 'detached' });
    const refused = await sdk.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(AuthenticationError);
    expect((refused as AuthenticationError).status).toBe(401);
    // The config's key is untouched.
    expect(await chat()).toBe(200);
  });

  it("Requests: the log lists the traffic, and one request's detail shows its attempts", async () => {
    await gw.server.telemetry.flush(5_000);
    await open('Requests');
    await page.getByTestId('request-list').waitFor();
    // The requests that tried the 429 key (the newest 100 may not hold one): the page's own filter.
    await page.getByRole('textbox', { name: 'key', exact: true }).fill('limited');
    await page.getByRole('button', { name: 'Search' }).click();
    const failedOver = page.getByTestId('request-list').locator('tbody tr', { hasText: '(429)' }).first();
    await failedOver.waitFor();
    await failedOver.getByRole('link').click();
    await page.getByTestId('attempts').waitFor();
    expect(await cells('attempts')).toEqual([
      ['1', 'mock/mock-small', 'limited', '429', expect.stringMatching(/ ms$/)],
      ['2', 'mock/mock-small', 'k1', '200', expect.stringMatching(/ ms$/)],
    ]);
    const detail = (await page.locator('.detail dl').first().textContent()) ?? '';
    expect(detail).toContain('auto-small');
    expect(detail).toContain('vk-config');
    await shot('Requests, one request open', 'requests.png');
  });

  it('Routing: the rules with their matches, and an explain result', async () => {
    await open('Routing');
    await page.getByTestId('rules').getByText('auto-small').waitFor();
    const rule = (await cells('rules')).find((r) => r[0] === 'auto-small')!;
    expect(Number(rule[5]!.replace(/\D/g, ''))).toBeGreaterThan(0);

    await page.getByTestId('explain-body').fill(JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Summarise this paragraph in one sentence.' }] }, null, 2));
    // Without a virtual key the gateway refuses the explain: the page says so, and the session goes on.
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('main .notice.error', { hasText: 'API key' }).waitFor();
    expect(await page.getByTestId('login-key').count()).toBe(0);

    await page.getByPlaceholder('virtual key value').fill(VK);
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.getByTestId('explain-result').waitFor();
    const decision = JSON.parse((await page.getByTestId('explain-result').textContent()) ?? '') as { rule?: string; targets?: string[] };
    expect(decision).toMatchObject({ rule: 'auto-small', targets: ['mock/mock-small'] });
    await shot('Routing, with an explain result', 'routing.png');
  });

  it('Config: after a failed hot reload, the page shows the outcome and the message', async () => {
    await open('Config');
    await page.getByTestId('config-json').waitFor();
    // What the process-level reloader records when a reload fails (threads/reloader.ts).
    setReloadStatus({ loadedAt: reloadStatus.loadedAt, lastReload: { at: Date.now(), ok: false, error: RELOAD_ERROR } });
    await page.reload();
    await page.getByTestId('reload-status').getByText(RELOAD_ERROR).waitFor();
    const status = (await page.getByTestId('reload-status').textContent()) ?? '';
    expect(status).toContain('failed');
    const config = (await page.getByTestId('config-json').textContent()) ?? '';
    for (const secret of [ADMIN, PROVIDER_KEY, LIMITED, VK]) expect(config).not.toContain(secret);
    await shot('Config, after a failed reload', 'config.png');
  });

  it('no page logs a console error, breaks a CSP rule or asks another origin', async () => {
    for (const name of ['Overview', 'Providers & keys', 'Requests', 'Routing', 'Governance', 'Config']) {
      await open(name);
      await page.waitForLoadState('networkidle');
      expect(await page.locator('main .notice.error').count(), name).toBe(0);
    }
    expect([...origins]).toEqual([new URL(gw.url).origin]);
    expect(problems).toEqual([]);

    // The watch works: an inline script, which the CSP forbids, is reported.
    const before = problems.length;
    await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { createElement(t: string): { textContent: string }; body: { append(n: unknown): void } } }).document;
      const s = d.createElement('script');
      s.textContent = 'void 0';
      d.body.append(s);
    });
    await expect.poll(() => problems.slice(before).some((p) => p.includes('CSP violation')), { timeout: 2_000 }).toBe(true);
  });

  it('page weight: the files the browser transfers to load /ui', async () => {
    const transfers: Transfer[] = await measureLoad(browser, `${gw.url}/ui`, (seen) => seen.some((t) => t.path === '/ui/favicon.svg'));
    const assets = transfers.filter(isAsset).map((t) => t.path);
    expect(assets).toEqual(expect.arrayContaining(['/ui', '/ui/app.js', '/ui/app.css', '/ui/favicon.svg']));
    for (const t of transfers) expect(t.body).toBeGreaterThan(0);
    if (SHOTS) {
      // In the navigation's order.
      const nav = ['overview', 'providers', 'requests', 'routing', 'governance', 'config'];
      const inOrder = [...shots].sort((a, b) => nav.indexOf(a[1].replace('.png', '')) - nav.indexOf(b[1].replace('.png', '')));
      writeWeightReport(RESULTS, transfers, inOrder, `Chromium ${browser.version()}`);
    }
  });

  // Last: its failed fetches log console errors, which the test above forbids.
  it('a gateway that stops answering is said above the page, and the notice goes when it answers again', async () => {
    await open('Overview');
    await page.route('**/metrics', (r) => r.abort());
    await expect.poll(async () => (await page.getByTestId('unreachable').textContent()) ?? '', { timeout: 10_000 }).toMatch(/has not answered since/);
    await page.unroute('**/metrics');
    await expect.poll(async () => (await page.getByTestId('unreachable').textContent()) ?? '', { timeout: 10_000 }).toBe('');
  });
});
