// `npm run bench [-- --quick] [--compare results/<file>.json] [--only name,name] [--out DIR] [--baseline <git-ref>]`
//
// Starts the mock fleet, microgate and its peers as separate processes, then runs the scenarios in
// loadtest/scenarios/ (BENCHMARKING.md): open-loop latency runs (A/B interleaved over rounds,
// medians reported), closed-loop saturation with autocannon, and a fault mix. Writes
// results/<date>-<commit>-<scenario>.json, results/README.md and SVG plots.
//
// Scenarios with `"upstream": "anthropic"` send the same OpenAI-format load through microgate to a
// `type: anthropic` provider (the mock's /v1/messages), so microgate translates both ways; their
// `direct` target is the client sending the mock's /v1/messages the very Anthropic request microgate
// sends (built here with the gateway's own translators), so added latency compares like with like.
//
// --baseline <git-ref>: builds microgate at that commit (bench/lib/baseline.ts: a temporary git
// worktree, bundled as `npm run build` does) and runs it as the target `microgate-base` on its own port,
// with that commit's own bench/microgate.bench.yaml, next to microgate in every pass-through latency
// scenario. The two are visited A B, B A, … within each round, so before/after come from one run.
//
// Request threads (issue 14): `microgate` runs the bench config with `server.workers: 1` (one request
// thread) and `microgate-2t` the same config with `server.workers: 2` (two threads sharing the port,
// SO_REUSEPORT), both written here as derived files.
//
// Streams are timed to the first whole SSE event at the client, CPU per request is the target's CPU
// time over the measured window ÷ the requests completed in it (loadtest/pacer.ts).
//
// Placement on a 2-core machine: the targets (microgate and peers) run pinned to CPU 1; the mock
// fleet and the load generator share CPU 0, so a target never competes with its own load.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chatBodies } from './lib/bodies.ts';
import { buildBaseline, type Baseline } from './lib/baseline.ts';
import { buildGateway, buildTools } from './lib/gateway-build.ts';
import { FORMATS } from '../src/formats/index.ts';
import { parseDocument } from 'yaml';
import { machineCpu, measure, runJson, sample, startNode, startCmd, stop, type Proc } from './lib/proc.ts';
import { startFlags } from './lib/gateway-build.ts';
import { environment, sourceState, writeReports, compareWith, type Pcts, type ScenarioResult, type TargetRun } from './lib/report.ts';
import type { PacerResult, PacerSpec } from '../loadtest/pacer.ts';
import type { CannonResult, CannonSpec } from '../loadtest/cannon.ts';

