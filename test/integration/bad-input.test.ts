// Bad requests at the socket level: each gets a clear error (or, for the heads this uWS build cannot
// parse, a closed connection), and none disturbs the requests running beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request } from 'undici';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { startStack, type Stack } from '../helpers/stack.ts';
import { rawHttp } from '../helpers/raw-http.ts';

let s: Stack;
const LIMIT = 4096;

beforeAll(async () => {
  s = await startStack({ main: { latencyMs: 50 } }, (m) => ({
    version: 1,
    server: { maxBodyBytes: LIMIT },
    providers: { mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'v' }], models: ['mock-small'] } },
  }));
});
afterAll(() => s.close());

async function post(body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v1/chat/completions') {
  const res = await request(`${s.gw.url}${path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, error: (JSON.parse(text) as { error: { code: string; param: string | null; message: string } }).error };
}

const raw = (parts: Array<string | Buffer>, opts: { gapMs?: number; waitMs?: number } = {}) => rawHttp(s.gw.port, parts, opts);

const ok = () => post(JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }));

describe('bad input gets an OpenAI-shaped error', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    const r = await post('{"model": "mock-small", "messages": [');
    expect(r.status).toBe(400);
    expect(r.error.code).toBe('invalid_json');
  });

  it('a JSON array → 400', async () => {
    expect((await post('[1,2]')).status).toBe(400);
  });

  it('missing model → 400 naming the param', async () => {
    const r = await post(JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('model');
  });

  it('missing messages → 400 naming the param', async () => {
    const r = await post(JSON.stringify({ model: 'mock-small' }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('messages');
  });

  it('missing input on embeddings → 400 naming the param', async () => {
    const r = await post(JSON.stringify({ model: 'mock-small' }), undefined, '/v1/embeddings');
    expect(r.error.param).toBe('input');
  });

  it('non-boolean stream → 400', async () => {
    const r = await post(JSON.stringify({ model: 'mock-small', stream: 'yes', messages: [{ role: 'user', content: 'x' }] }));
    expect(r.error.param).toBe('stream');
  });

  it('content-type other than JSON → 415', async () => {
    const r = await post('model=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(r.error.code).toBe('unsupported_media_type');
  });

  it('a compressed body → 415 naming the coding, not a JSON error quoting its bytes', async () => {
    const body = gzipSync(JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'x' }] }));
    const r = await post(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(415);
    expect(r.error.code).toBe('unsupported_media_type');
    expect(r.error.message).toBe("Content-Encoding 'gzip' is not accepted: send the body uncompressed.");
    // identity is no coding at all.
    const plain = await post(JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'x' }] }), { 'content-type': 'application/json', 'content-encoding': 'identity' });
    expect(plain.status).not.toBe(415);
  });

  it('a +json content type with a charset is accepted', async () => {
    const r = await request(`${s.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
      body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'x' }] }),
    });
    await r.body.text();
    expect(r.statusCode).toBe(200);
  });

  it('a declared body over the limit → 413 before the body is sent, and the connection closes', async () => {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`;
    const r = await raw([head, '{"model":']);
    expect(r.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.data).toContain('request_too_large');
    expect(r.closed).toBe(true);
  });

  it('a chunked body that grows past the limit → 413 once it ends, and the connection serves the next request', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const chunk = `${(2048).toString(16)}\r\n${'a'.repeat(2048)}\r\n`;
    const next = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await raw([head, chunk, chunk, chunk, chunk, '0\r\n\r\n', next], { gapMs: 10, waitMs: 600 });
    expect(r.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.data).toContain('HTTP/1.1 200 OK');
    expect(r.closed).toBe(false);
  });

  it('a declared body a little over the limit is read and refused: 413, and the connection stays usable', async () => {
    const body = `{"model":"mock-small","messages":[{"role":"user","content":"${'x'.repeat(LIMIT)}"}]}`;
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await raw([head, body.slice(0, 1000), body.slice(1000), 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], { gapMs: 10, waitMs: 600 });
    expect(r.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.data).toContain('HTTP/1.1 200 OK');
    expect(r.closed).toBe(false);
  });

  it('a client still uploading when the 413 is decided can finish its upload and read the answer: no reset, no broken pipe', async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const got = await new Promise<{ data: string; error: string }>((resolve) => {
      const sock = connect(s.gw.port, '127.0.0.1');
      let data = '';
      let error = '';
      sock.on('data', (d) => (data += d.toString('latin1')));
      sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? 'error'));
      sock.on('connect', async () => {
        sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
        sock.write(body.subarray(0, 1024 * 1024));
        // The gateway has decided by now; the rest of the upload follows, as an SDK's would.
        await new Promise((r) => setTimeout(r, 100));
        sock.write(body.subarray(1024 * 1024), () => setTimeout(() => {
          sock.destroy();
          resolve({ data, error });
        }, 200));
      });
      setTimeout(() => resolve({ data, error: error || 'timeout' }), 5000);
    });
    expect(got.error).toBe('');
    expect(got.data).toMatch(/^HTTP\/1\.1 413 /);
  });

  it("the OpenAI SDK gets the typed 413 every time, never a broken pipe (20 of 20)", async () => {
    const sdk = new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    // Larger than the socket buffers: the SDK is still writing when the answer comes.
    const big = 'x'.repeat(16 * 1024 * 1024);
    for (let i = 0; i < 20; i++) {
      const err = await sdk.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: big }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('request_too_large');
    }
  });

  it('a stray body on a route that takes none is dropped and the request served; past the drain limit it is refused and closed', async () => {
    // Small: read, dropped, and the GET goes on to the provider (the mock lists its files).
    const small = await raw(['GET /v1/files HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n', 'hello'], { waitMs: 600 });
    expect(small.data).toMatch(/^HTTP\/1\.1 200 /);
    // Declared over the drain limit (64 MB here): refused before the body.
    const declared = await raw([`GET /v1/files HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`, 'hello']);
    expect(declared.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared.closed).toBe(true);
    // Chunked and endless: refused once it passes the limit, not held open for as long as it lasts.
    // (64 KB chunks: this uWS build closes the connection, silently, on 1 MB ones.)
    const piece = Buffer.alloc(64 * 1024, 0x61);
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    const endless = await raw(['GET /v1/files HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', ...Array.from({ length: 1050 }, () => chunk)], { waitMs: 4000 });
    expect(endless.data).toMatch(/^HTTP\/1\.1 413 /);
    expect(endless.data).toContain('request_too_large');
    expect(endless.closed).toBe(true);
  });

  it('an unknown path with a body is answered 404 after the body, on a connection that stays usable', async () => {
    const body = '{"hello":"world"}';
    const r = await raw([`POST /v2/nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, body, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], { gapMs: 10, waitMs: 600 });
    expect(r.data).toMatch(/^HTTP\/1\.1 404 /);
    expect(r.data).toContain('HTTP/1.1 200 OK');
    expect(r.closed).toBe(false);
  });

  it('unknown path → 404, wrong method → 405 with Allow', async () => {
    const a = await request(`${s.gw.url}/v2/whatever`);
    expect(a.statusCode).toBe(404);
    expect(((await a.body.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const b = await request(`${s.gw.url}/v1/chat/completions`);
    expect(b.statusCode).toBe(405);
    expect(b.headers.allow).toBe('POST');
    await b.body.text();
  });

  it("an unknown path under /v1/messages answers in Anthropic's shape (the SDK's message batches land there); a bad count too", async () => {
    const r = await request(`${s.gw.url}/v1/messages/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.statusCode).toBe(404);
    expect(await r.body.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const count = await request(`${s.gw.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(count.statusCode).toBe(400);
    expect(await count.body.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const get = await request(`${s.gw.url}/v1/messages`);
    expect(get.statusCode).toBe(405);
    expect(await get.body.json()).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/use POST/) } });
  });

  it('HEAD on a GET route answers without a body', async () => {
    const r = await request(`${s.gw.url}/health`, { method: 'HEAD' });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe('');
    const ready = await request(`${s.gw.url}/ready`, { method: 'HEAD' });
    expect(ready.statusCode).toBe(200);
    await ready.body.text();
    // A route that checks a key first is not answered 200 unchecked.
    const models = await request(`${s.gw.url}/v1/models`, { method: 'HEAD' });
    expect(models.statusCode).toBe(405);
    expect(models.headers.allow).toBe('GET');
    await models.body.text();
  });
});

