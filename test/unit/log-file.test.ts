import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestLog, fileStamp, formatRecord, listLogFiles, type LogLine } from '../../src/telemetry/log-file.ts';
import type { TelemetryRecord } from '../../src/telemetry/types.ts';

function rec(i: number, over: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return {
    id: `req-${String(i).padStart(6, '0')}`,
    start: Date.UTC(2025, 0, 2, 3, 4, 5) + i,
    endpoint: 'chat',
    dialect: 'openai',
    requestedModel: 'gpt-4o',
    status: 200,
    error: '',
    stream: false,
    streamFailed: false,
    aborted: false,
    totalUs: 1200 + i,
    gatewayUs: 80,
    upstreamUs: 1100,
    ttfbUs: 0,
    rule: '',
    matched: [],
    tags: [],
    tier: '',
    attempts: [{ target: 'openai/gpt-4o', provider: 'openai', model: 'gpt-4o', key: 'main', status: 200, flag: '', latencyUs: 1100 }],
    promptTokens: 12,
    completionTokens: 34,
    cost: 0.00042,
    tenant: { virtualKey: 'vk1', team: 't1', customer: '' },
    ...over,
  };
}

const batch = (from: number, n: number): TelemetryRecord[] => Array.from({ length: n }, (_, k) => rec(from + k));

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mg-log-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** All lines across the log files, oldest file first. */
function allLines(dir: string): string[] {
  return listLogFiles(dir).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
}

