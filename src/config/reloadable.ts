// What a hot reload may change. A new plan is compiled from the new config; the listening socket, the
// request threads, the telemetry worker and the governance store's connection belong to the process
// and stay as they started. Changes to those sections are named (the log says a restart applies them)
// and the running values kept, so the rest of the new config still applies.
import type { Config } from './schema.ts';

/** Sections (or fields) read once, when the process starts. */
const AT_START: ReadonlyArray<readonly [string, (c: Config) => unknown]> = [
  ['server.host', (c) => c.server.host],
  ['server.port', (c) => c.server.port],
  ['server.workers', (c) => c.server.workers],
  ['server.reusePort', (c) => c.server.reusePort],
  ['server.maxOpenFiles', (c) => c.server.maxOpenFiles],
  ['telemetry', (c) => c.telemetry],
  ['governance.store', (c) => c.governance.store],
  ['governance.db', (c) => c.governance.db],
];

export interface Reloadable {
  /** The config to compile: the new one, with the start-up sections of the running one. */
  config: Config;
  /** Sections the new config changes that only a restart applies. */
  needRestart: string[];
}

export function reloadable(running: Config, next: Config): Reloadable {
  const needRestart = AT_START.filter(([, read]) => JSON.stringify(read(running)) !== JSON.stringify(read(next))).map(([name]) => name);
  const config: Config = {
    ...next,
    server: { ...next.server, host: running.server.host, port: running.server.port, workers: running.server.workers, reusePort: running.server.reusePort, maxOpenFiles: running.server.maxOpenFiles },
    telemetry: running.telemetry,
    governance: { ...next.governance, store: running.governance.store, db: running.governance.db },
  };
  return { config, needRestart };
}
