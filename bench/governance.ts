// `npm run bench:governance [-- --rounds N]`: what governance (issue 13) costs a request, as an A/B/C/D of
// one chat-5k load (BENCHMARKING.md) through four gateways configured from bench/microgate.bench.yaml:
//
//   off     no governance section
//   keys    the 20 virtual keys, teams and customers below without any limit: what authentication alone
//           costs (the key's SHA-256, tenant ids, the keys added to the response redactor), for the breakdown
//   memory  20 virtual keys in 4 teams in 2 customers, every level with requests/min, tokens/min and a
//           daily USD budget (the in-process MemoryQuota)
//   redis   the same, counters in a redis-server started here (RedisQuota: leases and background flushes)
//
// Limits are generous (4x the load at every level), so every request authenticates, takes three permits,
// checks three budgets and three token counts, is priced, and is charged at three levels, and none is
// refused. All three variants price answers (a `pricing` entry for mock-small on the three providers of
// the "bench" alias: without it the catalog does not know the mock's model and nothing would be charged)
// and all three are sent the same 20 Authorization headers round-robin (off ignores them), so the bytes
// on the wire and the pricing work are the same everywhere: only governance differs.
//
// Each gateway is the production bundle (`npm run build`, dist/main.js, NODE_ENV=production), in its own
// process, next to the mock fleet (bench/fleet.json) and an open-loop load generator (loadtest/pacer.ts,
// through bench/lib/keyed-pacer.ts for the per-request keys). Rounds visit off, keys, memory, redis,
// then redis, memory, keys, off, and so on; each run is chat-5k's: 5,000 req/s, 1.5 s warm-up, 4 s measured, 1–4 KB
// bodies to the alias "bench". In-gateway time is each gateway's own histogram (GET /admin/stats, reset
// after the warm-up). Medians over rounds. Then tinybench measures the per-request governance functions
// alone. Writes results/governance.json and results/governance.md. Timings are reported, never asserted.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { buildTools } from './lib/gateway-build.ts';
import { Redis } from 'ioredis';
import { Bench } from 'tinybench';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { validateConfig } from '../src/config/load.ts';
import { compilePlan } from '../src/config/compile.ts';
import type { LimitsConfig } from '../src/config/schema.ts';
import { Directory, digestOf, type DirectorySource, type VirtualKey } from '../src/governance/directory.ts';
import { admit, charge, usedPercent, type Admitted, type FailurePolicy, type Reservation } from '../src/governance/admission.ts';
import { PriceBook } from '../src/governance/prices.ts';
import { MemoryQuota } from '../src/state/quota-memory.ts';
import { RedisQuota } from '../src/state/quota-redis.ts';
import type { Counter, QuotaStore } from '../src/state/quota.ts';
import type { PacerResult } from '../loadtest/pacer.ts';
import type { KeyedPacerSpec } from './lib/keyed-pacer.ts';
import { chatBodies } from './lib/bodies.ts';
import { machineCpu, measure, runJson, sample, startCmd, startNode, stop, type Proc } from './lib/proc.ts';
import { environment } from './lib/report.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '4' } } });
const ROUNDS = Math.max(1, Number(flags.rounds));
const VARIANTS = ['off', 'keys', 'memory', 'redis'] as const;
type Variant = (typeof VARIANTS)[number];
const PORTS: Record<Variant, number> = { off: 8095, keys: 8098, memory: 8096, redis: 8097 };
/** The mock fleet's ports (bench/fleet.json): checked free before starting, as a stale mock would share them. */
const MOCK_PORTS = [9101, 9102, 9103];
const LOAD = { rate: 5000, warmupMs: 1500, durationMs: 4000, connections: 512 } as const;
/** gpt-4o-mini's list prices, USD per million tokens: mock-small is priced like a small hosted model. */
const PRICING = { 'mock-small': { input: 0.15, output: 0.6 } };

// ── The tenants ──────────────────────────────────────────────────────────────────────────────────────
// 20 keys, 5 per team, 2 teams per customer. At 5,000 req/s round-robin a key sees 250 req/s (15,000 a
// minute), a team 1,250 (75,000), a customer 2,500 (150,000): each limit below is 4x that. A request
// reserves its prompt bytes / 4 plus max_tokens (at most ~3,500 tokens, ~$0.002), so tokens and budgets
// are far from reached too, over every window this run can fill.
const LEVEL_LIMITS = {
  key: { requestsPerMinute: 60_000, tokensPerMinute: 200_000_000, budget: { usd: 10_000, period: '1d' } },
  team: { requestsPerMinute: 300_000, tokensPerMinute: 1_000_000_000, budget: { usd: 50_000, period: '1d' } },
  customer: { requestsPerMinute: 600_000, tokensPerMinute: 2_000_000_000, budget: { usd: 100_000, period: '1d' } },
} satisfies Record<string, LimitsConfig>;
/** The micro-benchmarks call admit millions of times a second: limits no loop of theirs can reach. */
const MICRO_LIMITS: LimitsConfig = { requestsPerMinute: 1e12, tokensPerMinute: 1e15, budget: { usd: 1e12, period: '1d' } };
const CUSTOMERS = ['acme', 'globex'];
const TEAMS = [
  { id: 'acme-search', customer: 'acme' },
  { id: 'acme-support', customer: 'acme' },
  { id: 'globex-agents', customer: 'globex' },
  { id: 'globex-labs', customer: 'globex' },
];
/** Secrets of the shape clients send: a prefix and 40 hex characters, fixed from run to run. */
const KEYS = Array.from({ length: 20 }, (_, i) => ({
  id: `vk-${String(i + 1).padStart(2, '0')}`,
  value: `sk-mg-${createHash('sha256').update(`bench-governance-${i}`).digest('hex').slice(0, 40)}`,
  team: TEAMS[Math.floor(i / 5)]!.id,
}));

