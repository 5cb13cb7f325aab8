// `npm run bench:profile -- [--label before] [--rate 4000] [--duration 10000] [--rounds 3]`
//
// Where microgate's CPU goes on the full-feature path (bench/microgate.bench.yaml: rules, the
// classifier, telemetry on), at a fixed rate, next to the floor (bench/peers/floor.ts):
//
// 1. Builds the bundle as `npm start` runs it (the build script's own esbuild options, with an external source map so the
//    profile's bundle positions map back to src/ files; the bundle itself is the same code), and the
//    mock fleet, pacer and floor bundles as bench/run.ts does.
// 2. CPU per request, without the profiler: microgate and the floor, A B / B A over `--rounds`, each
//    driven by the open-loop pacer (loadtest/pacer.ts) at `--rate` for `--duration` after a warm-up.
//    Process CPU (user + system, every thread: /proc/<pid>/task/*/stat) is sampled when the pacer
//    ends its warm-up (its reset call comes to this script first) and when it has finished, then
//    divided by the requests answered in between (BENCHMARKING.md figure 3). Per thread as well,
//    so the telemetry worker and V8's helper threads (GC, compiler) show apart from the main thread.
// 3. One more run of microgate under `node --cpu-prof`, stopped with SIGTERM so the profiles are
//    written (one per thread). Only samples inside the measured window are summarised: self and
//    total time per function, by file and by area, in µs per request (inflated by the profiler's own
//    cost: read them as shares), plus folded stacks and an SVG flame graph.
//
// 4. With --perf, one more run of each target under Linux `perf record` (bench/lib/perf.ts): CPU time by
//    kernel, V8 runtime, builtins and JS area, which the wall-clock V8 profile cannot separate.
//
// With --bare, microgate runs the bench config without its rules (and so without the classifier) and
// without the request log: the features' cost is the difference from a run without --bare.
//
// Writes results/profiles/<date>-<label>.{md,json,main.cpuprofile.gz,folded,svg}. With --compare
// <earlier .json>, the report puts the top costs of both side by side.
//
// Ports differ from `npm run bench` (mocks 92xx, targets 819x), so both can run on one machine (they
// then disturb each other's figures, which the report's machine-CPU column shows).
//
// Re-summarise a profile without running anything: --summarise <file.cpuprofile[.gz]> [--requests N].
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { SourceMap } from 'node:module';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chatBodies } from './lib/bodies.ts';
import { runJson, startNode, stop, type Proc } from './lib/proc.ts';
import { buildGateway, buildTools } from './lib/gateway-build.ts';
import { PERF_NODE_FLAGS, perfAvailable, recordPerf, summarisePerf, type PerfSummary } from './lib/perf.ts';
import type { PacerResult, PacerSpec } from '../loadtest/pacer.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({
  options: {
    label: { type: 'string', default: 'before' },
    rate: { type: 'string', default: '4000' },
    duration: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    interval: { type: 'string', default: '100' },
    out: { type: 'string', default: 'results/profiles' },
    date: { type: 'string' },
    compare: { type: 'string' },
    'no-floor': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'no-heap': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    summarise: { type: 'string' },
    requests: { type: 'string' },
  },
});
const RATE = Number(flags.rate);
const DURATION = Number(flags.duration);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const INTERVAL_US = Number(flags.interval);
const DATE = flags.date ?? new Date().toISOString().slice(0, 10);
const OUT = resolve(ROOT, flags.out!);
const LABEL = flags.label!;
const WORKERS = Number(flags.workers);
/** Whether this tree's config schema has server.workers (request threads, being added as this is written). */
const WORKERS_KNOWN = readFileSync(join(ROOT, 'src/config/schema.ts'), 'utf8').includes('workers:');

const PORTS = { mocks: [9201, 9202, 9203], microgate: 8190, floor: 8191, mark: 8199, inspector: 9339 } as const;
const CHAT = '/v1/chat/completions';

// ---------------------------------------------------------------------------------------------
// Process and thread CPU from /proc

const CLK_TCK = 100;

interface ThreadCpu {
  /** Thread id → CPU seconds. */
  byTid: Map<string, number>;
  /** The main thread's id (the process id). */
  main: string;
  total: number;
}

/**
 * CPU seconds of every thread of `pid`. Node 20 leaves its threads unnamed ("node" all), so they are
 * told apart by id: the main thread, and the others (the telemetry worker, V8's platform threads that
 * run concurrent GC and compilation, libuv's pool), of which the busiest is reported on its own: at
 * this load that is the telemetry worker (checked with the worker's own profile, section below).
 */
function threadCpu(pid: number): ThreadCpu {
  const byTid = new Map<string, number>();
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const sec = (Number(f[11]) + Number(f[12])) / CLK_TCK;
      byTid.set(tid, sec);
      total += sec;
    } catch {
      // the thread ended between readdir and read
    }
  }
  // Threads that ended are not listed, but their time is in the process's own counters.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const proc = (Number(f[11]) + Number(f[12])) / CLK_TCK;
  return { byTid, main: String(pid), total: Math.max(total, proc) };
}

/** CPU seconds between two samples: main thread, the busiest other thread, the rest. */
function threadSplit(a: ThreadCpu, b: ThreadCpu): Record<'main' | 'busiest other' | 'rest', number> {
  let main = 0;
  let top = 0;
  let others = 0;
  for (const [tid, sec] of b.byTid) {
    const d = sec - (a.byTid.get(tid) ?? 0);
    if (tid === b.main) main = d;
    else {
      others += d;
      if (d > top) top = d;
    }
  }
  return { main, 'busiest other': top, rest: Math.max(0, b.total - a.total - main - top) };
}

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

// ---------------------------------------------------------------------------------------------
// The mark server: the pacer's reset call (between warm-up and measurement) lands here. It samples
// the target's CPU and the clock, then passes the reset on to microgate's /admin/stats/reset.

interface Mark {
  cpu: ThreadCpu;
  machine: { busy: number; total: number };
  /** CLOCK_MONOTONIC, µs: the clock V8's profiler stamps its samples with. */
  monoUs: number;
}

let markPid = 0;
let markForward: string | null = null;
let lastMark: Mark | null = null;
/** Runs at the mark, before the pacer is answered (starts the allocation sampler of a --heap run). */
let markHook: (() => Promise<void>) | null = null;

function takeMark(pid: number): Mark {
  return { cpu: threadCpu(pid), machine: machineTicks(), monoUs: Number(process.hrtime.bigint() / 1000n) };
}