const ROOT = resolve(import.meta.dirname, '..');
const USAGE = `npm run bench [-- options]
  --quick              short rounds (a smoke run: figures not for publishing)
  --only a,b           only these scenarios (names of loadtest/scenarios/*.json)
  --out DIR            write results there instead of results/
  --compare FILE       compare with an earlier results/<file>.json
  --baseline GIT-REF   also run microgate built at that commit, A/B in every round
Ports: mocks 9101-9104, targets 8090-8095 on 127.0.0.1 (they must be free).`;
let parsed;
try {
  parsed = parseArgs({ options: { quick: { type: 'boolean', default: false }, compare: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } } });
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
const flags = parsed.values;
if (flags.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const quick = flags.quick === true;
/** How long every target is loaded, at its first scenario's rate, before its first measured round (warmUp). */
const WARM_MS = 10_000;
const WARM_MS_QUICK = 2_000;
const twoCores = availableParallelism() >= 2;
// BENCH_PLACEMENT=none (default): the OS schedules the 3 busy processes over 2 cores. =split pins
// targets to CPU 1 and mocks + load to CPU 0; measured here it overloads CPU 0 (direct p50 1.3 ms,
// microgate p99 139 ms vs 10 ms unpinned at 5k RPS), so it is not the default.
const pin = twoCores && process.env.BENCH_PLACEMENT === 'split';
const TARGET_CPU = pin ? 1 : null;
const LOAD_CPU = pin ? 0 : null;

const MOCK = 'http://127.0.0.1:9101';
const PORTS = { microgate: 8090, floor: 8091, 'node-http': 8092, portkey: 8093, 'microgate-base': 8094, 'microgate-2t': 8095 } as const;
type TargetName = 'direct' | keyof typeof PORTS;
type Upstream = 'openai' | 'anthropic';
/** Targets that are a microgate build: their in-gateway histogram is read from /admin/stats. */
const GATEWAYS = new Set<TargetName>(['microgate', 'microgate-base', 'microgate-2t']);
/** The models microgate-base is driven with (plain, stream): its config must serve them too. */
const BASE_MODELS = ['bench', 'streamer/mock-small'];

interface Scenario {
  name: string;
  description: string;
  kind: 'latency' | 'saturation' | 'faults';
  /** The wire format of the provider behind microgate (default openai: a pass-through). */
  upstream?: Upstream;
  rate?: number;
  stream?: boolean;
  durationMs?: number;
  warmupMs?: number;
  rounds?: number;
  connections?: number;
  durationSec?: number;
  warmupSec?: number;
  targets: TargetName[];
  quick: Partial<Scenario> | null;
}

const CHAT = '/v1/chat/completions';

/**
 * How each target is addressed: the same mock behind all of them, each with its own URL, path and
 * headers. Bodies are OpenAI chat requests for `model`, except for `direct` to an Anthropic upstream
 * (`anthropic: true`): there they are the Anthropic requests microgate makes of those chat requests.
 */
function address(target: TargetName, kind: 'plain' | 'stream' | 'flaky', upstream: Upstream = 'openai'): { url: string; path: string; headers: Record<string, string>; model: string; anthropic?: boolean } {
  const mockKey = kind === 'stream' ? 'bench-stream' : kind === 'flaky' ? 'bench-flaky' : 'bench-a';
  if (upstream === 'anthropic') {
    if (target === 'direct') return { url: MOCK, path: '/v1/messages', headers: { 'x-api-key': mockKey, 'anthropic-version': '2023-06-01' }, model: 'mock-small', anthropic: true };
    if (target === 'microgate') return { url: `http://127.0.0.1:${PORTS.microgate}`, path: CHAT, headers: {}, model: kind === 'stream' ? 'anthropic-streamer/mock-small' : 'bench-anthropic' };
    throw new Error(`target ${target} cannot be driven against an Anthropic-format upstream`);
  }
  switch (target) {
    case 'direct':
      return { url: MOCK, path: CHAT, headers: { authorization: `Bearer ${mockKey}` }, model: 'mock-small' };
    case 'microgate':
    case 'microgate-2t':
    case 'microgate-base':
      // BASE_MODELS: the baseline is checked to serve the plain and stream models before it runs.
      return { url: `http://127.0.0.1:${PORTS[target]}`, path: CHAT, headers: {}, model: kind === 'stream' ? 'streamer/mock-small' : kind === 'flaky' ? 'flaky-best' : 'bench' };
    case 'portkey':
      // Portkey's gateway reaches an OpenAI-compatible host through its custom-host header.
      return { url: `http://127.0.0.1:${PORTS.portkey}`, path: CHAT, headers: { authorization: `Bearer ${mockKey}`, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${MOCK}/v1` }, model: 'mock-small' };
    default:
      return { url: `http://127.0.0.1:${PORTS[target]}`, path: CHAT, headers: { authorization: `Bearer ${mockKey}` }, model: 'mock-small' };
  }
}

function loadScenarios(): Scenario[] {
  const dir = join(ROOT, 'loadtest/scenarios');
  const only = flags.only?.split(',');
  const order = ['chat-5k', 'chat-5k-anthropic', 'stream-5k', 'stream-5k-anthropic', 'peers-200', 'saturation', 'faults'];
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Scenario);
  const unknown = only?.filter((n) => !all.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: no scenario named ${unknown.join(', ')} (have ${all.map((s) => s.name).join(', ')})`);
  return all
    .filter((s) => (only ? only.includes(s.name) : !quick || s.quick !== null))
    .map((s) => (quick && s.quick ? { ...s, ...s.quick } : s))
    .map((s) => (flags.baseline !== undefined ? withBaseline(s) : s))
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** microgate-base joins microgate in the pass-through latency scenarios (it cannot translate). */
function withBaseline(s: Scenario): Scenario {
  const at = s.targets.indexOf('microgate');
  if (s.kind !== 'latency' || (s.upstream ?? 'openai') !== 'openai' || at < 0) return s;
  return { ...s, targets: [...s.targets.slice(0, at + 1), 'microgate-base', ...s.targets.slice(at + 1)] };
}

/** Round `round`'s visiting order: microgate and microgate-base swap places every other round (A B, B A, …). */
function roundOrder(targets: TargetName[], round: number): TargetName[] {
  const a = targets.indexOf('microgate');
  const b = targets.indexOf('microgate-base');
  if (a < 0 || b < 0 || round % 2 === 0) return targets;
  const out = [...targets];
  out[a] = 'microgate-base';
  out[b] = 'microgate';
  return out;
}

/** The same chat requests as microgate's Anthropic provider receives them: translated by the gateway's own codecs. */
function anthropicBodies(openaiBodies: string[]): string[] {
  const { openai, anthropic } = FORMATS;
  return openaiBodies.map((b) => {
    const parsed = JSON.parse(b) as Record<string, unknown>;
    return anthropic.codec.fromCanonical(openai.dialect.toCanonical(parsed, 'chat'), parsed.model as string);
  });
}

type AdminStats = { gatewayTimeUs: { p50: number; p90: number; p99: number; p999: number; count: number }; telemetry?: { dropped: number } };

async function adminStats(port: number): Promise<AdminStats | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/admin/stats`);
    return (await r.json()) as AdminStats;
  } catch {
    return null;
  }
}

/**
 * The bench config with `server.workers` set, written next to the bundles; another instance than
 * `microgate` (suffix) also gets its own port and request-log directory, as microgate-base does.
 */
function workersConfig(dir: string, workers: number, port: number, suffix: string | null): string {
  const doc = parseDocument(readFileSync(join(ROOT, 'bench/microgate.bench.yaml'), 'utf8'));
  doc.setIn(['server', 'workers'], workers);
  doc.setIn(['server', 'port'], port);
  const logDir = doc.getIn(['telemetry', 'log', 'dir']);
  if (suffix !== null && typeof logDir === 'string') doc.setIn(['telemetry', 'log', 'dir'], `${logDir.replace(/\/+$/, '')}-${suffix}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `microgate.bench.workers-${workers}.yaml`);
  writeFileSync(file, doc.toString());
  return file;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
};

async function main(): Promise<void> {
  const scenarios = loadScenarios();
  const wanted = new Set(scenarios.flatMap((s) => s.targets));
  const procs: Partial<Record<TargetName | 'mocks', Proc>> = {};
  const started = performance.now();
  const log = (m: string) => process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)}s] ${m}\n`);
  let baseline: Baseline | null = null;
  /** How each microgate instance was configured (server.workers), for the report. */
  const threads: Record<string, string> = {};

  // Every process runs as a plain-node bundle, as `npm start` runs microgate: under tsx each would
  // also carry a module-loader thread (~40 MB RSS, some CPU).
  const DIST = join(ROOT, 'dist/bench');
  // microgate exactly as `npm run build` bundles it (its entries, request threads included, and code
  // splitting); the peers, the mocks and the load runners as plain one-file bundles beside it.
  const built = sourceState();
  await buildGateway(ROOT, DIST);
  await buildTools(ROOT, DIST, { floor: 'bench/peers/floor.ts', 'node-http': 'bench/peers/node-http.ts', fleet: 'mock-providers/fleet.ts', pacer: 'loadtest/pacer.ts', cannon: 'loadtest/cannon.ts' });
  const bundle = (name: string) => join(DIST, `${name}.js`);
  // Interrupted (Ctrl-C, a CI timeout): stop the children too, or a stale mock or gateway keeps its
  // port and, with SO_REUSEPORT, silently takes a share of the next run's traffic.
  const interrupt = () =>
    void Promise.all(Object.values(procs).map((p) => stop(p)))
      .then(() => baseline?.cleanup())
      .then(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    log(`${quick ? 'quick' : 'full'} run: ${scenarios.map((s) => s.name).join(', ')}`);
    if (flags.baseline !== undefined) {
      if (!wanted.has('microgate-base')) throw new Error('--baseline: none of the chosen scenarios is a pass-through latency scenario with microgate');
      baseline = await buildBaseline({ root: ROOT, ref: flags.baseline, port: PORTS['microgate-base'], models: BASE_MODELS });
      log(`baseline ${flags.baseline} = ${baseline.commit}: built in ${baseline.tree}, config ${baseline.configSource}`);
    }
    const startAll: Array<Promise<void>> = [
      startNode('mocks', bundle('fleet'), ['--config', join(ROOT, 'bench/fleet.json')], LOAD_CPU, /mocks ready/).then((p) => void (procs.mocks = p)),
    ];
    if (wanted.has('microgate') || wanted.has('microgate-2t')) startAll.push(startMicrogates());
    if (baseline !== null) {
      // With the Node flags its own `npm start` uses, as microgate gets this tree's: an A/B with the GC
      // tuned on one side only measured the flag (17–34 against 3–6 µs of GC helper CPU per request).
      const baseEnv = { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${startFlags(baseline.tree)}`.trim() };
      startAll.push(startNode('microgate-base', baseline.main, ['--config', baseline.config], TARGET_CPU, /listening on/, baseEnv).then((p) => void (procs['microgate-base'] = p)));
    }
    if (wanted.has('floor')) startAll.push(startNode('floor', bundle('floor'), [String(PORTS.floor), MOCK], TARGET_CPU, /listening/).then((p) => void (procs.floor = p)));
    if (wanted.has('node-http')) startAll.push(startNode('node-http', bundle('node-http'), [String(PORTS['node-http']), MOCK], TARGET_CPU, /listening/).then((p) => void (procs['node-http'] = p)));
    if (wanted.has('portkey')) {
      const pk = join(ROOT, 'node_modules/@portkey-ai/gateway/build/start-server.js');
      const argv = [`--port=${PORTS.portkey}`, '--headless'];
      startAll.push(startCmd('portkey', TARGET_CPU === null ? 'node' : 'taskset', TARGET_CPU === null ? [pk, ...argv] : ['-c', String(TARGET_CPU), 'node', pk, ...argv], /Ready for connections|running at/).then((p) => void (procs.portkey = p)));
    }
    await Promise.all(startAll);
    log(`started: ${Object.keys(procs).join(', ')}`);

    const results: ScenarioResult[] = [];
    /** Targets that have had the warm-up every target gets before its first measured round. */
    const warmed = new Set<TargetName>();
    for (const sc of scenarios) {
      log(`scenario ${sc.name}: ${sc.description}`);
      const runs: Record<string, TargetRun[]> = {};
      const rounds = sc.rounds ?? 1;
      for (let round = 0; round < rounds; round++) {
        // A B A B: each round visits every target, so drift on a shared machine hits all of them.
        for (const target of roundOrder(sc.targets, round)) {
          if (!warmed.has(target) && sc.kind !== 'saturation') {
            await warmUp(sc, target);
            warmed.add(target);
          }
          const run = await runOne(sc, target);
          (runs[target] ??= []).push(run);
          log(`  ${target.padEnd(14)} round ${round + 1}: ${brief(run)}`);
        }
      }
      results.push(summarizeScenario(sc, runs));
    }
    const env = environment(
      quick,
      pin ? 'targets pinned to CPU 1; mock fleet and load generator on CPU 0 (BENCH_PLACEMENT=split)' : 'no pinning: the OS schedules microgate (or a peer), the mock fleet and the load generator over both cores',
      {
        rules: true,
        classifier: true,
        telemetry: true,
        note: 'six rules (bench/microgate.bench.yaml), one reading complexity_tier on every "bench" request; telemetry worker with metrics and the request log',
      },
      baseline === null ? null : { ref: flags.baseline!, commit: baseline.commit, config: baseline.configSource },
      { threads },
      built,
    );
    const outDir = flags.out !== undefined ? resolve(flags.out) : join(ROOT, quick ? 'results/quick' : 'results');
    const files = writeReports(outDir, env, results);
    log(`wrote ${files.join(', ')}`);
    if (flags.compare) compareWith(resolve(flags.compare), results, env);
  } finally {
    await Promise.all(Object.values(procs).map((p) => stop(p)));
    if (baseline !== null) baseline.cleanup();
  }

  /** microgate on the bench config with `server.workers: 1`, and microgate-2t with `workers: 2`. */
  async function startMicrogates(): Promise<void> {
    // As `npm start` runs it (package.json: the main thread's semi-spaces, src/threads/supervisor.ts).
    const env = { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${startFlags(ROOT)}`.trim() };
    const start = (name: 'microgate' | 'microgate-2t', config: string) => startNode(name, bundle('main'), ['--config', config], TARGET_CPU, /listening on/, env);
    const both: Array<Promise<void>> = [];
    if (wanted.has('microgate')) {
      threads.microgate = 'server.workers: 1';
      both.push(start('microgate', workersConfig(DIST, 1, PORTS.microgate, null)).then((p) => void (procs.microgate = p)));
    }
    if (wanted.has('microgate-2t')) {
      threads['microgate-2t'] = 'server.workers: 2';
      both.push(start('microgate-2t', workersConfig(DIST, 2, PORTS['microgate-2t'], '2t')).then((p) => void (procs['microgate-2t'] = p)));
    }
    await Promise.all(both);
  }

  /**
   * Ten seconds of its first scenario's load for every target before its first measured round (the
   * same for every target of that scenario). Targets that run in every scenario had served some 200,000 requests by the
   * peers' scenario, where the peers met their first after a second of warm-up: cold JITs against hot
   * ones (CPU per request halves once warm), and their "× floor" compared unlike things.
   */
  async function warmUp(sc: Scenario, target: TargetName): Promise<void> {
    const a = address(target, sc.kind === 'faults' ? 'flaky' : sc.stream ? 'stream' : 'plain', sc.upstream);
    const bodies = chatBodies(a.model, 64, sc.stream === true);
    const rate = sc.rate ?? 1000;
    const spec: PacerSpec = {
      url: a.url,
      path: a.path,
      bodies: a.anthropic === true ? anthropicBodies(bodies) : bodies,
      headers: a.headers,
      rate,
      durationMs: quick ? WARM_MS_QUICK : WARM_MS,
      warmupMs: 0,
      connections: 512,
      stream: sc.stream === true,
      timeoutMs: 30_000,
      resetUrl: null,
      cpuPids: {},
    };
    await runJson<PacerResult>(bundle('pacer'), spec, LOAD_CPU);
  }

  async function runOne(sc: Scenario, target: TargetName): Promise<TargetRun> {
    const kind = sc.kind === 'faults' ? 'flaky' : sc.stream ? 'stream' : 'plain';
    const a = address(target, kind, sc.upstream);
    const pid = target === 'direct' ? undefined : procs[target]?.child.pid;
    if (sc.kind === 'saturation') {
      const spec: CannonSpec = { url: `${a.url}${a.path}`, body: chatBodies(a.model, 1, false)[0]!, headers: a.headers, connections: sc.connections ?? 64, durationSec: sc.durationSec ?? 4, warmupSec: sc.warmupSec ?? 1 };
      const m = await measure(pid, () => runJson<CannonResult>(bundle('cannon'), spec, LOAD_CPU));
      return { target, saturation: m.result, cpuPct: m.cpuPct, rssMaxMB: m.rssMaxMB, gatewayTimeUs: null, pacer: null, telemetryDropped: null };
    }
    const bodies = chatBodies(a.model, 64, sc.stream === true);
    const gateway = GATEWAYS.has(target);
    const spec: PacerSpec = {
      url: a.url,
      path: a.path,
      bodies: a.anthropic === true ? anthropicBodies(bodies) : bodies,
      headers: a.headers,
      rate: sc.rate ?? 1000,
      durationMs: sc.durationMs ?? 4000,
      warmupMs: sc.warmupMs ?? 1000,
      connections: 512,
      stream: sc.stream === true,
      timeoutMs: 30_000,
      resetUrl: gateway ? `${a.url}/admin/stats/reset` : null,
      // CPU per request: the pacer reads these right at its measured window's start and end.
      cpuPids: { ...(pid === undefined ? {} : { target: pid }), ...(procs.mocks?.child.pid === undefined ? {} : { mocks: procs.mocks.child.pid }) },
    };
    const mocks = procs.mocks?.child.pid;
    const m0 = mocks === undefined ? null : sample(mocks);
    const t0 = performance.now();
    const { result: m, machineCpuPct } = await machineCpu(() => measure(pid, () => runJson<PacerResult>(bundle('pacer'), spec, LOAD_CPU)));
    const m1 = mocks === undefined ? null : sample(mocks);
    const gw = gateway ? await adminStats(PORTS[target as 'microgate' | 'microgate-base' | 'microgate-2t']) : null;
    // Window figures when the pacer could read /proc; else the whole child run's (warm-up included).
    const w = m.result.cpu;
    const completed = m.result.ok + m.result.errors;
    const tw = w?.procs.target ?? null;
    const mw = w?.procs.mocks ?? null;
    return {
      target,
      pacer: m.result,
      cpuPct: tw?.pct ?? m.cpuPct,
      cpuPerReqUs: tw && completed > 0 ? Math.round((tw.cpuUs / completed) * 10) / 10 : null,
      cpuSource: tw?.source ?? null,
      mocksCpuPerReqUs: mw && completed > 0 ? Math.round((mw.cpuUs / completed) * 10) / 10 : null,
      rssMaxMB: m.rssMaxMB,
      gatewayTimeUs: gw?.gatewayTimeUs ?? null,
      saturation: null,
      telemetryDropped: gw?.telemetry?.dropped ?? null,
      mocksCpuPct: mw?.pct ?? (m0 && m1 ? Math.round(((m1.cpuSec - m0.cpuSec) / ((performance.now() - t0) / 1000)) * 100) : null),
      machineCpuPct: w?.machinePct ?? machineCpuPct,
    };
  }
}

function brief(r: TargetRun): string {
  if (r.saturation) return `${r.saturation.rps} req/s, p99 ${r.saturation.latencyUs.p99} µs, errors ${r.saturation.errors + r.saturation.non2xx}, cpu ${r.cpuPct ?? '-'}%`;
  const p = r.pacer!;
  const gw = r.gatewayTimeUs ? `, in-gateway p50 ${r.gatewayTimeUs.p50} µs p99 ${r.gatewayTimeUs.p99} µs` : '';
  const ev = p.firstEventUs ? `, first event p50 ${p.firstEventUs.p50} p99 ${p.firstEventUs.p99} µs (head p50 ${p.headUs?.p50}, first byte p50 ${p.firstByteUs?.p50}, event − head p50 ${p.headLeadUs?.p50})` : '';
  const perReq = r.cpuPerReqUs != null ? ` = ${r.cpuPerReqUs} µs/req` : '';
  return `${p.achievedRps} req/s, p50 ${p.latencyUs.p50} µs, p99 ${p.latencyUs.p99} µs (service p50 ${p.serviceUs.p50} p99 ${p.serviceUs.p99}, send lag p50 ${p.sendLagUs.p50})${ev}, ok ${p.ok}, errors ${p.errors}, cpu ${r.cpuPct ?? '-'}%${perReq}${gw}; mocks ${r.mocksCpuPct ?? '-'}%, load ${p.pacerCpuPct}%, machine ${r.machineCpuPct ?? '-'}%${contended(r)}`;
}

/** Flags a run during which other processes (not the target, the mocks or the load) used much of the machine. */
function contended(r: TargetRun): string {
  if (r.machineCpuPct === null || r.machineCpuPct === undefined || !r.pacer) return '';
  const other = r.machineCpuPct - (r.cpuPct ?? 0) - (r.mocksCpuPct ?? 0) - r.pacer.pacerCpuPct;
  return other > 60 ? ` [contended: other processes used ~${other}% of a core]` : '';
}

function summarizeScenario(sc: Scenario, runs: Record<string, TargetRun[]>): ScenarioResult {
  const targets: ScenarioResult['targets'] = {};
  for (const [name, rs] of Object.entries(runs)) {
    const pick = (f: (r: TargetRun) => number | null | undefined): number | null => {
      const xs = rs.map(f).filter((x): x is number => typeof x === 'number');
      return xs.length === 0 ? null : median(xs);
    };
    /** Medians over rounds of each percentile of a pacer histogram; null when the pacer did not record it. */
    const pcts = (f: (p: PacerResult) => Pcts | null | undefined): Pcts | null =>
      rs[0]!.pacer && f(rs[0]!.pacer) ? { p50: pick((r) => r.pacer && f(r.pacer)?.p50)!, p90: pick((r) => r.pacer && f(r.pacer)?.p90)!, p99: pick((r) => r.pacer && f(r.pacer)?.p99)!, p999: pick((r) => r.pacer && f(r.pacer)?.p999)! } : null;
    // CPU per request to a tenth of a µs: median() rounds, so it works in tenths.
    const perReq = (f: (r: TargetRun) => number | null | undefined): number | null => {
      const m = pick((r) => {
        const v = f(r);
        return typeof v === 'number' ? Math.round(v * 10) : null;
      });
      return m === null ? null : m / 10;
    };
    targets[name] = {
      rounds: rs.length,
      latencyUs: rs[0]!.pacer ? { p50: pick((r) => r.pacer?.latencyUs.p50)!, p90: pick((r) => r.pacer?.latencyUs.p90)!, p99: pick((r) => r.pacer?.latencyUs.p99)!, p999: pick((r) => r.pacer?.latencyUs.p999)! } : null,
      serviceUs: rs[0]!.pacer ? { p50: pick((r) => r.pacer?.serviceUs.p50)!, p90: pick((r) => r.pacer?.serviceUs.p90)!, p99: pick((r) => r.pacer?.serviceUs.p99)!, p999: pick((r) => r.pacer?.serviceUs.p999)! } : null,
      firstEventUs: pcts((p) => p.firstEventUs),
      headUs: pcts((p) => p.headUs),
      firstByteUs: pcts((p) => p.firstByteUs),
      headLeadUs: pcts((p) => p.headLeadUs),
      gapUs: pcts((p) => p.gapUs),
      sendLagUs: pcts((p) => p.sendLagUs),
      achievedRps: pick((r) => r.pacer?.achievedRps ?? r.saturation?.rps),
      ok: rs.reduce((n, r) => n + (r.pacer?.ok ?? r.saturation?.ok ?? 0), 0),
      errors: rs.reduce((n, r) => n + (r.pacer?.errors ?? (r.saturation ? r.saturation.errors + r.saturation.non2xx + r.saturation.timeouts : 0)), 0),
      statuses: rs.reduce<Record<string, number>>((acc, r) => {
        for (const [k, v] of Object.entries(r.pacer?.statuses ?? {})) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
      saturationP99Us: pick((r) => r.saturation?.latencyUs.p99),
      retried: rs.reduce((n, r) => n + (r.pacer?.retried ?? 0), 0),
      failedOver: rs.reduce((n, r) => n + (r.pacer?.failedOver ?? 0), 0),
      retriedUs: rs[0]!.pacer?.retriedUs ? { p50: pick((r) => r.pacer?.retriedUs?.p50)!, p90: pick((r) => r.pacer?.retriedUs?.p90)!, p99: pick((r) => r.pacer?.retriedUs?.p99)!, p999: pick((r) => r.pacer?.retriedUs?.p999)! } : null,
      gatewayTimeUs: rs[0]!.gatewayTimeUs ? { p50: pick((r) => r.gatewayTimeUs?.p50)!, p90: pick((r) => r.gatewayTimeUs?.p90)!, p99: pick((r) => r.gatewayTimeUs?.p99)!, p999: pick((r) => r.gatewayTimeUs?.p999)! } : null,
      telemetryDropped: rs.some((r) => r.telemetryDropped !== null) ? Math.max(...rs.map((r) => r.telemetryDropped ?? 0)) : null,
      cpuPct: pick((r) => r.cpuPct),
      cpuPerReqUs: perReq((r) => r.cpuPerReqUs),
      mocksCpuPerReqUs: perReq((r) => r.mocksCpuPerReqUs),
      rssMaxMB: pick((r) => r.rssMaxMB),
      pacerCpuPct: pick((r) => r.pacer?.pacerCpuPct),
      mocksCpuPct: pick((r) => r.mocksCpuPct),
      machineCpuPct: pick((r) => r.machineCpuPct),
      raw: rs,
    };
  }
  return { name: sc.name, description: sc.description, kind: sc.kind, rate: sc.rate ?? null, stream: sc.stream === true, targets };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
