// What the benchmark harness decides for its reports: which runs compare like for like, and which
// Node flags a tree's `npm start` gives its gateway (the A/B baseline runs with its own).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unlike, type Environment } from '../../bench/lib/report.ts';
import { startFlags } from '../../bench/lib/gateway-build.ts';

const env = (over: Partial<Environment> = {}): Environment => ({
  date: '', commit: 'a', dirty: false, node: 'v20.20.2', cpu: 'Intel Xeon', cores: 2, memGiB: 24, quick: false, configDigest: 'abc', features: {}, placement: 'none', baseline: null, ...over,
});

describe('bench reports', () => {
  it('says when two runs differ in machine, Node, mode, placement, config or a dirty tree', () => {
    expect(unlike(env(), env({ commit: 'b', date: 'later' }))).toEqual([]);
    expect(unlike(env({ cpu: 'AMD EPYC' }), env())).toEqual(['cpu: Intel Xeon → AMD EPYC']);
    expect(unlike(env(), env({ dirty: true, quick: true }))).toEqual(['quick: true → false', 'a run from a tree with uncommitted changes']);
  });

  it("reads the node flags of a tree's npm start, this tree's included", () => {
    expect(startFlags(resolve(import.meta.dirname, '../..'))).toMatch(/--max-semi-space-size=\d+/);
    const dir = mkdtempSync(join(tmpdir(), 'mg-start-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node dist/main.js' } }));
    expect(startFlags(dir)).toBe('');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'npm run build && node --max-semi-space-size=16 --expose-gc dist/main.js' } }));
    expect(startFlags(dir)).toBe('--max-semi-space-size=16 --expose-gc');
  });
});
