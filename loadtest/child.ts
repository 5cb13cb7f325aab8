// How a load runner runs as its own process (bench/lib/proc.ts runJson): the spec arrives as JSON
// on stdin, the result leaves as one JSON line on stdout, a failure exits 1 with the reason.
import { readFileSync } from 'node:fs';

/** Runs `run` when `moduleUrl` is the process's entry script; a no-op when the module is imported. */
export function runAsChild<S, R>(moduleUrl: string, name: string, run: (spec: S) => Promise<R>): void {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  run(JSON.parse(readFileSync(0, 'utf8')) as S).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
