// Hot reload, for the whole process: on SIGHUP, or when the config file changes (watched), the config
// is loaded and validated again and handed to the running gateway (one thread, or every request thread
// through the supervisor), which builds a new plan and swaps it in; requests in flight finish on the
// plan they started with. A config that does not load or compile changes nothing: the running one keeps
// serving, and the failure is logged with its JSON path, counted in microgate_config_reload_total
// {result="error"}, and shown by GET /admin/config (the dashboard's Config page).
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError } from '../config/load.ts';
import { reloadable } from '../config/reloadable.ts';
import type { Config } from '../config/schema.ts';
import { maskText } from '../server/admin-config.ts';
import type { ReloadStatus } from '../server/reload-status.ts';
import { PROCESS, type SharedState } from '../state/shared-state.ts';

/** The running gateway, as the reloader drives it. */
export interface Reconfigurable {
  readonly shared: SharedState;
  /** Builds and swaps in a plan from `config`; resolves with what failed (nothing: it applied everywhere). */
  apply(config: Config): Promise<string[]>;
  /** Publishes how the last reload went (GET /admin/config, in every thread). */
  status(status: ReloadStatus): void;
}

export interface ReloaderOptions {
  /** The config file to watch; null when the config came from the environment (SIGHUP still reloads). */
  file: string | null;
  /** Loads and validates the config again, as at start-up (throws ConfigError with the JSON path). */
  load: () => Config;
  running: Config;
  /** When `running` was loaded (ms since the epoch): what /admin/config says until a reload succeeds. */
  loadedAt?: number;
  target: Reconfigurable;
  /** A line for the operator (stderr). */
  log: (line: string) => void;
  /** Quiet time after a file change before it is read (editors write a file in several steps). */
  debounceMs?: number;
}

export interface Reloader {
  /** Reloads now; resolves true when the new config serves. Reloads never overlap: one asked during another runs after it. */
  reload(reason: string, onlyIfChanged?: boolean): Promise<boolean>;
  close(): void;
}

export function startReloader(o: ReloaderOptions): Reloader {
  let running = o.running;
  let chain: Promise<boolean> = Promise.resolve(true);
  // Told to every thread at once, so each says the same load time, and a failed reload does not move it.
  let loadedAt = o.loadedAt ?? Date.now();
  o.target.status({ loadedAt, lastReload: null });
  /** The last reload failed: the status says so until one succeeds or the file is the running config again. */
  let failing = false;

  const once = async (reason: string, onlyIfChanged: boolean): Promise<boolean> => {
    const at = Date.now();
    const failed = (said: string, next?: Config): boolean => {
      // An error that quotes the config (a compile error) is masked against both configs' secrets.
      const why = maskText(next === undefined ? said : maskText(said, next), running);
      o.target.shared.process[PROCESS.configReloadFailures]! += 1;
      failing = true;
      o.target.status({ loadedAt, lastReload: { at, ok: false, error: why } });
      o.log(`microgate: config reload (${reason}) failed, still serving the running config: ${why}`);
      return false;
    };
    let next: Config;
    try {
      next = o.load();
    } catch (err) {
      return failed(err instanceof ConfigError ? err.message : `could not load the config: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { config, needRestart } = reloadable(running, next);
    // A file saved unchanged (or touched) is not a reload; SIGHUP always is. A bad edit put back to the
    // running config ends the failure the status reported (it said "failed" until the next change).
    if (onlyIfChanged && JSON.stringify(config) === JSON.stringify(running)) {
      if (failing) {
        failing = false;
        o.target.status({ loadedAt, lastReload: { at, ok: true, error: null } });
        o.log(`microgate: config file (${reason}) is the running config again`);
      }
      // An edit of restart-only fields alone (the port, telemetry) changes nothing now: said, not silent.
      if (needRestart.length > 0) o.log(`microgate: config file (${reason}) changes ${needRestart.join(', ')}, which only a restart applies; nothing else changed`);
      return true;
    }
    const errors = await o.target.apply(config).catch((err: unknown) => [err instanceof Error ? err.message : String(err)]);
    if (errors.length > 0) return failed(errors.join('; '), config);
    running = config;
    loadedAt = at;
    failing = false;
    o.target.shared.process[PROCESS.configReloads]! += 1;
    o.target.status({ loadedAt, lastReload: { at, ok: true, error: null } });
    const later = needRestart.length === 0 ? '' : `; ${needRestart.join(', ')} changed too, which only a restart applies`;
    o.log(`microgate: config reloaded (${reason}): ${Object.keys(config.providers).length} provider(s), ${Object.keys(config.models).length} model alias(es), ${config.rules.length} rule(s)${later}`);
    return true;
  };

  const reload = (reason: string, onlyIfChanged = false): Promise<boolean> => (chain = chain.then(() => once(reason, onlyIfChanged)));
  const onHup = (): void => void reload('SIGHUP');
  process.on('SIGHUP', onHup);

  // The directory is watched, not the file: editors and `kubectl` config maps replace the file (a
  // rename), which ends a watch on the file itself. A mounted ConfigMap never touches the file's own
  // name: it links a new `..v<N>` directory and renames `..data` onto it, which the file links through.
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  if (o.file !== null) {
    const name = basename(o.file);
    watcher = watch(dirname(o.file), (_event, changed) => {
      if (changed !== null && changed !== name && changed !== '..data') return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void reload('file changed', true);
      }, o.debounceMs ?? 200);
    });
    watcher.unref();
  }

  return {
    reload,
    close() {
      process.off('SIGHUP', onHup);
      watcher?.close();
      if (timer !== null) clearTimeout(timer);
    },
  };
}
