// The dashboard in a real browser (Debian's chromium, driven by playwright-core): log in, watch the
// Overview's charts fill with traffic, create a virtual key and see its value once, revoke it, and
// check that the page asked nothing of any origin but the gateway's and broke no CSP rule.
// MICROGATE_SCREENSHOT=1 also saves docs/dashboard.png (the README's picture).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { chromium, type Browser } from 'playwright-core';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-key-BROWSER-0123456789abcdef';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let mock: MockHandle;
let gw: Gateway;
let browser: Browser;

beforeAll(async () => {
  mock = await startMock({ name: 'mock' }, { port: 0 });
  const config = validateConfig(
    {
      version: 1,
      providers: {
        mock: { baseUrl: mock.baseUrl, keys: [{ name: 'k1', value: 'sk-browser-provider-key-0123456789' }], models: ['mock-small'], pricing: { 'mock-small': { input: 1000, output: 1000 } } },
      },
      governance: { adminKey: ADMIN, db: join(mkdtempSync(join(tmpdir(), 'mg-ui-db-')), 'gov.db') },
      telemetry: { log: { dir: mkdtempSync(join(tmpdir(), 'mg-ui-logs-')) } },
    },
    {},
  );
  gw = await startGateway(config, { host: '127.0.0.1', port: 0 });
  gw.server.config ??= config;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await mock?.close();
});

/** Chat requests at a steady pace until stopped, so the Overview has something to draw. */
function traffic(): () => Promise<void> {
  let on = true;
  const loop = (async () => {
    while (on) {
      const r = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }) });
      await r.body.text();
      await new Promise((ok) => setTimeout(ok, 20));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in chromium', () => {
  it('logs in, draws the overview, creates a key shown once, revokes it, and talks only to the gateway', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const origins = new Set<string>();
    const problems: string[] = [];
    page.on('request', (r) => origins.add(new URL(r.url()).origin));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('dialog', (d) => void d.accept());

    await page.goto(`${gw.url}/ui`);
    await page.getByTestId('login-key').fill('wrong-key');
    await page.getByTestId('login-submit').click();
    await page.getByRole('alert').getByText('Incorrect admin key').waitFor();
    await page.getByTestId('login-key').fill(ADMIN);
    await page.getByTestId('login-submit').click();
    await page.getByRole('link', { name: 'Overview' }).waitFor();

    const stop = traffic();
    try {
      // Each sample after the first adds a point to every chart: wait for a line (two points).
      const fewest = async (): Promise<number> => {
        const charts = await page.locator('[data-testid="chart"]').all();
        const points = await Promise.all(charts.map(async (c) => Number(await c.getAttribute('data-points'))));
        return points.length === 0 ? 0 : Math.min(...points);
      };
      await expect.poll(fewest, { timeout: 12_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    } finally {
      await stop();
    }
    expect(await page.locator('[data-testid="chart"] canvas').count()).toBe(5);
    const requests = await page.locator('[data-testid="totals"] .tile').first().textContent();
    expect(Number((requests ?? '').replace(/\D/g, ''))).toBeGreaterThan(0);
    if (process.env.MICROGATE_SCREENSHOT === '1') {
      mkdirSync(resolve(import.meta.dirname, '../../docs'), { recursive: true });
      await page.screenshot({ path: resolve(import.meta.dirname, '../../docs/dashboard.png') });
    }

    await page.getByRole('link', { name: 'Governance' }).click();
    await page.getByTestId('new-key-name').fill('browser-made');
    await page.getByTestId('create-key-submit').click();
    const value = (await page.getByTestId('new-key-value').textContent()) ?? '';
    expect(value).toMatch(/^mgk-/);
    // The key works, and the admin API never shows its value again.
    const keys = (await (await request(`${gw.url}/admin/virtual-keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { data: Array<{ id: string; name: string }> };
    const made = keys.data.find((k) => k.name === 'browser-made')!;
    expect(made).toBeDefined();
    expect(JSON.stringify(keys)).not.toContain(value);
    const use = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${value}` }, body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }) });
    await use.body.text();
    expect(use.statusCode).toBe(200);
    // Once dismissed, or after a reload, the value is nowhere in the page.
    await page.getByTestId('dismiss-secret').click();
    expect(await page.content()).not.toContain(value);
    await page.reload();
    await page.locator(`[data-key="${made.id}"]`).waitFor();
    expect(await page.content()).not.toContain(value);

    await page.locator(`[data-key="${made.id}"] [data-testid="revoke-key"]`).click();
    await page.locator(`[data-key="${made.id}"]`).waitFor({ state: 'detached' });
    const after = (await (await request(`${gw.url}/admin/virtual-keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).body.json()) as { data: Array<{ id: string }> };
    expect(after.data.map((k) => k.id)).not.toContain(made.id);

    // Every page reads without an error of its own.
    for (const name of ['Providers & keys', 'Requests', 'Routing', 'Config']) {
      await page.getByRole('link', { name }).click();
      await page.locator('main h2').waitFor();
      await page.waitForLoadState('networkidle');
      expect(await page.locator('main .notice.error').count(), name).toBe(0);
    }
    await page.getByTestId('config-json').waitFor();
    expect(await page.getByTestId('config-json').textContent()).not.toContain(ADMIN);

    expect([...origins]).toEqual([new URL(gw.url).origin]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
