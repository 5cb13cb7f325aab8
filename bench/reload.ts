// `npm run bench:reload`: hot reload under load (issue 15). A gateway with two request threads serves
// 32 closed-loop clients; its config is reloaded 10 times, the model alias switching between two mock
// providers each time. Reported: requests answered and failed, how long each reload took (every thread
// built and swapped its plan), and how long until the first answer from the new route. Writes
// results/reload.json. Timings only here, never in tests (test/integration/reload.test.ts asserts the
// behaviour).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startMock } from '../mock-providers/index.ts';
import { validateConfig } from '../src/config/load.ts';
import { startCluster } from '../src/threads/supervisor.ts';

const ROOT = resolve(import.meta.dirname, '..');
const RELOADS = 10;
const CLIENTS = 32;

const a = await startMock({ name: 'a' }, { port: 0 });
const b = await startMock({ name: 'b' }, { port: 0 });
const logs = mkdtempSync(join(tmpdir(), 'mg-bench-reload-'));
const config = (route: 'a' | 'b') =>
  validateConfig(
    {
      version: 1,
      server: { workers: 2 },
      telemetry: { log: { dir: logs } },
      providers: {
        a: { baseUrl: a.baseUrl, keys: [{ name: 'k', value: 'sk-bench-reload-a-0123456789' }] },
        b: { baseUrl: b.baseUrl, keys: [{ name: 'k', value: 'sk-bench-reload-b-0123456789' }] },
      },
      models: { m: { targets: [{ provider: route, model: 'mock-small' }] } },
    },
    {},
  );
const cluster = await startCluster(config('a'), 2, { host: '127.0.0.1', port: 0 });

let running = true;
let ok = 0;
let failed = 0;
let route: 'a' | 'b' = 'a';
let waitingSince = 0;
let firstAnswer = 0;
const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
const clients = Array.from({ length: CLIENTS }, async () => {
  while (running) {
    const r = await request(`${cluster.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await r.body.text();
    if (r.statusCode === 200) ok++;
    else failed++;
    if (waitingSince > 0 && firstAnswer === 0 && r.headers['x-microgate-provider'] === route) firstAnswer = performance.now();
  }
});
await new Promise((r) => setTimeout(r, 1_000));
const reloadMs: number[] = [];
const firstAnswerMs: number[] = [];
const errors: string[] = [];
for (let i = 0; i < RELOADS; i++) {
  route = route === 'a' ? 'b' : 'a';
  firstAnswer = 0;
  const t = (waitingSince = performance.now());
  errors.push(...(await cluster.reload(config(route))));
  reloadMs.push(Math.round((performance.now() - t) * 10) / 10);
  await new Promise((r) => setTimeout(r, 300));
  firstAnswerMs.push(firstAnswer === 0 ? -1 : Math.round((firstAnswer - t) * 10) / 10);
}
running = false;
await Promise.all(clients);
await cluster.close(1_000);
await Promise.all([a.close(), b.close()]);

const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
const result = {
  environment: { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
  setup: `2 request threads, ${CLIENTS} closed-loop clients, ${RELOADS} reloads switching a model alias between two mock providers`,
  requests: { ok, failed },
  reloadErrors: errors,
  reloadMs,
  reloadMsMedian: sorted(reloadMs)[RELOADS >> 1],
  firstAnswerFromNewRouteMs: firstAnswerMs,
  firstAnswerMsMedian: sorted(firstAnswerMs)[RELOADS >> 1],
};
mkdirSync(join(ROOT, 'results'), { recursive: true });
writeFileSync(join(ROOT, 'results/reload.json'), `${JSON.stringify(result, null, 1)}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