describe('formatRecord', () => {
  it('writes the keys in a fixed order with the time as ISO', () => {
    const line = formatRecord(rec(0, { error: 'upstream_timeout', rule: 'cheap', tier: 'simple', status: 504 }));
    expect(Object.keys(JSON.parse(line))).toEqual([
      'id', 'time', 'endpoint', 'dialect', 'requestedModel', 'status', 'error', 'rule', 'tier', 'attempts', 'tokens', 'cost',
      'totalUs', 'gatewayUs', 'upstreamUs', 'ttfbUs', 'stream', 'streamFailed', 'aborted', 'tenant',
    ]);
    const l = JSON.parse(line) as LogLine;
    expect(l.time).toBe('2025-01-02T03:04:05.000Z');
    expect(l.tokens).toEqual({ prompt: 12, completion: 34 });
    expect(l.attempts[0]).toEqual({ target: 'openai/gpt-4o', provider: 'openai', model: 'gpt-4o', key: 'main', status: 200, latencyUs: 1100 });
  });

  it('leaves out empty error/rule/tier, unknown cost and tokens', () => {
    const l = JSON.parse(formatRecord(rec(0, { cost: -1, promptTokens: -1, completionTokens: -1 }))) as Record<string, unknown>;
    for (const k of ['error', 'rule', 'tier', 'cost', 'tokens']) expect(l).not.toHaveProperty(k);
    const half = JSON.parse(formatRecord(rec(0, { completionTokens: -1 }))) as LogLine;
    expect(half.tokens).toEqual({ prompt: 12 });
  });

  it('writes exactly what JSON.stringify of the LogLine object would, whatever the strings and numbers', () => {
    // The object the line stands for, serialised by JSON.stringify (undefined members skipped).
    const reference = (r: TelemetryRecord): string =>
      JSON.stringify({
        id: r.id, time: new Date(r.start).toISOString(), endpoint: r.endpoint, dialect: r.dialect, requestedModel: r.requestedModel, status: r.status,
        error: r.error || undefined, rule: r.rule || undefined, tier: r.tier || undefined,
        attempts: r.attempts.map((a) => ({ target: a.target, provider: a.provider, model: a.model, key: a.key, status: a.status, flag: a.flag || undefined, latencyUs: a.latencyUs })),
        tokens: r.promptTokens === -1 && r.completionTokens === -1 ? undefined : { prompt: r.promptTokens === -1 ? undefined : r.promptTokens, completion: r.completionTokens === -1 ? undefined : r.completionTokens },
        cost: r.cost === -1 ? undefined : r.cost,
        totalUs: r.totalUs, gatewayUs: r.gatewayUs, upstreamUs: r.upstreamUs, ttfbUs: r.ttfbUs, stream: r.stream, streamFailed: r.streamFailed, aborted: r.aborted,
        tenant: { virtualKey: r.tenant.virtualKey, team: r.tenant.team, customer: r.tenant.customer },
        request: r.request, response: r.response,
      } satisfies LogLine);
    let seed = 3;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const strings = ['', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline', '\u0000\u001f', 'ünïcødé 日本', '\ud800 lone', '😀', '</script>'];
    const numbers = [-1, 0, 7, 1.5, 0.00042, 1e21, 123456789, NaN, Infinity];
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    // Fractional and negative times, across second boundaries and back (the second's text is cached).
    const starts = [Date.UTC(2025, 0, 2, 3, 4, 5, 999), Date.UTC(2025, 0, 2, 3, 4, 6), 1.7, -1, -1000.5, 0, Date.UTC(2025, 0, 2, 3, 4, 5, 7) + 0.9];
    for (let i = 0; i < 500; i++) {
      const r = rec(i, {
        id: pick(strings), start: pick(starts), requestedModel: pick(strings), status: pick([0, 200, 429, 504]),
        error: pick(strings), rule: pick(strings), tier: pick(strings), stream: rand(2) === 1, streamFailed: rand(2) === 1, aborted: rand(2) === 1,
        attempts: Array.from({ length: rand(3) }, () => ({ target: pick(strings), provider: pick(strings), model: pick(strings), key: pick(strings), status: pick([0, 200, 500]), flag: pick(['', 'UT', 'UF']), latencyUs: pick(numbers) })),
        promptTokens: pick(numbers), completionTokens: pick(numbers), cost: pick(numbers), totalUs: pick(numbers),
        tenant: { virtualKey: pick(strings), team: pick(strings), customer: pick(strings) },
        ...(rand(3) === 0 ? { request: pick(strings) } : {}),
        ...(rand(3) === 0 ? { response: pick(strings) } : {}),
      });
      expect(formatRecord(r)).toBe(reference(r));
    }
    expect(() => formatRecord(rec(0, { start: NaN }))).toThrow(RangeError);
  });

  it('stamps sort in time order', () => {
    expect(fileStamp(Date.UTC(2025, 0, 2, 3, 4, 5, 67))).toBe('20250102T030405067');
  });
});

describe('RequestLog', () => {
  it('writes lines in order that parse back to the same data', async () => {
    const dir = join(tmp(), 'nested', 'logs'); // created when missing
    const log = new RequestLog({ dir });
    const recs = [...batch(0, 3), rec(3, { status: 502, error: 'upstream_error', rule: 'r1', tier: 'hard', stream: true, streamFailed: true, ttfbUs: 900 })];
    log.write(recs.slice(0, 2));
    log.write(recs.slice(2));
    await log.close();
    expect(readdirSync(dir)).toEqual(['requests.log']);
    const lines = readFileSync(join(dir, 'requests.log'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(recs.map((r) => JSON.parse(formatRecord(r))));
    const last = JSON.parse(lines[3]!) as LogLine;
    expect(last).toMatchObject({ id: 'req-000003', status: 502, error: 'upstream_error', rule: 'r1', tier: 'hard', stream: true, streamFailed: true, ttfbUs: 900, cost: 0.00042 });
    expect(Date.parse(last.time)).toBe(recs[3]!.start);
  });

  it('rotates by size: no file over maxBytes, except a single oversize line', async () => {
    const dir = tmp();
    const lineBytes = formatRecord(rec(0)).length + 1;
    const maxBytes = lineBytes * 5 + 10; // 5 lines a file
    const log = new RequestLog({ dir, maxBytes, keep: 100 });
    for (let i = 0; i < 23; i += 4) log.write(batch(i, 4)); // 24 lines
    await log.flush();
    const files = listLogFiles(dir);
    expect(files).toHaveLength(5);
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(maxBytes);
    expect(allLines(dir).map((l) => (JSON.parse(l) as LogLine).id)).toEqual(batch(0, 24).map((r) => r.id));

    log.write([rec(100, { requestedModel: 'x'.repeat(maxBytes) })]); // alone in its file
    log.write([rec(101)]);
    await log.close();
    const after = listLogFiles(dir);
    expect(after).toHaveLength(7);
    expect(statSync(after[5]!).size).toBeGreaterThan(maxBytes);
    expect(readFileSync(after[5]!, 'utf8').split('\n')).toHaveLength(2);
    expect((JSON.parse(readFileSync(after[6]!, 'utf8')) as LogLine).id).toBe('req-000101');
  });

  it('rotates by age, counted from the first line', async () => {
    const dir = tmp();
    let now = Date.UTC(2025, 5, 1, 12, 0, 0);
    const log = new RequestLog({ dir, maxAgeMs: 60_000, now: () => now });
    log.write([rec(0)]);
    now += 59_999;
    log.write([rec(1)]);
    await log.flush();
    expect(listLogFiles(dir)).toHaveLength(1);
    now += 1;
    log.write([rec(2)]);
    await log.flush();
    expect(readdirSync(dir).sort()).toEqual([`requests-${fileStamp(now)}.log`, 'requests.log']);
    now += 59_999; // the new file's age counts from rec 2
    log.write([rec(3)]);
    await log.close();
    expect(listLogFiles(dir).map((f) => readFileSync(f, 'utf8').split('\n').length - 1)).toEqual([2, 2]);
  });

  it('rotates an existing current file older than maxAgeMs at startup, and keeps appending to a young one', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'requests.log'), formatRecord(rec(0)) + '\n');
    const young = new RequestLog({ dir, maxAgeMs: 3_600_000 });
    young.write([rec(1)]);
    await young.close();
    expect(readdirSync(dir)).toEqual(['requests.log']);

    const old = Date.now() - 2 * 3_600_000;
    utimesSync(join(dir, 'requests.log'), old / 1000, old / 1000);
    const later = Date.now() + 2 * 3_600_000; // birthtime or mtime: either is over an hour old at this clock
    const log = new RequestLog({ dir, maxAgeMs: 3_600_000, now: () => later });
    log.write([rec(2)]);
    await log.close();
    const files = listLogFiles(dir);
    expect(files).toHaveLength(2);
    expect(files[0]).toContain(`requests-${fileStamp(later)}.log`);
    expect(readFileSync(files[0]!, 'utf8').split('\n')).toHaveLength(3);
    expect((JSON.parse(readFileSync(files[1]!, 'utf8')) as LogLine).id).toBe('req-000002');
  });

  it('keeps only the newest `keep` rotated files', async () => {
    const dir = tmp();
    const log = new RequestLog({ dir, maxBytes: 1, keep: 3 }); // every line its own file
    for (let i = 0; i < 10; i++) log.write([rec(i)]);
    await log.close();
    const files = listLogFiles(dir);
    expect(files).toHaveLength(4);
    expect(files.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as LogLine).id)).toEqual(['req-000006', 'req-000007', 'req-000008', 'req-000009']);
  });

  it('stamps stay unique across restarts, even within one millisecond', async () => {
    const dir = tmp();
    const now = () => Date.UTC(2025, 0, 1);
    for (let run = 0; run < 3; run++) {
      const log = new RequestLog({ dir, maxBytes: 1, keep: 100, now });
      log.write(batch(run * 3, 3));
      await log.close();
    }
    expect(allLines(dir).map((l) => (JSON.parse(l) as LogLine).id)).toEqual(batch(0, 9).map((r) => r.id));
  });

  it('loses and interleaves no line when writes arrive during rotations', async () => {
    const dir = tmp();
    const log = new RequestLog({ dir, maxBytes: 16 * 1024, keep: 10_000 });
    let next = 0;
    for (let round = 0; round < 25; round++) {
      for (let j = 0; j < 4; j++) {
        const n = 20 + ((round * 7 + j * 13) % 60); // ragged batches
        const count = Math.min(n, 5000 - next);
        log.write(batch(next, count));
        next += count;
      }
      if (round % 3 === 0) await new Promise((r) => setImmediate(r)); // let some rotations land mid-stream
    }
    log.write(batch(next, 5000 - next));
    await log.close();
    const files = listLogFiles(dir);
    expect(files.length).toBeGreaterThan(50);
    const lines = allLines(dir);
    expect(lines).toHaveLength(5000);
    const ids = lines.map((l) => (JSON.parse(l) as LogLine).id); // every line valid JSON
    expect(ids).toEqual(batch(0, 5000).map((r) => r.id)); // in order across files
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(16 * 1024);
  });

  it('applies redact to every line', async () => {
    const dir = tmp();
    const log = new RequestLog({ dir, redact: (l) => l.replaceAll('sk-secret123', '[redacted]') });
    log.write([rec(0, { error: 'sk-secret123' }), rec(1, { requestedModel: 'm-sk-secret123' })]);
    await log.close();
    const text = readFileSync(join(dir, 'requests.log'), 'utf8');
    expect(text).not.toContain('sk-secret123');
    expect(text.match(/\[redacted\]/g)).toHaveLength(2);
  });

  it('flush: everything written is in the file; close: later writes are dropped', async () => {
    const dir = tmp();
    const log = new RequestLog({ dir, name: 'gw' });
    log.write(batch(0, 300));
    await log.flush();
    expect(readFileSync(join(dir, 'gw.log'), 'utf8').split('\n')).toHaveLength(301);
    log.write(batch(300, 200));
    await log.flush();
    expect(readFileSync(join(dir, 'gw.log'), 'utf8').split('\n')).toHaveLength(501);
    await log.flush(); // idempotent
    await log.close();
    log.write(batch(500, 2));
    expect(log.dropped).toBe(2);
    await log.close(); // twice is fine
    await log.flush();
    expect(readFileSync(join(dir, 'gw.log'), 'utf8').split('\n')).toHaveLength(501);
    expect(listLogFiles(dir, 'gw')).toEqual([join(dir, 'gw.log')]);
  });

  it('drops (and counts) batches while too much waits for the disk', async () => {
    const dir = tmp();
    const log = new RequestLog({ dir, maxPendingBytes: 1000 });
    log.write(batch(0, 10)); // over the limit once buffered
    log.write(batch(10, 10));
    expect(log.dropped).toBe(10);
    await log.flush();
    log.write(batch(20, 1)); // drained: accepted again
    await log.close();
    expect(allLines(dir).map((l) => (JSON.parse(l) as LogLine).id)).toEqual([...batch(0, 10), rec(20)].map((r) => r.id));
  });

  it('flush on a log that never wrote resolves', async () => {
    const log = new RequestLog({ dir: tmp() });
    await log.flush();
    await log.close();
  });
});
