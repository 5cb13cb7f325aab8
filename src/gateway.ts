// Builds and starts a gateway from a validated config. Used by main.ts and by the tests, so both
// run exactly the same server.
import { compilePlan } from './config/compile.ts';
import type { RuntimePlan } from './plan/types.ts';
import type { Config } from './config/schema.ts';
import { GatewayServer } from './server/app.ts';
import type { Peers } from './server/peers.ts';
import { startAdaptiveWeights } from './upstream/adaptive.ts';
import { Telemetry } from './telemetry/telemetry.ts';
import type { RingBuffers } from './telemetry/ring.ts';
import type { TelemetryLink } from './telemetry/worker.ts';
import { SharedState } from './state/shared-state.ts';

/** A request thread among several (threads/request-thread.ts): what the supervisor hands it. */
export interface ThreadRole {
  /** Its slot: its row of counters, its ring, its slice of the gateway-time histogram. */
  index: number;
  shared: SharedState;
  /** Its ring and its link to the process's telemetry worker (null: telemetry off). */
  telemetry: { ring: RingBuffers; link: TelemetryLink } | null;
  peers: Peers;
}

export interface Gateway {
  readonly server: GatewayServer;
  /** The plan new requests take (a reload replaces it). */
  readonly plan: RuntimePlan;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  /**
   * Hot reload: compiles `config` (already validated, its start-up sections the running ones:
   * config/reloadable.ts) into a new plan, opens its governance entities, and swaps it in. Requests in
   * flight finish on the old plan, which closes after them. Throws, keeping the running plan, when the
   * new one cannot be built.
   */
  reload(config: Config): Promise<void>;
  /** Stops accepting, waits up to graceMs for requests in flight, then closes sockets and pools. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Without `thread` the gateway is the whole process: one request thread, with its own shared state
 * and telemetry worker. With it, one of several request threads on a shared port (threads/).
 */
export async function startGateway(config: Config, listen?: { host?: string; port?: number }, thread?: ThreadRole): Promise<Gateway> {
  const shared = thread?.shared ?? new SharedState(1);
  const plan = compilePlan(config, { shared });
  try {
    // Virtual keys, teams and customers created through the admin API, where earlier runs kept them.
    await plan.governance.open();
    // With counters in Redis: connected, and the first permits leased, before the first request.
    await plan.governance.store.settle?.(3_000);
  } catch (err) {
    // Its Redis connections would keep a request thread alive after it reported the failure, a thread
    // the supervisor could then neither replace nor stop.
    await plan.governance.closeEntities().catch(() => {});
    await plan.close().catch(() => {});
    throw err;
  }
  const server = new GatewayServer(plan, thread?.index ?? 0, thread?.peers);
  server.config = config;
  let telemetry: Telemetry | null = null;
  if (thread === undefined) {
    if (config.telemetry.enabled) telemetry = await Telemetry.own(plan, config.telemetry, plan.redactor.secretValues());
  } else if (thread.telemetry !== null) {
    telemetry = new Telemetry(plan, thread.telemetry.ring, thread.telemetry.link, thread.index);
  }
  if (telemetry !== null) server.telemetry = telemetry;
  const host = listen?.host ?? config.server.host;
  let port: number;
  try {
    port = await server.listen(host, listen?.port ?? config.server.port, thread === undefined && !config.server.reusePort);
  } catch (err) {
    await server.telemetry.close(1_000);
    await plan.governance.closeEntities();
    await plan.close();
    throw err;
  }
  let stopAdaptive = startAdaptiveWeights(plan);
  let closing: Promise<void> | null = null;
  /** A plan no request uses any more: its entities store, pools (those not handed over) and counters' store. */
  const retire = (old: RuntimePlan): Promise<void> =>
    old.governance
      .closeEntities()
      .then(() => old.close())
      .catch((err: unknown) => void process.stderr.write(`microgate: closing a replaced plan: ${err instanceof Error ? err.message : String(err)}\n`));
  /** Replaced plans still closing (each leaves the set once closed). */
  const retired = new Set<Promise<void>>();
  return {
    server,
    get plan() {
      return server.plan;
    },
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async reload(next: Config) {
      if (closing !== null) throw new Error('the gateway is stopping');
      const fresh = compilePlan(next, { shared, previous: server.plan });
      try {
        fresh.governance.inherit(server.plan.governance);
        await fresh.governance.open();
        await fresh.governance.store.settle?.(3_000);
        // A stop that began meanwhile has closed the running plan: swapping this one in would leave
        // its connections open, and the thread running past its stop.
        if (closing !== null) throw new Error('the gateway is stopping');
      } catch (err) {
        await fresh.governance.closeEntities().catch(() => {});
        await fresh.close().catch(() => {});
        throw err;
      }
      // From here the new plan is the one: the pools and the store it reuses become its own to close.
      fresh.commit();
      // The worker learns the new plan's names before any of its records (telemetry/worker.ts).
      telemetry?.setPlan(fresh);
      stopAdaptive();
      stopAdaptive = startAdaptiveWeights(fresh);
      server.swap(fresh, next, (old) => {
        const p = retire(old).finally(() => retired.delete(p));
        retired.add(p);
      });
    },
    close(graceMs = 0) {
      stopAdaptive();
      // Requests finish (or the grace ends), then every record of them reaches the logs and spans.
      closing ??= server
        .close(graceMs)
        .then(() => server.telemetry.close(5_000))
        .then(() => Promise.all([...retired, ...server.retiringPlans.map(retire)]))
        .then(() => server.plan.governance.closeEntities())
        .then(() => server.plan.close());
      return closing;
    },
  };
}
