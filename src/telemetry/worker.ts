// The telemetry worker thread: drains one ring per request thread every few milliseconds, decodes
// each slot into a TelemetryRecord, and feeds the sinks: metrics (always), the request log and OTLP
// (when configured). All formatting and I/O for telemetry happens here, never on a request thread,
// and the log files have this one writer however many request threads there are. It polls instead
// of blocking in Atomics.wait so it stays free to answer messages (a /metrics scrape, a flush).
//
// Each ring comes with two ports from its request thread (a "link", telemetry/hub.ts):
//   names   — the thread's dictionary, whole first, then targets made at run time. Read synchronously
//             (receiveMessageOnPort) just before the ring is drained, so a record never names a
//             target the worker has not heard of. Until the whole dictionary arrived, the ring waits.
//   control — scrapes, flushes, payload batches and the stall test hook, answered on the same port.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeRecord, generationOf, type Dictionary } from './record.ts';
import { RingReader, type RingBuffers } from './ring.ts';
import { RecordMetrics } from './metrics.ts';
import type { RegistryState } from './prometheus.ts';
import { RequestLog, type RequestLogOptions } from './log-file.ts';
import { OtlpExporter, type OtlpOptions } from './otlp.ts';
import type { TelemetryRecord } from './types.ts';
import { Redactor } from '../util/redact.ts';

export interface TelemetryLink {
  names: MessagePort;
  control: MessagePort;
}

export interface WorkerInit {
  rings: RingBuffers[];
  /** Per ring, the ports of the request thread writing it (null: none yet). */
  links: Array<TelemetryLink | null>;
  log: RequestLogOptions | null;
  otlp: OtlpOptions | null;
  /** Provider secrets, for the log's defence-in-depth redaction (records never carry them). */
  secrets: string[];
  pollMs: number;
  /** The counters of the worker this one replaces (it crashed), so they carry on. */
  metricsState: RegistryState | null;
}

/** On a ring's names port. */
export type NamesMessage =
  /** A plan's names (its generation: records say which plan they were made on; a reload makes a new
   *  one while requests of the old still finish) and, after a reload, provider secrets to redact too. */
  | { type: 'dict'; generation: number; dict: Dictionary; secrets?: string[] }
  | { type: 'targets'; generation: number; from: number; targets: Dictionary['targets'] };

/** Plans whose names a ring keeps: a request that outlives this many reloads is logged as "unknown". */
const KEPT_GENERATIONS = 8;

/** One request's record with its texts (telemetry.log.payloads); `cut` says which was longer than the 64 KiB kept. */
export interface PayloadItem {
  slot: Uint8Array;
  request: string;
  response: string | undefined;
  cut: { request: boolean; response: boolean } | undefined;
}

/** On a ring's control port, from its request thread. */
export type ControlMessage =
  /** telemetry.log.payloads: records with their texts, which cannot fit a ring slot. */
  | { type: 'payloads'; items: PayloadItem[] }
  | { type: 'metrics'; id: number }
  | { type: 'flush'; id: number }
  | { type: 'pause' | 'resume' };

export type ControlReply = { type: 'metrics'; id: number; text: string } | { type: 'flushed'; id: number };

/** From the hub, on the worker's parent port. */
export type ToWorker = { type: 'link'; ring: number; link: TelemetryLink } | { type: 'flush'; id: number };

export type FromWorker = { type: 'ready' } | { type: 'state'; state: RegistryState } | { type: 'linked'; ring: number } | { type: 'flushed'; id: number };

/** How often the worker sends its counters to the hub, to survive a crash of its own. */
const STATE_EVERY_MS = 1_000;
const MAX_PER_TICK = 8192;

interface Source {
  readonly reader: RingReader;
  /** The writer's names by plan generation; empty until its first whole dictionary arrived. */
  dicts: Map<number, Dictionary>;
  /** The latest generation's: for a record whose plan's names are gone. */
  dict: Dictionary | null;
  link: TelemetryLink | null;
}

const namesFor = (s: Source, u8: Uint8Array, offset: number): Dictionary => s.dicts.get(generationOf(u8, offset)) ?? s.dict!;

