// `npm start`: load the config, start the gateway, print what it serves, stop gracefully on signals.
import { ConfigError, loadConfig, mockConfig } from './config/load.ts';
import { startGateway, type Gateway } from './gateway.ts';
import type { MockHandle } from '../mock-providers/index.ts';

async function main(): Promise<void> {
  const loaded = loadConfig();
  let mock: MockHandle | null = null;
  let config = loaded.config;
  if (config === null) {
    // Loaded only here: the production bundle keeps the mock in a chunk of its own that a configured
    // gateway never reads (npm run build splits dynamic imports).
    const { startMock } = await import('../mock-providers/index.ts');
    mock = await startMock({ name: 'mock' }, { host: '127.0.0.1', port: 0 });
    config = mockConfig(mock.baseUrl);
  }
  const gw = await startGateway(config);
  banner(gw, loaded.source.kind === 'file' ? `config ${loaded.source.path}` : loaded.source.kind === 'env' ? 'providers from environment variables' : 'bundled mock provider', mock !== null);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const grace = gw.plan.server.shutdownGraceMs;
    process.stderr.write(`microgate: ${signal}, finishing ${gw.server.inFlight} request(s) in flight (up to ${grace} ms)\n`);
    void gw
      .close(grace)
      .then(() => mock?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function banner(gw: Gateway, source: string, isMock: boolean): void {
  const lines = [`microgate listening on ${gw.url} (${source})`];
  for (const p of gw.plan.providers.values()) {
    const keys = new Set([...(p.anyModelKeys?.items ?? []), ...[...p.keysByModel.values()].flatMap((k) => k.items)]);
    lines.push(`  provider ${p.name.padEnd(12)} ${p.origin}  ${keys.size} key(s)${p.models.size > 0 ? `  models: ${[...p.models].join(', ')}` : ''}`);
  }
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
