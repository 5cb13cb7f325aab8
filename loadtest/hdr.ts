// Latency histograms of the load generators (client side, µs): the WASM HDR histogram, 3 significant
// digits, ~40 ns a record (engineering.md §5). The gateway keeps its own, in shared memory
// (src/state/micros-histogram.ts).
import * as hdr from 'hdr-histogram-js';
// The same summary the gateway's own histogram gives (its percentiles, count, max and mean, µs).
import type { LatencySummary } from '../src/state/micros-histogram.ts';

export type { LatencySummary };

hdr.initWebAssemblySync();

export class MicrosHistogram {
  private h = hdr.build({ useWebAssembly: true, bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  record(us: number): void {
    this.h.recordValue(us < 1 ? 1 : us);
  }

  summary(): LatencySummary {
    const h = this.h;
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50),
      p90: h.getValueAtPercentile(90),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
      mean: Math.round(h.mean * 10) / 10,
    };
  }

  reset(): void {
    this.h.reset();
  }

  destroy(): void {
    this.h.destroy();
  }
}
