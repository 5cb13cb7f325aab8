// A request thread's side of telemetry: hand each finished request to the worker through the
// thread's ring (telemetry/ring.ts; measured in bench/micro.ts), ask the worker for metrics, flush
// it on shutdown. With telemetry off, NO_TELEMETRY takes its place and costs a call to an
// empty method.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { RuntimePlan } from '../plan/types.ts';
import type { TelemetryConfig } from '../config/schema.ts';
import { PAYLOAD_BYTES, type RequestContext } from '../request/context.ts';
import { PROCESS, THREAD } from '../state/shared-state.ts';
import { MAX_ATTEMPTS, SLOT_BYTES, encodeRecord, type Dictionary } from './record.ts';
import { RingWriter, type RingBuffers } from './ring.ts';
import { TelemetryHub } from './hub.ts';
import type { ControlMessage, ControlReply, NamesMessage, PayloadItem, TelemetryLink } from './worker.ts';

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

/**
 * A request thread's telemetry: its ring, and its link to the worker. With `hub` it also owns the
 * worker (a gateway running one thread); under the supervisor the hub lives there, and a new link
 * arrives through relink() when the worker was started again.
 */
export class Telemetry implements TelemetrySink {
  private readonly writer: RingWriter;
  private link: TelemetryLink | null = null;
  /** How many of the current plan's targets the worker has names for. */
  private sent = 0;
  /** The same for plans a reload replaced, whose requests may still be finishing (and making targets). */
  private readonly sentBefore = new WeakMap<RuntimePlan, number>();
  /** Provider secrets of a reloaded plan, for the worker's log redaction (a restarted worker knows only the first config's). */
  private secrets: string[] | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, (m: ControlReply | null) => void>();
  private readonly loopDelay: IntervalHistogram;
  private readonly loopTimer: NodeJS.Timeout;
  private pending: PayloadItem[] = [];
  private payloadTimer: NodeJS.Timeout | null = null;

  constructor(
    private plan: RuntimePlan,
    ring: RingBuffers,
    link: TelemetryLink,
    /** The request thread's slot in the shared state (its row of counters). */
    private readonly thread: number,
    private readonly hub: TelemetryHub | null = null,
  ) {
    this.writer = new RingWriter(ring);
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    // This thread's event-loop delay, where a scrape answered by any thread reads it.
    this.loopTimer = setInterval(() => this.publishLoopDelay(), 1_000);
    this.loopTimer.unref();
    this.relink(link);
  }

  /** A gateway with one request thread: the worker is its own. */
  static own(plan: RuntimePlan, config: TelemetryConfig, secrets: string[]): Promise<Telemetry> {
    const hub = new TelemetryHub(config, secrets, 1, plan.shared);
    hub.onRelink = (_ring, link) => t?.relink(link);
    let t: Telemetry | undefined;
    return hub.link(0).then((link) => (t = new Telemetry(plan, hub.rings[0]!, link, 0, hub)));
  }

