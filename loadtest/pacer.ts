// Open-loop, constant-arrival load: request i is due at start + i/rate, and its latency is measured
// from that *intended* start, so a stall in the target shows up as latency instead of as fewer
// requests sent (coordinated omission; BENCHMARKING.md). Sends go out on a 1 ms timer in small
// batches; autocannon's rate mode fires each second's quota in ~300 ms bursts and records whole
// milliseconds, which is why latency percentiles come from here and not from it.
//
// Streams are timed to the first SSE event the client holds whole (its blank line arrived) with a
// `data:` line: the first event of the stream's own format (an OpenAI chunk, Anthropic's message_start),
// from the intended start. That is the moment a client library can hand anything to its caller, and it
// means the same for every target, whatever each writes first. The response head and the first body
// byte are timed too, as secondary figures: a target may send its head before its first event.
//
// CPU per request: with `cpuPids`, the pacer reads those processes' CPU time (/proc, bench/lib/proc.ts)
// right before the first measured request is sent and right after the last measured one has ended,
// so the window holds exactly the measured requests: no warm-up, no process start-up, no idle tail.
//
// Run as its own process: `tsx loadtest/pacer.ts < spec.json` (a PacerSpec); prints one JSON result line.
import { Pool, type Dispatcher } from 'undici';
import { runAsChild } from './child.ts';
import { cpuSnapshot, cpuWindow, type CpuWindow } from '../bench/lib/proc.ts';
import { MicrosHistogram, type LatencySummary as Summary } from './hdr.ts';

export interface PacerSpec {
  url: string; // origin, e.g. http://127.0.0.1:8080
  path: string;
  bodies: string[]; // rotated; realistic sizes come from the scenario
  headers: Record<string, string>;
  rate: number; // requests per second
  durationMs: number;
  warmupMs: number; // same rate, not recorded
  connections: number;
  stream: boolean;
  timeoutMs: number;
  /** POSTed between warm-up and measurement (microgate's /admin/stats/reset), so its histogram covers the measured window only. */
  resetUrl: string | null;
  /** Processes (name → pid) whose CPU time is read at the measured window's start and end (PacerResult.cpu). */
  cpuPids?: Record<string, number>;
}

export interface PacerResult {
  sent: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  achievedRps: number;
  maxInFlight: number;
  /** Intended start → last byte (µs): coordinated-omission safe, includes the pacer's own lateness. */
  latencyUs: Summary;
  /** Actual send → last byte (µs): what the target (and the network stack) took. */
  serviceUs: Summary;
  /** How late the 1 ms pacing timer sent requests (µs): common to every target. */
  sendLagUs: Summary;
  /** Successful requests that microgate answered after more than one attempt (x-microgate-attempts > 1). */
  retried: number;
  /** Their latency from intended start (µs); null when there were none. */
  retriedUs: Summary | null;
  /**
   * Successful requests whose x-microgate-route has more than one hop: answered after a failed attempt,
   * or by a later target because an earlier one was passed over (its key resting after a 429, its
   * circuit open). Under a steady fault mix most requests skip the resting provider without an attempt,
   * so this, not `retried`, shows that faults reached the gateway and were absorbed.
   */
  failedOver: number;
  /** Streams: intended start → the first SSE event with a `data:` line, received whole (µs). */
  firstEventUs: Summary | null;
  /** Streams: intended start → the response head (µs). */
  headUs: Summary | null;
  /** Streams: intended start → the first byte of the body (µs). */
  firstByteUs: Summary | null;
  /** Streams: per request, first whole event − head (µs; 1 = together): how long a head sent early precedes the first event. */
  headLeadUs: Summary | null;
  /** Streams: gap between consecutive body chunks after the first event (µs). */
  gapUs: Summary | null;
  /** The measured window's CPU use of `cpuPids` and of the machine; null without cpuPids. */
  cpu: CpuWindow | null;
  /** The generator's own CPU use, to show it was not the bottleneck. */
  pacerCpuPct: number;
}

