import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RequestLog, listLogFiles } from '../../src/telemetry/log-file.ts';
import type { AttemptRecord, TelemetryRecord } from '../../src/telemetry/types.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MIN = 60_000;
const NOW = Date.now();

function attempt(target: string, status: number, flag = ''): AttemptRecord {
  const [provider = '', model = ''] = target.split('/');
  return { target, provider, model, key: 'k', status, flag, latencyUs: 1000 };
}

function rec(id: string, agoMin: number, status: number, attempts: AttemptRecord[], over: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return {
    id, start: NOW - agoMin * MIN, endpoint: 'chat', dialect: 'openai', requestedModel: 'gpt-4o', status, error: '', stream: false, streamFailed: false, aborted: false,
    totalUs: 12_345, gatewayUs: 100, upstreamUs: 12_000, ttfbUs: 0, rule: '', matched: [], tags: [], tier: '', attempts,
    promptTokens: 1, completionTokens: 2, cost: -1, tenant: { virtualKey: '', team: '', customer: '' }, ...over,
  };
}

// Written in completion order: e finished before d, so the files hold a, b, c, e, d, f.
const RECS = [
  rec('a', 180, 200, [attempt('openai/gpt-4o', 200)], { rule: 'default' }),
  rec('b', 120, 503, [attempt('openai/gpt-4o', 503), attempt('anthropic/claude-3-5', 0, 'UT')], { error: 'upstream_unavailable' }),
  rec('c', 90, 429, [attempt('groq/llama-3', 429)], { error: 'rate_limited', requestedModel: 'fast' }),
  rec('e', 5, 400, [], { error: 'invalid_request' }),
  rec('d', 30, 200, [attempt('openai/gpt-4o', 500), attempt('anthropic/claude-3-5', 200)], { rule: 'fallback' }),
  rec('f', 1, 200, [attempt('groq/llama-3', 200)], { requestedModel: 'fast', stream: true }),
];

let dir = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mg-logs-cli-'));
  const log = new RequestLog({ dir, maxBytes: 700, keep: 100 }); // about two lines a file
  for (const r of RECS) log.write([r]);
  await log.close();
  const files = listLogFiles(dir);
  expect(files.length).toBeGreaterThanOrEqual(3);
  appendFileSync(files[0]!, 'not json at all\n{"truncated":\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/logs.ts', ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ids(...args: string[]): Promise<string[]> {
  const r = await run(['--dir', dir, ...args]);
  expect(r.code).toBe(0);
  return r.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
}

describe('npm run logs', () => {
  it('prints every line oldest first by time, as written, and skips unparsable lines with a count', async () => {
    const r = await run(['--dir', dir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const written = listLogFiles(dir).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    expect(new Set(lines)).toEqual(new Set(written.filter((l) => l.startsWith('{"id"')))); // lines as is
    expect(r.stderr).toContain('skipped 2 unparsable lines');
  });

  it('filters by status class, exact status, and lists', async () => {
    expect(await ids('--status', '5xx')).toEqual(['b']);
    expect(await ids('--status', '4xx')).toEqual(['c', 'e']);
    expect(await ids('--status', '429,2xx')).toEqual(['a', 'c', 'd', 'f']);
  });

  it('filters by provider (any attempt), model (requested or any attempt), rule, error', async () => {
    expect(await ids('--provider', 'anthropic')).toEqual(['b', 'd']);
    expect(await ids('--model', 'llama-3')).toEqual(['c', 'f']);
    expect(await ids('--model', 'fast', '--status', '2xx')).toEqual(['f']);
    expect(await ids('--rule', 'fallback')).toEqual(['d']);
    expect(await ids('--error', 'rate_limited')).toEqual(['c']);
  });

  it('filters by time: durations and ISO dates', async () => {
    expect(await ids('--since', '1h')).toEqual(['d', 'e', 'f']);
    expect(await ids('--since', '100m', '--until', '10m')).toEqual(['c', 'd']);
    expect(await ids('--until', new Date(NOW - 150 * MIN).toISOString())).toEqual(['a']);
  });

  it('--limit keeps the last N matches; --id finds one request; no match exits 0', async () => {
    expect(await ids('--limit', '2')).toEqual(['e', 'f']);
    expect(await ids('--id', 'd')).toEqual(['d']);
    expect(await ids('--id', 'nope')).toEqual([]);
  });

  it('--table prints the columns; MICROGATE_LOG_DIR is the default dir', async () => {
    const r = await run(['--table', '--status', '5xx,2xx', '--since', '1h'], { ...process.env, MICROGATE_LOG_DIR: dir });
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^time\s+status\s+ms\s+route\s+model\s+error$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(new Date(NOW - 30 * MIN).toISOString().replace('T', ' ').replace('Z', ''));
    expect(rows[0]).toMatch(/\s200\s+12\.3\s+openai\/gpt-4o\(500\) → anthropic\/claude-3-5\s+gpt-4o\s+-$/);
    expect(rows[1]).toMatch(/\s200\s+12\.3\s+groq\/llama-3\s+fast\s+-$/);
  });

  it('rejects bad arguments with exit 2', async () => {
    const bad = [['--status', 'bad'], ['--since', 'yesterday-ish'], ['--limit', '-3'], ['--bogus']];
    for (const r of await Promise.all(bad.map((args) => run(['--dir', dir, ...args])))) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('usage:');
    }
  });
});
