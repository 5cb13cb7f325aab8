// A gateway as its own process (`src/main.ts` under tsx's loader, in `cwd` with its microgate.yaml),
// for the tests that need a real process: signals, file watching, fd limits, threads exiting.
// One process, node with tsx's loader (not the tsx CLI, which forks): SIGKILL then leaves no orphan.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');

export interface GatewayProcess {
  child: ChildProcess;
  /** From the start-up line. */
  url: string;
  /** What it printed up to its listening line (the banner). */
  banner: string;
  /** What it has written to stderr so far. */
  stderr(): string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts it and resolves once it prints its listening line (rejects if it exits first). `args`: its
 * command line (`--port 0` when there is no config file, so it never takes the default 8080);
 * `ulimit`: `ulimit -n` for it.
 */
export async function startGatewayProcess(cwd: string, opts: { args?: string[]; ulimit?: number } = {}): Promise<GatewayProcess> {
  const argv = [process.execPath, '--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/main.ts'), ...(opts.args ?? [])];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const child = opts.ulimit === undefined ? spawn(argv[0]!, argv.slice(1), { cwd, env }) : spawn('bash', ['-c', `ulimit -n ${opts.ulimit}; exec ${argv.join(' ')}`], { cwd, env });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let out = '';
  const url = await new Promise<string>((res, rej) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) res(m[1]!);
    });
    void exited.then(() => rej(new Error(`exited before listening: ${out} ${stderr}`)));
  });
  return { child, url, banner: out, stderr: () => stderr, exited };
}