/** Does an SSE event block (its lines, without the blank line that ends it) hold a `data:` line? */
const HAS_DATA = /(?:^|[\r\n])data:/;
/** The blank line that ends an SSE event: lines end in CRLF, LF or CR (WHATWG SSE). */
const EVENT_END = /\r\n\r\n|\n\n|\r\r|\n\r\n|\r\n\n/;

/** Targets in an x-microgate-route value, without its "rule:… tier:…" prefix (README "Failover"). */
export function hops(route: string): number {
  const parts = route.split(' > ');
  return /^(?:rule|tier):/.test(parts[0]!) ? parts.length - 1 : parts.length;
}

class Probe implements Dispatcher.DispatchHandler {
  status = 0;
  readonly sentAt = performance.now();
  retried = false;
  failedOver = false;
  head = 0;
  firstByte = 0;
  /** When the first whole event with data arrived; 0 until then. */
  firstEvent = 0;
  lastChunk = 0;
  /** The stream's text up to its first whole event (only parsed until then). */
  pending = '';
  constructor(
    readonly run: Run,
    readonly intended: number,
  ) {}
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = status;
    this.head = performance.now();
    const attempts = headers['x-microgate-attempts'];
    this.retried = typeof attempts === 'string' && attempts !== '1';
    const route = headers['x-microgate-route'];
    this.failedOver = typeof route === 'string' && hops(route) > 1;
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    const now = performance.now();
    if (this.run.spec.stream) {
      if (this.firstByte === 0 && chunk.length > 0) this.firstByte = now;
      if (this.firstEvent === 0) {
        if (this.firstWholeEvent(chunk)) this.firstEvent = now;
      } else if (this.run.recording) {
        this.run.gap.record(Math.max(1, Math.round((now - this.lastChunk) * 1000)));
      }
      this.lastChunk = now;
    }
  }

  /** Adds a body chunk to the text seen so far; true once it holds a whole event with a `data:` line. */
  private firstWholeEvent(chunk: Buffer): boolean {
    // latin1: one char per byte, and the markers looked for are ASCII.
    let text = this.pending + chunk.toString('latin1');
    for (let m = EVENT_END.exec(text); m !== null; m = EVENT_END.exec(text)) {
      if (HAS_DATA.test(text.slice(0, m.index))) {
        this.pending = '';
        return true;
      }
      text = text.slice(m.index + m[0].length); // a comment or a data-less event: not dispatched, skip it
    }
    this.pending = text;
    return false;
  }
  onResponseEnd(): void {
    this.run.done(this, this.status >= 200 && this.status < 300 ? String(this.status) : String(this.status));
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.run.done(this, (err as { code?: string }).code ?? 'error');
  }
}

class Run {
  readonly pool: Pool;
  readonly latency = new MicrosHistogram();
  readonly service = new MicrosHistogram();
  readonly lag = new MicrosHistogram();
  readonly retriedHist = new MicrosHistogram();
  readonly firstEvent = new MicrosHistogram();
  readonly head = new MicrosHistogram();
  readonly firstByte = new MicrosHistogram();
  readonly headLead = new MicrosHistogram();
  readonly gap = new MicrosHistogram();
  readonly statuses: Record<string, number> = {};
  readonly bodies: Buffer[];
  readonly headers: string[];
  recording = false;
  sent = 0;
  ok = 0;
  failedOver = 0;
  errors = 0;
  inFlight = 0;
  maxInFlight = 0;

  constructor(readonly spec: PacerSpec) {
    this.pool = new Pool(spec.url, { connections: spec.connections, pipelining: 1, headersTimeout: spec.timeoutMs, bodyTimeout: spec.timeoutMs });
    this.bodies = spec.bodies.map((b) => Buffer.from(b));
    this.headers = ['content-type', 'application/json'];
    for (const [k, v] of Object.entries(spec.headers)) this.headers.push(k, v);
  }

