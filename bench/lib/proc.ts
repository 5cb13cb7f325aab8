// Child processes of a benchmark run: started pinned to a CPU, awaited until they print their
// ready line, sampled for CPU and RSS from /proc, and killed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface Proc {
  name: string;
  child: ChildProcess;
  out: string;
}

const CLK_TCK = 100; // Linux USER_HZ

/** `node <bundle>`, pinned with taskset to `cpu` when one is given. */
export function startNode(name: string, script: string, args: string[], cpu: number | null, ready: RegExp, env: NodeJS.ProcessEnv = process.env, timeoutMs = 20_000): Promise<Proc> {
  const cmd = cpu === null ? 'node' : 'taskset';
  const argv = cpu === null ? [script, ...args] : ['-c', String(cpu), 'node', script, ...args];
  return startCmd(name, cmd, argv, ready, env, timeoutMs);
}

export function startCmd(name: string, cmd: string, argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env, timeoutMs = 20_000): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p: Proc = { name, child, out: '' };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not become ready within ${timeoutMs} ms:\n${p.out.slice(-2000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      p.out += d.toString();
      if (ready.test(p.out)) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${p.out.slice(-2000)}`));
    });
  });
}

/** Runs a child to completion, its input as JSON on stdin, and parses the last line of its stdout as JSON. */
export function runJson<T>(script: string, arg: unknown, cpu: number | null): Promise<T> {
  return new Promise((resolve, reject) => {
    const cmd = cpu === null ? 'node' : 'taskset';
    const argv = cpu === null ? [script] : ['-c', String(cpu), 'node', script];
    // The spec goes on stdin: request bodies easily exceed the 128 KiB limit of one argument.
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(JSON.stringify(arg));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${err.slice(-1000)}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}

export async function stop(p: Proc | null | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

/** CPU seconds (user+system) and RSS bytes of a process, from /proc. Null off Linux. */
export function sample(pid: number): { cpuSec: number; rssBytes: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { cpuSec, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return null;
  }
}

/**
 * A process's CPU time at one instant, for a CPU-per-request window (cpuWindow): `ticks` is user + system
 * of the whole thread group from /proc/<pid>/stat (what sample() reads; 10 ms resolution, threads that
 * exited included), `ns` the sum of sum_exec_runtime over its live threads from /proc/<pid>/task/<tid>/schedstat
 * (ns resolution, the same CPU time without the tick rounding), `tids` those threads.
 */
export interface CpuTimes {
  ticks: number;
  ns: number | null;
  tids: number[];
}

export function cpuTimes(pid: number): CpuTimes | null {
  let ticks: number;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks = Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
  let ns: number | null = 0;
  const tids: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        tids.push(Number(tid));
      } catch {
        /* the thread exited between the listing and the read: its time is in ticks only */
      }
    }
  } catch {
    ns = null;
  }
  return { ticks, ns: ns !== null && Number.isFinite(ns) && tids.length > 0 ? ns : null, tids };
}

/** The CPU a process used between two cpuTimes() samples, µs: the ns figure when every thread seen at the start is still alive at the end (nothing lost), else the ticks figure. */
export function cpuBetween(a: CpuTimes, b: CpuTimes): { us: number; source: 'schedstat' | 'stat'; statUs: number } {
  const statUs = ((b.ticks - a.ticks) * 1e6) / CLK_TCK;
  const alive = new Set(b.tids);
  if (a.ns !== null && b.ns !== null && a.tids.every((t) => alive.has(t))) return { us: Math.round((b.ns - a.ns) / 1000), source: 'schedstat', statUs };
  return { us: statUs, source: 'stat', statUs };
}

/** Snapshot of several processes' CPU and of the whole machine's, taken at a window's start and end. */
export interface CpuSnapshot {
  at: number;
  procs: Record<string, CpuTimes | null>;
  machine: { busy: number; total: number } | null;
}

export function cpuSnapshot(pids: Record<string, number>): CpuSnapshot {
  const procs: Record<string, CpuTimes | null> = {};
  for (const [name, pid] of Object.entries(pids)) procs[name] = cpuTimes(pid);
  return { at: performance.now(), procs, machine: machineTicks() };
}

/** What happened between two snapshots: each process's CPU (µs, and % of one core) and the machine's (% of one core). */
export interface CpuWindow {
  wallMs: number;
  procs: Record<string, { cpuUs: number; pct: number; source: 'schedstat' | 'stat'; statUs: number } | null>;
  machinePct: number | null;
}

export function cpuWindow(a: CpuSnapshot, b: CpuSnapshot): CpuWindow {
  const wallMs = b.at - a.at;
  const procs: CpuWindow['procs'] = {};
  for (const name of Object.keys(a.procs)) {
    const x = a.procs[name];
    const y = b.procs[name];
    if (!x || !y) {
      procs[name] = null;
      continue;
    }
    const c = cpuBetween(x, y);
    procs[name] = { cpuUs: c.us, pct: Math.round((c.us / 1000 / wallMs) * 100), source: c.source, statUs: c.statUs };
  }
  const ma = a.machine;
  const mb = b.machine;
  const machinePct = ma && mb && mb.total > ma.total ? Math.round(((mb.busy - ma.busy) / (mb.total - ma.total)) * availableParallelism() * 100) : null;
  return { wallMs: Math.round(wallMs), procs, machinePct };
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. Null off Linux. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * The whole machine's CPU while `work` ran, in % of one core (200 = both cores of 2 busy): with the
 * target's, the mocks' and the load generator's own shares it shows when something else was running.
 */
export async function machineCpu<T>(work: () => Promise<T>): Promise<{ result: T; machineCpuPct: number | null }> {
  const a = machineTicks();
  const result = await work();
  const b = machineTicks();
  const cores = availableParallelism();
  return { result, machineCpuPct: a && b && b.total > a.total ? Math.round(((b.busy - a.busy) / (b.total - a.total)) * cores * 100) : null };
}

/** Samples a process every 250 ms while `work` runs: CPU share of one core and peak RSS. */
export async function measure<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ result: T; cpuPct: number | null; rssMaxMB: number | null }> {
  if (pid === undefined) return { result: await work(), cpuPct: null, rssMaxMB: null };
  const first = sample(pid);
  const t0 = performance.now();
  let rssMax = first?.rssBytes ?? 0;
  const timer = setInterval(() => {
    const s = sample(pid);
    if (s && s.rssBytes > rssMax) rssMax = s.rssBytes;
  }, 250);
  try {
    const result = await work();
    const last = sample(pid);
    const wall = (performance.now() - t0) / 1000;
    return {
      result,
      cpuPct: first && last ? Math.round(((last.cpuSec - first.cpuSec) / wall) * 100) : null,
      rssMaxMB: rssMax > 0 ? Math.round(Math.max(rssMax, last?.rssBytes ?? 0) / 1024 / 1024) : null,
    };
  } finally {
    clearInterval(timer);
  }
}
