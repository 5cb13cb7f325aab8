// The SQLite entity store's one-step checks (request threads and replicas on one host each have their
// own connection to the file): a key id is made once, the last key is not removed unless asked, and a
// store emptied on purpose says so (EntitySnapshot.opened).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEntities } from '../../src/governance/entities-sqlite.ts';
import type { KeyRecord } from '../../src/governance/entities.ts';

const open: SqliteEntities[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function twoConnections(): [SqliteEntities, SqliteEntities] {
  const file = join(mkdtempSync(join(tmpdir(), 'mg-entities-')), 'gov.db');
  const a = new SqliteEntities(file);
  const b = new SqliteEntities(file);
  open.push(a, b);
  return [a, b];
}

const key = (id: string): KeyRecord => ({ id, digest: `digest-${id}`, createdAt: '2026-12-07T00:00:00.000Z', limits: {} }) as KeyRecord;

describe('SQLite entities', () => {
  it('makes an id once, and a value once, whichever connection asks first', async () => {
    const [a, b] = twoConnections();
    expect(await a.createKey(key('k'))).toBe('made');
    expect(await b.createKey({ ...key('k'), digest: 'other' })).toBe('id');
    expect(await b.createKey({ ...key('k2'), digest: 'digest-k' })).toBe('value');
    expect((await a.load()).keys.map((k) => k.digest)).toEqual(['digest-k']);
  });

  it('keeps the last key against two removals from two connections, and records a removal of the last asked for', async () => {
    const [a, b] = twoConnections();
    await a.createKey(key('k1'));
    await a.createKey(key('k2'));
    const results = await Promise.all([a.removeKey('k1', true), b.removeKey('k2', true)]);
    expect(results.sort()).toEqual(['last', 'removed']);
    expect((await b.load()).keys).toHaveLength(1);
    expect(await a.removeKey('k1', true)).not.toBe('removed');
    const left = (await a.load()).keys[0]!.id;
    expect(await b.removeKey('gone', false)).toBe('missing');
    expect((await a.load()).opened).toBeUndefined();
    expect(await b.removeKey(left, false)).toBe('removed');
    expect(await a.load()).toMatchObject({ keys: [], opened: true });
    // A new key ends the opened state.
    await b.createKey(key('k3'));
    expect((await a.load()).opened).toBeUndefined();
  });

  it('writes last known entities back only into a store that has no key and was not opened on purpose', async () => {
    const [a, b] = twoConnections();
    const known = { keys: [key('k1'), key('k2')], teams: [{ id: 't1', limits: {} }], customers: [] } as never;
    expect(await a.restore(known)).toBe(true);
    expect((await b.load()).keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect((await b.load()).teams.map((t) => t.id)).toEqual(['t1']);
    // Holding a key: nothing written, nothing overwritten.
    expect(await b.restore({ keys: [{ ...key('k1'), digest: 'stale' }, key('k9')], teams: [], customers: [] })).toBe(false);
    expect((await a.load()).keys.map((k) => k.digest)).toEqual(['digest-k1', 'digest-k2']);
    // Emptied on purpose (the last key removed when asked): it stays open.
    await a.removeKey('k1', false);
    await a.removeKey('k2', false);
    expect(await b.restore(known)).toBe(false);
    expect(await a.load()).toMatchObject({ keys: [], opened: true });
  });
});
