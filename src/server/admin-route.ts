// The shape of an admin route (server/admin.ts mounts them; admin-*.ts files add theirs): its own
// file, so those files and admin.ts need not import each other.
import type { RuntimePlan } from '../plan/types.ts';

/** `params`: the pattern's parameters; `query`: the URL's query string, parsed. Resolves to [status, JSON body]. */
export type Handler = (plan: RuntimePlan, params: string[], body: unknown, query: URLSearchParams) => Promise<[number, unknown]>;

/** Mounts one admin route: authorised (adminRefusal), onAborted registered, the body read and parsed. */
export type Route = (method: 'get' | 'post' | 'put' | 'patch' | 'del', pattern: string, params: number, handler: Handler) => void;
