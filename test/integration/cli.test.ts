// `npm start` as a newcomer meets it: the real entry point in a child process.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it("the README's examples run as written against it (curl, the OpenAI SDK, the Anthropic SDK)", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'mg-'));
    child = spawn(TSX, [MAIN, '--port', '0'], { env: cleanEnv(), cwd });
    const url = await new Promise<string>((res, rej) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m !== null && out.includes('Try:')) res(m[1]!);
      });
      child!.on('exit', () => rej(new Error(`exited early: ${out}`)));
    });
    // The examples as the README has them; only the port is the one this gateway got.
    const use = readFileSync(join(ROOT, 'README.md'), 'utf8').split('## Use it')[1]!.split('\n## ')[0]!;
    const blocks = [...use.matchAll(/```(sh|ts)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]!.replaceAll('http://127.0.0.1:8080', url) }));
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'ts', 'ts']);
    const curl = spawnSync('bash', ['-c', blocks[0]!.code], { encoding: 'utf8' });
    expect(curl.status).toBe(0);
    expect((JSON.parse(curl.stdout) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toMatch(/\S/);
    for (const b of blocks.slice(1)) {
      // Inside the repository, so `import 'openai'` resolves as it does for a user who installed it.
      const file = join(ROOT, `.readme-example-${process.pid}.mts`);
      writeFileSync(file, b.code);
      try {
        const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/\S/);
      } finally {
        rmSync(file, { force: true });
      }
    }
  });

  it('the production bundle keeps the mock out of main.js: a chunk read only in zero-config mode', () => {
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const main = readFileSync(join(ROOT, 'dist/main.js'), 'utf8');
    // A string only the mock's answers contain.
    expect(main).not.toContain('Rate limit reached for requests (mock).');
    expect(main).toMatch(/import\("\.\/chunks\/mock-providers-[A-Z0-9]+\.js"\)/);
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
