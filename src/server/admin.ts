// The admin API (governance): virtual keys, teams and customers created, changed and deleted at run
// time, usage per key, team and customer, budget resets. Every /admin/* route (and /metrics when
// governance.protectMetrics) needs `Authorization: Bearer <governance.adminKey>` or a dashboard session
// (server/ui-auth.ts); without an admin key configured they answer only on loopback. Entities made here persist (SQLite file, or Redis) and
// reach every replica; those of the config are read-only here. Key values are shown once, when made.
import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';
import type { RuntimePlan } from '../plan/types.ts';
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import { digestOf, type LevelLimits, type VirtualKey } from '../governance/directory.ts';
import { customerInput, keyInput, keyPatch, teamInput, type EntitySnapshot, type KeyRecord } from '../governance/entities.ts';
import type { Counter } from '../state/quota.ts';
import { windowOf } from '../state/quota.ts';
import { statusLine } from './respond.ts';
import { readSmallJson } from './small-json-body.ts';
import type { Config } from '../config/schema.ts';
import { adminRefusal } from './ui-auth.ts';
import type { Route } from './admin-route.ts';
import { mountRequestLog } from './admin-requests.ts';
import { mountConfigView } from './admin-config.ts';

/** Admin bodies are small JSON documents. */
const MAX_ADMIN_BODY = 64 * 1024;

type Json = Record<string, unknown>;


function send(res: HttpResponse, status: number, body: unknown, close = false): void {
  res.cork(() => res.writeStatus(statusLine(status)).writeHeader('content-type', 'application/json').end(JSON.stringify(body), close));
}

const bad = (message: string, param: string | null = null) => new GatewayError('invalid_request', message, { param });
const notFound = (what: string) => new GatewayError('not_found', `No ${what}.`);
const conflict = (message: string) => new GatewayError('invalid_request', message, { status: 409 });

/**
 * Answers a request the admin API refuses (adminRefusal, in ui-auth.ts, says why: no or a wrong admin
 * key or session, a missing CSRF header, not loopback) with its 401/403.
 */
