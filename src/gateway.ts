// Builds and starts a gateway from a validated config. Used by main.ts and by the tests, so both
// run exactly the same server.
import { compilePlan } from './config/compile.ts';
import type { RuntimePlan } from './plan/types.ts';
import type { Config } from './config/schema.ts';
import { GatewayServer } from './server/app.ts';
import { startAdaptiveWeights } from './upstream/adaptive.ts';
import { Telemetry } from './telemetry/telemetry.ts';

export interface Gateway {
  readonly server: GatewayServer;
  readonly plan: RuntimePlan;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /** Stops accepting, waits up to graceMs for requests in flight, then closes sockets and pools. */
  close(graceMs?: number): Promise<void>;
}

export async function startGateway(config: Config, listen?: { host?: string; port?: number }): Promise<Gateway> {
  const plan = compilePlan(config);
  // Virtual keys, teams and customers created through the admin API, where earlier runs kept them.
  await plan.governance.open();
  // With counters in Redis: connected, and the first permits leased, before the first request.
  await plan.governance.store.settle?.(3_000);
  const server = new GatewayServer(plan);
  if (config.telemetry.enabled) server.telemetry = new Telemetry(plan, config.telemetry);
  const host = listen?.host ?? config.server.host;
  let port: number;
  try {
    port = await server.listen(host, listen?.port ?? config.server.port);
  } catch (err) {
    await server.telemetry.close(1_000);
    await plan.governance.closeEntities();
    await plan.close();
    throw err;
  }
  const stopAdaptive = startAdaptiveWeights(plan);
  let closing: Promise<void> | null = null;
  return {
    server,
    plan,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close(graceMs = 0) {
      stopAdaptive();
      // Requests finish (or the grace ends), then every record of them reaches the logs and spans.
      closing ??= server
        .close(graceMs)
        .then(() => server.telemetry.close(5_000))
        .then(() => plan.governance.closeEntities())
        .then(() => plan.close());
      return closing;
    },
  };
}
