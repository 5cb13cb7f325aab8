// The request thread's side of telemetry: hand each finished request to the worker through the
// ring (telemetry/ring.ts; measured in bench/micro.ts), keep the worker alive, ask it for metrics,
// flush it on shutdown. With telemetry off, NO_TELEMETRY takes its place and costs a call to an
// empty method.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { RuntimePlan } from '../plan/types.ts';
import type { TelemetryConfig } from '../config/schema.ts';
import type { RequestContext } from '../request/context.ts';
import { MAX_ATTEMPTS, SLOT_BYTES, encodeRecord, type Dictionary } from './record.ts';
import { createRing, RingWriter } from './ring.ts';
import type { RegistryState } from './prometheus.ts';
import type { FromWorker, TargetsUpdate, ToWorker, WorkerInit } from './worker.ts';

export interface TelemetrySink {
  record(ctx: RequestContext): void;
  /** Prometheus text: the worker's metrics plus `extra` (gauges only the request thread knows). */
  metrics(extra: string): Promise<string>;
  /** Everything recorded so far reaches the sinks (logs written, spans sent). */
  flush(timeoutMs: number): Promise<void>;
  close(timeoutMs: number): Promise<void>;
  readonly dropped: number;
  /** Worker crashes recovered from. */
  readonly restarts: number;
  /** Test hook: stall / unstall the worker. */
  stall(on: boolean): void;
}

export const NO_TELEMETRY: TelemetrySink = {
  record() {},
  metrics: async (extra) => extra,
  flush: async () => {},
  close: async () => {},
  dropped: 0,
  restarts: 0,
  stall() {},
};

/** The worker script: the bundle's sibling in production, the TypeScript source under tsx/vitest. */
function workerScript(): URL {
  const here = import.meta.url;
  return here.endsWith('.js') ? new URL('./telemetry-worker.js', here) : new URL('./worker-from-source.mjs', here);
}

export class Telemetry implements TelemetrySink {
  private readonly writer: RingWriter;
  private readonly init: WorkerInit;
  private worker: Worker | null = null;
  private sentTargets: number;
  private seq = 0;
  private readonly waiting = new Map<number, (m: FromWorker) => void>();
  private closing = false;
  restarts = 0;
  private readonly loopDelay: IntervalHistogram;
  private pending: Array<{ slot: Uint8Array; request: string; response: string | undefined }> = [];
  private payloadTimer: NodeJS.Timeout | null = null;
  private droppedPayloads = 0;
  /** The worker's counters as it last sent them: a restarted worker starts from these. */
  private metricsState: RegistryState | null = null;
  /** New targets' names for the worker, read by it synchronously (receiveMessageOnPort) before each drain. */
  private targetsPort: MessagePort | null = null;

  constructor(
    private readonly plan: RuntimePlan,
    config: TelemetryConfig,
  ) {
    const ring = createRing(config.ringSlots);
    this.writer = new RingWriter(ring);
    this.sentTargets = plan.targetsById.length;
    this.init = {
      ring,
      dict: dictionary(plan, 0),
      log: config.log.enabled ? { dir: config.log.dir, maxBytes: config.log.maxBytes, maxAgeMs: config.log.maxAgeMs, keep: config.log.keep } : null,
      otlp: config.otlp === undefined ? null : { endpoint: config.otlp.endpoint, headers: config.otlp.headers, flushIntervalMs: config.otlp.intervalMs },
      secrets: plan.redactor.secretValues(),
      pollMs: 10,
      metricsState: null,
      targets: null,
    };
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.start();
  }

