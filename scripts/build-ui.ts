// Builds the dashboard (ui/) into dist/ui/: one JavaScript bundle (uPlot included: the page loads
// nothing from any other origin), its CSS, and index.html. Run by `npm run build` and, through
// test/browser/build-ui.setup.ts, before the tests. Each file is written beside its target and renamed
// over it, so a gateway reading dist/ui/ while another build runs never sees half a file.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export async function buildUi(outdir = join(ROOT, 'dist', 'ui')): Promise<string[]> {
  mkdirSync(outdir, { recursive: true });
  const r = await build({
    entryPoints: { app: join(ROOT, 'ui', 'app.ts') },
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify: true,
    write: false,
    outdir,
    logLevel: 'warning',
    legalComments: 'none',
  });
  const written: string[] = [];
  const tmp = `.tmp-${process.pid}`;
  for (const f of r.outputFiles) {
    writeFileSync(f.path + tmp, f.contents);
    renameSync(f.path + tmp, f.path);
    written.push(basename(f.path));
  }
  for (const f of ['index.html', 'favicon.svg']) {
    copyFileSync(join(ROOT, 'ui', f), join(outdir, f + tmp));
    renameSync(join(outdir, f + tmp), join(outdir, f));
    written.push(f);
  }
  return written;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  await buildUi(process.argv[2]);
}
