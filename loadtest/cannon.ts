// Closed-loop throughput with autocannon: how many requests per second a target completes with a
// fixed number of connections. autocannon records whole milliseconds, so latencies here come from
// its `response` event (fractional ms) into our own µs histogram. Pipelining stays 1: uWS closes a
// connection that pipelines while a response is pending (engineering.md §1).
//
// Run as its own process: `tsx loadtest/cannon.ts < spec.json` (a CannonSpec); prints one JSON result line.
import autocannon from 'autocannon';
import { runAsChild } from './child.ts';
import { MicrosHistogram, type LatencySummary as Summary } from './hdr.ts';

export interface CannonSpec {
  url: string; // full URL
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationSec: number;
  warmupSec: number;
}

export interface CannonResult {
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyUs: Summary;
}


function once(spec: CannonSpec, seconds: number, record: MicrosHistogram | null): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      { url: spec.url, method: 'POST', body: spec.body, headers: { 'content-type': 'application/json', ...spec.headers }, connections: spec.connections, pipelining: 1, duration: seconds, timeout: 10 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    if (record !== null) {
      inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) record.record(Math.max(1, Math.round(ms * 1000)));
      });
    }
  });
}

export async function runCannon(spec: CannonSpec): Promise<CannonResult> {
  if (spec.warmupSec > 0) await once(spec, spec.warmupSec, null);
  const h = new MicrosHistogram();
  const r = await once(spec, spec.durationSec, h);
  return {
    rps: Math.round(r['2xx'] / spec.durationSec),
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyUs: h.summary(),
  };
}

runAsChild<CannonSpec, unknown>(import.meta.url, 'cannon', runCannon);
