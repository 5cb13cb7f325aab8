// What a hot reload may change. A new plan is compiled from the new config; the listening socket, the
// request threads, the telemetry worker and the governance store's connection belong to the process
// and stay as they started. Changes to those sections are named (the log says a restart applies them)
// and the running values kept, so the rest of the new config still applies.
import type { Config } from './schema.ts';

/** Sections, or fields of one ("section.field"), read once, when the process starts. */
const AT_START = ['server.host', 'server.port', 'server.workers', 'server.reusePort', 'server.maxOpenFiles', 'telemetry', 'governance.store', 'governance.db'] as const;

export interface Reloadable {
  /** The config to compile: the new one, with the start-up sections of the running one. */
  config: Config;
  /** Sections the new config changes that only a restart applies. */
  needRestart: string[];
}

export function reloadable(running: Config, next: Config): Reloadable {
  type Sections = Record<string, Record<string, unknown>>;
  const was = running as unknown as Sections;
  const now = next as unknown as Sections;
  const config = { ...now };
  const needRestart: string[] = [];
  for (const path of AT_START) {
    const [section, field] = path.split('.') as [string, string | undefined];
    const kept = field === undefined ? was[section] : was[section]![field];
    const asked = field === undefined ? now[section] : now[section]![field];
    if (JSON.stringify(kept) !== JSON.stringify(asked)) needRestart.push(path);
    config[section] = field === undefined ? (kept as Record<string, unknown>) : { ...config[section], [field]: kept };
  }
  return { config: config as unknown as Config, needRestart };
}
