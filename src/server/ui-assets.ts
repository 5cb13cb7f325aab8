// The dashboard's files, built by `npm run build` (scripts/build-ui.ts) into dist/ui/ and held in
// memory: the gateway builds nothing at run time. Found next to the running code (dist/ when bundled,
// the repository's dist/ when run from source), or in MICROGATE_UI_DIR.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/** The directory holding the built index.html, or null. */
export function findUiDir(from = import.meta.dirname): string | null {
  const env = process.env.MICROGATE_UI_DIR;
  if (env !== undefined && env !== '') return existsSync(join(env, 'index.html')) ? env : null;
  let d = from;
  for (let i = 0; i < 5; i++) {
    // dist/main.js and dist/chunks/*.js sit in dist/; src/server/ is two levels below the repository.
    const candidate = basename(d) === 'dist' ? join(d, 'ui') : join(d, 'dist', 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return null;
}

/** "/ui/app.js" → its file, for every file of the built directory (flat, small); empty when not built. */
export function loadAssets(dir: string | null): Map<string, Asset> {
  const out = new Map<string, Asset>();
  if (dir === null) return out;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    const type = TYPES[extname(f)];
    if (type === undefined || !statSync(path).isFile()) continue;
    out.set(`/ui/${f}`, { type, body: readFileSync(path) });
  }
  return out;
}
