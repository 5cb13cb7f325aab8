// Runs the gateway on N request threads (server.workers): worker_threads that each run their own uWS
// app on one port (SO_REUSEPORT: the kernel spreads connections over them, engineering.md §2), all
// with the same config, one SharedState (key rests, circuits, the retry budget, governance counters,
// per-thread counters) and one telemetry worker reading a ring per thread. The main thread serves
// nothing: it starts the threads, relays what one asks of the others (stats, entity reloads), starts
// a thread again when one dies, and stops them all on shutdown.
import { createServer } from 'node:net';
import { Worker, type TransferListItem } from 'node:worker_threads';
import { providerSecrets } from '../config/compile.ts';
import type { Config } from '../config/schema.ts';
import type { LocalStats } from '../server/peers.ts';
import { SharedState, THREAD } from '../state/shared-state.ts';
import { TelemetryHub } from '../telemetry/hub.ts';
import type { TelemetryLink } from '../telemetry/worker.ts';
import { workerScript } from '../util/worker-script.ts';
import type { FromThread, ThreadInit, ToThread } from './protocol.ts';
import { reloadStatus as ownStatus, type ReloadStatus } from '../server/reload-status.ts';
import { Replies } from '../util/replies.ts';

/**
 * A request thread's young generation: 96 MB, semi-spaces of 32 MB (V8 sizes it as three semi-spaces),
 * twice Node 20's default. A request allocates ~18 KB (parsed body, contexts, undici's records): with
 * the default, scavenges ran often enough to promote live requests' objects, and V8's GC helper threads
 * cost 17–34 µs of CPU per request at 4,000 req/s; with this, 3–6 µs (npm run bench:profile, issue 14).
 * The price is up to 32 MB more resident per thread under load. `npm start` gives the main thread the
 * same (--max-semi-space-size=32) for server.workers: 1.
 */
const YOUNG_GENERATION_MB = 96;

export interface Cluster {
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  readonly threads: number;
  readonly shared: SharedState;
  /** Requests in flight, in every thread. */
  inFlight(): number;
  /** Stops every thread (each finishes its requests within graceMs), then the telemetry worker. False if a thread would not stop. */
  close(graceMs: number): Promise<boolean>;
  /**
   * Hot reload: every live thread builds a plan from `config` and swaps it in; threads started later
   * start on it. Resolves with the errors of threads that could not (each keeps its running plan).
   */
  reload(config: Config): Promise<string[]>;
  /** Tells every thread (and those started later) how the last reload went. */
  reloadStatus(status: ReloadStatus): void;
  /** Test hook: thread `i` fails as a bug would; it is started again. */
  crash(i: number): void;
}

/** How long a thread may take to answer its peers before they answer without it. */
const ASK_TIMEOUT_MS = 1_500;
/** A thread that dies this soon after it started waits longer before the next start (a crash loop backs off). */
const QUICK_DEATH_MS = 5_000;
/** How long a thread may take to build and swap in a reloaded plan (a Redis store settles within 3 s). */
const RECONFIGURE_TIMEOUT_MS = 10_000;
/** How long after its grace a thread may take to stop before the process gives up on it. */
const STOP_SLACK_MS = 10_000;

interface Slot {
  worker: Worker | null;
  /** Its worker has said it listens. */
  up: boolean;
  /** The config its worker serves (what it started on, then what it last took). */
  config: Config | null;
  startedAt: number;
  /** Back-off before the next start after a quick death. */
  backoffMs: number;
}

