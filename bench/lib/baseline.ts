// `npm run bench -- --baseline <git-ref>`: microgate as built from another commit, to run beside the
// current one in the same benchmark run (an A/B whose both sides share the machine's drift).
//
// The ref is checked out into a temporary `git worktree` (the repository's own checkout is never
// touched), node_modules is a symlink to this checkout's, and the ref is bundled as its own `npm run
// build` bundles it (its entries and splitting: bench/lib/gateway-build.ts) into the worktree's dist/.
// The baseline runs with the ref's own bench/microgate.bench.yaml (a newer config may hold keys its
// strict schema rejects), with only its port and request-log directory changed and, when the ref knows
// `server.workers` and its config does not set it, `workers: 1` like microgate's (one request thread,
// not the default one per core); the worktree is removed by `cleanup()`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { buildGateway } from './gateway-build.ts';

export interface Baseline {
  /** The full commit id the ref resolved to. */
  commit: string;
  /** The worktree the baseline was built from (removed by cleanup). */
  tree: string;
  /** The bundled entry point, `node <main> --config <config>`. */
  main: string;
  /** The config it runs with: the ref's own bench config, port and log directory changed. */
  config: string;
  /** Where that config came from, for the report. */
  configSource: string;
  /** Removes the worktree and the temporary files; safe to call twice. */
  cleanup(): void;
}


const git = (root: string, args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a bench config routes `model`: an alias, `provider/model` of a declared provider, or a model a provider lists. */
function serves(config: Obj, model: string): boolean {
  const providers = isObj(config.providers) ? config.providers : {};
  if (isObj(config.models) && model in config.models) return true;
  const slash = model.indexOf('/');
  if (slash > 0) return model.slice(0, slash) in providers;
  return Object.values(providers).some((p) => isObj(p) && Array.isArray(p.models) && p.models.includes(model));
}

export async function buildBaseline(opts: { root: string; ref: string; port: number; models: string[] }): Promise<Baseline> {
  const { root, ref, port, models } = opts;
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--baseline: "${ref}" is not a commit of this repository`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'microgate-base-'));
  const tree = join(tmp, 'tree');
  let removed = false;
  const cleanup = () => {
    if (removed) return;
    removed = true;
    try {
      git(root, ['worktree', 'remove', '--force', tree]);
    } catch {
      // Not created, or already gone: drop what is left and forget the registration.
      rmSync(tree, { recursive: true, force: true });
      try {
        git(root, ['worktree', 'prune']);
      } catch {
        /* nothing to prune */
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    git(root, ['worktree', 'add', '--detach', '--quiet', tree, commit]);
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
    const built = await buildGateway(tree, join(tree, 'dist'));
    if (built.script === null) process.stderr.write(`baseline: ${ref} has no build script; bundled ${built.entries.join(', ')}\n`);

    const own = join(tree, 'bench/microgate.bench.yaml');
    const source = existsSync(own) ? own : join(root, 'bench/microgate.bench.yaml');
    const doc = parseDocument(readFileSync(source, 'utf8'));
    const parsed = doc.toJS() as unknown;
    if (!isObj(parsed)) throw new Error(`--baseline: ${source} is not a YAML mapping`);
    const missing = models.filter((m) => !serves(parsed, m));
    if (missing.length > 0) throw new Error(`--baseline: the config of ${ref} (${source}) does not serve ${missing.join(', ')}, which the load is sent to`);
    doc.setIn(['server', 'port'], port);
    const schema = join(tree, 'src/config/schema.ts');
    if (doc.getIn(['server', 'workers']) === undefined && existsSync(schema) && /\bworkers:\s*z\./.test(readFileSync(schema, 'utf8'))) doc.setIn(['server', 'workers'], 1);
    // Its own request log, so the two gateways never write (or rotate) the same file.
    const dir = doc.getIn(['telemetry', 'log', 'dir']);
    if (typeof dir === 'string') doc.setIn(['telemetry', 'log', 'dir'], `${dir.replace(/\/+$/, '')}-base`);
    const config = join(tmp, 'microgate.bench.base.yaml');
    writeFileSync(config, doc.toString());
    return {
      commit,
      tree,
      main: join(tree, 'dist/main.js'),
      config,
      configSource: existsSync(own) ? `${ref}:bench/microgate.bench.yaml` : 'bench/microgate.bench.yaml (the ref has none)',
      cleanup,
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}
