// Starts mock providers as one process for benchmarks: `tsx mock-providers/fleet.ts [--config fleet.json]`
// or one ad-hoc mock: `--name NAME --port N [--latency-ms X --error-rate R ...] [--json '<MockConfig>']`.
// Prints one line per mock, then `mocks ready` once all listen: the benchmark harness waits for that line.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { MockConfig } from './config.ts';
import { startMock } from './server.ts';
import type { MockHandle } from './server.ts';

type FleetEntry = MockConfig & { port?: number; host?: string };

/** Numeric flags of the ad-hoc mock, applied over --json. */
const NUMERIC_FLAGS = {
  'latency-ms': 'latencyMs', 'error-rate': 'errorRate', 'reset-rate': 'resetRate', 'timeout-rate': 'timeoutRate',
  'malformed-rate': 'malformedRate', 'retry-after': 'retryAfterSec', 'chunk-delay-ms': 'chunkDelayMs',
  chunks: 'streamChunks', 'response-bytes': 'responseBytes', seed: 'seed',
} as const satisfies Record<string, keyof MockConfig>;

function parseFlags(): Record<string, string | undefined> {
  const stringFlag = { type: 'string' } as const;
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(['config', 'name', 'port', 'json', 'error-statuses', ...Object.keys(NUMERIC_FLAGS)].map((f) => [f, stringFlag])),
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  return values as Record<string, string | undefined>;
}

function number(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`--${flag} expects a number, got "${raw}"`);
  return n;
}

function adHocMock(flags: Record<string, string | undefined>): FleetEntry {
  const entry: FleetEntry = flags.json ? (JSON.parse(flags.json) as FleetEntry) : {};
  if (flags.name !== undefined) entry.name = flags.name;
  if (flags.port !== undefined) entry.port = number('port', flags.port);
  for (const [flag, field] of Object.entries(NUMERIC_FLAGS)) {
    const raw = flags[flag];
    if (raw !== undefined) entry[field] = number(flag, raw);
  }
  if (flags['error-statuses'] !== undefined) {
    entry.errorStatuses = flags['error-statuses'].split(',').map((s) => number('error-statuses', s));
  }
  return entry;
}

function fleetFile(path: string | URL): FleetEntry[] {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { mocks?: unknown };
  if (!Array.isArray(parsed.mocks)) throw new Error(`${String(path)}: expected {"mocks": [...]}`);
  return parsed.mocks as FleetEntry[];
}

const handles: MockHandle[] = [];
async function closeAll(): Promise<void> {
  await Promise.all(handles.map((h) => h.close()));
}

try {
  const flags = parseFlags();
  const adHoc = flags.name !== undefined || flags.port !== undefined || flags.json !== undefined;
  const entries = adHoc ? [adHocMock(flags)] : fleetFile(flags.config ?? new URL('./fleet.json', import.meta.url));
  for (const { port, host, ...config } of entries) {
    handles.push(await startMock(config, { host: host ?? flags.host, port: port ?? 0 }));
  }
} catch (err) {
  console.error(`mocks failed: ${(err as Error).message}`);
  await closeAll();
  process.exit(1);
}

for (const h of handles) console.log(`mock ${h.name} listening on ${h.baseUrl}`);
console.log('mocks ready');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void closeAll().then(() => process.exit(0));
  });
}
