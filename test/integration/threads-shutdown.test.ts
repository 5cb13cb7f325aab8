// SIGTERM to a gateway process running two request threads (the default on this 2-core machine is
// "auto", set here explicitly): every request already accepted, in either thread, is answered, its
// record reaches the log, new connections are refused, and the process exits 0 (not the abort Node
// gives a thread that exits with a uWS app still open).
import { afterEach, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startMock, type MockHandle } from '../../mock-providers/index.ts';
import { listLogFiles } from '../../src/telemetry/log-file.ts';
import { eventually } from '../helpers/waits.ts';
import { startGatewayProcess } from '../helpers/process.ts';

let child: ChildProcess | null = null;
let mock: MockHandle | null = null;

afterEach(async () => {
  child?.kill('SIGKILL');
  await mock?.close();
});

it('drains every thread: each accepted request is answered and logged, then the process exits 0', async () => {
  mock = await startMock({ latencyMs: 400 }, { port: 0 });
  const cwd = mkdtempSync(join(tmpdir(), 'mg-threads-term-'));
  writeFileSync(
    join(cwd, 'microgate.yaml'),
    `version: 1\nserver: { port: 0, workers: 2, shutdownGraceMs: 5000 }\ntelemetry: { log: { dir: ${join(cwd, 'logs')} } }\nproviders:\n  mock: { baseUrl: ${mock.baseUrl}, keys: [{ name: k, value: v }], models: [mock-small] }\n`,
  );
  const gw = await startGatewayProcess(cwd);
  child = gw.child;
  const { url, exited } = gw;
  expect(gw.banner).toMatch(/2 request threads/);

  // 120 requests, each on a connection of its own (so both threads take some), all held by the provider.
  const body = JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] });
  const inFlight = Array.from({ length: 120 }, () =>
    request(`${url}/v1/chat/completions`, { method: 'POST', reset: true, headers: { 'content-type': 'application/json' }, body }).then(
      async (r) => {
        await r.body.text();
        return r.statusCode;
      },
      (e: { code?: string }) => e.code ?? 'error',
    ),
  );
  expect(await eventually(() => mock!.stats().inFlight, (n) => n === 120, 250)).toBe(120);
  const stats = (await (await request(`${url}/admin/stats`, { reset: true })).body.json()) as { threads: Array<{ inFlight: number }> };
  expect(stats.threads.every((t) => t.inFlight > 0)).toBe(true);

  child.kill('SIGTERM');
  // Once both threads stop listening, new connections are refused rather than accepted and dropped (one
  // caught in a closing listener's backlog meanwhile is reset: it was never accepted).
  let refused = '';
  for (let i = 0; i < 50 && refused !== 'ECONNREFUSED'; i++) {
    refused = await request(`${url}/health`, { reset: true }).then(
      (x) => x.body.text().then(() => 'answered'),
      (e: { code?: string }) => e.code ?? 'error',
    );
    if (refused !== 'ECONNREFUSED') await new Promise((res) => setTimeout(res, 20));
  }
  expect(refused).toBe('ECONNREFUSED');
  expect(await Promise.all(inFlight)).toEqual(Array(120).fill(200));
  expect(await exited).toBe(0);
  // One log, one writer: a line for every request, from both threads.
  const lines = listLogFiles(join(cwd, 'logs')).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
  expect(lines).toHaveLength(120);
  expect(gw.stderr()).toContain('SIGTERM, finishing 120 request(s) in flight');
});