function startMarkServer(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      lastMark = takeMark(markPid);
      const done = () => res.end('{"reset":true}');
      const hook = markHook === null ? Promise.resolve() : markHook();
      void hook.then(() => (markForward === null ? undefined : fetch(markForward, { method: 'POST' }).then((r) => r.text()))).then(done, done);
    });
  });
  return new Promise((ok) => server.listen(PORTS.mark, '127.0.0.1', () => ok(server)));
}

// ---------------------------------------------------------------------------------------------
// One measured run

interface RunFigures {
  target: 'microgate' | 'floor';
  profiled: boolean;
  requests: number;
  errors: number;
  achievedRps: number;
  /** Process CPU per answered request, µs, all threads; and per thread name. */
  cpuUsPerReq: number;
  threadsUsPerReq: Record<string, number>;
  cpuPct: number;
  machineCpuPct: number;
  pacerCpuPct: number;
  latencyUs: { p50: number; p99: number };
  gatewayTimeUs: { p50: number; p90: number; p99: number; p999: number } | null;
  window: { startUs: number; endUs: number };
}

async function measureRun(target: 'microgate' | 'floor', pid: number, pacer: string, bodies: string[], profiled: boolean, atMark: (() => Promise<void>) | null = null): Promise<RunFigures> {
  markPid = pid;
  markHook = atMark;
  markForward = target === 'microgate' ? `http://127.0.0.1:${PORTS.microgate}/admin/stats/reset` : null;
  lastMark = null;
  const spec: PacerSpec = {
    url: `http://127.0.0.1:${PORTS[target]}`,
    path: CHAT,
    bodies,
    headers: target === 'floor' ? { authorization: 'Bearer bench-a' } : {},
    rate: RATE,
    durationMs: DURATION,
    warmupMs: WARMUP,
    connections: 512,
    stream: false,
    timeoutMs: 30_000,
    resetUrl: `http://127.0.0.1:${PORTS.mark}/mark`,
  };
  const result = await runJson<PacerResult>(pacer, spec, null);
  const end = takeMark(pid);
  markHook = null;
  const start = lastMark as Mark | null;
  if (start === null) throw new Error('the pacer never called the mark server');
  const cpuSec = end.cpu.total - start.cpu.total;
  const wallSec = (end.monoUs - start.monoUs) / 1e6;
  const threads: Record<string, number> = {};
  for (const [name, sec] of Object.entries(threadSplit(start.cpu, end.cpu))) threads[name] = round1((sec * 1e6) / result.ok);
  const cores = availableParallelism();
  const gw = target === 'microgate' ? await fetch(`http://127.0.0.1:${PORTS.microgate}/admin/stats`).then((r) => r.json() as Promise<{ gatewayTimeUs: RunFigures['gatewayTimeUs'] }>) : null;
  return {
    target,
    profiled,
    requests: result.ok,
    errors: result.errors,
    achievedRps: result.achievedRps,
    cpuUsPerReq: round1((cpuSec * 1e6) / result.ok),
    threadsUsPerReq: threads,
    cpuPct: Math.round((cpuSec / wallSec) * 100),
    machineCpuPct: Math.round(((end.machine.busy - start.machine.busy) / (end.machine.total - start.machine.total)) * cores * 100),
    pacerCpuPct: result.pacerCpuPct,
    latencyUs: { p50: result.latencyUs.p50, p99: result.latencyUs.p99 },
    gatewayTimeUs: gw?.gatewayTimeUs ?? null,
    window: { startUs: start.monoUs, endUs: end.monoUs },
  };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

// ---------------------------------------------------------------------------------------------
// .cpuprofile analysis

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Frame {
  /** "name file:line", unique per function. */
  key: string;
  name: string;
  /** src/…, a package path (undici/lib/…), node:…, or "(native)". */
  file: string;
  line: number;
  area: string;
}

/** Maps bundle positions (dist/*.js) back to src/ through esbuild's source maps. */
class Locator {
  private readonly maps = new Map<string, SourceMap | null>();

  frame(cf: CallFrame): Frame {
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    if (cf.url === '') {
      const vm = name.startsWith('(');
      return { key: name, name, file: vm ? name : '(native)', line: 0, area: vm ? name : nativeArea(name) };
    }
    let file = cf.url.startsWith('file://') ? cf.url.slice(7) : cf.url;
    let line = cf.lineNumber + 1;
    if (file.startsWith(`${ROOT}/dist/`) && existsSync(`${file}.map`)) {
      const map = this.mapOf(file);
      const e = map?.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
      if (e?.originalSource !== undefined) {
        file = e.originalSource.startsWith('file://') ? e.originalSource.slice(7) : resolve(join(file, '..'), e.originalSource);
        line = (e.originalLine ?? 0) + 1;
      }
    }
    const nm = file.lastIndexOf('/node_modules/');
    const shown = nm >= 0 ? file.slice(nm + 14) : file.startsWith('/') ? relative(ROOT, file) : file;
    return { key: `${name} ${shown}:${line}`, name, file: shown, line, area: areaOf(shown) };
  }

  private mapOf(file: string): SourceMap | null {
    if (!this.maps.has(file)) {
      const path = `${file}.map`;
      this.maps.set(file, existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : null);
    }
    return this.maps.get(file)!;
  }
}

/** uWS's own functions are native: the profiler names them without a script. */
function nativeArea(name: string): string {
  return /^(cork|end|write|writeHeader|writeStatus|onData|onAborted|onWritable|getHeader|forEach|getUrl|getQuery|getCaseSensitiveMethod|tryEnd|close)$/.test(name) ? 'uWS (native)' : 'V8/Node natives';
}

function areaOf(file: string): string {
  if (file.startsWith('src/')) return file.split('/').slice(0, 2).join('/');
  if (file.startsWith('node:')) return 'node internals';
  if (file.startsWith('undici/')) return 'undici';
  if (file.startsWith('uWebSockets.js/')) return 'uWS (js)';
  if (file.startsWith('@marcbachmann/cel-js/')) return 'cel-js';
  if (file.startsWith('hdr-histogram-js/')) return 'hdr-histogram-js';
  const pkg = /^(@[^/]+\/[^/]+|[^/]+)\//.exec(file);
  return pkg ? pkg[1]! : file;
}

interface Row {
  key: string;
  file: string;
  selfUs: number;
  totalUs: number;
}

interface Summary {
  /** Sampled CPU inside the window (idle excluded), µs. */
  busyUs: number;
  windowUs: number;
  samples: number;
  requests: number;
  functions: Row[];
  files: Array<{ file: string; selfUs: number }>;
  areas: Array<{ area: string; selfUs: number }>;
  /**
   * Each sample charged to the innermost frame of our own code (src/, or bench/ for the floor), so a
   * file carries the library and native work it calls directly: "what this file costs". Samples with
   * no such frame (the event loop, undici reading a socket) are charged to their leaf's area.
   */
  owners: Array<{ owner: string; us: number }>;
  ownerFunctions: Array<{ owner: string; us: number }>;
  folded: Map<string, number>;
}

function summarise(p: CpuProfile, window: { startUs: number; endUs: number } | null, requests: number): Summary {
  const loc = new Locator();
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const frames = new Map<number, Frame>();
  const frameOf = (id: number): Frame => {
    let f = frames.get(id);
    if (f === undefined) {
      f = loc.frame(byId.get(id)!.callFrame);
      frames.set(id, f);
    }
    return f;
  };
  // Stacks per leaf node, computed once: leaf → frames root-first (without "(root)").
  const stacks = new Map<number, Frame[]>();
  const stackOf = (leaf: number): Frame[] => {
    let s = stacks.get(leaf);
    if (s === undefined) {
      s = [];
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
        const f = frameOf(id);
        if (f.name !== '(root)') s.push(f);
      }
      s.reverse();
      stacks.set(leaf, s);
    }
    return s;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const fileOf = new Map<string, string>();
  const files = new Map<string, number>();
  const areas = new Map<string, number>();
  const folded = new Map<string, number>();
  const owners = new Map<string, number>();
  const ownerFns = new Map<string, number>();
  let busy = 0;
  let n = 0;
  let t = p.startTime;
  const deltas = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) {
    t += deltas[i]!;
    if (window !== null && (t < window.startUs || t > window.endUs)) continue;
    // A sample stands for the time until the next one (the last: one interval).
    const w = Math.min(deltas[i + 1] ?? INTERVAL_US, INTERVAL_US * 20);
    const stack = stackOf(p.samples[i]!);
    const leaf = stack[stack.length - 1];
    if (leaf === undefined || leaf.name === '(idle)') continue;
    n++;
    busy += w;
    self.set(leaf.key, (self.get(leaf.key) ?? 0) + w);
    fileOf.set(leaf.key, leaf.file);
    files.set(leaf.file, (files.get(leaf.file) ?? 0) + w);
    areas.set(leaf.area, (areas.get(leaf.area) ?? 0) + w);
    let owner: Frame | null = null;
    for (let k = stack.length - 1; k >= 0 && owner === null; k--) if (stack[k]!.file.startsWith('src/') || stack[k]!.file.startsWith('bench/')) owner = stack[k]!;
    const ownerName = owner === null ? `(no src frame) ${leaf.area}` : owner.file;
    owners.set(ownerName, (owners.get(ownerName) ?? 0) + w);
    if (owner !== null) ownerFns.set(owner.key, (ownerFns.get(owner.key) ?? 0) + w);
    const seen = new Set<string>();
    for (const f of stack) {
      if (seen.has(f.key)) continue;
      seen.add(f.key);
      total.set(f.key, (total.get(f.key) ?? 0) + w);
      fileOf.set(f.key, f.file);
    }
    const line = stack.map((f) => f.key.replace(/[; ]/g, (c) => (c === ';' ? ',' : ' '))).join(';');
    folded.set(line, (folded.get(line) ?? 0) + w);
  }
  const functions = [...total.keys()].map((key) => ({ key, file: fileOf.get(key)!, selfUs: self.get(key) ?? 0, totalUs: total.get(key)! }));
  return {
    busyUs: busy,
    windowUs: window === null ? p.endTime - p.startTime : window.endUs - window.startUs,
    samples: n,
    requests,
    functions,
    files: [...files].map(([file, selfUs]) => ({ file, selfUs })).sort((a, b) => b.selfUs - a.selfUs),
    areas: [...areas].map(([area, selfUs]) => ({ area, selfUs })).sort((a, b) => b.selfUs - a.selfUs),
    owners: [...owners].map(([owner, us]) => ({ owner, us })).sort((a, b) => b.us - a.us),
    ownerFunctions: [...ownerFns].map(([owner, us]) => ({ owner, us })).sort((a, b) => b.us - a.us),
    folded,
  };
}

