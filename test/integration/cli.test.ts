// `npm start` as a newcomer meets it: the real entry point in a child process.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const MAIN = join(ROOT, 'src/main.ts');
let child: ChildProcess | null = null;

/** The environment without any provider key, so zero-config falls back to the mock. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
  return env;
}

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const c = spawn(TSX, [MAIN, ...args], { env, cwd });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => res({ code, out, err }));
  });
}

afterEach(() => {
  child?.kill('SIGTERM');
  child = null;
});

describe('npm start', () => {
  it('with no config and no keys, serves from the bundled mock and says so', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mg-'));
    child = spawn(TSX, [MAIN, '--port', '0'], { env: cleanEnv(), cwd });
    const banner = await new Promise<string>((res, rej) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Try:')) res(out);
      });
      child!.on('exit', () => rej(new Error(`exited early: ${out}`)));
    });
    expect(banner).toMatch(/BUNDLED MOCK/);
    const url = /listening on (http:\/\/\S+)/.exec(banner)![1]!;
    const r = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-microgate-provider']).toBe('mock');
    await r.body.text();
    const exited = new Promise<number | null>((res) => child!.on('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = null;
  });

  it('refuses to start in production without a provider', async () => {
    const r = await run(['--port', '0'], cleanEnv({ NODE_ENV: 'production' }), mkdtempSync(join(tmpdir(), 'mg-')));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no configuration found/);
  });

  it('stops on a bad config with the JSON path, a non-zero exit, and never the secret', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mg-'));
    const secret = 'sk-live-DO-NOT-PRINT-0123456789';
    writeFileSync(
      join(cwd, 'microgate.yaml'),
      `version: 1\nproviders:\n  openai:\n    baseUrl: https://api.openai.com/v1\n    keys:\n      - { name: main, value: ${secret}, wieght: 2 }\n`,
    );
    const r = await run([], cleanEnv(), cwd);
    expect(r.code).toBe(1);
    expect(r.err).toContain('providers.openai.keys[0]');
    expect(r.err).toContain('wieght');
    expect(r.err + r.out).not.toContain(secret);
  });
});
