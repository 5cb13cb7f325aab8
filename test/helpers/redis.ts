// A real redis-server for tests: an ephemeral port on 127.0.0.1, no persistence (--save '' --appendonly no),
// a throwaway working directory. restart() stops it and starts a fresh one on the same port (its data is gone,
// as after a crash of a non-persistent Redis, and so are its loaded scripts). pause()/resume() freeze it
// with SIGSTOP/SIGCONT: the connection stays open but nothing answers (command timeouts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CANDIDATES = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, waits for the exit; SIGKILL after 3 s) and removes its directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop(), or stops it first). Empty data. */
  restart(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its connections. */
  pause(): void;
  resume(): void;
}

function findBinary(): string {
  for (const c of CANDIDATES) if (c && existsSync(c)) return c;
  throw new Error('redis-server not found (tried $REDIS_SERVER, /usr/bin, /usr/local/bin): install redis-server: apt-get install redis-server');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function launch(bin: string, port: number, dir: string): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not become ready in 5 s:\n${out}`));
    }, 5_000);
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${out}`));
    });
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
}

/** Starts a redis-server; call stop() in afterAll. Throws if the binary is missing (no skipping). */
export async function startRedis(): Promise<TestRedis> {
  const bin = findBinary();
  const dir = mkdtempSync(join(tmpdir(), 'mg-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  // A port that was free a moment ago can be taken by the time redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(bin, port, dir);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  const cleanup = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child) await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      if (child) await terminate(child);
      child = await launch(bin, port, dir);
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}
