// The process's side of telemetry: one worker (telemetry/worker.ts) for every request thread, one
// ring each. The hub starts the worker, links each request thread to it (a pair of ports per ring),
// and starts it again if it crashes, with the counters it last reported and new links for every
// thread. It lives where the request threads are started: the supervisor (threads/supervisor.ts),
// or the gateway itself when it runs one thread.
import { MessageChannel, Worker } from 'node:worker_threads';
import type { TelemetryConfig } from '../config/schema.ts';
import { PROCESS, type SharedState } from '../state/shared-state.ts';
import { Replies } from '../util/replies.ts';
import { createRing, type RingBuffers } from './ring.ts';
import type { RegistryState } from './prometheus.ts';
import type { FromWorker, TelemetryLink, ToWorker, WorkerInit } from './worker.ts';
import { workerScript } from '../util/worker-script.ts';


/** How long a link waits for the worker to take over a ring (it first reads what the ring holds). */
const LINK_TIMEOUT_MS = 2_000;

export class TelemetryHub {
  readonly rings: RingBuffers[];
  private worker: Worker | null = null;
  private closing = false;
  private seq = 0;
  /** The worker's counters as it last sent them: a restarted worker starts from these. */
  private metricsState: RegistryState | null = null;
  /** Rings whose thread wants a link (it keeps its ring when the worker is started again). */
  private readonly wanted: boolean[];
  /** Links asked for while no worker ran: handed over when the next one starts. */
  private readonly pending = new Map<number, (link: TelemetryLink) => void>();
  private readonly answers = new Replies<string, void>();
  /** Hands a request thread its new link after the worker was started again. */
  onRelink: (ring: number, link: TelemetryLink) => void = () => {};

  constructor(
    private readonly config: TelemetryConfig,
    private readonly secrets: string[],
    threads: number,
    private readonly shared: SharedState,
  ) {
    this.rings = Array.from({ length: threads }, () => createRing(config.ringSlots));
    this.wanted = this.rings.map(() => false);
    this.start();
  }

  private start(): void {
    const links: Array<TelemetryLink | null> = this.rings.map(() => null);
    const ends: Array<TelemetryLink | null> = this.rings.map(() => null);
    const transfer = [];
    for (let i = 0; i < this.rings.length; i++) {
      if (!this.wanted[i]) continue;
      const [worker, thread] = linkPair();
      links[i] = worker;
      ends[i] = thread;
      transfer.push(worker.names, worker.control);
    }
    const c = this.config;
    const init: WorkerInit = {
      rings: this.rings,
      links,
      log: c.log.enabled ? { dir: c.log.dir, maxBytes: c.log.maxBytes, maxAgeMs: c.log.maxAgeMs, keep: c.log.keep } : null,
      otlp: c.otlp === undefined ? null : { endpoint: c.otlp.endpoint, headers: c.otlp.headers, flushIntervalMs: c.otlp.intervalMs },
      secrets: this.secrets,
      pollMs: 10,
      metricsState: this.metricsState,
    };
    const w = new Worker(workerScript(import.meta.url, 'telemetry-worker.js', './worker-from-source.mjs'), { workerData: init, transferList: transfer });
    w.unref();
    w.on('message', (m: FromWorker) => {
      if (m.type === 'state') this.metricsState = m.state;
      else if (m.type === 'linked') this.answers.settle(`linked:${m.ring}`);
      else if (m.type === 'flushed') this.answers.settle(`flushed:${m.id}`);
    });
    w.on('error', (err) => process.stderr.write(`microgate: telemetry worker failed: ${err.message}\n`));
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = null;
      this.answers.settleAll(() => {});
      if (this.closing) return;
      this.shared.process[PROCESS.telemetryRestarts]!++;
      setTimeout(() => {
        if (!this.closing) this.start();
      }, 100).unref();
    });
    this.worker = w;
    ends.forEach((end, i) => {
      if (end === null) return;
      const waiting = this.pending.get(i);
      this.pending.delete(i);
      if (waiting !== undefined) waiting(end);
      else this.onRelink(i, end);
    });
  }

  /**
   * A link for the thread writing ring `ring`, replacing any before it. Resolves once the worker has
   * read what the thread before left in the ring, under that thread's names.
   */
  link(ring: number): Promise<TelemetryLink> {
    this.wanted[ring] = true;
    const w = this.worker;
    if (w === null) return new Promise((resolve) => this.pending.set(ring, resolve));
    const [worker, thread] = linkPair();
    return this.ask(`linked:${ring}`, LINK_TIMEOUT_MS, () => w.postMessage({ type: 'link', ring, link: worker } satisfies ToWorker, [worker.names, worker.control])).then(() => thread);
  }

  /** Everything recorded so far in any ring reaches the sinks. */
  flush(timeoutMs: number): Promise<void> {
    const w = this.worker;
    if (w === null) return Promise.resolve();
    const id = ++this.seq;
    return this.ask(`flushed:${id}`, timeoutMs, () => w.postMessage({ type: 'flush', id } satisfies ToWorker));
  }

  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closing = true;
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  get restarts(): number {
    return this.shared.process[PROCESS.telemetryRestarts]!;
  }

  private ask(key: string, timeoutMs: number, send: () => void): Promise<void> {
    return this.answers.wait(key, timeoutMs, () => {}, send);
  }
}

/** Two links' worth of ports: the worker's ends and the thread's. */
function linkPair(): [TelemetryLink, TelemetryLink] {
  const names = new MessageChannel();
  const control = new MessageChannel();
  return [
    { names: names.port1, control: control.port1 },
    { names: names.port2, control: control.port2 },
  ];
}
