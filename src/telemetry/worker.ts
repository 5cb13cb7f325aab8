// The telemetry worker thread: drains the ring every few milliseconds, decodes each slot into a
// TelemetryRecord, and feeds the sinks: metrics (always), the request log and OTLP (when
// configured). All formatting and I/O for telemetry happens here, never on the request thread.
// It polls instead of blocking in Atomics.wait so it stays free to answer the request thread's
// messages (a /metrics scrape, a flush on shutdown).
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRecord, type Dictionary } from './record.ts';
import { RingReader, type RingBuffers } from './ring.ts';
import { RecordMetrics } from './metrics.ts';
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
}

export type ToWorker =
  | { type: 'targets'; from: number; targets: Dictionary['targets'] }
  /** telemetry.log.payloads: records with their texts, which cannot fit a ring slot. */
  | { type: 'payloads'; items: Array<{ slot: Uint8Array; request: string; response: string | undefined }> }
  | { type: 'metrics'; id: number }
  | { type: 'flush'; id: number }
  | { type: 'pause' | 'resume' };

export type FromWorker = { type: 'metrics'; id: number; text: string } | { type: 'flushed'; id: number } | { type: 'ready' };

const MAX_PER_TICK = 8192;

function run(init: WorkerInit): void {
  const port = parentPort!;
  const reader = new RingReader(init.ring);
  const dict = init.dict;
  const metrics = new RecordMetrics();
  const redactor = new Redactor(init.secrets);
  const log = init.log === null ? null : new RequestLog({ ...init.log, redact: (line) => redactor.redact(line) });
  const otlp = init.otlp === null ? null : new OtlpExporter(init.otlp);
  let paused = false;
  let batch: TelemetryRecord[] = [];
  const decode = (offset: number) => {
    batch.push(decodeRecord(reader.dv, reader.u8, offset, dict));
  };

  const drain = (): void => {
    if (paused) return;
    while (reader.drain(decode, MAX_PER_TICK) > 0) {
      for (const r of batch) metrics.add(r);
      log?.write(batch);
      otlp?.add(batch);
      batch = [];
    }
  };
  const timer = setInterval(drain, init.pollMs);

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'targets':
        for (let i = 0; i < m.targets.length; i++) dict.targets[m.from + i] = m.targets[i];
        return;
      case 'payloads': {
        const records = m.items.map((it) => {
          const r = decodeRecord(new DataView(it.slot.buffer, it.slot.byteOffset, it.slot.byteLength), it.slot, 0, dict);
          r.request = it.request;
          if (it.response !== undefined) r.response = it.response;
          return r;
        });
        for (const r of records) metrics.add(r);
        log?.write(records);
        otlp?.add(records);
        return;
      }
      case 'metrics':
        drain();
        port.postMessage({ type: 'metrics', id: m.id, text: metrics.registry.render() } satisfies FromWorker);
        return;
      case 'flush':
        paused = false;
        drain();
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
    void log?.close();
    void otlp?.close();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (parentPort !== null && workerData !== undefined) run(workerData as WorkerInit);
