// `npm run bench:hostile`: the figures behind the hostile-input fixes (issue 9), measured against a
// gateway in its own process (so its RSS is its own) in front of a provider that misbehaves on purpose.
// Writes results/hostile.json. Timings are reported, never asserted (the tests assert behaviour).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { startHostile, drip } from '../test/helpers/hostile.ts';
import { startMock } from '../mock-providers/index.ts';
import { environment } from './lib/report.ts';

const ROOT = resolve(import.meta.dirname, '..');
const agent = new Agent({ connections: 512 });
const h = await startHostile();
const mock = await startMock({ latencyMs: 20 }, { port: 0 });
const cwd = mkdtempSync(join(tmpdir(), 'mg-hostile-'));
writeFileSync(
  join(cwd, 'microgate.yaml'),
  [
    'version: 1',
    'server: { port: 0 }',
    'telemetry: { enabled: true, log: { enabled: false } }',
    'providers:',
    `  h: { baseUrl: ${h.baseUrl}, keys: [{ name: k, value: MGSECRETq8v2n5x7k1z3j6w9p4r0t2i1o }], retry: { maxRetries: 2, baseMs: 10, capMs: 50 } }`,
    `  mock: { baseUrl: ${mock.baseUrl}, keys: [{ name: k, value: mock-key-1 }], models: [mock-small] }`,
  ].join('\n'),
);
// The production bundle, as `npm start` runs it.
execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT });
const child = spawn(process.execPath, [join(ROOT, 'dist/main.js')], { cwd, env: { ...process.env, NODE_ENV: 'production' } });
child.stderr.on('data', (d) => process.stderr.write(d));
const url = await new Promise<string>((res, rej) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) res(m[1]!);
  });
  child.on('exit', () => rej(new Error(out)));
});

async function rssMb(): Promise<number> {
  const r = await request(`${url}/admin/stats`, { dispatcher: agent });
  return Math.round(((await r.body.json()) as { memory: { rssBytes: number } }).memory.rssBytes / 2 ** 20);
}

async function chat(model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const t0 = performance.now();
  const r = await request(`${url}/v1/chat/completions`, {
    dispatcher: agent,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });
  const text = await r.body.text();
  let code = '';
  try {
    code = (JSON.parse(text) as { error?: { code: string } }).error?.code ?? '';
  } catch {
    // a stream
  }
  return { status: r.statusCode, code, ms: Math.round(performance.now() - t0) };
}

/** Samples RSS every 50 ms while `work` runs; returns its result and the peak. */
async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = await rssMb();
  let on = true;
  const sampler = (async () => {
    while (on) {
      peak = Math.max(peak, await rssMb());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const result = await work();
  on = false;
  await sampler;
  return { result, peakMb: peak };
}

const rows: Record<string, unknown> = {};

// 1. A 100 MB stream with no blank line, beside 200 requests to another provider.
h.handle((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  drip(res, `data: ${'y'.repeat(64 * 1024)}`, 0, 1600);
});
h.reset();
{
  const { result, peakMb } = await withPeakRss(() => Promise.all([chat('h/x', { stream: true }), ...Array.from({ length: 200 }, () => chat('mock/mock-small'))]));
  const [bad, ...neighbours] = result;
  rows.streamWithoutBlankLine = { answer: `${bad.status} ${bad.code}`, ms: bad.ms, fetchedMb: Math.round(h.bytesSent / 2 ** 20), neighboursFailed: neighbours.filter((n) => n.status !== 200).length, neighbourP99Ms: neighbours.map((n) => n.ms).sort((a, b) => a - b)[197], peakRssMb: peakMb };
}

// 2. A 500 whose body never ends, against a 3 s deadline.
h.handle((_req, res) => {
  res.writeHead(500, { 'content-type': 'text/plain' });
  drip(res, 'e'.repeat(64 * 1024), 0);
});
h.reset();
{
  const r = await chat('h/x', {}, { 'x-microgate-timeout-ms': '3000' });
  rows.endlessErrorBody = { answer: `${r.status} ${r.code}`, ms: r.ms, attempts: h.requests, fetchedMb: Math.round(h.bytesSent / 2 ** 20) };
}

// 3. A 200 whose JSON body drips forever, against a 3 s deadline.
h.handle((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  drip(res, ' ', 10);
});
{
  const r = await chat('h/x', {}, { 'x-microgate-timeout-ms': '3000' });
  rows.endlessOkBody = { answer: `${r.status} ${r.code}`, ms: r.ms };
}

// 4. Eight concurrent 60 MB answers.
const big = Buffer.from(`{"x":"${'z'.repeat(60 * 2 ** 20)}"}`);
h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(big));
h.reset();
{
  const { result, peakMb } = await withPeakRss(() => Promise.all(Array.from({ length: 8 }, () => chat('h/x'))));
  const by: Record<string, number> = {};
  for (const r of result) by[`${r.status} ${r.code}`.trim()] = (by[`${r.status} ${r.code}`.trim()] ?? 0) + 1;
  rows.eightSixtyMbAnswers = { answers: by, fetches: h.requests, peakRssMb: peakMb };
}

// 5. An answer over maxResponseBytes (64 MiB): how often is it fetched?
const huge = Buffer.from(`{"x":"${'z'.repeat(70 * 2 ** 20)}"}`);
h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(huge));
h.reset();
{
  const r = await chat('h/x');
  rows.overLimitAnswer = { answer: `${r.status} ${r.code}`, fetches: h.requests };
}

// 6. 1,000 distinct 256-character model names: /metrics stays bounded.
h.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}'));
for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => chat(`h/${'m'.repeat(250)}${i + j}`)));
{
  await new Promise((r) => setTimeout(r, 200));
  const metrics = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
  const stats = await (await request(`${url}/admin/stats`, { dispatcher: agent })).body.text();
  const r = await chat(`h/${'m'.repeat(100_000)}`);
  rows.distinctModelNames = { metricsKb: Math.round(metrics.length / 1024), adminStatsKb: Math.round(stats.length / 1024), rssMb: await rssMb(), name100KB: `${r.status} ${r.code}` };
}

child.kill('SIGTERM');
await h.close();
await mock.close();
await agent.close();
mkdirSync(join(ROOT, 'results'), { recursive: true });
writeFileSync(join(ROOT, 'results/hostile.json'), `${JSON.stringify({ environment: environment(false, 'gateway child process', {}), rows }, null, 1)}\n`);
process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
process.exit(0);
