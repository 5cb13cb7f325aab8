// loadtest/pacer.ts, with one `Authorization: Bearer <key>` per request taken round-robin from a list
// (bench/governance.ts: 20 virtual keys). The pacer itself sends one fixed header set; rather than fork
// it, this wraps undici's Pool.dispatch before the pacer's pool exists and swaps in one of N header
// arrays, each built once (the pacer's own array plus the authorization pair). Per request that is one
// property write and a counter, so the load generator does the same work in every variant.
//
// Run as its own process through a two-line entry script that calls keyedPacerMain() (bench/governance.ts
// writes it next to the bundle): bundled into one file with the pacer, the pacer's own runAsChild would
// see the bundle as "its" entry script and start an unkeyed run; from another entry script it does not.
import { readFileSync } from 'node:fs';
import { Pool, type Dispatcher } from 'undici';
import { runPacer, type PacerResult, type PacerSpec } from '../../loadtest/pacer.ts';

export interface KeyedPacerSpec extends PacerSpec {
  /** Sent as `Authorization: Bearer <value>`, request i carrying bearer[i % length]; empty: none. */
  bearer: string[];
}

export async function runKeyedPacer(spec: KeyedPacerSpec): Promise<PacerResult> {
  const values = spec.bearer;
  if (values.length > 0) {
    const original = Pool.prototype.dispatch;
    let base: unknown = null;
    let sets: string[][] = [];
    let n = 0;
    Pool.prototype.dispatch = function (this: Pool, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const h = opts.headers;
      if (Array.isArray(h)) {
        // The pacer passes the same array every time: build the N variants of it once.
        if (h !== base) {
          base = h;
          sets = values.map((v) => [...(h as string[]), 'authorization', `Bearer ${v}`]);
        }
        opts.headers = sets[n++ % sets.length]!;
      }
      return original.call(this, opts, handler);
    };
  }
  return runPacer(spec);
}

/** The child's main: the spec as JSON on stdin, the result as one JSON line on stdout (as loadtest/child.ts). */
export function keyedPacerMain(): void {
  runKeyedPacer(JSON.parse(readFileSync(0, 'utf8')) as KeyedPacerSpec).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`keyed-pacer failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