export function refuseAdmin(res: HttpResponse, err: GatewayError): void {
  res.writeStatus(statusLine(err.status)).writeHeader('content-type', 'application/json');
  // A lock-out after wrong admin keys says when it ends (ui-auth.ts guessRefusal).
  if (err.retryAfterMs !== null) res.writeHeader('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
  res.end(JSON.stringify(err));
}

/**
 * Mounts the admin routes; `plan()` is read per request (a reload swaps it), and so is `config()`, the
 * validated config the plan was compiled from (null when the gateway was not given it).
 */
export function mountAdmin(app: TemplatedApp, plan: () => RuntimePlan, config: () => Config | null = () => null): void {
  const route: Route = (method, pattern, params, handler) => {
    app[method](pattern, (res, req) => {
      const p = plan();
      const refused = adminRefusal(p, res, req);
      if (refused !== null) return refuseAdmin(res, refused);
      const values = Array.from({ length: params }, (_, i) => req.getParameter(i) ?? '');
      const query = new URLSearchParams(req.getQuery() ?? '');
      let gone = false;
      res.onAborted(() => (gone = true));
      const run = (body: unknown) => {
        handler(p, values, body, query).then(
          ([status, out]) => gone || send(res, status, out),
          (err: unknown) => {
            const e = err instanceof GatewayError ? err : new GatewayError('internal_error', 'The admin request failed.', { cause: err });
            if (!gone) send(res, e.status, e.toJSON());
          },
        );
      };
      if (method === 'get' || method === 'del') return run(null);
      readSmallJson(res, MAX_ADMIN_BODY, 'Admin bodies are at most 64 KiB.', 'The body is not JSON.', ({ value, error, close }) => {
        if (gone) return;
        if (error !== null) return send(res, error.status, error.toJSON(), close);
        run(value === undefined ? {} : value);
      });
    });
  };

  route('get', '/admin/virtual-keys', 0, async (p) => [200, { data: [...p.governance.directory.keys.values()].map((k) => keyView(k, p)) }]);
  route('get', '/admin/virtual-keys/:id', 1, async (p, [id]) => {
    const k = p.governance.directory.keys.get(id!);
    if (k === undefined) throw notFound(`virtual key '${id}'`);
    return [200, keyView(k, p)];
  });
  route('post', '/admin/virtual-keys', 0, async (p, _, body) => {
    const input = parse(keyInput, body);
    const id = input.id ?? `vk-${randomBytes(6).toString('hex')}`;
    if (p.governance.directory.keys.has(id)) throw conflict(`A virtual key '${id}' exists.`);
    const value = input.value ?? `mgk-${randomBytes(24).toString('base64url')}`;
    const digest = digestOf(value);
    if (p.governance.directory.find(value) !== null) throw conflict('Another virtual key has this value.');
    const { value: _v, id: _i, ...rest } = input;
    const record: KeyRecord = { id, digest, createdAt: new Date().toISOString(), ...rest };
    // The check above reads this thread's directory; the store's create is the one that holds for every
    // thread and replica (two creates of one id at once).
    await commit(p, (s) => ({ ...s, keys: [...s.keys, record], opened: false }), async (store) => {
      const made = await store.createKey(record);
      if (made === 'id') throw conflict(`A virtual key '${id}' exists.`);
      if (made === 'value') throw conflict('Another virtual key has this value.');
    });
    const k = p.governance.directory.keys.get(id)!;
    // The value is shown this once; only its digest is kept.
    return [201, { ...keyView(k, p), value }];
  });
  route('patch', '/admin/virtual-keys/:id', 1, async (p, [id], body) => {
    const old = apiRecord(p, 'key', id!);
    const record: KeyRecord = { ...old, ...parse(keyPatch, body) };
    await commit(p, (s) => ({ ...s, keys: s.keys.map((k) => (k.id === id ? record : k)) }), (store) => store.put('key', record));
    return [200, keyView(p.governance.directory.keys.get(id!)!, p)];
  });
  route('post', '/admin/virtual-keys/:id/rotate', 1, async (p, [id]) => {
    const old = apiRecord(p, 'key', id!);
    const value = `mgk-${randomBytes(24).toString('base64url')}`;
    const record: KeyRecord = { ...old, digest: digestOf(value) };
    await commit(p, (s) => ({ ...s, keys: s.keys.map((k) => (k.id === id ? record : k)) }), (store) => store.put('key', record));
    return [200, { ...keyView(p.governance.directory.keys.get(id!)!, p), value }];
  });
  route('del', '/admin/virtual-keys/:id', 1, async (p, [id], _, query) => {
    apiRecord(p, 'key', id!);
    // Deny by default holds while a key exists: deleting the last one opens the gateway to every
    // client, which must be asked for in so many words.
    const gov = p.governance;
    const keepOne = !gov.directory.requireKey && gov.configured.virtualKeys.length === 0 && query.get('openGateway') !== 'true';
    const last = () => conflict(`Deleting '${id}', the last virtual key, would let any client use the gateway. Create another key first, set governance.requireVirtualKey: true, or confirm with ?openGateway=true.`);
    if (keepOne && gov.directory.keys.size === 1) throw last();
    // The store checks again in the same step as it deletes: two deletes of the last two keys, on two
    // threads or replicas, each saw the other key here.
    await commit(
      p,
      (s) => {
        const keys = s.keys.filter((k) => k.id !== id);
        return { ...s, keys, opened: keys.length === 0 || s.opened === true };
      },
      async (store) => {
        const removed = await store.removeKey(id!, keepOne);
        if (removed === 'last') throw last();
        // Deleted meanwhile through another thread or replica, which this one has not heard of yet.
        if (removed === 'missing') throw notFound(`virtual key '${id}'`);
      },
    );
    return [200, { id, deleted: true }];
  });

  route('get', '/admin/teams', 0, async (p) => [200, { data: [...p.governance.directory.teams.values()].map((t) => ({ id: t.id, name: t.name, customer: t.customer?.id ?? null, limits: limitsView(t.limits), source: t.source })) }]);
  route('put', '/admin/teams/:id', 1, async (p, [id], body) => {
    checkId(id!);
    const existing = p.governance.directory.teams.get(id!);
    if (existing?.source === 'config') throw conflict(`Team '${id}' is defined in the config; change it there.`);
    const record = { id: id!, ...parse(teamInput, body) };
    await commit(p, (s) => ({ ...s, teams: [...s.teams.filter((t) => t.id !== id), record] }), (store) => store.put('team', record));
    return [existing === undefined ? 201 : 200, record];
  });
  route('del', '/admin/teams/:id', 1, async (p, [id]) => {
    apiRecord(p, 'team', id!);
    await commit(p, (s) => ({ ...s, teams: s.teams.filter((t) => t.id !== id) }), (store) => store.remove('team', id!));
    return [200, { id, deleted: true }];
  });

  route('get', '/admin/customers', 0, async (p) => [200, { data: [...p.governance.directory.customers.values()].map((c) => ({ id: c.id, name: c.name, limits: limitsView(c.limits), source: c.source })) }]);
  route('put', '/admin/customers/:id', 1, async (p, [id], body) => {
    checkId(id!);
    const existing = p.governance.directory.customers.get(id!);
    if (existing?.source === 'config') throw conflict(`Customer '${id}' is defined in the config; change it there.`);
    const record = { id: id!, ...parse(customerInput, body) };
    await commit(p, (s) => ({ ...s, customers: [...s.customers.filter((c) => c.id !== id), record] }), (store) => store.put('customer', record));
    return [existing === undefined ? 201 : 200, record];
  });
  route('del', '/admin/customers/:id', 1, async (p, [id]) => {
    apiRecord(p, 'customer', id!);
    await commit(p, (s) => ({ ...s, customers: s.customers.filter((c) => c.id !== id) }), (store) => store.remove('customer', id!));
    return [200, { id, deleted: true }];
  });

  route('get', '/admin/usage', 0, async (p) => {
    const d = p.governance.directory;
    const store = p.governance.store;
    // A shared store is read first: each thread and replica would otherwise report the totals it last
    // saw, seconds old for a key it has not served since, and two refreshes of one dashboard differed.
    if (store.refresh !== undefined) {
      const { permits, spend } = p.governance.counters();
      await store.refresh(permits, spend, Date.now());
    }
    const now = Date.now();
    const level = (id: string, name: string, l: LevelLimits) => ({ id, name, usage: usageView(p, l, now) });
    return [
      200,
      {
        virtualKeys: [...d.keys.values()].map((k) => ({ ...level(k.id, k.name, k.limits), team: k.team?.id ?? null, customer: k.customer?.id ?? null })),
        teams: [...d.teams.values()].map((t) => level(t.id, t.name, t.limits)),
        customers: [...d.customers.values()].map((c) => level(c.id, c.name, c.limits)),
        store: p.governance.store.health(),
      },
    ];
  });
  route('post', '/admin/budgets/reset', 0, async (p, _, body) => {
    const b = (body ?? {}) as Json;
    const d = p.governance.directory;
    const limits =
      typeof b.virtualKey === 'string' ? d.keys.get(b.virtualKey)?.limits : typeof b.team === 'string' ? d.teams.get(b.team)?.limits : typeof b.customer === 'string' ? d.customers.get(b.customer)?.limits : undefined;
    if (limits === undefined) throw bad('Name one known virtualKey, team or customer: {"team": "t1"}.');
    // The budget, and the token count of the minute, start again from zero on every replica.
    const counters = [limits.budget, limits.tpm].filter((c): c is Counter => c !== null);
    for (const c of counters) await p.governance.store.reset(c.id);
    return [200, { reset: counters.map((c) => c.id) }];
  });

  // What the dashboard reads: the request log and the loaded config, secrets masked.
  mountRequestLog(route, config);
  mountConfigView(route, config);
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.join('.');
  throw bad(`${path === '' ? 'body' : path}: ${issue.message}`, path === '' ? null : path);
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9_.:-]{1,48}$/.test(id)) throw bad('Ids are letters, digits, "_", ".", ":" and "-", at most 48.', 'id');
}