function governanceSection(limited: boolean, redisUrl: string | null, db: string): Record<string, unknown> {
  const l = (x: LimitsConfig): LimitsConfig => (limited ? x : {});
  return {
    virtualKeys: KEYS.map((k) => ({ id: k.id, value: k.value, team: k.team, limits: l(LEVEL_LIMITS.key) })),
    teams: Object.fromEntries(TEAMS.map((t) => [t.id, { customer: t.customer, limits: l(LEVEL_LIMITS.team) }])),
    customers: Object.fromEntries(CUSTOMERS.map((c) => [c, { limits: l(LEVEL_LIMITS.customer) }])),
    db,
    ...(redisUrl === null ? {} : { store: { redis: redisUrl } }),
  };
}

/** bench/microgate.bench.yaml with this variant's port, log dir, prices and governance. */
function variantConfig(v: Variant, redisUrl: string, tmp: string): Record<string, unknown> {
  const c = parseYaml(readFileSync(join(ROOT, 'bench/microgate.bench.yaml'), 'utf8')) as Record<string, any>;
  c.server = { ...c.server, port: PORTS[v] };
  c.telemetry = { ...c.telemetry, log: { ...c.telemetry?.log, dir: join(ROOT, 'logs/bench-governance', v) } };
  for (const p of ['openai', 'groq', 'mistral']) c.providers[p].pricing = PRICING;
  if (v !== 'off') c.governance = governanceSection(v !== 'keys', v === 'redis' ? redisUrl : null, join(tmp, `${v}-governance.db`));
  return c;
}

