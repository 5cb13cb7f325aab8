// What the supervisor and its request threads say to each other, on each thread's parent port.
import type { Config } from '../config/schema.ts';
import type { LocalStats } from '../server/peers.ts';
import type { ReloadStatus } from '../server/reload-status.ts';
import type { SharedBuffers } from '../state/shared-state.ts';
import type { RingBuffers } from '../telemetry/ring.ts';
import type { TelemetryLink } from '../telemetry/worker.ts';

export interface ThreadInit {
  index: number;
  config: Config;
  host: string;
  port: number;
  shared: SharedBuffers;
  telemetry: { ring: RingBuffers; link: TelemetryLink } | null;
  /** When the running config was loaded and how the last reload went (GET /admin/config). */
  reload: ReloadStatus;
}

export type ToThread =
  /** Another thread asks for every thread's LocalStats (server/peers.ts). */
  | { type: 'gather'; id: number }
  /** Another thread changed the admin API's entities: load them. */
  | { type: 'reload'; id: number }
  /** Hot reload: build a plan from this config and swap it in; answer 'reconfigured'. */
  | { type: 'reconfigure'; id: number; config: Config }
  /** How the process's last reload went (every thread shows it). */
  | { type: 'reload-status'; status: ReloadStatus }
  /** The telemetry worker was started again: talk to it on this link. */
  | { type: 'relink'; link: TelemetryLink }
  /** Finish what is in flight (up to graceMs), then exit. */
  | { type: 'stop'; graceMs: number }
  /** Fail as a bug would (an uncaught exception): the supervisor's own tests use it. */
  | { type: 'crash' }
  /** Answers to the thread's own asks. */
  | { type: 'gathered'; id: number; stats: LocalStats[] }
  | { type: 'entities-done'; id: number };

export type FromThread =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  /** Asks the supervisor: every thread's LocalStats, or every thread reloaded the entities. */
  | { type: 'gather'; id: number }
  | { type: 'entities'; id: number }
  /** Answers to the supervisor. */
  | { type: 'local'; id: number; stats: LocalStats }
  | { type: 'reloaded'; id: number }
  /** A reconfigure's outcome: null, or why the new plan could not be built (the old one still serves). */
  | { type: 'reconfigured'; id: number; error: string | null };