function run(init: WorkerInit): void {
  const port = parentPort!;
  const metrics = new RecordMetrics();
  if (init.metricsState !== null) metrics.restore(init.metricsState);
  let secrets = init.secrets;
  let redactor = new Redactor(secrets);
  const log = init.log === null ? null : new RequestLog({ ...init.log, redact: (line) => redactor.redact(line) });
  // Spans the collector never got are counted (microgate_telemetry_errors_total{stage="otlp"}) and said on
  // stderr, once per cause in a row: a collector down or refusing the token lost every span in silence.
  let lastLoss = '';
  const onLoss = (n: number, why: string): void => {
    metrics.failed('otlp', n);
    if (why !== lastLoss) process.stderr.write(`microgate: telemetry: ${n} span(s) not exported to the OTLP collector (${why}); counted in microgate_telemetry_errors_total{stage="otlp"}\n`);
    lastLoss = why;
  };
  const otlp = init.otlp === null ? null : new OtlpExporter({ ...init.otlp, onLoss });
  let paused = false;
  const sendState = (): void => port.postMessage({ type: 'state', state: metrics.registry.state() } satisfies FromWorker);
  const flush = async (): Promise<void> => {
    paused = false;
    drain();
    sendState();
    await Promise.all([log?.flush(), otlp?.flush()]);
    // What the exports lost meanwhile is counted too.
    if (otlp !== null) sendState();
  };

  // Each stage is guarded on its own: a record no stage can handle is counted and skipped, and the
  // worker, with every counter in it, carries on.
  const feed = (records: TelemetryRecord[]): void => {
    for (const r of records) {
      try {
        metrics.add(r);
      } catch {
        metrics.failed('metrics');
      }
    }
    try {
      log?.write(records);
    } catch {
      metrics.failed('log', records.length);
    }
    try {
      otlp?.add(records);
    } catch {
      metrics.failed('otlp', records.length);
    }
  };

  // Every name posted before a record was published is in the port's queue by the time that record
  // is visible in the ring: taking them all first means no record names a target we do not know.
  const learnNames = (s: Source): boolean => {
    if (s.link !== null) {
      for (let m = receiveMessageOnPort(s.link.names); m !== undefined; m = receiveMessageOnPort(s.link.names)) {
        const msg = m.message as NamesMessage;
        if (msg.type === 'dict') {
          s.dicts.set(msg.generation, msg.dict);
          s.dict = msg.dict;
          for (const g of s.dicts.keys()) if (s.dicts.size > KEPT_GENERATIONS) s.dicts.delete(g);
          // The old plan's keys stay redacted as well: its requests may still be finishing.
          if (msg.secrets !== undefined && msg.secrets.some((x) => !secrets.includes(x))) redactor = new Redactor((secrets = [...new Set([...secrets, ...msg.secrets])]));
        } else {
          const d = s.dicts.get(msg.generation);
          if (d !== undefined) for (let i = 0; i < msg.targets.length; i++) d.targets[msg.from + i] = msg.targets[i];
        }
      }
    }
    return s.dict !== null;
  };

  const drainOne = (s: Source): void => {
    let batch: TelemetryRecord[] = [];
    const decode = (offset: number): void => {
      batch.push(decodeRecord(s.reader.dv, s.reader.u8, offset, namesFor(s, s.reader.u8, offset)));
    };
    while (s.reader.drain(decode, MAX_PER_TICK, () => learnNames(s)) > 0) {
      feed(batch);
      batch = [];
    }
  };
  const drain = (): void => {
    if (paused) return;
    for (const s of sources) drainOne(s);
  };

  const onControl = (s: Source, control: MessagePort, m: ControlMessage): void => {
    switch (m.type) {
      case 'payloads': {
        if (!learnNames(s)) return;
        const records = m.items.map((it) => {
          const r = decodeRecord(new DataView(it.slot.buffer, it.slot.byteOffset, it.slot.byteLength), it.slot, 0, namesFor(s, it.slot, 0));
          r.request = it.request;
          if (it.response !== undefined) r.response = it.response;
          if (it.cut !== undefined) r.truncated = it.cut;
          return r;
        });
        feed(records);
        return;
      }
      case 'metrics':
        // Every ring, so one scrape counts every request any thread finished before it.
        drain();
        control.postMessage({ type: 'metrics', id: m.id, text: metrics.registry.render() } satisfies ControlReply);
        return;
      case 'flush':
        paused = false;
        void flush().then(() => control.postMessage({ type: 'flushed', id: m.id } satisfies ControlReply));
        return;
      case 'pause':
        // Test hook: a stalled sink, so the ring fills and the request thread must drop, not wait.
        paused = true;
        return;
      case 'resume':
        paused = false;
    }
  };

  /** Ring `s` is written, from now on, by the thread on the other end of `link`. */
  const attach = (s: Source, link: TelemetryLink | null): void => {
    if (s.link !== null) {
      // What the thread before wrote is read with its own names, before the new one's can arrive.
      if (s.dict !== null && !paused) drainOne(s);
      s.link.names.close();
      s.link.control.close();
    }
    s.dict = null;
    s.dicts = new Map();
    s.link = link;
    if (link === null) return;
    link.control.on('message', (m: ControlMessage) => onControl(s, link.control, m));
  };

  const sources: Source[] = init.rings.map((ring) => ({ reader: new RingReader(ring), dicts: new Map(), dict: null, link: null }));
  sources.forEach((s, i) => attach(s, init.links[i] ?? null));
  const stateTimer = setInterval(sendState, STATE_EVERY_MS);
  const timer = setInterval(drain, init.pollMs);

  port.on('message', (m: ToWorker) => {
    if (m.type === 'link') {
      attach(sources[m.ring]!, m.link);
      port.postMessage({ type: 'linked', ring: m.ring } satisfies FromWorker);
    } else if (m.type === 'flush') {
      void flush().then(() => port.postMessage({ type: 'flushed', id: m.id } satisfies FromWorker));
    }
  });
  port.once('close', () => {
    clearInterval(timer);
    clearInterval(stateTimer);
    void log?.close();
    void otlp?.close();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (parentPort !== null && workerData !== undefined) run(workerData as WorkerInit);