// ── Processes ────────────────────────────────────────────────────────────────────────────────────────

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface AdminStats {
  gatewayTimeUs: { p50: number; p90: number; p99: number; p999: number; count: number; mean: number; max: number };
  telemetry?: { dropped: number };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  return (await r.json()) as T;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

interface Run {
  variant: Variant;
  round: number;
  achievedRps: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  latencyUs: PacerResult['latencyUs'];
  serviceUs: PacerResult['serviceUs'];
  sendLagUs: PacerResult['sendLagUs'];
  gatewayTimeUs: AdminStats['gatewayTimeUs'] | null;
  cpuPct: number | null;
  rssMaxMB: number | null;
  mocksCpuPct: number | null;
  pacerCpuPct: number;
  redisCpuPct: number | null;
  /** Commands Redis processed during the run (its own INFO calls excluded), for the redis variant. */
  redisCommands: number | null;
  /** Wall time of the run (pacer start to finish, warm-up and drain included), s. */
  wallSec: number;
  machineCpuPct: number | null;
  /** CPU (% of a core) of processes other than this run's target, mocks, load and Redis; > 60 flags a busy machine. */
  otherCpuPct: number | null;
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = (m: string) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  const tmp = mkdtempSync(join(tmpdir(), 'mg-governance-'));
  const procs: Proc[] = [];
  let redis: Proc | null = null;
  let client: Redis | null = null;
  const cleanup = async () => {
    client?.disconnect();
    await Promise.all(procs.map((p) => stop(p)));
    await stop(redis);
    rmSync(tmp, { recursive: true, force: true });
  };
  const interrupt = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    for (const port of [...MOCK_PORTS, ...Object.values(PORTS)]) {
      if (!(await portFree(port))) throw new Error(`port ${port} is in use (another benchmark running?): stop it first`);
    }
    // The production bundle, as `npm start` runs it; the mocks and the load generator bundled too (no tsx loader thread).
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    const DIST = join(ROOT, 'dist/bench-governance');
    await buildTools(ROOT, DIST, { fleet: 'mock-providers/fleet.ts', 'keyed-pacer': 'bench/lib/keyed-pacer.ts' });
    // The pacer's entry (see bench/lib/keyed-pacer.ts for why it is a separate file).
    const pacerEntry = join(DIST, 'keyed-pacer-main.mjs');
    writeFileSync(pacerEntry, "import { keyedPacerMain } from './keyed-pacer.js';\nkeyedPacerMain();\n");

    const redisPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    redis = await startCmd('redis', '/usr/bin/redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], /Ready to accept connections/);
    client = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
    const redisPid = redis.child.pid!;

    const configs = {} as Record<Variant, string>;
    for (const v of VARIANTS) {
      const c = variantConfig(v, redisUrl, tmp);
      validateConfig(structuredClone(c)); // fails here, with the path, rather than in a child
      configs[v] = join(tmp, `${v}.yaml`);
      writeFileSync(configs[v], toYaml(c));
    }
    const env = { ...process.env, NODE_ENV: 'production' };
    const [mocks, ...gateways] = await Promise.all([
      startNode('mocks', join(DIST, 'fleet.js'), ['--config', join(ROOT, 'bench/fleet.json')], null, /mocks ready/),
      ...VARIANTS.map((v) => startNode(`microgate-${v}`, join(ROOT, 'dist/main.js'), ['--config', configs[v]], null, /listening on/, env)),
    ]);
    procs.push(mocks!, ...gateways);
    const gw = Object.fromEntries(VARIANTS.map((v, i) => [v, gateways[i]!])) as Record<Variant, Proc>;
    log(`started mocks, redis-server :${redisPort}, microgate ${VARIANTS.map((v) => `${v} :${PORTS[v]}`).join(', ')}`);

    const bodies = chatBodies('bench', 64, false);
    const bearer = KEYS.map((k) => k.value);
    const commands = async (): Promise<number> => Number(/total_commands_processed:(\d+)/.exec(await client!.info('stats'))?.[1] ?? NaN);

    const runOne = async (v: Variant, round: number): Promise<Run> => {
      const url = `http://127.0.0.1:${PORTS[v]}`;
      const spec: KeyedPacerSpec = {
        url,
        path: '/v1/chat/completions',
        bodies,
        headers: {},
        bearer,
        rate: LOAD.rate,
        durationMs: LOAD.durationMs,
        warmupMs: LOAD.warmupMs,
        connections: LOAD.connections,
        stream: false,
        timeoutMs: 30_000,
        resetUrl: `${url}/admin/stats/reset`,
      };
      const pid = gw[v].child.pid!;
      const m0 = sample(mocks!.child.pid!);
      const r0 = sample(redisPid);
      const c0 = v === 'redis' ? await commands() : null;
      const t0 = performance.now();
      const { result: m, machineCpuPct } = await machineCpu(() => measure(pid, () => runJson<PacerResult>(pacerEntry, spec, null)));
      const wall = (performance.now() - t0) / 1000;
      const c1 = v === 'redis' ? await commands() : null;
      const m1 = sample(mocks!.child.pid!);
      const r1 = sample(redisPid);
      const stats = await getJson<AdminStats>(`${url}/admin/stats`);
      const pct = (a: { cpuSec: number } | null, b: { cpuSec: number } | null) => (a && b ? Math.round(((b.cpuSec - a.cpuSec) / wall) * 100) : null);
      const p = m.result;
      const mocksCpuPct = pct(m0, m1);
      const redisCpuPct = pct(r0, r1);
      const otherCpuPct = machineCpuPct === null ? null : machineCpuPct - (m.cpuPct ?? 0) - (mocksCpuPct ?? 0) - p.pacerCpuPct - (redisCpuPct ?? 0);
      return {
        variant: v,
        round,
        achievedRps: p.achievedRps,
        ok: p.ok,
        errors: p.errors,
        statuses: p.statuses,
        latencyUs: p.latencyUs,
        serviceUs: p.serviceUs,
        sendLagUs: p.sendLagUs,
        gatewayTimeUs: stats.gatewayTimeUs,
        cpuPct: m.cpuPct,
        rssMaxMB: m.rssMaxMB,
        mocksCpuPct,
        pacerCpuPct: p.pacerCpuPct,
        redisCpuPct,
        redisCommands: c0 !== null && c1 !== null ? c1 - c0 - 1 : null,
        wallSec: round1(wall * 100) / 100,
        machineCpuPct,
        otherCpuPct,
      };
    };

    const runs: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const r = await runOne(v, round + 1);
        runs.push(r);
        const g = r.gatewayTimeUs;
        log(
          `  ${v.padEnd(7)} round ${round + 1}: ${r.achievedRps} req/s, errors ${r.errors}, in-gateway p50 ${g?.p50} µs mean ${g?.mean} p99 ${g?.p99}, e2e p50 ${r.latencyUs.p50} p99 ${r.latencyUs.p99} µs, cpu ${r.cpuPct}%, rss ${r.rssMaxMB} MB` +
            `${v === 'redis' ? `, redis ${r.redisCpuPct}% cpu ${r.redisCommands} cmds` : ''}; mocks ${r.mocksCpuPct}%, load ${r.pacerCpuPct}%, machine ${r.machineCpuPct}%${(r.otherCpuPct ?? 0) > 60 ? ` [contended: others ~${r.otherCpuPct}%]` : ''}`,
        );
      }
    }

    // What the governance variants did: the store connected, no admission by failure policy, spend charged.
    type Usage = { customers: Array<{ id: string; usage: { budget?: { spentUsd: number }; requestsPerMinute?: { used: number } } }>; store: { kind: string; connected: boolean; failOpenAdmits: number; failClosedRefusals: number } };
    const usage: Partial<Record<Variant, { store: Usage['store']; spentUsdByCustomer: Record<string, number> }>> = {};
    for (const v of ['memory', 'redis'] as const) {
      const u = await getJson<Usage>(`http://127.0.0.1:${PORTS[v]}/admin/usage`);
      usage[v] = { store: u.store, spentUsdByCustomer: Object.fromEntries(u.customers.map((c) => [c.id, Math.round((c.usage.budget?.spentUsd ?? 0) * 100) / 100])) };
    }
    // Answers as the mock writes them (0.5–10 KB), for the redactor's micro-benchmark.
    const answers: Buffer[] = [];
    for (const b of bodies.slice(0, 16)) {
      const r = await fetch('http://127.0.0.1:9101/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-a' }, body: b.replace('"model":"bench"', '"model":"mock-small"') });
      answers.push(Buffer.from(await r.arrayBuffer()));
    }
    await Promise.all(procs.map((p) => stop(p)));
    procs.length = 0;
    log('load done; micro-benchmarks (gateways and mocks stopped)');

    const micro = await microBench(redisUrl, answers, variantConfig('off', redisUrl, tmp), variantConfig('keys', redisUrl, tmp));
    for (const r of micro) log(`  ${r.name.padEnd(64)} ${String(r.nsPerCall).padStart(6)} ns/call (median batch ${r.medianNsPerCall} ns/call)`);

    const summary = summarize(runs);
    const envInfo = environment(false, 'no pinning: the OS schedules the three gateways (one loaded at a time), the mock fleet, the load generator and redis-server over both cores', {
      rules: true,
      classifier: true,
      telemetry: true,
      note: 'bench/microgate.bench.yaml (six rules, classifier, telemetry worker with request log) plus pricing for mock-small; variants differ only in governance',
    });
    const out = {
      environment: envInfo,
      method: {
        load: { ...LOAD, bodies: '1–4 KB chat requests (bench/lib/bodies.ts), model "bench", non-streaming', generator: 'loadtest/pacer.ts via bench/lib/keyed-pacer.ts (20 Authorization values round-robin, sent to every variant)' },
        rounds: ROUNDS,
        order: `${VARIANTS.join(', ')}; then the reverse; alternating`,
        limits: LEVEL_LIMITS,
        tenants: { virtualKeys: KEYS.length, teams: TEAMS.length, customers: CUSTOMERS.length },
        pricing: PRICING,
        redis: 'redis-server 127.0.0.1, --save "" --appendonly no, started for this run',
      },
      summary,
      governanceState: usage,
      micro,
      runs,
    };
    mkdirSync(join(ROOT, 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'results/governance.json'), `${JSON.stringify(out, null, 1)}\n`);
    writeFileSync(join(ROOT, 'results/governance.md'), renderMarkdown(envInfo, summary, usage, micro, runs));
    log('wrote results/governance.json, results/governance.md');
    for (const line of verdictLines(summary)) log(line);
    for (const v of VARIANTS) {
      const x = summary.variants[v];
      if (x.errors > 0) log(`WARNING: ${v} had ${x.errors} failed requests (${JSON.stringify(x.statuses)}): a 429 or 402 means a limit was reached; raise LEVEL_LIMITS`);
    }
  } finally {
    await cleanup();
  }
}

