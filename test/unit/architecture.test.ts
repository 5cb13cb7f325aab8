// The layers of src/ (ARCHITECTURE.md, README "How it is built"): imports point down only, type
// imports included, and no file takes part in an import cycle. A change that breaks either fails here.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(import.meta.dirname, '../../src');

/** Higher imports lower, never the reverse. Files not listed take their directory's rank. */
const RANK: Record<string, number> = {
  'main.ts': 12,
  // Request threads, and the supervisor that starts them: each thread runs a gateway.
  threads: 11,
  'gateway.ts': 10,
  'config/compile.ts': 9,
  'config/load.ts': 9,
  'config/reloadable.ts': 9,
  server: 8,
  telemetry: 7,
  pipeline: 6,
  upstream: 5,
  request: 4,
  rules: 3,
  governance: 2,
  plan: 2,
  // Wire formats and endpoints are pure: they import only errors and util.
  formats: 1,
  endpoints: 1,
  classify: 1,
  state: 1,
  // The config's schema and the provider presets describe data and import nothing of the gateway.
  'config/schema.ts': 0,
  'config/provider-kinds.ts': 0,
  util: 0,
  errors: 0,
};

function rankOf(file: string): number {
  const rel = relative(SRC, file);
  if (RANK[rel] !== undefined) return RANK[rel]!;
  const dir = rel.split('/')[0]!;
  const r = RANK[dir];
  if (r === undefined) throw new Error(`${rel}: not in any layer of architecture.test.ts`);
  return r;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const graph = new Map<string, string[]>();
for (const file of sources(SRC)) {
  const text = readFileSync(file, 'utf8');
  const deps = [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => resolve(dirname(file), m[1]!));
  graph.set(file, deps.filter((d) => d.startsWith(SRC)));
}

describe('architecture', () => {
  it('every import points to the same layer or one below it', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      for (const d of deps) {
        const sameDir = dirname(d) === dirname(file);
        if (!sameDir && rankOf(d) > rankOf(file)) upward.push(`${relative(SRC, file)} → ${relative(SRC, d)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('upstream/ never imports server/ (it writes to the client through RequestSink)', () => {
    const bad = [...graph].flatMap(([f, deps]) => (relative(SRC, f).startsWith('upstream/') ? deps.filter((d) => relative(SRC, d).startsWith('server/')) : []));
    expect(bad).toEqual([]);
  });

  it('no import cycles, type imports included', () => {
    // Tarjan's strongly connected components: any component of more than one file is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
      if (low.get(v) === idx.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(relative(SRC, w));
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const v of graph.keys()) if (!idx.has(v)) visit(v);
    expect(cycles).toEqual([]);
  });
});
