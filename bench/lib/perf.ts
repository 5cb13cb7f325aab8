// Linux `perf` for bench/profile.ts --perf: CPU time by where it is really spent, kernel included.
//
// Why beside V8's --cpu-prof: that profiler samples on wall time and charges whatever the thread is
// doing in native code (a send() on loopback, which also runs the receiver's TCP stack and wakes it, or
// the time the thread waits for a core after that wake-up) to the JS function that called it. On this
// 2-core VM it charged ~28 µs a request to sendJson (the uWS write of the answer) that perf shows as ~10 µs
// of kernel send, the same as the floor's. perf samples CPU time only, sees the kernel, V8's runtime and
// the JIT code (node --perf-basic-prof-only-functions writes /tmp/perf-<pid>.map for the JS names).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Node flags that let perf name JS functions (and interpreted frames). */
export const PERF_NODE_FLAGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];

/** Sampling frequency (Hz): one sample is 1e6 / FREQ µs of CPU. */
const FREQ = 1999;

/** A JIT symbol in perf's map: "JS:*name file:line:column" (the mark is V8's tier). */
const JS_SYMBOL = /^JS:[*~^+]?(.*?) (\S+):(\d+):(\d+)$/;

/** Whether `perf record` works here (installed, and allowed: root or perf_event_paranoid <= 1). */
export function perfAvailable(): boolean {
  try {
    execFileSync('perf', ['record', '-q', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Records every thread of `pid` for `seconds`; resolves when perf has written `out`. */
export function recordPerf(pid: number, seconds: number, out: string): Promise<void> {
  const child: ChildProcess = spawn('perf', ['record', '-q', '-F', String(FREQ), '-g', '-p', String(pid), '-o', out, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}`))));
  });
}

export interface PerfSymbol {
  /** What the symbol is attributed to: an area (src/classify, undici, …) for JS, else its library. */
  area: string;
  name: string;
  /** CPU µs per request. */
  selfUs: number;
}

export interface PerfSummary {
  requests: number;
  /** CPU µs per request over every thread, and the main thread's. */
  totalUs: number;
  mainUs: number;
  /** Self time by kind and area, µs per request, all threads. */
  areas: Array<{ area: string; us: number }>;
  top: PerfSymbol[];
  /**
   * The request thread's time by owner: each sample charged to the innermost src/ function on its stack,
   * whatever ran below it (V8's runtime, builtins, libraries, the kernel): what each of our functions
   * costs with everything it calls. Samples with no src/ frame are the event loop, undici and Node.
   */
  owners: Array<{ owner: string; us: number }>;
  /** Inclusive time of the socket writes (kernel included): the answer to the client, the request upstream. */
  sendUs: number;
  writevUs: number;
}

/**
 * Summarises `perf report` of one recording. `locate` maps a JS symbol's script position to an area;
 * `requests` is how many requests the recording window saw.
 */
export function summarisePerf(data: string, requests: number, locate: (file: string, line: number, column: number) => string, locateFrame: (file: string, line: number, column: number) => { file: string; name: string }): PerfSummary {
  const perSample = 1e6 / FREQ / requests;
  const report = (args: string[]): string[] =>
    execFileSync('perf', ['report', '-i', data, '--stdio', '-n', '-g', 'none', '--percent-limit', '0', '-t', '\t', ...args], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
  // Samples per thread: the busiest is the request thread (workers: 1 runs it on the main thread).
  // Samples per thread, busiest first: "<samples>\t<tid>:<comm>".
  const byThread = report(['--no-children', '--sort', 'pid']);
  const byTid = byThread.map((l) => Number(l.split('\t')[1]));
  const total = byTid.reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const top: PerfSymbol[] = [];
  for (const l of report(['--no-children', '--sort', 'dso,sym'])) {
    const [, n, dso = '', symRaw = ''] = l.split('\t');
    const samples = Number(n);
    const sym = symRaw.replace(/^\[[.k]\] /, '').trim();
    let area: string;
    const js = JS_SYMBOL.exec(sym);
    if (dso.startsWith('[kernel')) area = 'kernel (syscalls, TCP on loopback, scheduling)';
    else if (js !== null) area = `JS: ${locate(js[2]!, Number(js[3]), Number(js[4]))}`;
    else if (sym.startsWith('JS:')) area = 'JS: other (wasm: undici\'s HTTP parser; builtins)';
    else if (dso.startsWith('[JIT]')) area = 'JS: code without a perf-map name';
    else if (sym.startsWith('Builtins_')) area = 'V8 builtins (property access, calls, allocation)';
    else if (/uws_/.test(dso)) area = 'uWS (native)';
    else if (/^node$/.test(dso.trim()) && /GC|Scaveng|Mark|Sweep|Heap|Evacuat/.test(sym)) area = 'V8 GC';
    else if (/^node$/.test(dso.trim())) area = 'V8 / Node runtime (C++)';
    else area = `libraries (${dso.trim()})`;
    areas.set(area, (areas.get(area) ?? 0) + samples);
    top.push({ area, name: js !== null ? js[1]! : sym, selfUs: samples * perSample });
  }
  top.sort((a, b) => b.selfUs - a.selfUs);
  const children = report(['--children', '--sort', 'sym']);
  const inclusive = (re: RegExp): number => {
    const row = children.find((l) => re.test(l.split('\t')[3] ?? ''));
    return row === undefined ? 0 : (Number.parseFloat(row.split('\t')[0]!) / 100) * total * perSample;
  };
  const mainTid = /(\d+):/.exec(byThread[0]?.split('\t')[2] ?? '')?.[1];
  return {
    requests,
    owners: ownersOf(data, mainTid ?? '', perSample, locateFrame),
    totalUs: total * perSample,
    mainUs: Math.max(...byTid) * perSample,
    areas: [...areas].map(([area, s]) => ({ area, us: s * perSample })).sort((a, b) => b.us - a.us),
    top: top.slice(0, 25),
    sendUs: inclusive(/\b__send\b|\b__libc_send\b/),
    writevUs: inclusive(/\b__GI___writev\b|\bwritev\b/),
  };
}

/** Samples of thread `tid` by the innermost src/ frame on their stacks (perf script's call chains). */
function ownersOf(data: string, tid: string, perSample: number, locate: (file: string, line: number, column: number) => { file: string; name: string }): Array<{ owner: string; us: number }> {
  const text = execFileSync('perf', ['script', '-i', data, '-F', 'tid,ip,sym', '--tid', tid], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const owners = new Map<string, number>();
  const cache = new Map<string, string | null>();
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n');
    if (lines.length < 2) continue;
    let owner = '(no src/ frame: event loop, undici, Node)';
    for (let i = 1; i < lines.length; i++) {
      const sym = lines[i]!.trim().replace(/^[0-9a-f]+ /, '');
      if (!sym.startsWith('JS:')) continue;
      let o = cache.get(sym);
      if (o === undefined) {
        const js = JS_SYMBOL.exec(sym);
        const f = js === null ? null : locate(js[2]!, Number(js[3]), Number(js[4]));
        o = f !== null && f.file.startsWith('src/') ? `${js![1]} ${f.file}` : null;
        cache.set(sym, o);
      }
      if (o !== null) {
        owner = o;
        break;
      }
    }
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
  }
  return [...owners].map(([owner, n]) => ({ owner, us: n * perSample })).sort((a, b) => b.us - a.us).slice(0, 30);
}