// ── Summary ──────────────────────────────────────────────────────────────────────────────────────────

interface VariantSummary {
  rounds: number;
  achievedRps: number;
  errors: number;
  statuses: Record<string, number>;
  gatewayUs: { p50: number; p90: number; p99: number; mean: number };
  gatewayP50ByRound: number[];
  gatewayMeanByRound: number[];
  e2eUs: { p50: number; p99: number };
  e2eP50ByRound: number[];
  serviceUs: { p50: number; p99: number };
  cpuPct: number;
  rssMaxMB: number;
  redisCpuPct: number | null;
  redisCommandsPer1kRequests: number | null;
  redisCommandsPerSec: number | null;
  cpuByRound: number[];
  mocksCpuPct: number;
  pacerCpuPct: number;
  machineCpuPct: number;
  contendedRuns: number;
}

interface Added {
  /** median(variant p50) − median(off p50), µs */
  p50: number;
  /** per-round differences variant − off (rounds pair the visits of one round), µs */
  p50ByRound: number[];
  meanByRound: number[];
  /** median of the per-round differences of the histogram means, µs (finer than the 1 µs p50 steps) */
  mean: number;
  p99: number;
  cpuPct: number;
}

interface Summary {
  variants: Record<Variant, VariantSummary>;
  added: Record<'keys' | 'memory' | 'redis', Added>;
  /** Spread of off's own in-gateway p50 and mean over rounds (max − min), µs: the run-to-run noise. */
  noise: { offP50Range: number; offMeanRange: number };
}

function summarize(runs: Run[]): Summary {
  const by = (v: Variant) => runs.filter((r) => r.variant === v);
  const variants = {} as Record<Variant, VariantSummary>;
  for (const v of VARIANTS) {
    const rs = by(v);
    const pick = (f: (r: Run) => number | null | undefined) => {
      const xs = rs.map(f).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      return xs.length === 0 ? NaN : median(xs);
    };
    const requests = rs.reduce((n, r) => n + r.ok + r.errors, 0);
    const cmds = rs.reduce((n, r) => n + (r.redisCommands ?? 0), 0);
    variants[v] = {
      rounds: rs.length,
      achievedRps: pick((r) => r.achievedRps),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      statuses: rs.reduce<Record<string, number>>((acc, r) => {
        for (const [k, n] of Object.entries(r.statuses)) acc[k] = (acc[k] ?? 0) + n;
        return acc;
      }, {}),
      gatewayUs: { p50: pick((r) => r.gatewayTimeUs?.p50), p90: pick((r) => r.gatewayTimeUs?.p90), p99: pick((r) => r.gatewayTimeUs?.p99), mean: round1(pick((r) => r.gatewayTimeUs?.mean)) },
      gatewayP50ByRound: rs.map((r) => r.gatewayTimeUs?.p50 ?? NaN),
      gatewayMeanByRound: rs.map((r) => r.gatewayTimeUs?.mean ?? NaN),
      e2eUs: { p50: pick((r) => r.latencyUs.p50), p99: pick((r) => r.latencyUs.p99) },
      e2eP50ByRound: rs.map((r) => r.latencyUs.p50),
      serviceUs: { p50: pick((r) => r.serviceUs.p50), p99: pick((r) => r.serviceUs.p99) },
      cpuPct: pick((r) => r.cpuPct),
      rssMaxMB: pick((r) => r.rssMaxMB),
      redisCpuPct: v === 'redis' ? pick((r) => r.redisCpuPct) : null,
      redisCommandsPer1kRequests: v === 'redis' && requests > 0 ? round1((cmds / requests) * 1000) : null,
      redisCommandsPerSec: v === 'redis' ? Math.round(cmds / rs.reduce((n, r) => n + r.wallSec, 0)) : null,
      cpuByRound: rs.map((r) => r.cpuPct ?? NaN),
      mocksCpuPct: pick((r) => r.mocksCpuPct),
      pacerCpuPct: pick((r) => r.pacerCpuPct),
      machineCpuPct: pick((r) => r.machineCpuPct),
      contendedRuns: rs.filter((r) => (r.otherCpuPct ?? 0) > 60).length,
    };
  }
  const off = variants.off;
  const added = {} as Record<'keys' | 'memory' | 'redis', Added>;
  for (const v of ['keys', 'memory', 'redis'] as const) {
    const s = variants[v];
    const p50ByRound = s.gatewayP50ByRound.map((x, i) => x - off.gatewayP50ByRound[i]!);
    const meanByRound = s.gatewayMeanByRound.map((x, i) => round1(x - off.gatewayMeanByRound[i]!));
    added[v] = { p50: s.gatewayUs.p50 - off.gatewayUs.p50, p50ByRound, meanByRound, mean: round1(median(meanByRound)), p99: s.gatewayUs.p99 - off.gatewayUs.p99, cpuPct: s.cpuPct - off.cpuPct };
  }
  const range = (xs: number[]) => round1(Math.max(...xs) - Math.min(...xs));
  return { variants, added, noise: { offP50Range: range(off.gatewayP50ByRound), offMeanRange: range(off.gatewayMeanByRound) } };
}