describe('heads this uWS build cannot take (README: "Request head limits")', () => {
  it('a head over 4 KiB split across reads is closed without an answer; neighbours are unaffected', async () => {
    const big = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(5000)}\r\n`;
    const [r, neighbour] = await Promise.all([raw([big.slice(0, 3000), big.slice(3000), '\r\n'], { gapMs: 50 }), ok()]);
    expect(r.data).toBe('');
    expect(r.closed).toBe(true);
    expect(neighbour.status).toBe(200);
  });

  it('more than 48 headers gets no answer; the process keeps serving', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const [r, neighbour] = await Promise.all([raw([`GET /health HTTP/1.1\r\nHost: x\r\n${many}\r\n`], { waitMs: 500 }), ok()]);
    expect(r.data).toBe('');
    expect(neighbour.status).toBe(200);
    expect((await ok()).status).toBe(200);
  });
});

describe('bad input never disturbs requests beside it', () => {
  it('answers 200 to good requests interleaved with every kind of bad one', async () => {
    const bad = [
      () => post('{oops'),
      () => post(JSON.stringify({ model: 'mock-small' })),
      () => post('x', { 'content-type': 'text/plain' }),
      () => post('x'.repeat(LIMIT + 1)),
      () => post(JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })),
    ];
    const all = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? ok() : bad[(i >> 1) % bad.length]!())));
    const good = all.filter((_, i) => i % 2 === 0);
    expect(good.every((r) => r.status === 200)).toBe(true);
    expect(all.filter((_, i) => i % 2 === 1).every((r) => r.status >= 400 && r.status < 500)).toBe(true);
  });
});