  /** Talk to the worker on `link` from now on: it first learns every name this thread has made. */
  relink(link: TelemetryLink): void {
    const old = this.link;
    this.link = link;
    for (const done of this.waiting.values()) done(null);
    this.waiting.clear();
    old?.names.close();
    old?.control.close();
    link.control.on('message', (m: ControlReply) => {
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m);
    });
    link.control.unref();
    this.sent = this.plan.targetsById.length;
    link.names.postMessage({ type: 'dict', generation: this.plan.generation & 0xff, dict: dictionary(this.plan, 0), ...(this.secrets === undefined ? {} : { secrets: this.secrets }) } satisfies NamesMessage);
  }

  /**
   * A hot reload's new plan: its names (and provider secrets, for the log's redaction) reach the worker
   * before any record made on it. Records of requests still finishing on the old plan keep their own
   * generation, and the worker reads them with the old names.
   */
  setPlan(plan: RuntimePlan): void {
    const secrets = plan.redactor.secretValues();
    this.sentBefore.set(this.plan, this.sent);
    this.plan = plan;
    this.secrets = secrets;
    this.sent = plan.targetsById.length;
    this.link?.names.postMessage({ type: 'dict', generation: plan.generation & 0xff, dict: dictionary(plan, 0), secrets } satisfies NamesMessage);
  }

  record(ctx: RequestContext): void {
    if (ctx.explain) return;
    // Targets made at run time ("provider/model", rules) need their names in the worker before the
    // record that names them: they go first, on a port the worker reads synchronously before it
    // drains the ring (sent after, a record could be decoded as "unknown").
    const attempts = ctx.failover?.records;
    if (attempts !== undefined) {
      const sent = ctx.plan === this.plan ? this.sent : (this.sentBefore.get(ctx.plan) ?? 0);
      for (let i = 0; i < attempts.length && i < MAX_ATTEMPTS; i++) {
        if (attempts[i]!.target.id >= sent) {
          this.syncTargets(ctx.plan, sent);
          break;
        }
      }
    }
    if (this.plan.capturePayloads) this.recordWithPayload(ctx);
    else {
      const o = this.writer.claim();
      if (o < 0) return this.countDrop();
      encodeRecord(this.writer.dv, this.writer.u8, o, ctx);
      this.writer.publish();
    }
  }

  private countDrop(): void {
    this.plan.shared.setThread(this.thread, THREAD.telemetryDropped, this.writer.dropped);
  }

  /**
   * telemetry.log.payloads: the texts cannot ride in a slot, and a message sent beside a ring slot
   * could reach the worker after it, so the encoded slot and its texts travel together, batched every
   * 10 ms. Opt-in: it costs a string copy of each body and a structured clone.
   */
  private recordWithPayload(ctx: RequestContext): void {
    if (this.pending.length >= 4096) {
      this.writer.countDrop();
      return this.countDrop();
    }
    const slot = new Uint8Array(SLOT_BYTES);
    encodeRecord(new DataView(slot.buffer), slot, 0, ctx);
    const response = ctx.responseText === null ? undefined : Buffer.concat(ctx.responseText).toString('utf8');
    // The request up to 64 KiB too, as the answer: a 50 MB body was one 50 MB log line.
    const raw = ctx.raw;
    const requestCut = raw !== null && raw.length > PAYLOAD_BYTES;
    const request = raw === null ? '' : (requestCut ? raw.subarray(0, PAYLOAD_BYTES) : raw).toString('utf8');
    this.pending.push({ slot, request, response, cut: requestCut || ctx.responseCut ? { request: requestCut, response: ctx.responseCut } : undefined });
    this.payloadTimer ??= setTimeout(() => this.sendPayloads(), 10);
  }

  private sendPayloads(): void {
    if (this.payloadTimer !== null) clearTimeout(this.payloadTimer);
    this.payloadTimer = null;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.link?.control.postMessage({ type: 'payloads', items } satisfies ControlMessage);
  }

  private syncTargets(plan: RuntimePlan, from: number): void {
    const targets = dictionary(plan, from).targets;
    if (plan === this.plan) this.sent = plan.targetsById.length;
    else this.sentBefore.set(plan, plan.targetsById.length);
    this.link?.names.postMessage({ type: 'targets', generation: plan.generation & 0xff, from, targets } satisfies NamesMessage);
  }

  private ask(message: ControlMessage & { id: number }, timeoutMs: number): Promise<ControlReply | null> {
    const link = this.link;
    if (link === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(message.id);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(message.id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      link.control.postMessage(message);
    });
  }

  private publishLoopDelay(): void {
    const d = this.loopDelay;
    const shared = this.plan.shared;
    shared.setThread(this.thread, THREAD.loopP50, d.percentile(50) / 1e9);
    shared.setThread(this.thread, THREAD.loopP99, d.percentile(99) / 1e9);
    shared.setThread(this.thread, THREAD.loopMax, d.max / 1e9);
  }

  async metrics(extra: string): Promise<string> {
    const reply = await this.ask({ type: 'metrics', id: ++this.seq }, 2_000);
    this.publishLoopDelay();
    const shared = this.plan.shared;
    const own = [
      '# HELP microgate_telemetry_dropped_total Records dropped because the telemetry worker fell behind.',
      '# TYPE microgate_telemetry_dropped_total counter',
      `microgate_telemetry_dropped_total ${shared.sum(THREAD.telemetryDropped)}`,
      '# HELP microgate_telemetry_worker_restarts_total Telemetry worker crashes recovered from.',
      '# TYPE microgate_telemetry_worker_restarts_total counter',
      `microgate_telemetry_worker_restarts_total ${shared.process[PROCESS.telemetryRestarts]}`,
      '# HELP microgate_event_loop_delay_seconds Event-loop delay of each request thread since it started.',
      '# TYPE microgate_event_loop_delay_seconds gauge',
    ];
    for (let t = 0; t < shared.threadCount; t++) {
      if (shared.thread(t, THREAD.alive) !== 1) continue;
      own.push(
        `microgate_event_loop_delay_seconds{thread="${t}",quantile="0.5"} ${shared.thread(t, THREAD.loopP50)}`,
        `microgate_event_loop_delay_seconds{thread="${t}",quantile="0.99"} ${shared.thread(t, THREAD.loopP99)}`,
        `microgate_event_loop_delay_seconds{thread="${t}",quantile="1"} ${shared.thread(t, THREAD.loopMax)}`,
      );
    }
    return `${reply !== null && reply.type === 'metrics' ? reply.text : ''}${own.join('\n')}\n${extra}`;
  }

  async flush(timeoutMs: number): Promise<void> {
    this.sendPayloads();
    await this.ask({ type: 'flush', id: ++this.seq }, timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    await this.flush(timeoutMs);
    clearInterval(this.loopTimer);
    this.loopDelay.disable();
    const link = this.link;
    this.link = null;
    link?.names.close();
    link?.control.close();
    await this.hub?.close(timeoutMs);
  }

  get dropped(): number {
    return this.plan.shared.sum(THREAD.telemetryDropped);
  }

  get restarts(): number {
    return this.plan.shared.process[PROCESS.telemetryRestarts]!;
  }

  stall(on: boolean): void {
    this.link?.control.postMessage({ type: on ? 'pause' : 'resume' } satisfies ControlMessage);
  }
}

/** Names for ids from `from` on: targets, and, from 0, keys and rules. */
function dictionary(plan: RuntimePlan, from: number): Dictionary {
  const targets = plan.targetsById.slice(from).map((t) => (t === undefined ? undefined : { label: t.label, provider: t.provider.name, model: t.model }));
  const keys: Array<string | undefined> = [];
  for (const [id, k] of plan.keysById) keys[id] = k.name;
  return { targets, keys, rules: plan.rules.map((r) => r.name), tags: plan.rules.map((r) => r.tag ?? '') };
}