/** The profile with bundle positions replaced by source positions (url, 0-based line and column). */
function mappedProfile(p: CpuProfile): CpuProfile {
  const loc = new Locator();
  return {
    ...p,
    nodes: p.nodes.map((n) => {
      const cf = n.callFrame;
      if (!cf.url.startsWith(`file://${ROOT}/dist/`)) return n;
      const f = loc.frame(cf);
      return f.file.startsWith('src/') ? { ...n, callFrame: { ...cf, url: `file://${ROOT}/${f.file}`, lineNumber: f.line - 1, columnNumber: 0 } } : n;
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Allocation sampling (--heap): V8's sampling heap profiler over the inspector protocol, counting the
// objects that the young and old generation collections already freed too, so the figures are what
// each site allocates (what GC then has to clear), not what stays alive.

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

class Cdp {
  private next = 1;
  private readonly waiting = new Map<number, { ok: (r: unknown) => void; fail: (e: Error) => void }>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.fail(new Error(m.error.message));
      else w?.ok(m.result);
    });
  }

  static async connect(port: number): Promise<Cdp> {
    const list = (await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json())) as Array<{ webSocketDebuggerUrl: string }>;
    const { WebSocket: UndiciWebSocket } = await import('undici');
    const ws = new UndiciWebSocket(list[0]!.webSocketDebuggerUrl) as unknown as WebSocket;
    await new Promise((ok, fail) => {
      ws.addEventListener('open', ok);
      ws.addEventListener('error', fail);
    });
    return new Cdp(ws);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((ok, fail) => this.waiting.set(id, { ok: ok as (r: unknown) => void, fail }));
  }

  close(): void {
    this.ws.close();
  }
}

interface HeapSummary {
  bytesPerReq: number;
  sites: Array<{ key: string; bytes: number }>;
  owners: Array<{ owner: string; bytes: number }>;
  requests: number;
}