  send(intended: number, i: number): void {
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    const probe = new Probe(this, intended);
    this.pool.dispatch({ path: this.spec.path, method: 'POST', headers: this.headers, body: this.bodies[i % this.bodies.length]! }, probe);
  }

  done(p: Probe, status: string): void {
    this.inFlight--;
    if (!this.recording || p.intended < this.recordFrom) return;
    const now = performance.now();
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status.startsWith('2')) {
      this.ok++;
      this.latency.record(Math.max(1, Math.round((now - p.intended) * 1000)));
      this.service.record(Math.max(1, Math.round((now - p.sentAt) * 1000)));
      this.lag.record(Math.max(1, Math.round((p.sentAt - p.intended) * 1000)));
      if (p.failedOver) this.failedOver++;
      if (p.retried) this.retriedHist.record(Math.max(1, Math.round((now - p.intended) * 1000)));
      if (this.spec.stream) {
        if (p.firstEvent !== 0) this.firstEvent.record(Math.max(1, Math.round((p.firstEvent - p.intended) * 1000)));
        if (p.head !== 0) this.head.record(Math.max(1, Math.round((p.head - p.intended) * 1000)));
        if (p.firstByte !== 0) this.firstByte.record(Math.max(1, Math.round((p.firstByte - p.intended) * 1000)));
        if (p.firstEvent !== 0 && p.head !== 0) this.headLead.record(Math.max(1, Math.round((p.firstEvent - p.head) * 1000)));
      }
    } else {
      this.errors++;
    }
  }

  recordFrom = Infinity;

  /** Paces `rate` per second for `ms`, from `t0`; resolves when every request sent has finished. */
  pace(ms: number, record: boolean): Promise<number> {
    const { rate } = this.spec;
    const t0 = performance.now();
    if (record) {
      this.recording = true;
      this.recordFrom = t0;
    }
    const total = Math.floor((rate * ms) / 1000);
    let i = 0;
    return new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) * rate) / 1000) + 1);
        for (; i < due; i++) this.send(t0 + (i * 1000) / rate, this.sent++);
        if (i < total) {
          setTimeout(tick, 1);
          return;
        }
        const drain = () => (this.inFlight === 0 ? resolve(i) : setTimeout(drain, 2));
        drain();
      };
      tick();
    });
  }
}

export async function runPacer(spec: PacerSpec): Promise<PacerResult> {
  const run = new Run(spec);
  if (spec.warmupMs > 0) await run.pace(spec.warmupMs, false);
  if (spec.resetUrl !== null) await fetch(spec.resetUrl, { method: 'POST' }).then((r) => r.text());
  // The warm-up's requests have all ended (pace() drains), so the window starts with none in flight
  // and, drained again at its end, holds the CPU of exactly the measured requests.
  const pids = spec.cpuPids ?? {};
  const watched = Object.keys(pids).length > 0;
  const snap0 = watched ? cpuSnapshot(pids) : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sent = await run.pace(spec.durationMs, true);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const window = snap0 === null ? null : cpuWindow(snap0, cpuSnapshot(pids));
  await run.pool.close();
  return {
    sent,
    ok: run.ok,
    errors: run.errors,
    statuses: run.statuses,
    achievedRps: Math.round((run.ok / wall) * 1000),
    maxInFlight: run.maxInFlight,
    latencyUs: run.latency.summary(),
    serviceUs: run.service.summary(),
    sendLagUs: run.lag.summary(),
    retried: run.retriedHist.summary().count,
    retriedUs: run.retriedHist.summary().count > 0 ? run.retriedHist.summary() : null,
    failedOver: run.failedOver,
    firstEventUs: spec.stream ? run.firstEvent.summary() : null,
    headUs: spec.stream ? run.head.summary() : null,
    firstByteUs: spec.stream ? run.firstByte.summary() : null,
    headLeadUs: spec.stream ? run.headLead.summary() : null,
    gapUs: spec.stream ? run.gap.summary() : null,
    pacerCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    cpu: window,
  };
}

runAsChild<PacerSpec, unknown>(import.meta.url, 'pacer', runPacer);