export async function startCluster(config: Config, workers: number, listen: { host?: string; port?: number } = {}): Promise<Cluster> {
  const host = listen.host ?? config.server.host;
  const requested = listen.port ?? config.server.port;
  const shared = new SharedState(workers);
  const hub = config.telemetry.enabled ? new TelemetryHub(config.telemetry, providerSecrets(config), workers, shared) : null;
  const slots: Slot[] = Array.from({ length: workers }, () => ({ worker: null, up: false, config: null, startedAt: 0, backoffMs: 0 }));
  /** What a thread starts on: the latest config a reload applied, and the reload status. */
  let current = config;
  let status: ReloadStatus = { ...ownStatus };
  let stopping = false;
  let seq = 0;
  /** Asks sent to several threads (askThreads), by id: what to do with one thread's answer. */
  const asking = new Map<number, (thread: number, answer: FromThread | null) => void>();
  const asked = new Replies<number, void>();

  // The threads share their port on purpose; another process on it would silently take a share of
  // the traffic. Unless server.reusePort says that is wanted, make sure nothing listens there first.
  // Port 0 is picked here: uSockets sets SO_REUSEPORT only on a given port, so the threads could not
  // join an ephemeral one the first thread was given.
  const port = !config.server.reusePort || requested === 0 ? await freePort(host, requested) : requested;

  const send = (i: number, m: ToThread, transfer?: readonly TransferListItem[]): void => slots[i]!.worker?.postMessage(m, transfer);

  /**
   * Sends make(id) to each of `threads`, hands each answer to `onAnswer`, and resolves once every one
   * answered or after timeoutMs, with the threads that did not answer. A thread that exits counts as
   * answered (with null): it is started again on the latest config and has nothing to say.
   */
  const askThreads = (threads: Set<number>, timeoutMs: number, make: (id: number) => ToThread, onAnswer: (thread: number, answer: FromThread | null) => void): Promise<Set<number>> => {
    if (threads.size === 0) return Promise.resolve(threads);
    const id = ++seq;
    asking.set(id, (i, answer) => {
      if (!threads.delete(i)) return;
      onAnswer(i, answer);
      if (threads.size === 0) asked.settle(id, undefined);
    });
    const sendAll = (): void => {
      for (const i of threads) send(i, make(id));
    };
    return asked
      .wait(id, timeoutMs, () => {}, sendAll)
      .then(() => threads)
      .finally(() => asking.delete(id));
  };

  /** Sends make(id) to every live thread but `from`; resolves with the stats that came back in time. */
  const relay = (from: number, make: (id: number) => ToThread): Promise<LocalStats[]> => {
    const threads = new Set<number>();
    slots.forEach((s, i) => i !== from && s.worker !== null && shared.thread(i, THREAD.alive) === 1 && threads.add(i));
    const stats: LocalStats[] = [];
    const onAnswer = (_i: number, m: FromThread | null): void => {
      if (m?.type === 'local') stats.push(m.stats);
    };
    return askThreads(threads, ASK_TIMEOUT_MS, make, onAnswer).then(() => stats);
  };

  const start = (i: number, link: TelemetryLink | null): Promise<number> => {
    const telemetry = hub !== null && link !== null ? { ring: hub.rings[i]!, link } : null;
    const init: ThreadInit = { index: i, config: current, host, port, shared: shared.buffers, telemetry, reload: status };
    const w = new Worker(workerScript(import.meta.url, 'request-thread.js', './thread-from-source.mjs'), {
      workerData: init,
      transferList: telemetry === null ? [] : [telemetry.link.names, telemetry.link.control],
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const slot = slots[i]!;
    slot.worker = w;
    slot.up = false;
    slot.config = current;
    slot.startedAt = performance.now();
    return new Promise((resolve, reject) => {
      let up = false;
      w.on('message', (m: FromThread) => {
        switch (m.type) {
          case 'listening':
            up = true;
            slot.up = true;
            resolve(m.port);
            // Started while a reload was being decided, on the config it replaced.
            if (slot.config !== current) resync(i);
            return;
          case 'failed':
            reject(new Error(m.message));
            // It stays in the slot until it exits: a thread that could not start serves nothing.
            void w.terminate();
            return;
          case 'gather':
            void relay(i, (id) => ({ type: 'gather', id })).then((stats) => send(i, { type: 'gathered', id: m.id, stats }));
            return;
          case 'entities':
            void relay(i, (id) => ({ type: 'reload', id })).then(() => send(i, { type: 'entities-done', id: m.id }));
            return;
          case 'local':
          case 'reloaded':
          case 'reconfigured':
            asking.get(m.id)?.(i, m);
        }
      });
      w.on('error', (err) => process.stderr.write(`microgate: request thread ${i}: ${err.message}\n`));
      w.on('exit', (code) => {
        if (slot.worker !== w) return;
        slot.worker = null;
        for (const answer of [...asking.values()]) answer(i, null);
        if (!up) {
          reject(new Error(`request thread ${i} exited with code ${code} before listening`));
          return;
        }
        if (!stopping) replace(i, code);
      });
    });
  };

  /** Brings thread `i` to the current config (it serves another: it started during a reload). */
  const resync = (i: number): void => {
    const target = current;
    void askThreads(new Set([i]), RECONFIGURE_TIMEOUT_MS, (id) => ({ type: 'reconfigure', id, config: target }), (j, m) => {
      if (m?.type === 'reconfigured' && m.error === null) slots[j]!.config = target;
      else if (m?.type === 'reconfigured') process.stderr.write(`microgate: request thread ${j} could not take the current config: ${m.error}\n`);
    });
  };

  /** Thread `i` died: what it had in flight is counted as lost, and another takes its slot. */
  const replace = (i: number, code: number): void => {
    const lost = shared.thread(i, THREAD.inFlight);
    shared.addThread(i, THREAD.lost, lost);
    shared.setThread(i, THREAD.inFlight, 0);
    shared.setThread(i, THREAD.alive, 0);
    shared.addThread(i, THREAD.restarts, 1);
    const slot = slots[i]!;
    const quick = performance.now() - slot.startedAt < QUICK_DEATH_MS;
    slot.backoffMs = quick ? Math.min(Math.max(slot.backoffMs * 2, 100), 5_000) : 0;
    process.stderr.write(`microgate: request thread ${i} exited (code ${code}) with ${lost} request(s) in flight, counted as lost; starting it again${slot.backoffMs > 0 ? ` in ${slot.backoffMs} ms` : ''}\n`);
    setTimeout(() => {
      if (stopping) return;
      // The worker first reads what the dead thread left in its ring, under the dead thread's names.
      void (hub === null ? Promise.resolve(null) : hub.link(i))
        .then((link) => (stopping ? 0 : start(i, link)))
        .catch((err: unknown) => {
          // Redis unreachable for a moment, say: tried again, with the quick-death back-off, rather
          // than leaving the slot empty for the life of the process.
          process.stderr.write(`microgate: request thread ${i} could not start again: ${err instanceof Error ? err.message : String(err)}\n`);
          if (!stopping) replace(i, 1);
        });
    }, slot.backoffMs).unref();
  };

  if (hub !== null) hub.onRelink = (i, link) => send(i, { type: 'relink', link }, [link.names, link.control]);

  const stopAll = async (graceMs: number): Promise<boolean> => {
    stopping = true;
    const exits = slots.map(
      (s, i) =>
        new Promise<boolean>((resolve) => {
          const w = s.worker;
          if (w === null) return resolve(true);
          const timer = setTimeout(() => resolve(false), graceMs + STOP_SLACK_MS);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
          });
          send(i, { type: 'stop', graceMs });
        }),
    );
    const stopped = (await Promise.all(exits)).every(Boolean);
    await hub?.close(5_000);
    return stopped;
  };

  try {
    await Promise.all(slots.map(async (_, i) => start(i, hub === null ? null : await hub.link(i))));
  } catch (err) {
    await stopAll(0);
    throw err;
  }
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    threads: workers,
    shared,
    inFlight: () => shared.sum(THREAD.inFlight, true),
    close: stopAll,
    reload: async (next) => {
      const threads = new Set<number>();
      slots.forEach((s, i) => s.worker !== null && threads.add(i));
      const errors: string[] = [];
      const swapped = new Set<number>();
      const onAnswer = (i: number, m: FromThread | null): void => {
        if (m?.type !== 'reconfigured') return;
        if (m.error !== null) errors.push(`request thread ${i}: ${m.error}`);
        else swapped.add(i);
      };
      const late = await askThreads(threads, RECONFIGURE_TIMEOUT_MS, (id) => ({ type: 'reconfigure', id, config: next }), onAnswer);
      const failed = [...errors, ...[...late].map((i) => `request thread ${i} did not answer`)];
      // Only a config every thread took is the one new threads start on: a replacement given a config
      // the threads refused (a CEL typo is found only when a thread compiles it) would refuse it too and
      // never start. When some threads took it and others did not, those that did go back, so no two
      // threads serve different plans.
      if (failed.length === 0) {
        current = next;
        for (const i of swapped) slots[i]!.config = next;
      } else if (swapped.size > 0) {
        for (const i of swapped) slots[i]!.config = next;
        await askThreads(swapped, RECONFIGURE_TIMEOUT_MS, (id) => ({ type: 'reconfigure', id, config: current }), (i, m) => {
          if (m?.type === 'reconfigured' && m.error === null) slots[i]!.config = current;
        });
      }
      // A thread started again while this was decided took the config of that moment: bring it to
      // what was decided (it served the old plan while the others served the new one).
      slots.forEach((slot, i) => slot.worker !== null && slot.up && slot.config !== current && resync(i));
      return failed;
    },
    reloadStatus: (next) => {
      status = next;
      for (let i = 0; i < slots.length; i++) send(i, { type: 'reload-status', status: next });
    },
    crash: (i) => send(i, { type: 'crash' }),
  };
}

/** `port` if nothing listens there (else fails as a single gateway would), or a free one for port 0. */
function freePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () => reject(new Error(`cannot listen on ${host}:${port}: address in use (another gateway?) or not permitted`)));
    probe.listen({ host, port, exclusive: true }, () => {
      const picked = (probe.address() as { port: number }).port;
      probe.close(() => resolve(picked));
    });
  });
}