  private start(): void {
    // A restarted worker gets every target known so far and resumes the ring where the last one stopped.
    const channel = new MessageChannel();
    this.targetsPort?.close();
    this.targetsPort = channel.port1;
    const w = new Worker(workerScript(), {
      workerData: { ...this.init, dict: dictionary(this.plan, 0), metricsState: this.metricsState, targets: channel.port2 } satisfies WorkerInit,
      transferList: [channel.port2],
    });
    this.sentTargets = this.plan.targetsById.length;
    w.unref();
    w.on('message', (m: FromWorker) => {
      if (m.type === 'ready') return;
      if (m.type === 'state') {
        this.metricsState = m.state;
        return;
      }
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m);
    });
    w.on('error', (err) => process.stderr.write(`microgate: telemetry worker failed: ${err.message}\n`));
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const done of this.waiting.values()) done({ type: 'flushed', id: -1 });
      this.waiting.clear();
      if (this.closing) return;
      this.restarts++;
      setTimeout(() => {
        if (!this.closing) this.start();
      }, 100).unref();
    });
    this.worker = w;
  }

  record(ctx: RequestContext): void {
    if (ctx.explain) return;
    // Targets made at run time ("provider/model", rules) need their names in the worker before the
    // record that names them: they go first, on a channel the worker reads synchronously before it
    // decodes the ring (sent after, a record could be decoded as "unknown").
    const attempts = ctx.failover?.records;
    if (attempts !== undefined) {
      for (let i = 0; i < attempts.length && i < MAX_ATTEMPTS; i++) {
        if (attempts[i]!.target.id >= this.sentTargets) {
          this.syncTargets();
          break;
        }
      }
    }
    if (this.plan.capturePayloads) this.recordWithPayload(ctx);
    else {
      const o = this.writer.claim();
      if (o < 0) return;
      encodeRecord(this.writer.dv, this.writer.u8, o, ctx);
      this.writer.publish();
    }
  }

  /**
   * telemetry.log.payloads: the texts cannot ride in a slot, and a message sent beside a ring slot
   * could reach the worker after it, so the encoded slot and its texts travel together, batched every
   * 10 ms. Opt-in: it costs a string copy of each body and a structured clone.
   */
  private recordWithPayload(ctx: RequestContext): void {
    if (this.pending.length >= 4096) {
      this.droppedPayloads++;
      return;
    }
    const slot = new Uint8Array(SLOT_BYTES);
    encodeRecord(new DataView(slot.buffer), slot, 0, ctx);
    const response = ctx.responseText === null ? undefined : Buffer.concat(ctx.responseText).toString('utf8');
    this.pending.push({ slot, request: ctx.raw === null ? '' : ctx.raw.toString('utf8'), response });
    this.payloadTimer ??= setTimeout(() => this.sendPayloads(), 10);
  }

  private sendPayloads(): void {
    if (this.payloadTimer !== null) clearTimeout(this.payloadTimer);
    this.payloadTimer = null;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    if (this.worker === null) {
      this.droppedPayloads += items.length;
      return;
    }
    this.worker.postMessage({ type: 'payloads', items } satisfies ToWorker);
  }

  private syncTargets(): void {
    const from = this.sentTargets;
    const targets = dictionary(this.plan, from).targets;
    this.sentTargets = this.plan.targetsById.length;
    this.targetsPort?.postMessage({ from, targets } satisfies TargetsUpdate);
  }

  private ask(message: ToWorker & { id: number }, timeoutMs: number): Promise<FromWorker | null> {
    const w = this.worker;
    if (w === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(message.id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(message.id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      w.postMessage(message);
    });
  }

  async metrics(extra: string): Promise<string> {
    const reply = await this.ask({ type: 'metrics', id: ++this.seq }, 2_000);
    const d = this.loopDelay;
    const own = [
      '# HELP microgate_telemetry_dropped_total Records dropped because the telemetry worker fell behind.',
      '# TYPE microgate_telemetry_dropped_total counter',
      `microgate_telemetry_dropped_total ${this.dropped}`,
      '# HELP microgate_telemetry_worker_restarts_total Telemetry worker crashes recovered from.',
      '# TYPE microgate_telemetry_worker_restarts_total counter',
      `microgate_telemetry_worker_restarts_total ${this.restarts}`,
      '# HELP microgate_event_loop_delay_seconds Event-loop delay of the request thread since start.',
      '# TYPE microgate_event_loop_delay_seconds gauge',
      `microgate_event_loop_delay_seconds{quantile="0.5"} ${d.percentile(50) / 1e9}`,
      `microgate_event_loop_delay_seconds{quantile="0.99"} ${d.percentile(99) / 1e9}`,
      `microgate_event_loop_delay_seconds{quantile="1"} ${d.max / 1e9}`,
    ].join('\n');
    return `${reply !== null && reply.type === 'metrics' ? reply.text : ''}${own}\n${extra}`;
  }

  async flush(timeoutMs: number): Promise<void> {
    this.sendPayloads();
    await this.ask({ type: 'flush', id: ++this.seq }, timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    this.closing = true;
    this.loopDelay.disable();
    const w = this.worker;
    this.worker = null;
    this.targetsPort?.close();
    await w?.terminate();
  }

  get dropped(): number {
    return this.writer.dropped + this.droppedPayloads;
  }

  stall(on: boolean): void {
    this.worker?.postMessage({ type: on ? 'pause' : 'resume' } satisfies ToWorker);
  }
}

/** Names for ids from `from` on: targets, and, from 0, keys and rules. */
function dictionary(plan: RuntimePlan, from: number): Dictionary {
  const targets = plan.targetsById.slice(from).map((t) => (t === undefined ? undefined : { label: t.label, provider: t.provider.name, model: t.model }));
  const keys: Array<string | undefined> = [];
  for (const [id, k] of plan.keysById) keys[id] = k.name;
  return { targets, keys, rules: plan.rules.map((r) => r.name) };
}