const TARGET_US = 3;

function verdictLines(s: Summary): string[] {
  return (['memory', 'redis'] as const).map((v) => {
    const a = s.added[v];
    return `${v}: added in-gateway p50 ${signed(a.p50)} µs (per round ${a.p50ByRound.map(signed).join(', ')}), mean ${signed(a.mean)} µs; target ≤ ${TARGET_US} µs: ${a.p50 <= TARGET_US ? 'met' : 'NOT met'} (off's own p50 moved ${s.noise.offP50Range} µs between rounds)`;
  });
}

const signed = (x: number): string => (x > 0 ? `+${x}` : String(x));
const pctText = (x: number | null): string => (x === null || !Number.isFinite(x) ? '–' : x < 1 ? '< 1%' : `${Math.round(x)}%`);

// ── Micro-benchmarks ─────────────────────────────────────────────────────────────────────────────────

interface MicroRow {
  name: string;
  /** Mean ns per call over all batches (a batch is BATCH calls, so tinybench's own ~35 ns per task call is spread over them). */
  nsPerCall: number;
  medianNsPerCall: number;
  samples: number;
}

const BATCH = 100;

async function microBench(redisUrl: string, answers: Buffer[], offConfig: unknown, keysConfig: unknown): Promise<MicroRow[]> {
  // The response redactor as each gateway builds it: provider keys, plus the config's virtual keys when governance is on.
  const offPlan = compilePlan(validateConfig(offConfig));
  const keysPlan = compilePlan(validateConfig(keysConfig));
  const answerKb = round1(answers.reduce((n, a) => n + a.length, 0) / answers.length / 1024);
  const source: DirectorySource = {
    customers: CUSTOMERS.map((id) => ({ id, limits: MICRO_LIMITS, source: 'config' as const })),
    teams: TEAMS.map((t) => ({ id: t.id, customer: t.customer, limits: MICRO_LIMITS, source: 'config' as const })),
    virtualKeys: KEYS.map((k) => ({ id: k.id, digest: digestOf(k.value), team: k.team, limits: MICRO_LIMITS, source: 'config' as const })),
  };
  const dir = new Directory(source);
  const keys: VirtualKey[] = KEYS.map((k) => dir.keys.get(k.id)!);
  const values = KEYS.map((k) => k.value);
  const unknown = Array.from({ length: 20 }, (_, i) => `sk-mg-${createHash('sha256').update(`not-a-key-${i}`).digest('hex').slice(0, 40)}`);
  const permits: Counter[] = [];
  const spend: Counter[] = [];
  for (const l of [...dir.keys.values()].map((k) => k.limits).concat([...dir.teams.values()].map((t) => t.limits), [...dir.customers.values()].map((c) => c.limits))) {
    if (l.rpm) permits.push(l.rpm);
    if (l.tpm) spend.push(l.tpm);
    if (l.budget) spend.push(l.budget);
  }
  const memory = new MemoryQuota();
  const rq = new RedisQuota({ url: redisUrl, onFailure: { permits: 'open', spend: 'open' }, keyPrefix: 'mgmicro:q:', channel: 'mgmicro:q:reset' });
  rq.warm(permits, spend, Date.now());
  await rq.settle(3_000);
  if (!rq.health().connected || permits.some((c) => rq.held(c, Date.now()) === 0)) throw new Error('RedisQuota did not get its first leases');
  const prices = new PriceBook(new Map([['openai', new Map(Object.entries(PRICING))]]));
  const usage = { input: 620, output: 1300, cacheRead: 0, cacheWrite: 0 };
  prices.costUsd('openai', 'openai', 'mock-small', usage);
  prices.costUsd('openai', 'openai', 'gpt-4o-mini', usage);
  const failure: FailurePolicy = { rateLimits: 'open', budgets: 'closed' };
  // A 2.5 KB request with max_tokens 1300: reserved ~1,925 tokens and their price, settled 25 tokens and $0.00004 lower.
  const reserve: Reservation = { tokens: 1925, usd: prices.costUsd('openai', 'openai', 'mock-small', { input: 625, output: 1300, cacheRead: 0, cacheWrite: 0 })! };
  let i = 0;
  let sink = 0;
  // What govern() and settle() do per request (pipeline/govern.ts), the reservation's pricing aside.
  const admitAndSettle = (store: QuotaStore) => () => {
    for (let b = 0; b < BATCH; b++) {
      const key = keys[i++ % 20]!;
      const into: Admitted = { requests: null, tokens: null };
      admit(key, store, failure, Date.now(), into, reserve);
      charge(key, store, -25, -0.00004, Date.now());
      sink += into.requests!.remaining;
    }
  };
  const bench = new Bench({ time: 500, warmupTime: 150 });
  bench
    .add('Directory.find: SHA-256 of the presented key + Map lookup (hit)', () => {
      for (let b = 0; b < BATCH; b++) sink += dir.find(values[i++ % 20]!) === null ? 0 : 1;
    })
    .add('Directory.find: unknown key (miss)', () => {
      for (let b = 0; b < BATCH; b++) sink += dir.find(unknown[i++ % 20]!) === null ? 0 : 1;
    })
    .add('admit + settle charge, 3 levels (rpm, tpm, budget each), MemoryQuota', admitAndSettle(memory))
    .add('admit + settle charge, 3 levels (rpm, tpm, budget each), RedisQuota (leased)', admitAndSettle(rq))
    .add('usedPercent budget, 3 levels (rule variable budget_used), MemoryQuota', () => {
      for (let b = 0; b < BATCH; b++) sink += usedPercent(keys[i++ % 20]!, memory, 'budget', Date.now());
    })
    .add('usedPercent budget, 3 levels (rule variable budget_used), RedisQuota', () => {
      for (let b = 0; b < BATCH; b++) sink += usedPercent(keys[i++ % 20]!, rq, 'budget', Date.now());
    })
    .add('PriceBook.costUsd, cached, config-priced (mock-small)', () => {
      for (let b = 0; b < BATCH; b++) sink += prices.costUsd('openai', 'openai', 'mock-small', usage)!;
    })
    .add('PriceBook.costUsd, cached, catalog-priced (gpt-4o-mini)', () => {
      for (let b = 0; b < BATCH; b++) sink += prices.costUsd('openai', 'openai', 'gpt-4o-mini', usage)!;
    })
    .add(`Redactor.redactBytes of a mock answer (avg ${answerKb} KB): provider keys only (off)`, () => {
      for (let b = 0; b < BATCH; b++) sink += offPlan.redactor.redactBytes(answers[i++ & 15]!).length;
    })
    .add(`Redactor.redactBytes of a mock answer (avg ${answerKb} KB): + the 20 virtual keys (governance on)`, () => {
      for (let b = 0; b < BATCH; b++) sink += keysPlan.redactor.redactBytes(answers[i++ & 15]!).length;
    });
  await bench.run();
  const health = rq.health();
  await rq.close();
  await offPlan.close();
  await keysPlan.close();
  if (!Number.isFinite(sink)) throw new Error('micro-benchmark sink is not finite');
  if (health.failOpenAdmits > 0) throw new Error(`RedisQuota admitted ${health.failOpenAdmits} by failure policy: not the leased path`);
  return bench.tasks.map((t) => {
    const r = t.result as { state: string; error?: unknown; latency?: { mean: number; p50: number; samplesCount: number } };
    if (r.latency === undefined) throw new Error(`micro-benchmark "${t.name}" ${r.state}: ${String(r.error ?? '')}`);
    return {
      name: t.name,
      nsPerCall: Math.round((r.latency.mean * 1e6) / BATCH),
      medianNsPerCall: Math.round((r.latency.p50 * 1e6) / BATCH),
      samples: r.latency.samplesCount,
    };
  });
}

