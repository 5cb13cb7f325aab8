// The telemetry worker thread: drains the ring every few milliseconds, decodes each slot into a
// TelemetryRecord, and feeds the sinks: metrics (always), the request log and OTLP (when
// configured). All formatting and I/O for telemetry happens here, never on the request thread.
// It polls instead of blocking in Atomics.wait so it stays free to answer the request thread's
// messages (a /metrics scrape, a flush on shutdown).
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeRecord, type Dictionary } from './record.ts';
import { RingReader, type RingBuffers } from './ring.ts';
import { RecordMetrics } from './metrics.ts';
import type { RegistryState } from './prometheus.ts';
import { RequestLog, type RequestLogOptions } from './log-file.ts';
import { OtlpExporter, type OtlpOptions } from './otlp.ts';
import type { TelemetryRecord } from './types.ts';
import { Redactor } from '../util/redact.ts';

export interface WorkerInit {
  ring: RingBuffers;
  dict: Dictionary;
  log: RequestLogOptions | null;
  otlp: OtlpOptions | null;
  /** Provider secrets, for the log's defence-in-depth redaction (records never carry them). */
  secrets: string[];
  pollMs: number;
  /** The counters of the worker this one replaces (it crashed), so they carry on. */
  metricsState: RegistryState | null;
  /** Names of targets made at run time, sent before the records that use them. */
  targets: MessagePort | null;
}

export interface TargetsUpdate {
  from: number;
  targets: Dictionary['targets'];
}

/** How often the worker sends its counters to the request thread, to survive a crash of its own. */
const STATE_EVERY_MS = 1_000;

export type ToWorker =
  /** telemetry.log.payloads: records with their texts, which cannot fit a ring slot. */
  | { type: 'payloads'; items: Array<{ slot: Uint8Array; request: string; response: string | undefined }> }
  | { type: 'metrics'; id: number }
  | { type: 'flush'; id: number }
  | { type: 'pause' | 'resume' };

export type FromWorker = { type: 'metrics'; id: number; text: string } | { type: 'flushed'; id: number } | { type: 'ready' } | { type: 'state'; state: RegistryState };

const MAX_PER_TICK = 8192;

function run(init: WorkerInit): void {
  const port = parentPort!;
  const reader = new RingReader(init.ring);
  const dict = init.dict;
  const metrics = new RecordMetrics();
  if (init.metricsState !== null) metrics.restore(init.metricsState);
  const redactor = new Redactor(init.secrets);
  const log = init.log === null ? null : new RequestLog({ ...init.log, redact: (line) => redactor.redact(line) });
  const otlp = init.otlp === null ? null : new OtlpExporter(init.otlp);
  let paused = false;
  let batch: TelemetryRecord[] = [];
  const decode = (offset: number) => {
    batch.push(decodeRecord(reader.dv, reader.u8, offset, dict));
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

  // Every target update posted before a record was published is in the port's queue by the time that
  // record is visible in the ring: taking them all first means no record names a target we do not know.
  const learnTargets = (): void => {
    if (init.targets === null) return;
    for (let m = receiveMessageOnPort(init.targets); m !== undefined; m = receiveMessageOnPort(init.targets)) {
      const u = m.message as TargetsUpdate;
      for (let i = 0; i < u.targets.length; i++) dict.targets[u.from + i] = u.targets[i];
    }
  };

  const drain = (): void => {
    if (paused) return;
    while (reader.drain(decode, MAX_PER_TICK, learnTargets) > 0) {
      feed(batch);
      batch = [];
    }
  };
  const sendState = (): void => port.postMessage({ type: 'state', state: metrics.registry.state() } satisfies FromWorker);
  const stateTimer = setInterval(sendState, STATE_EVERY_MS);
  const timer = setInterval(drain, init.pollMs);

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'payloads': {
        learnTargets();
        const records = m.items.map((it) => {
          const r = decodeRecord(new DataView(it.slot.buffer, it.slot.byteOffset, it.slot.byteLength), it.slot, 0, dict);
          r.request = it.request;
          if (it.response !== undefined) r.response = it.response;
          return r;
        });
        feed(records);
        return;
      }
      case 'metrics':
        drain();
        port.postMessage({ type: 'metrics', id: m.id, text: metrics.registry.render() } satisfies FromWorker);
        return;
      case 'flush':
        paused = false;
        drain();
        sendState();
        void Promise.all([log?.flush(), otlp?.flush()]).then(() => port.postMessage({ type: 'flushed', id: m.id } satisfies FromWorker));
        return;
      case 'pause':
        // Test hook: a stalled sink, so the ring fills and the request thread must drop, not wait.
        paused = true;
        return;
      case 'resume':
        paused = false;
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