/** An entity of the admin API (not the config's), or the 404/409 that says why it cannot be changed. */
function apiRecord(p: RuntimePlan, kind: 'key', id: string): KeyRecord;
function apiRecord(p: RuntimePlan, kind: 'team' | 'customer', id: string): { id: string };
function apiRecord(p: RuntimePlan, kind: 'key' | 'team' | 'customer', id: string): { id: string } {
  const gov = p.governance;
  const list = kind === 'key' ? gov.stored.keys : kind === 'team' ? gov.stored.teams : gov.stored.customers;
  const found = list.find((x) => x.id === id);
  if (found !== undefined) return found;
  const inConfig = kind === 'key' ? gov.directory.keys.has(id) : kind === 'team' ? gov.directory.teams.has(id) : gov.directory.customers.has(id);
  if (inConfig) throw conflict(`${kind === 'key' ? 'Virtual key' : kind === 'team' ? 'Team' : 'Customer'} '${id}' is defined in the config; change it there.`);
  throw notFound(`${kind === 'key' ? 'virtual key' : kind} '${id}'`);
}

/**
 * Applies a change: the new directory is built first (a reference to an unknown team or customer is
 * refused before anything is written), then stored, then applied here (other replicas follow).
 */
async function commit(p: RuntimePlan, change: (s: EntitySnapshot) => EntitySnapshot, write: (store: Awaited<ReturnType<RuntimePlan['governance']['entityStore']>>) => Promise<unknown>): Promise<void> {
  const gov = p.governance;
  const next = change(gov.stored);
  try {
    gov.build(next);
  } catch (err) {
    throw conflict((err as Error).message);
  }
  try {
    // Opening the store fails too while Redis is unreachable (a replica started during an outage).
    await write(await gov.entityStore());
  } catch (err) {
    if (isGatewayError(err)) throw err;
    // Redis or the file is unreachable: the documented 503, not a 500.
    // Its own words are not passed on: a store URL may hold a password.
    throw new GatewayError('governance_unavailable', 'The governance store could not be written; nothing was changed. Retry shortly.');
  }
  gov.apply(change(gov.stored));
  // Answered once every request thread knows: the key just made works wherever the next request lands.
  await gov.changed();
}