function summariseHeap(head: HeapNode, requests: number): HeapSummary {
  const loc = new Locator();
  const sites = new Map<string, number>();
  const owners = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, stack: Frame[]): void => {
    const f = loc.frame(n.callFrame);
    const here = f.name === '(root)' ? stack : [...stack, f];
    if (n.selfSize > 0 && here.length > 0) {
      total += n.selfSize;
      const leaf = here[here.length - 1]!;
      sites.set(leaf.key, (sites.get(leaf.key) ?? 0) + n.selfSize);
      let owner: Frame | null = null;
      for (let k = here.length - 1; k >= 0 && owner === null; k--) if (here[k]!.file.startsWith('src/')) owner = here[k]!;
      const name = owner === null ? `(no src frame) ${leaf.area}` : owner.key;
      owners.set(name, (owners.get(name) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  return {
    bytesPerReq: total / requests,
    sites: [...sites].map(([key, bytes]) => ({ key, bytes })).sort((a, b) => b.bytes - a.bytes),
    owners: [...owners].map(([owner, bytes]) => ({ owner, bytes })).sort((a, b) => b.bytes - a.bytes),
    requests,
  };
}

// ---------------------------------------------------------------------------------------------
// Flame graph: a plain SVG (no scripts), widths by sampled time, root at the bottom.

interface FlameNode {
  name: string;
  value: number;
  children: Map<string, FlameNode>;
}

function flameSvg(folded: Map<string, number>, title: string): string {
  const root: FlameNode = { name: 'all', value: 0, children: new Map() };
  let depthMax = 0;
  for (const [stack, v] of folded) {
    root.value += v;
    let node = root;
    const parts = stack.split(';');
    depthMax = Math.max(depthMax, parts.length);
    for (const part of parts) {
      let c = node.children.get(part);
      if (c === undefined) {
        c = { name: part, value: 0, children: new Map() };
        node.children.set(part, c);
      }
      c.value += v;
      node = c;
    }
  }
  const W = 1600;
  const H = 16;
  const top = 40;
  const height = top + (depthMax + 1) * H + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="monospace" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14">${esc(title)}</text>`,
  ];
  const esc2 = esc;
  const draw = (node: FlameNode, x: number, depth: number): void => {
    const w = (node.value / root.value) * (W - 20);
    if (w < 0.3) return;
    const y = height - 10 - (depth + 1) * H;
    const hue = node.name.includes(' src/') ? 30 : node.name.includes('undici/') ? 200 : node.name.startsWith('(') ? 0 : 100;
    const light = 55 + ((hash(node.name) % 20) | 0);
    const pct = ((node.value / root.value) * 100).toFixed(2);
    out.push(`<g><title>${esc2(node.name)} — ${pct}%</title><rect x="${(10 + x).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${H - 1}" fill="hsl(${hue},70%,${light}%)"/>`);
    if (w > 40) out.push(`<text x="${(12 + x).toFixed(1)}" y="${y + 11}">${esc2(node.name.slice(0, Math.floor(w / 6.6)))}</text>`);
    out.push('</g>');
    let cx = x;
    for (const c of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      draw(c, cx, depth + 1);
      cx += (c.value / root.value) * (W - 20);
    }
  };
  draw(root, 0, 0);
  out.push('</svg>');
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Report

interface SavedSummary {
  label: string;
  date: string;
  cpu: { microgate: number[]; floor: number[] };
  gatewayTime: Array<{ p50: number; p99: number }>;
  top: Array<{ key: string; selfUsPerReq: number; selfPct: number }>;
  areas: Array<{ area: string; selfUsPerReq: number; selfPct: number }>;
  owners?: Array<{ owner: string; usPerReq: number }> | undefined;
  bytesPerReq?: number | undefined;
}

function table(rows: string[][]): string {
  return rows.map((r, i) => `| ${r.join(' | ')} |${i === 0 ? `\n|${r.map(() => '---').join('|')}|` : ''}`).join('\n');
}

const us = (x: number, reqs: number): string => (x / reqs).toFixed(2);
const pct = (x: number, busy: number): string => `${((x / busy) * 100).toFixed(1)}%`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function commit(): string {
  // Read from .git directly (this script runs no git command).
  try {
    const head = readFileSync(join(ROOT, '.git/HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 7);
    const ref = head.slice(5);
    const loose = join(ROOT, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim().slice(0, 7);
    const packed = readFileSync(join(ROOT, '.git/packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return packed?.slice(0, 7) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

interface Profiled {
  main: Summary | null;
  worker: Summary | null;
  floor: Summary | null;
  heap: HeapSummary | null;
  perf: { microgate: PerfSummary; floor: PerfSummary | null } | null;
}

function report(runs: RunFigures[], p: Profiled, files: string[], compare: SavedSummary | null): { md: string; saved: SavedSummary } {
  const { main, worker, floor, heap } = p;
  const mg = runs.filter((r) => r.target === 'microgate' && !r.profiled);
  const fl = runs.filter((r) => r.target === 'floor' && !r.profiled);
  const lines: string[] = [];
  lines.push(`# CPU profile of the ${flags.bare ? 'bare path (no rules, classifier or request log)' : 'full-feature path'}: ${LABEL} (${DATE})`, '');
  lines.push(
    `Produced by \`node --import tsx bench/profile.ts --label ${LABEL}${flags.bare ? ' --bare' : ''}\` (bench/profile.ts). Commit ${commit()} plus the working tree (shared with other engineers; their edits in flight are in it too); Node ${process.version}, ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB.`,
    `Load: the open-loop pacer (loadtest/pacer.ts) at ${RATE} req/s for ${DURATION / 1000} s after a ${WARMUP / 1000} s warm-up, chat requests of 1–4 KB (bench/lib/bodies.ts) for model \`bench\`,`,
    flags.bare
      ? 'non-streaming; config bench/microgate.bench.yaml without its rules (so no classifier) and without the request log (--bare: the telemetry worker still keeps the metrics), on its own ports; no CPU pinning.'
      : 'non-streaming; config bench/microgate.bench.yaml (six rules, one reading `complexity_tier` on every request, telemetry worker with metrics and the request log) on its own ports; no CPU pinning.',
    'The machine is shared: "machine CPU" is everything running during the window, in % of one core (200 = both cores busy); above ~110 other work was competing, which inflates CPU per request (the two vCPUs share caches and a core\'s execution units).',
    '',
  );
  lines.push('## CPU per request at the fixed rate (no profiler)', '');
  lines.push('Process CPU (user + system, all threads, from /proc) over the measured window ÷ requests answered in it. Rounds alternate A B / B A. Threads: Node 20 leaves them unnamed, so the main thread, the busiest other one (the telemetry worker for microgate) and the rest (V8\'s platform threads: concurrent marking, sweeping, compilation; libuv\'s pool).', '');
  const threadNames = ['main', 'busiest other', 'rest'];
  const plain = runs.filter((r) => !r.profiled);
  lines.push(
    table([
      ['round', 'target', 'CPU µs/req', ...threadNames.map((n) => `thread: ${n}`), 'CPU %', 'req/s', 'p50 / p99 (pacer) µs', 'in-gateway p50 / p99 µs', 'machine CPU %'],
      ...plain.map((r, i) => [
        String(Math.floor(i / (fl.length > 0 ? 2 : 1)) + 1),
        r.target,
        r.cpuUsPerReq.toFixed(1),
        ...threadNames.map((n) => (r.threadsUsPerReq[n] ?? 0).toFixed(1)),
        String(r.cpuPct),
        String(r.achievedRps),
        `${r.latencyUs.p50} / ${r.latencyUs.p99}`,
        r.gatewayTimeUs === null ? '–' : `${r.gatewayTimeUs.p50} / ${r.gatewayTimeUs.p99}`,
        String(r.machineCpuPct),
      ]),
    ]),
    '',
  );
  const mgCpu = mg.map((r) => r.cpuUsPerReq);
  const flCpu = fl.map((r) => r.cpuUsPerReq);
  if (mgCpu.length > 0) {
    lines.push(
      `microgate: median ${median(mgCpu).toFixed(1)} µs/req (range ${Math.min(...mgCpu).toFixed(1)}–${Math.max(...mgCpu).toFixed(1)})` +
        (flCpu.length > 0 ? `; floor: median ${median(flCpu).toFixed(1)} (range ${Math.min(...flCpu).toFixed(1)}–${Math.max(...flCpu).toFixed(1)}); ratio of medians ${(median(mgCpu) / median(flCpu)).toFixed(2)}×.` : '.'),
      `In-gateway time: p50 ${mg.map((r) => r.gatewayTimeUs?.p50).join(', ')} µs; p99 ${mg.map((r) => r.gatewayTimeUs?.p99).join(', ')} µs.`,
      '',
    );
  }
  const top: SavedSummary['top'] = [];
  const areasSaved: SavedSummary['areas'] = [];
  if (main !== null) {
    const R = main.requests;
    const prof = runs.find((r) => r.profiled && r.target === 'microgate');
    lines.push('## Profile of the main thread (inside the measured window)', '');
    lines.push(
      `\`node --cpu-prof --cpu-prof-interval ${INTERVAL_US}\`; ${main.samples} busy samples over ${(main.windowUs / 1e6).toFixed(1)} s, ${R} requests; sampled busy time ${(main.busyUs / R).toFixed(1)} µs/req` +
        (prof ? ` (that run's process CPU: ${prof.cpuUsPerReq.toFixed(1)} µs/req, main thread ${prof.threadsUsPerReq.main?.toFixed(1) ?? '?'}, machine ${prof.machineCpuPct}%).` : '.'),
      'The sampler runs on wall time, so a thread waiting for a core still collects samples, and the profiler adds its own cost: the µs/req here are shares of sampled time ÷ requests, to compare with each other, not with the CPU figures above. `(program)` is native work with no JS frame (the uWS event loop, syscalls); `(garbage collector)` is GC on this thread. Native functions without a script (`writev`, `indexOfBuffer`, …) are Node\'s C++ bindings; the uWS methods (`cork`, `end`, `writeHeader`, …) get no frame of their own, so their work (the socket send included) is in the self time of the JS function that calls them.',
      '',
    );
    const bySelf = [...main.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, 30);
    lines.push('### Top 30 by self time', '');
    lines.push(table([['#', 'function (source)', 'self µs/req', 'self %', 'total µs/req', 'total %'], ...bySelf.map((r, i) => [String(i + 1), `\`${r.key}\``, us(r.selfUs, R), pct(r.selfUs, main.busyUs), us(r.totalUs, R), pct(r.totalUs, main.busyUs)])]), '');
    for (const r of bySelf) top.push({ key: r.key, selfUsPerReq: r.selfUs / R, selfPct: (r.selfUs / main.busyUs) * 100 });
    const byTotal = [...main.functions].sort((a, b) => b.totalUs - a.totalUs).slice(0, 30);
    lines.push('### Top 30 by total time (self + callees)', '');
    lines.push(table([['#', 'function (source)', 'total µs/req', 'total %', 'self µs/req'], ...byTotal.map((r, i) => [String(i + 1), `\`${r.key}\``, us(r.totalUs, R), pct(r.totalUs, main.busyUs), us(r.selfUs, R)])]), '');
    lines.push('### What each of our files costs, library calls included', '');
    lines.push('Each sample is charged to the innermost frame of our own code on its stack (so `JSON.parse` counts for the file that calls it, undici\'s `dispatch` for upstream/forward.ts); samples with no frame of ours (the event loop, undici reading the provider\'s answer before calling us back) are charged to their leaf\'s area.' + (floor !== null ? ' The floor (bench/peers/floor.ts) profiled the same way, for what any uWS + undici proxy pays.' : ''), '');
    const F = floor?.requests ?? 1;
    lines.push(table([['owner', 'microgate µs/req', 'share'], ...main.owners.slice(0, 30).map((o) => [`\`${o.owner}\``, us(o.us, R), pct(o.us, main.busyUs)])]), '');
    lines.push('By function (the innermost function of ours on the stack, top 25):', '');
    lines.push(table([['function', 'µs/req', 'share'], ...main.ownerFunctions.slice(0, 25).map((o) => [`\`${o.owner}\``, us(o.us, R), pct(o.us, main.busyUs)])]), '');
    lines.push('### Self time by area' + (floor !== null ? ', next to the floor' : ''), '');
    const floorArea = new Map(floor?.areas.map((a) => [a.area, a.selfUs]) ?? []);
    const areaNames = [...new Set([...main.areas.map((a) => a.area), ...(floor?.areas.map((a) => a.area) ?? [])])];
    const mainArea = new Map(main.areas.map((a) => [a.area, a.selfUs]));
    lines.push(
      table([
        ['area', 'microgate self µs/req', 'share', ...(floor !== null ? ['floor self µs/req', 'share'] : [])],
        ...areaNames.map((a) => [a, us(mainArea.get(a) ?? 0, R), pct(mainArea.get(a) ?? 0, main.busyUs), ...(floor !== null ? [us(floorArea.get(a) ?? 0, F), pct(floorArea.get(a) ?? 0, floor.busyUs)] : [])]),
        ['**sampled busy**', us(main.busyUs, R), '', ...(floor !== null ? [us(floor.busyUs, F), ''] : [])],
      ]),
      '',
    );
    for (const a of main.areas) areasSaved.push({ area: a.area, selfUsPerReq: a.selfUs / R, selfPct: (a.selfUs / main.busyUs) * 100 });
    if (floor !== null) {
      const fTop = [...floor.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, 15);
      lines.push('The floor\'s top 15 by self time:', '');
      lines.push(table([['function (source)', 'self µs/req', 'self %'], ...fTop.map((r) => [`\`${r.key}\``, us(r.selfUs, F), pct(r.selfUs, floor.busyUs)])]), '');
    }
    lines.push('### Self time by file (top 40)', '');
    lines.push(table([['file', 'self µs/req', 'self %'], ...main.files.slice(0, 40).map((f) => [`\`${f.file}\``, us(f.selfUs, R), pct(f.selfUs, main.busyUs)])]), '');
    if (worker !== null && worker.samples > 0) {
      const wTop = [...worker.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, 12);
      lines.push('## Telemetry worker thread (same window)', '');
      lines.push(`${worker.samples} busy samples, ${(worker.busyUs / R).toFixed(1)} µs/req sampled.`, '');
      lines.push(table([['function (source)', 'self µs/req', 'self %'], ...wTop.map((r) => [`\`${r.key}\``, us(r.selfUs, R), pct(r.selfUs, worker.busyUs)])]), '');
    }
  }
  if (heap !== null) {
    lines.push('## Allocations per request (sampling heap profiler, collected objects included)', '');
    lines.push(
      `${(heap.bytesPerReq / 1024).toFixed(1)} KiB allocated on the JS heap per request (V8's estimate from samples every ${HEAP_INTERVAL} bytes, over ${heap.requests} requests). ArrayBuffer contents (Buffer bytes) live outside the heap and are not counted; their JS objects are. Each allocation is charged to its site and to the innermost function of ours on the stack.`,
      '',
    );
    lines.push(table([['allocation site', 'bytes/req', 'share'], ...heap.sites.slice(0, 20).map((x) => [`\`${x.key}\``, (x.bytes / heap.requests).toFixed(0), pct(x.bytes, heap.bytesPerReq * heap.requests)])]), '');
    lines.push(table([['innermost function of ours', 'bytes/req', 'share'], ...heap.owners.slice(0, 25).map((x) => [`\`${x.owner}\``, (x.bytes / heap.requests).toFixed(0), pct(x.bytes, heap.bytesPerReq * heap.requests)])]), '');
  }
  if (compare !== null) {
    lines.push(`## Compared with ${compare.label} (${compare.date})`, '');
    lines.push(`CPU per request, median: ${compare.label} ${median(compare.cpu.microgate).toFixed(1)} µs (floor ${median(compare.cpu.floor).toFixed(1)}, ratio ${(median(compare.cpu.microgate) / median(compare.cpu.floor)).toFixed(2)}×) → ${LABEL} ${median(mgCpu).toFixed(1)} µs (floor ${median(flCpu).toFixed(1)}, ratio ${(median(mgCpu) / median(flCpu)).toFixed(2)}×). Runs on different machine conditions: compare the ratios to the floor of each run first.`, '');
    if (compare.bytesPerReq !== undefined && heap !== null) lines.push(`Heap allocation per request: ${(compare.bytesPerReq / 1024).toFixed(1)} KiB → ${(heap.bytesPerReq / 1024).toFixed(1)} KiB.`, '');
    const rows: string[][] = [['#', `${compare.label}: function`, 'self µs/req', 'self %', `${LABEL}: function`, 'self µs/req', 'self %']];
    for (let i = 0; i < 10; i++) {
      const a = compare.top[i];
      const b = top[i];
      rows.push([String(i + 1), a ? `\`${a.key}\`` : '', a ? a.selfUsPerReq.toFixed(2) : '', a ? `${a.selfPct.toFixed(1)}%` : '', b ? `\`${b.key}\`` : '', b ? b.selfUsPerReq.toFixed(2) : '', b ? `${b.selfPct.toFixed(1)}%` : '']);
    }
    lines.push(table(rows), '');
    if (compare.owners !== undefined && main !== null) {
      const now = new Map(main.owners.map((o) => [o.owner, o.us / main.requests]));
      lines.push(`What each of our files costs (library calls included), ${compare.label} → ${LABEL}, sampled µs/req:`, '');
      lines.push(table([['owner', compare.label, LABEL], ...compare.owners.slice(0, 15).map((o) => [`\`${o.owner}\``, o.usPerReq.toFixed(2), (now.get(o.owner) ?? 0).toFixed(2)])]), '');
    }
  }
  if (p.perf !== null) {
    const { microgate: m, floor: f } = p.perf;
    lines.push('## CPU by where it is spent (perf)', '');
    lines.push(
      `\`perf record -F 1999 -g\` of every thread, ${(m.requests / RATE).toFixed(0)} s inside the measured window, JS named through \`${PERF_NODE_FLAGS.join(' ')}\` (bench/lib/perf.ts). CPU time only, kernel included, so unlike the V8 profile above a thread waiting for a core or blocked in the kernel collects nothing, and a syscall's cost is the kernel's, not its JS caller's. µs per request (self time; perf's own cost inflates every figure a little, alike for both targets).`,
      '',
    );
    const fa = new Map((f?.areas ?? []).map((a) => [a.area, a.us]));
    const names = [...new Set([...m.areas.map((a) => a.area), ...(f?.areas ?? []).map((a) => a.area)])];
    const ma = new Map(m.areas.map((a) => [a.area, a.us]));
    const rows = names
      .map((n) => [n, ma.get(n) ?? 0, fa.get(n) ?? 0] as const)
      .filter(([, a, b]) => a >= 0.2 || b >= 0.2)
      .sort((x, y) => y[1] - x[1]);
    // A row: microgate's figure, the floor's (a dash when the floor was not profiled) and, when asked, the difference.
    const row = (name: string, mine: number, floor: number | undefined, diff = true): string[] => [
      name,
      mine.toFixed(1),
      f === null || floor === undefined ? '–' : floor.toFixed(1),
      !diff ? '' : f === null || floor === undefined ? '–' : (mine - floor).toFixed(1),
    ];
    lines.push(
      table([
        ['where', 'microgate µs/req', 'floor µs/req', 'difference'],
        ...rows.map(([n, a, b]) => row(n, a, b)),
        row('**all threads**', m.totalUs, f?.totalUs),
        row('request thread', m.mainUs, f?.mainUs),
        row('send() to the client, inclusive', m.sendUs, f?.sendUs, false),
        row('writev() to the provider, inclusive', m.writevUs, f?.writevUs, false),
      ]),
      '',
    );
    lines.push(
      'microgate\'s request thread by owner: each sample charged to the innermost src/ function on its stack, with everything below it (V8\'s runtime, builtins, libraries, the kernel): what each of our functions costs, all it calls included.',
      '',
    );
    lines.push(table([['owner', 'µs/req'], ...m.owners.map((o) => [`\`${o.owner}\``, o.us.toFixed(2)])]), '');
    lines.push('microgate, top 25 symbols by self time (all threads):', '');
    lines.push(table([['symbol', 'where', 'µs/req'], ...m.top.map((t) => [`\`${t.name.replace(/\|/g, '\\|').slice(0, 90)}\``, t.area, t.selfUs.toFixed(2)])]), '');
  }
  lines.push('## Files', '');
  for (const f of files) lines.push(`- \`${relative(ROOT, f)}\``);
  if (main !== null) lines.push('', 'Folded stacks: one line per distinct stack, frames root first, then the sampled µs (flamegraph.pl, speedscope or inferno read it). The .cpuprofile (main thread, whole run) opens in Chrome DevTools or speedscope; its bundle positions are rewritten to src/ ones.', '');
  return {
    md: lines.join('\n'),
    saved: {
      label: LABEL,
      date: DATE,
      cpu: { microgate: mgCpu, floor: flCpu },
      gatewayTime: mg.map((r) => ({ p50: r.gatewayTimeUs?.p50 ?? 0, p99: r.gatewayTimeUs?.p99 ?? 0 })),
      top,
      areas: areasSaved,
      owners: main?.owners.map((o) => ({ owner: o.owner, usPerReq: o.us / main.requests })),
      bytesPerReq: heap?.bytesPerReq,
    },
  };
}

// ---------------------------------------------------------------------------------------------

function readProfile(path: string): CpuProfile {
  const raw = readFileSync(path);
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as CpuProfile;
}

const HEAP_INTERVAL = 4096;

async function main(): Promise<void> {
  if (flags.summarise !== undefined) {
    const s = summarise(readProfile(flags.summarise), null, Number(flags.requests ?? 1));
    for (const r of [...s.functions].sort((a, b) => b.selfUs - a.selfUs).slice(0, 30)) process.stdout.write(`${us(r.selfUs, s.requests).padStart(8)} ${pct(r.selfUs, s.busyUs).padStart(6)}  ${r.key}\n`);
    return;
  }
  const log = (m: string) => process.stdout.write(`[profile] ${m}\n`);
  const DIST = join(ROOT, 'dist/profile');
  const GW = join(DIST, 'gw');
  log(`building: npm run build's bundles, into ${relative(ROOT, GW)} with an external source map`);
  // The bundle `npm start` runs (dist/main.js), built with the build script's own options
  // (bench/lib/gateway-build.ts) into a directory of this run's own: dist/ is shared, and a build by
  // someone else halfway through a run swapped the code under the profiled process once (its
  // positions then mapped to the wrong files). An external source map leaves the code as it is.
  rmSync(GW, { recursive: true, force: true });
  await buildGateway(ROOT, GW, { sourcemap: 'external' });
  await buildTools(ROOT, DIST, { floor: 'bench/peers/floor.ts', fleet: 'mock-providers/fleet.ts', pacer: 'loadtest/pacer.ts' }, { sourcemap: 'external' });
  const bundle = (name: string) => join(DIST, `${name}.js`);
  const tmp = mkdtempSync(join(tmpdir(), 'microgate-profile-'));
  // The bench config and fleet on this script's own ports.
  const fleet = JSON.parse(readFileSync(join(ROOT, 'bench/fleet.json'), 'utf8')) as { mocks: Array<{ port: number }> };
  fleet.mocks.forEach((m, i) => (m.port = PORTS.mocks[i]!));
  writeFileSync(join(tmp, 'fleet.json'), JSON.stringify(fleet));
  const config = readFileSync(join(ROOT, 'bench/microgate.bench.yaml'), 'utf8')
    .replace(/127\.0\.0\.1:910(\d)/g, (_, d: string) => `127.0.0.1:920${d}`)
    .replace('port: 8090', `port: ${PORTS.microgate}`)
    .replace('./logs/bench', './logs/profile');
  // --bare: the same providers and models without the rules (so without the classifier, which only a
  // rule reading complexity_tier runs) and without the request log: what the features cost, by difference.
  const configBare = flags.bare ? config.replace(/^rules:\n(?:  .*\n)+/m, '').replace(/^telemetry:\n(?:  .*\n)+/m, 'telemetry:\n  log: { enabled: false }\n') : config;
  // One request thread (server.workers, where the config knows it): the profile's main thread is then
  // the one serving, as in the floor, and CPU per request compares like with like.
  const configText = /^\s+workers:/m.test(configBare) || !WORKERS_KNOWN ? configBare : configBare.replace(/^server: \{ /m, `server: { workers: ${WORKERS}, `);
  writeFileSync(join(tmp, 'microgate.yaml'), configText);
  // As `npm start` runs it (package.json: the main thread's semi-spaces, src/threads/supervisor.ts).
  const env = { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=32`.trim() };
  const bodies = chatBodies('bench', 64, false);
  const mgArgs = [join(GW, 'main.js'), '--config', join(tmp, 'microgate.yaml')];
  const floorArgs = (script: string) => [script, String(PORTS.floor), `http://127.0.0.1:${PORTS.mocks[0]}`];

  const procs: Proc[] = [];
  const started = async (name: string, argv: string[], ready: RegExp, e: NodeJS.ProcessEnv = process.env): Promise<Proc> => {
    const p = await startNode(name, argv[0]!, argv.slice(1), null, ready, e);
    procs.push(p);
    return p;
  };
  const stopped = async (p: Proc): Promise<void> => {
    await stop(p);
    procs.splice(procs.indexOf(p), 1);
  };
  const markServer = await startMarkServer();
  const runs: RunFigures[] = [];
  const profiled: Profiled = { main: null, worker: null, floor: null, heap: null, perf: null };
  try {
    await started('mocks', [bundle('fleet'), '--config', join(tmp, 'fleet.json')], /mocks ready/);
    const mg = await started('microgate', mgArgs, /listening on/, env);
    const floor = flags['no-floor'] ? null : await started('floor', floorArgs(bundle('floor')), /listening/);
    for (let round = 0; round < ROUNDS; round++) {
      const order: Array<['microgate' | 'floor', Proc]> = floor === null ? [['microgate', mg]] : round % 2 === 0 ? [['microgate', mg], ['floor', floor]] : [['floor', floor], ['microgate', mg]];
      for (const [name, p] of order) {
        const r = await measureRun(name, p.child.pid!, bundle('pacer'), bodies, false);
        runs.push(r);
        log(`round ${round + 1} ${name.padEnd(9)} ${r.cpuUsPerReq.toFixed(1)} µs/req CPU (${Object.entries(r.threadsUsPerReq).map(([k, v]) => `${k} ${v}`).join(', ')}), ${r.achievedRps} req/s, errors ${r.errors}, p50/p99 ${r.latencyUs.p50}/${r.latencyUs.p99} µs, in-gateway ${r.gatewayTimeUs ? `${r.gatewayTimeUs.p50}/${r.gatewayTimeUs.p99}` : '–'} µs, machine ${r.machineCpuPct}%`);
      }
    }
    await stopped(mg);
    if (floor !== null) await stopped(floor);

    const written: string[] = [];
    mkdirSync(OUT, { recursive: true });
    const base = join(OUT, `${DATE}-${LABEL}`);
    /** One run under --cpu-prof; the main thread's and the first other thread's profiles, window only. */
    const cpuProfile = async (target: 'microgate' | 'floor'): Promise<{ main: Summary; worker: Summary | null; raw: CpuProfile }> => {
      const dir = join(tmp, `prof-${target}`);
      mkdirSync(dir);
      // The profile is written at a normal exit only: the floor has no SIGTERM handler (the default
      // action kills it), so a preloaded one-liner makes SIGTERM an exit for any target.
      const exitOnTerm = join(tmp, 'exit-on-term.mjs');
      writeFileSync(exitOnTerm, "process.once('SIGTERM', () => process.exit(0));\n");
      const flagsCpu = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(INTERVAL_US), ...(target === 'floor' ? ['--import', `file://${exitOnTerm}`] : [])];
      const p = target === 'microgate' ? await started('microgate-prof', [...flagsCpu, ...mgArgs], /listening on/, env) : await started('floor-prof', [...flagsCpu, ...floorArgs(bundle('floor'))], /listening/);
      const r = await measureRun(target, p.child.pid!, bundle('pacer'), bodies, true);
      runs.push(r);
      log(`profiled ${target}: ${r.cpuUsPerReq.toFixed(1)} µs/req CPU, ${r.achievedRps} req/s, machine ${r.machineCpuPct}%`);
      await stopped(p);
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
      const mainFile = files.find((f) => f.split('.')[4] === '0');
      if (mainFile === undefined) throw new Error(`no main-thread profile in ${dir}: ${files.join(', ')}`);
      const raw = readProfile(join(dir, mainFile));
      // V8 stamps samples with CLOCK_MONOTONIC µs; the window's marks were taken with the same clock.
      const inside = raw.startTime < r.window.startUs && raw.endTime > r.window.endUs;
      if (!inside) log(`warning: the measured window is not inside the ${target} profile; summarising all of it`);
      const workerFile = files.find((f) => f !== mainFile);
      return {
        main: summarise(raw, inside ? r.window : null, r.requests),
        worker: workerFile === undefined ? null : summarise(readProfile(join(dir, workerFile)), inside ? r.window : null, r.requests),
        raw,
      };
    };
    if (!flags['no-profile']) {
      log(`profiling: node --cpu-prof --cpu-prof-interval ${INTERVAL_US}`);
      const m = await cpuProfile('microgate');
      profiled.main = m.main;
      profiled.worker = m.worker;
      if (!flags['no-floor']) profiled.floor = (await cpuProfile('floor')).main;
      // Saved with its positions mapped to src/ (the bundle it ran is rebuilt by the next run).
      writeFileSync(`${base}.main.cpuprofile.gz`, gzipSync(JSON.stringify(mappedProfile(m.raw))));
      written.push(`${base}.main.cpuprofile.gz`);
      const folded = [...m.main.folded].sort((a, b) => b[1] - a[1]).map(([st, v]) => `${st} ${Math.round(v)}`);
      writeFileSync(`${base}.folded`, `${folded.join('\n')}\n`);
      written.push(`${base}.folded`);
      writeFileSync(`${base}.svg`, flameSvg(m.main.folded, `microgate main thread, ${LABEL}, ${DATE}: ${RATE} req/s, measured window only (${m.main.samples} samples)`));
      written.push(`${base}.svg`);
    }
    if (flags.perf) {
      if (!perfAvailable()) throw new Error('--perf: `perf record` is not available here (install linux-perf; run as root or lower kernel.perf_event_paranoid)');
      const seconds = Math.max(1, Math.floor(DURATION / 1000) - 1);
      const loc = new Locator();
      const frameAt = (file: string, line: number, column: number) => loc.frame({ functionName: 'f', url: file, lineNumber: line - 1, columnNumber: Math.max(0, column - 1) });
      const locate = (file: string, line: number, column: number): string => frameAt(file, line, column).area;
      /** One run under perf record, started at the window's mark and lasting `seconds` of it. */
      const perfRun = async (target: 'microgate' | 'floor'): Promise<PerfSummary> => {
        const data = join(tmp, `perf-${target}.data`);
        const p = target === 'microgate' ? await started('microgate-perf', [...PERF_NODE_FLAGS, ...mgArgs], /listening on/, env) : await started('floor-perf', [...PERF_NODE_FLAGS, ...floorArgs(bundle('floor'))], /listening/);
        let recording: Promise<void> | null = null;
        const r = await measureRun(target, p.child.pid!, bundle('pacer'), bodies, true, async () => {
          recording = recordPerf(p.child.pid!, seconds, data);
        });
        runs.push(r);
        await recording;
        await stopped(p);
        const sum = summarisePerf(data, r.achievedRps * seconds, locate, frameAt);
        log(`perf ${target}: ${sum.totalUs.toFixed(1)} µs/req CPU sampled (main thread ${sum.mainUs.toFixed(1)}), send ${sum.sendUs.toFixed(1)}, writev ${sum.writevUs.toFixed(1)}`);
        return sum;
      };
      profiled.perf = { microgate: await perfRun('microgate'), floor: flags['no-floor'] ? null : await perfRun('floor') };
    }
    if (!flags['no-heap']) {
      log('allocation sampling: --inspect, HeapProfiler.startSampling over the measured window');
      const p = await started('microgate-heap', [`--inspect=127.0.0.1:${PORTS.inspector}`, ...mgArgs], /listening on/, env);
      const cdp = await Cdp.connect(PORTS.inspector);
      await cdp.send('HeapProfiler.enable');
      const r = await measureRun('microgate', p.child.pid!, bundle('pacer'), bodies, true, async () => {
        await cdp.send('HeapProfiler.startSampling', { samplingInterval: HEAP_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      });
      const { profile } = await cdp.send<{ profile: { head: HeapNode } }>('HeapProfiler.stopSampling');
      cdp.close();
      await stopped(p);
      profiled.heap = summariseHeap(profile.head, r.requests);
      log(`allocations: ${(profiled.heap.bytesPerReq / 1024).toFixed(1)} KiB/req`);
    }
    const compare = flags.compare === undefined ? null : (JSON.parse(readFileSync(resolve(ROOT, flags.compare), 'utf8')) as SavedSummary);
    written.push(`${base}.json`);
    const { md, saved } = report(runs, profiled, [`${base}.md`, ...written], compare);
    writeFileSync(`${base}.md`, md);
    writeFileSync(`${base}.json`, `${JSON.stringify({ ...saved, runs, perf: profiled.perf }, null, 1)}\n`);
    log(`wrote ${base}.md`);
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
    markServer.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