// ── Report ───────────────────────────────────────────────────────────────────────────────────────────

const LABEL: Record<Variant, string> = {
  off: 'off (no governance)',
  keys: 'keys only (the 20 keys, no limits)',
  memory: 'memory (20 keys, 4 teams, 2 customers; in-process counters)',
  redis: 'redis (the same; RedisQuota, leases)',
};

function renderMarkdown(env: ReturnType<typeof environment>, s: Summary, usage: Record<string, unknown>, micro: MicroRow[], runs: Run[]): string {
  const v = s.variants;
  const ms = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us} µs`);
  const lines: string[] = [
    `# What governance costs (${env.date.slice(0, 10)}, commit ${env.commit}${env.dirty ? ', with uncommitted changes' : ''})`,
    '',
    'Issue 13: governance on vs off in one chat-5k run, target ≤ 3 µs added in-gateway p50, nothing awaited per',
    'request. Four gateways, each the production bundle in its own process with a config derived from',
    '`bench/microgate.bench.yaml` (rules, classifier, telemetry on): **off** (no governance); **memory** (20 virtual keys in 4 teams in 2 customers; every',
    'level has requests/min, tokens/min and a daily USD budget; in-process counters); **redis** (the same, counters in',
    'a local redis-server: leases and background flushes); and, to split the cost, **keys** (the same 20 keys, teams',
    'and customers with no limits: authentication, tenant ids, and the config\'s keys in the response redactor). Limits are 4x the load each level sees, so each memory and',
    'redis request authenticates (SHA-256 of its key), takes 3 permits, checks 3 token counts and 3 budgets, reserves,',
    'is priced and charged at 3 levels, and none is refused. All variants price answers (mock-small priced like',
    'gpt-4o-mini) and are sent the same 20 `Authorization` values round-robin, so only governance differs.',
    '',
    `Load: \`npm run bench:governance\`, chat-5k's: ${LOAD.rate} req/s open-loop (\`loadtest/pacer.ts\`), non-streaming 1–4 KB bodies, ${LOAD.warmupMs / 1000} s`,
    `warm-up then ${LOAD.durationMs / 1000} s measured, ${v.off.rounds} rounds visiting ${VARIANTS.join(', ')}, then the reverse. In-gateway time is each`,
    'gateway\'s own histogram (`GET /admin/stats`, reset after warm-up: arrival to last byte written minus the provider',
    'wait, JSON work included). End-to-end is from the intended send time. CPU is the gateway process\'s (all threads)',
    `in % of one core over the run. Medians over rounds. Node ${env.node}, ${env.cpu}, ${env.cores} cores; no pinning.`,
    '',
    '| variant | achieved req/s | in-gateway p50 / p99 | in-gateway mean | end-to-end p50 / p99 | gateway CPU | RSS | errors |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const name of VARIANTS) {
    const x = v[name];
    const n = Math.round;
    lines.push(`| ${LABEL[name]} | ${n(x.achievedRps)} | ${n(x.gatewayUs.p50)} / ${n(x.gatewayUs.p99)} µs | ${x.gatewayUs.mean} µs | ${ms(n(x.e2eUs.p50))} / ${ms(n(x.e2eUs.p99))} | ${n(x.cpuPct)}% | ${n(x.rssMaxMB)} MB | ${x.errors} |`);
  }
  const contended = runs.filter((r) => (r.otherCpuPct ?? 0) > 60).length;
  lines.push(
    '',
    `In-gateway p50 by round (µs): ${VARIANTS.map((n) => `${n} ${v[n].gatewayP50ByRound.join(', ')}`).join('; ')}.`,
    `In-gateway mean by round (µs): ${VARIANTS.map((n) => `${n} ${v[n].gatewayMeanByRound.join(', ')}`).join('; ')}.`,
    `Gateway CPU by round (% of one core): ${VARIANTS.map((n) => `${n} ${v[n].cpuByRound.join(', ')}`).join('; ')}.`,
    `Redis: redis-server used ${pctText(v.redis.redisCpuPct)} of a core; ${v.redis.redisCommandsPerSec} commands a second, ${v.redis.redisCommandsPer1kRequests} per 1,000 requests (INFO total_commands_processed over the redis runs).`,
    `Machine: mocks ${Math.round(v.off.mocksCpuPct)}%, load generator ${Math.round(v.off.pacerCpuPct)}%, whole machine ${Math.round(v.off.machineCpuPct)}% of one core (median of the off runs; ${env.cores} cores). ${contended === 0 ? 'No run saw other processes use more than 60% of a core: the machine was otherwise quiet.' : `${contended} of ${runs.length} runs saw other processes use more than 60% of a core (busy machine; see runs[].otherCpuPct).`}`,
    '',
    '## Added in-gateway time vs off (target ≤ 3 µs at p50)',
    '',
    '| variant | added p50 (median vs median) | added p50 per round | added mean (median of per-round) | added p99 | added CPU | target |',
    '|---|---|---|---|---|---|---|',
  );
  for (const name of ['memory', 'redis', 'keys'] as const) {
    const a = s.added[name];
    const target = name === 'keys' ? '(breakdown)' : a.p50 <= TARGET_US ? 'met' : 'not met';
    lines.push(`| ${name} | ${signed(a.p50)} µs | ${a.p50ByRound.map(signed).join(', ')} | ${signed(a.mean)} µs | ${signed(a.p99)} µs | ${signed(a.cpuPct)} pts | ${target} |`);
  }
  lines.push(
    '',
    `Noise: off's own in-gateway p50 spans ${s.noise.offP50Range} µs across rounds (its mean ${s.noise.offMeanRange} µs); the histogram's p50 moves in 1 µs steps.`,
    '',
    '## The per-request governance work alone (tinybench)',
    '',
    `Each figure is ns per call, from batches of ${BATCH} calls (so tinybench's own per-call overhead is spread out): the mean, and the median batch. Keys rotate over the 20; limits here are out of reach of the loop (the admitted path). RedisQuota runs against the same redis-server, warmed (leased) first: admission reads local state only. These are hot-loop figures (code and data in cache), a floor for what the same calls cost inside a busy request path.`,
    '',
    '| function | ns / call (mean) | ns / call (median batch) |',
    '|---|---|---|',
    ...micro.map((r) => `| ${r.name} | ${r.nsPerCall} | ${r.medianNsPerCall} |`),
    '',
    '## Observations',
    '',
    ...observations(s, micro, usage),
    '',
    'Reproduce: `npm run bench:governance` (~2 minutes; `-- --rounds N` for more rounds). Raw figures: `results/governance.json`.',
    '',
  );
  return lines.join('\n');
}

