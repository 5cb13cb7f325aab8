// `npm start`: load the config, start the gateway on its request threads (server.workers), print what
// it serves, stop gracefully on signals.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, mockConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { startGateway } from './gateway.ts';
import { startCluster } from './threads/supervisor.ts';
import { startReloader, type Reconfigurable } from './threads/reloader.ts';
import { setReloadStatus } from './server/reload-status.ts';
import type { MockHandle } from '../mock-providers/index.ts';

/** What main needs of a running gateway, on one thread or several. */
interface Running {
  url: string;
  threads: number;
  /** Hot reload's hold on it. */
  target: Reconfigurable;
  inFlight(): number;
  /** False when a request thread would not stop. */
  close(graceMs: number): Promise<boolean>;
}

async function main(): Promise<void> {
  const loaded = loadConfig();
  const loadedAt = Date.now();
  let mock: MockHandle | null = null;
  let config = loaded.config;
  if (config === null) {
    // Loaded only here: the production bundle keeps the mock in a chunk of its own that a configured
    // gateway never reads (npm run build splits dynamic imports).
    const { startMock } = await import('../mock-providers/index.ts');
    mock = await startMock({ name: 'mock' }, { host: '127.0.0.1', port: 0 });
    config = mockConfig(mock.baseUrl);
  }
  // Sealed ids (Responses, files, batches) open only with the secret they were sealed with: without a
  // configured one, each process draws its own, and a restart orphans what tenants hold (a batch runs for
  // up to a day). Said once at start, where an operator reads it.
  // Virtual keys come from the config or, with an admin key, from the admin API.
  const g = config.governance;
  if ((g.virtualKeys.length > 0 || g.adminKey !== undefined) && g.idSecret === undefined) {
    process.stderr.write('microgate: governance.idSecret is not set: the Responses, file and batch ids handed out work only until this process restarts, and only on this replica\n');
  }
  const w = config.server.workers;
  const threads = w === 'auto' ? Math.min(availableParallelism(), 64) : w;
  const gw = await run(config, threads);
  // The bundled mock's config is made here, not loaded: there is nothing to reload.
  const reloader =
    mock === null
      ? startReloader({
          file: loaded.source.kind === 'file' ? loaded.source.path : null,
          load: () => loadConfig().config ?? config,
          running: config,
          loadedAt,
          target: gw.target,
          log: (line) => process.stderr.write(`${line}\n`),
        })
      : null;
  // Node's default for SIGHUP ends the process: with nothing to reload, say so instead.
  if (reloader === null) process.on('SIGHUP', () => process.stderr.write('microgate: SIGHUP: nothing to reload (serving the bundled mock provider)\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    reloader?.close();
    const grace = config.server.shutdownGraceMs;
    process.stderr.write(`microgate: ${signal}, finishing ${gw.inFlight()} request(s) in flight (up to ${grace} ms)\n`);
    void gw
      .close(grace)
      .then(async (stopped) => {
        await mock?.close();
        if (stopped) process.exit(0);
        // A thread still holding its uWS app would make Node abort on exit: end the process outright.
        process.stderr.write('microgate: a request thread did not stop; killing the process\n');
        process.kill(process.pid, 'SIGKILL');
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Last, once every signal has its handler: whoever waits for this line may signal at once (Node's
  // default for SIGTERM and SIGHUP ends the process on the spot).
  banner(gw, config, loaded.source.kind === 'file' ? `config ${loaded.source.path}` : loaded.source.kind === 'env' ? 'providers from environment variables' : 'bundled mock provider', mock !== null);
}

async function run(config: Config, threads: number): Promise<Running> {
  if (threads === 1) {
    // One request thread: the gateway runs in the main thread, with nothing between.
    const gw = await startGateway(config);
    const target: Reconfigurable = {
      shared: gw.plan.shared,
      apply: (next) => gw.reload(next).then(() => []),
      status: setReloadStatus,
    };
    return { url: gw.url, threads, target, inFlight: () => gw.server.inFlight, close: (ms) => gw.close(ms).then(() => true) };
  }
  const c = await startCluster(config, threads);
  const target: Reconfigurable = { shared: c.shared, apply: (next) => c.reload(next), status: (s) => c.reloadStatus(s) };
  return { url: c.url, threads, target, inFlight: () => c.inFlight(), close: (ms) => c.close(ms) };
}

function banner(gw: Running, config: Config, source: string, isMock: boolean): void {
  const lines = [`microgate listening on ${gw.url} (${source}), ${gw.threads} request thread${gw.threads === 1 ? '' : 's'}`, `  dashboard    ${gw.url}/ui`];
  for (const [name, p] of Object.entries(config.providers)) {
    lines.push(`  provider ${name.padEnd(12)} ${new URL(p.baseUrl!).origin}  ${p.keys.length} key(s)${p.models.length > 0 ? `  models: ${p.models.join(', ')}` : ''}`);
  }
  // Keys made through the admin API outlive the config that had none: say where they are, since while
  // one exists every request needs a key (a gateway started without a governance section answered 401).
  const g = config.governance;
  if (g.store?.redis === undefined && existsSync(g.db)) lines.push(`  governance   ${g.db} holds the admin API's virtual keys: while it holds one, every request needs a key`);
  if (isMock) {
    lines.push(
      '  No provider keys found (OPENAI_API_KEY, GROQ_API_KEY, …) and no microgate.yaml:',
      '  serving from the BUNDLED MOCK provider: it answers any model name, with fake text, and every',
      '  response carries x-microgate-provider: mock.',
      `  Try: curl ${gw.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"mock-small","messages":[{"role":"user","content":"hi"}]}'`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`microgate: ${err.message}\n`);
  else process.stderr.write(`microgate: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
