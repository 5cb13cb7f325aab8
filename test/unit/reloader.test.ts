// The process's reloader (threads/reloader.ts), against a fake gateway: what it counts, what it
// reports, that an unchanged file is no reload, and that an error quoting a secret is logged masked.
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { ReloadStatus } from '../../src/server/reload-status.ts';
import { PROCESS, SharedState } from '../../src/state/shared-state.ts';
import { startReloader, type Reloader } from '../../src/threads/reloader.ts';

const SECRET = 'sk-reloader-secret-0123456789abcdef';
const config = (model: string, key = SECRET): Config =>
  validateConfig({ version: 1, providers: { p: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k', value: key }] } }, models: { m: { targets: [{ provider: 'p', model }] } } }, {});

let reloader: Reloader | null = null;
afterEach(() => reloader?.close());

function setup(next: () => Config, apply: (c: Config) => Promise<string[]>) {
  const shared = new SharedState(1);
  const lines: string[] = [];
  const statuses: ReloadStatus[] = [];
  const applied: Config[] = [];
  reloader = startReloader({
    file: null,
    load: next,
    running: config('a'),
    target: { shared, apply: (c) => (applied.push(c), apply(c)), status: (s) => void statuses.push(s) },
    log: (l) => void lines.push(l),
  });
  return { shared, lines, statuses, applied };
}

describe('reloader', () => {
  it('applies a changed config, counts it and reports it; an unchanged file is no reload, SIGHUP always is', async () => {
    let next = config('b');
    const r = setup(() => next, async () => []);
    expect(await reloader!.reload('test')).toBe(true);
    expect(r.applied.map((c) => c.models.m!.targets[0]!.model)).toEqual(['b']);
    expect(r.shared.process[PROCESS.configReloads]).toBe(1);
    expect(r.statuses.at(-1)!.lastReload).toMatchObject({ ok: true, error: null });
    expect(await reloader!.reload('file changed', true)).toBe(true);
    expect(r.applied).toHaveLength(1);
    expect(await reloader!.reload('SIGHUP')).toBe(true);
    expect(r.applied).toHaveLength(2);
    next = config('c');
    expect(await reloader!.reload('file changed', true)).toBe(true);
    expect(r.shared.process[PROCESS.configReloads]).toBe(3);
  });

  it('keeps the running config when the new one fails, and never logs or reports a secret it quotes', async () => {
    const rotated = 'sk-rotated-secret-0123456789abcdef';
    const r = setup(() => config('b', rotated), async () => [`request thread 0: could not build with ${rotated} and ${SECRET}`]);
    expect(await reloader!.reload('test')).toBe(false);
    expect(r.shared.process[PROCESS.configReloadFailures]).toBe(1);
    expect(r.shared.process[PROCESS.configReloads]).toBe(0);
    const said = [...r.lines, JSON.stringify(r.statuses)].join('\n');
    expect(said).toContain('could not build');
    expect(said).not.toContain(rotated);
    expect(said).not.toContain(SECRET);
  });

  it('a bad edit put back to the running config ends the reported failure, though nothing is reloaded', async () => {
    let next: () => Config = () => {
      throw new Error('cannot parse config file: MISSING_CHAR at line 4');
    };
    const r = setup(() => next(), async () => []);
    expect(await reloader!.reload('file changed', true)).toBe(false);
    expect(r.statuses.at(-1)!.lastReload).toMatchObject({ ok: false });
    next = () => config('a');
    expect(await reloader!.reload('file changed', true)).toBe(true);
    expect(r.applied).toHaveLength(0);
    expect(r.statuses.at(-1)!.lastReload).toMatchObject({ ok: true, error: null });
    expect(r.shared.process[PROCESS.configReloads]).toBe(0);
  });

  it('a file that changes only what a restart applies (the port) is said to, not passed over in silence', async () => {
    const moved = config('a');
    moved.server.port = 9999;
    const r = setup(() => moved, async () => []);
    expect(await reloader!.reload('file changed', true)).toBe(true);
    expect(r.applied).toHaveLength(0);
    expect(r.lines.join('\n')).toMatch(/changes server\.port, which only a restart applies/);
  });

  it('every thread is told the load time at start, and a failed reload does not move it', async () => {
    const r = setup(() => {
      throw new Error('cannot parse config file');
    }, async () => []);
    const first = r.statuses[0]!;
    expect(first.lastReload).toBeNull();
    expect(await reloader!.reload('SIGHUP')).toBe(false);
    expect(r.statuses.at(-1)!.loadedAt).toBe(first.loadedAt);
  });

  it('a config that does not load is reported with its JSON path', async () => {
    const r = setup(() => validateConfig({ version: 1, providers: {}, routing: { deadlineMs: -1 } }, {}), async () => []);
    expect(await reloader!.reload('test')).toBe(false);
    expect(r.applied).toHaveLength(0);
    expect(r.lines[0]).toMatch(/failed, still serving the running config: [\s\S]*routing\.deadlineMs/);
    expect(r.statuses.at(-1)!.lastReload).toMatchObject({ ok: false });
  });

  it('a mounted ConfigMap updated in place (a new ..data link, the file untouched) is reloaded', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, renameSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // The layout kubelet writes: microgate.yaml → ..data/microgate.yaml, ..data → ..v1.
    const dir = mkdtempSync(join(tmpdir(), 'mg-configmap-'));
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'microgate.yaml'), 'a');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'microgate.yaml'), join(dir, 'microgate.yaml'));
    let next = config('a');
    const applied: Config[] = [];
    reloader = startReloader({
      file: join(dir, 'microgate.yaml'),
      load: () => next,
      running: config('a'),
      target: { shared: new SharedState(1), apply: async (c) => (applied.push(c), []), status: () => {} },
      log: () => {},
      debounceMs: 20,
    });
    // An update: a new version directory, and ..data swapped onto it by a rename.
    next = config('b');
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'microgate.yaml'), 'b');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    for (let i = 0; i < 100 && applied.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(applied.map((c) => c.models.m!.targets[0]!.model)).toEqual(['b']);
  });
});
