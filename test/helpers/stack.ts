// A gateway in front of in-process mock providers, on ephemeral loopback ports.
import OpenAI from 'openai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { startMock, type MockConfig, type MockHandle } from '../../mock-providers/index.ts';

export interface Stack {
  gw: Gateway;
  mocks: Record<string, MockHandle>;
  client: OpenAI;
  close(): Promise<void>;
}

/**
 * Starts one mock per entry of `mocks`, then a gateway from `config(mocks)`.
 * Provider keys in tests are recognisable strings so a test can assert they never leak.
 */
export async function startStack(mocks: Record<string, MockConfig>, config: (m: Record<string, MockHandle>) => ConfigInput): Promise<Stack> {
  const handles: Record<string, MockHandle> = {};
  for (const [name, cfg] of Object.entries(mocks)) handles[name] = await startMock({ name, ...cfg }, { port: 0 });
  const input = config(handles);
  // Request logs of tests go to a temporary directory, never the repository.
  const withLogs = input.telemetry?.log?.dir !== undefined ? input : { ...input, telemetry: { ...input.telemetry, log: { ...input.telemetry?.log, dir: mkdtempSync(join(tmpdir(), 'mg-logs-')) } } };
  const gw = await startGateway(validateConfig(withLogs, {}), { host: '127.0.0.1', port: 0 });
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key-not-forwarded', maxRetries: 0, timeout: 15_000 });
  return {
    gw,
    mocks: handles,
    client,
    async close() {
      await gw.close();
      await Promise.all(Object.values(handles).map((m) => m.close()));
    },
  };
}

export const SECRET = 'sk-test-SECRET-provider-key-0123456789';