function keyView(k: VirtualKey, p: RuntimePlan): Json {
  const rec = p.governance.stored.keys.find((x) => x.id === k.id);
  return {
    id: k.id,
    name: k.name,
    team: k.team?.id ?? null,
    customer: k.customer?.id ?? null,
    models: k.models === null ? null : [...k.models],
    providers: k.providers === null ? null : [...k.providers],
    limits: limitsView(k.limits),
    source: k.source,
    ...(rec === undefined ? {} : { createdAt: rec.createdAt }),
  };
}

function limitsView(l: LevelLimits): Json {
  return {
    ...(l.rpm === null ? {} : { requestsPerMinute: l.rpm.limit }),
    ...(l.tpm === null ? {} : { tokensPerMinute: l.tpm.limit }),
    ...(l.budget === null ? {} : { budget: { usd: l.budget.limit, period: l.budget.period } }),
  };
}

function usageView(p: RuntimePlan, l: LevelLimits, now: number): Json {
  const store = p.governance.store;
  const out: Json = {};
  if (l.rpm !== null) out.requestsPerMinute = { limit: l.rpm.limit, used: l.rpm.limit - store.remaining(l.rpm, now), resetsAt: new Date(windowOf('1m', now).end).toISOString() };
  if (l.tpm !== null) out.tokensPerMinute = { limit: l.tpm.limit, used: store.spent(l.tpm, now), resetsAt: new Date(windowOf('1m', now).end).toISOString() };
  if (l.budget !== null) out.budget = { usd: l.budget.limit, period: l.budget.period, spentUsd: store.spent(l.budget, now), resetsAt: new Date(windowOf(l.budget.period, now).end).toISOString() };
  return out;
}
