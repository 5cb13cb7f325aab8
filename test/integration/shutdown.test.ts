// Graceful stop: requests already accepted finish; new connections are refused; /ready flips first.
import { expect, it } from 'vitest';
import { request } from 'undici';
import { startStack } from '../helpers/stack.ts';

it('finishes requests in flight and refuses new connections', async () => {
  const s = await startStack({ main: { latencyMs: 300 } }, (m) => ({
    version: 1,
    providers: { mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'v' }] } },
  }));
  const body = JSON.stringify({ model: 'mock/m', messages: [{ role: 'user', content: 'hi' }] });
  const inFlight = Array.from({ length: 20 }, () =>
    request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => {
      await r.body.text();
      return r.statusCode;
    }),
  );
  while (s.mocks.main!.stats().inFlight < 20) await new Promise((r) => setTimeout(r, 10));

  const closing = s.gw.close(5_000);
  expect(s.gw.server.draining).toBe(true);
  const refused = await request(`${s.gw.url}/health`).then(
    () => 'answered',
    (e: { code?: string }) => e.code,
  );
  expect(refused).toBe('ECONNREFUSED');

  expect(await Promise.all(inFlight)).toEqual(Array(20).fill(200));
  await closing;
  await Promise.all(Object.values(s.mocks).map((m) => m.close()));
});

it('refuses to share its port unless reusePort is set: a stale instance cannot steal traffic', async () => {
  const s = await startStack({ main: {} }, (m) => ({
    version: 1,
    providers: { mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'v' }] } },
  }));
  const { startGateway } = await import('../../src/gateway.ts');
  const { validateConfig } = await import('../../src/config/load.ts');
  const again = validateConfig({ version: 1, providers: { mock: { baseUrl: s.mocks.main!.baseUrl, keys: [{ name: 'k', value: 'v' }] } } }, {});
  await expect(startGateway(again, { host: '127.0.0.1', port: s.gw.port })).rejects.toThrow(/address in use/);
  await s.close();
});

it('past the grace period, what still runs ends with an error that says so: a 503, or an error event on a started stream', async () => {
  const s = await startStack({ main: { latencyMs: 5_000 }, streams: { streamChunks: 50, chunkDelayMs: 200 } }, (m) => ({
    version: 1,
    providers: {
      slow: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'v' }] },
      streams: { baseUrl: m.streams!.baseUrl, keys: [{ name: 'k', value: 'v' }] },
    },
  }));
  const post = (model: string, stream: boolean) =>
    request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }) }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
  const slow = post('slow/m', false);
  const stream = post('streams/m', true);
  while (s.mocks.main!.stats().inFlight < 1 || s.gw.server.inFlight < 2) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 300)); // the stream has started
  await s.gw.close(100);
  const [a, b] = await Promise.all([slow, stream]);
  expect(a.status).toBe(503);
  expect(JSON.parse(a.text).error.code).toBe('shutting_down');
  expect(b.status).toBe(200);
  expect(b.text).toContain('"code":"shutting_down"');
  expect(b.text).not.toContain('[DONE]');
  expect(s.gw.server.aborted).toBe(0);
  await Promise.all(Object.values(s.mocks).map((m) => m.close()));
});

it('a HEAD health check on a connection still open while draining gets the 503 a GET gets (HAProxy: option httpchk HEAD /ready)', async () => {
  const s = await startStack({ main: { latencyMs: 300 } }, (m) => ({
    version: 1,
    providers: { mock: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'v' }] } },
  }));
  const { connect } = await import('node:net');
  // A keep-alive connection opened before the stop, as a load balancer's.
  const lb = connect(s.gw.port, '127.0.0.1');
  let received = '';
  lb.on('data', (d: Buffer) => (received += d.toString()));
  const answers = async (n: number) => {
    while ((received.match(/HTTP\/1\.1 /g) ?? []).length < n) await new Promise((r) => setTimeout(r, 5));
  };
  lb.write('HEAD /ready HTTP/1.1\r\nHost: x\r\n\r\n');
  await answers(1);
  expect(received).toMatch(/^HTTP\/1\.1 200/);
  const slow = request(`${s.gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock/m', messages: [{ role: 'user', content: 'hi' }] }) });
  while (s.mocks.main!.stats().inFlight < 1) await new Promise((r) => setTimeout(r, 10));
  const closing = s.gw.close(5_000);
  lb.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\nHEAD /ready HTTP/1.1\r\nHost: x\r\n\r\n');
  await answers(3);
  const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  expect(statuses).toEqual(['200', '503', '503']);
  lb.destroy();
  await (await slow).body.text();
  await closing;
  await Promise.all(Object.values(s.mocks).map((m) => m.close()));
});
