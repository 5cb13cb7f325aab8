// One request thread (a worker_thread started by threads/supervisor.ts): the same gateway as a
// single-threaded one, on the shared port, with the process's shared state and telemetry worker.
//
// uWS aborts the whole process when a thread exits with its app still open (Node asserts on the
// thread's loop handles): so a thread that fails closes its app first, then exits, and the supervisor
// starts another in its slot. Requests it had in flight are counted as lost (supervisor.ts).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { startGateway, type Gateway } from '../gateway.ts';
import type { LocalStats, Peers } from '../server/peers.ts';
import { setReloadStatus } from '../server/reload-status.ts';
import { SharedState } from '../state/shared-state.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { FromThread, ThreadInit, ToThread } from './protocol.ts';
import { Replies } from '../util/replies.ts';

/** How long a thread waits for its peers' stats or reloads before answering without them. */
const PEER_TIMEOUT_MS = 2_000;

/** The other threads, reached through the supervisor. */
class SupervisedPeers implements Peers {
  private seq = 0;
  private readonly replies = new Replies<number, ToThread | null>();

  constructor(private readonly port: MessagePort) {}

  answer(m: ToThread & { id: number }): void {
    this.replies.settle(m.id, m);
  }

  private ask(type: 'gather' | 'entities'): Promise<ToThread | null> {
    const id = ++this.seq;
    return this.replies.wait(id, PEER_TIMEOUT_MS, () => null, () => this.port.postMessage({ type, id } satisfies FromThread));
  }

  async gather(own: LocalStats): Promise<LocalStats[]> {
    const m = await this.ask('gather');
    return [own, ...(m?.type === 'gathered' ? m.stats : [])];
  }

  async entitiesChanged(): Promise<void> {
    await this.ask('entities');
  }
}

async function run(port: MessagePort, init: ThreadInit): Promise<void> {
  const peers = new SupervisedPeers(port);
  let gw: Gateway | null = null;
  const send = (m: FromThread): void => port.postMessage(m);

  // A bug that escapes a request: close the app (or uWS takes the process down with this thread),
  // then exit; the supervisor counts what was in flight and starts another thread.
  const fail = (err: unknown): void => {
    process.stderr.write(`microgate: request thread ${init.index} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    gw?.server.abandon();
    process.exit(70);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  setReloadStatus(init.reload);
  // Started before the handlers below are attached, in the same turn: no message can come in between.
  const starting = startGateway(init.config, { host: init.host, port: init.port }, { index: init.index, shared: SharedState.of(init.shared), telemetry: init.telemetry, peers });
  starting.catch(() => {}); // reported below, as "failed"

  port.on('message', (m: ToThread) => {
    switch (m.type) {
      case 'gather':
        if (gw !== null) send({ type: 'local', id: m.id, stats: gw.server.localStats() });
        return;
      case 'reload':
        void (gw?.plan.governance.reload() ?? Promise.resolve()).catch(() => {}).then(() => send({ type: 'reloaded', id: m.id }));
        return;
      case 'reconfigure':
        // A thread still starting (on the config it was given) applies the reload once it serves.
        void (gw === null ? starting.then((g) => g.reload(m.config)) : gw.reload(m.config)).then(
          () => send({ type: 'reconfigured', id: m.id, error: null }),
          (err: unknown) => send({ type: 'reconfigured', id: m.id, error: err instanceof Error ? err.message : String(err) }),
        );
        return;
      case 'reload-status':
        setReloadStatus(m.status);
        return;
      case 'relink':
        (gw?.server.telemetry as Telemetry | undefined)?.relink(m.link);
        return;
      case 'stop':
        void (gw?.close(m.graceMs) ?? Promise.resolve()).then(() => {
          process.off('uncaughtException', fail);
          process.off('unhandledRejection', fail);
          port.close();
        });
        return;
      case 'crash':
        setImmediate(() => {
          throw new Error('crash requested by the supervisor');
        });
        return;
      case 'gathered':
      case 'entities-done':
        peers.answer(m);
    }
  });

  try {
    gw = await starting;
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    port.close();
    return;
  }
  send({ type: 'listening', port: gw.port });
}

if (parentPort !== null) void run(parentPort, workerData as ThreadInit);
