// microgate bundled for a benchmark as `npm run build` bundles it: the entry points and the code
// splitting of that checkout's own package.json build script, so every thread the gateway starts
// (the telemetry worker, the request threads of `server.workers`) finds its script next to main.js.
// Used for the working tree (bench/run.ts) and for a --baseline worktree (bench/lib/baseline.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

/** The entries before request threads existed: what a build script we cannot read is assumed to have. */
const DEFAULT_ENTRIES = { main: 'src/main.ts', 'telemetry-worker': 'src/telemetry/worker.ts' };

/** esbuild options equal to `root`'s `npm run build` (its `name=path` entries, --splitting, --chunk-names), into `outdir`. */
export function gatewayBuildOptions(root: string, outdir: string): { options: BuildOptions; script: string | null } {
  let script: string | null = null;
  try {
    script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts?.build ?? null;
  } catch {
    /* no package.json: defaults */
  }
  const entries: Record<string, string> = {};
  for (const m of (script ?? '').matchAll(/(?:^|\s)([\w-]+)=(\S+\.ts)(?=\s|$)/g)) entries[m[1]!] = m[2]!;
  const splitting = script !== null && /\s--splitting(?:\s|$)/.test(script);
  const chunkNames = /\s--chunk-names=(\S+)/.exec(script ?? '')?.[1];
  return {
    script,
    options: {
      entryPoints: Object.keys(entries).length > 0 ? entries : DEFAULT_ENTRIES,
      absWorkingDir: root,
      outdir,
      bundle: true,
      splitting,
      ...(splitting && chunkNames !== undefined ? { chunkNames } : {}),
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    },
  };
}

export async function buildGateway(root: string, outdir: string, extra: Partial<BuildOptions> = {}): Promise<{ entries: string[]; script: string | null }> {
  const { options, script } = gatewayBuildOptions(root, outdir);
  await build({ ...options, ...extra });
  return { entries: Object.keys(options.entryPoints as Record<string, string>), script };
}

/** Bench tools (peers, the mock fleet, load runners) as plain one-file bundles, beside the gateway's. */
export async function buildTools(root: string, outdir: string, entryPoints: Record<string, string>, extra: Partial<BuildOptions> = {}): Promise<void> {
  await build({ entryPoints, absWorkingDir: root, outdir, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning', ...extra });
}

/** The V8/Node flags a tree's `npm start` passes to node (its package.json), for the processes the bench starts. */
export function startFlags(root: string): string {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const node = /(?:^|&&|;)\s*node\s+((?:--[\w-]+(?:=\S+)?\s+)*)/.exec(start);
  return node?.[1]?.trim() ?? '';
}