function observations(s: Summary, micro: MicroRow[], usage: Record<string, unknown>): string[] {
  const out: string[] = [];
  const noise = s.noise.offP50Range;
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const verdict = (v: 'memory' | 'redis') => {
    const a = s.added[v];
    return `${v} ${signed(a.p50)} µs (${a.p50ByRound.map(signed).join(', ')} by round; mean ${signed(a.mean)} µs): ${a.p50 <= TARGET_US ? 'met' : 'not met'}`;
  };
  const clear = (['memory', 'redis'] as const).every((v) => Math.min(...s.added[v].p50ByRound.map(Math.abs)) > noise);
  out.push(
    `- **Target (≤ ${TARGET_US} µs added at p50):** ${verdict('memory')}; ${verdict('redis')}. Off's own p50 moved ${noise} µs between rounds, ` +
      (clear ? 'and every round shows the difference, so it is not noise.' : 'and some rounds show a difference no larger than that, so part of it may be noise.'),
  );
  const k = s.added.keys;
  const limitsOnTop = round1(s.added.memory.mean - k.mean);
  const redisOnTop = round1(s.added.redis.mean - s.added.memory.mean);
  const redisSpread = spread(s.added.redis.meanByRound.map((x, i) => x - s.added.memory.meanByRound[i]!));
  out.push(
    `- **Breakdown (means, medians of per-round differences):** the keys alone (no limits: authentication, tenant ids, the redactor's extra secrets) add ${signed(k.mean)} µs (p50 ${signed(k.p50)} µs); the limits on top of them (memory − keys) ${signed(limitsOnTop)} µs; Redis instead of memory ${signed(redisOnTop)} µs, ` +
      (Math.abs(redisOnTop) <= Math.max(s.noise.offMeanRange, redisSpread / 2) ? `within the noise (the redis − memory difference varies by ${round1(redisSpread)} µs across rounds, off's mean by ${s.noise.offMeanRange} µs).` : `outside the noise (off's mean varied by ${s.noise.offMeanRange} µs).`),
  );
  const ns = (prefix: string, has = '') => micro.find((r) => r.name.startsWith(prefix) && r.name.includes(has))?.nsPerCall ?? NaN;
  const find = ns('Directory.find: SHA');
  const memAdmit = ns('admit', 'MemoryQuota');
  const price = ns('PriceBook.costUsd', 'mock-small');
  const memUsed = ns('usedPercent', 'MemoryQuota');
  const redactOff = ns('Redactor', '(off)');
  const redactOn = ns('Redactor', '(governance on)');
  const sum = find + memAdmit + price + memUsed + (redactOn - redactOff);
  out.push(
    `- **Micro vs measured:** in a hot loop the per-request calls sum to ${round1(sum / 1000)} µs (find ${find} ns, admit + settle charge ${memAdmit} ns, a price ${price} ns, budget_used for the rule ${memUsed} ns, and ${redactOn - redactOff} ns more per answer for the response redactor, which scans every answer for the config's virtual keys too: ${redactOff} → ${redactOn} ns). ` +
      `Measured in the gateway the same work adds ${signed(s.added.memory.p50)} µs at p50 and ${signed(s.added.memory.mean)} µs on average, ${round1(s.added.memory.p50 / (sum / 1000))}–${round1(s.added.memory.mean / (sum / 1000))}x the micro sum: between requests the process runs parsing, routing, I/O and GC, so in the gateway these calls run with colder caches, and the ${'`x-ratelimit-*`'} response headers (6 native writeHeader calls per governed answer) are in no micro figure. The settle-time charge runs after the last byte is written: CPU, not in-gateway time.`,
  );
  const r = s.variants.redis;
  const st = (usage as Record<string, { store: { connected: boolean; failOpenAdmits: number; failClosedRefusals: number }; spentUsdByCustomer: Record<string, number> } | undefined>).redis;
  out.push(
    `- **Redis is not waited on here** (these limits are large enough to lease in blocks; a small one, under 30 × replicas × threads a minute, takes each request's permit from Redis: README "Replicas"): ${r.redisCommandsPerSec} commands a second (${r.redisCommandsPer1kRequests} per 1,000 requests, counting the commands the spend script runs inside Redis), from the 100 ms ticker's pipelines (spend flushes: the spend script per charged counter) and block leases, none on a request's path; redis-server used ${pctText(r.redisCpuPct)} of a core. The store stayed connected (${st?.store.connected ? 'yes' : 'no'}) with ${st?.store.failOpenAdmits ?? '?'} fail-open admissions, so every request took the leased path; spend was charged (daily spend at the end: ${Object.entries(st?.spentUsdByCustomer ?? {}).map(([c, x]) => `${c} $${x}`).join(', ')}).`,
  );
  const e2e = (v: Variant) => s.variants[v].e2eUs.p50;
  const offE2e = s.variants.off.e2eP50ByRound;
  out.push(
    `- **CPU and end to end:** gateway CPU (medians) ${VARIANTS.map((v) => `${v} ${Math.round(s.variants[v].cpuPct)}%`).join(', ')} of one core at ${LOAD.rate} req/s; off's own ranged ${spread(s.variants.off.cpuByRound)} points across rounds, and each point is ${round1(10_000 / LOAD.rate)} µs of CPU per request, so CPU differences smaller than that range are not resolved here. End-to-end p50 ${VARIANTS.map((v) => `${v} ${Math.round(e2e(v))}`).join(', ')} µs, mostly time outside the gateway; off's alone ranged ${Math.min(...offE2e)}–${Math.max(...offE2e)} µs across rounds, so an end-to-end difference of a few µs cannot be read from this run: the in-gateway histogram is the figure for the target.`,
  );
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:governance failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
