// A translated answer (OpenAI client, Anthropic provider) that a client is slow to read stays in the
// shared buffer budget until it is sent, as a passed-through one does (server/respond.ts): it left the
// budget at once, held in uWS's own buffer, so slow readers of another format's provider escaped
// server.maxBufferedBytes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from 'node:net';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startHostile, type HostileProvider } from '../helpers/hostile.ts';

let s: Stack;
let h: HostileProvider;
const TEXT = 'q'.repeat(12 * 1024 * 1024);

beforeAll(async () => {
  h = await startHostile();
  s = await startStack({}, () => ({
    version: 1,
    server: { maxResponseBytes: 32 * 1024 * 1024, maxBufferedBytes: 64 * 1024 * 1024 },
    providers: { claude: { type: 'anthropic', baseUrl: h.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-0123456789' }] } },
    telemetry: { enabled: false },
  }));
  h.handle((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 3, output_tokens: 9 } }));
  });
});
afterAll(async () => {
  await s.close();
  await h.close();
});

it('a large translated answer stays in the buffer budget while the client has not read it, and leaves it once read', async () => {
  const body = JSON.stringify({ model: 'claude/claude-test', messages: [{ role: 'user', content: 'hi' }] });
  const sock = connect(s.gw.port, '127.0.0.1');
  sock.pause(); // reads nothing yet: the kernel's buffers fill, the rest waits
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const budget = s.gw.plan.bufferBudget;
  // Sent as far as the socket took it; the rest is still the gateway's to hold, and counted: once the
  // whole answer has come from the provider and been translated (polled: a busy machine takes longer).
  for (let i = 0; i < 500 && budget.bytes <= TEXT.length; i++) await new Promise((r) => setTimeout(r, 20));
  expect(budget.bytes).toBeGreaterThan(TEXT.length);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      received += d.length;
      if (received > TEXT.length) resolve();
    });
  });
  sock.resume();
  await done;
  for (let i = 0; i < 100 && budget.bytes !== 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(budget.bytes).toBe(0);
  sock.destroy();
}, 30_000);
