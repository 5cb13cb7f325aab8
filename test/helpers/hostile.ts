// A provider that misbehaves on purpose: each test installs the answer it needs (leaky headers, an
// endless body, a stream without blank lines, a redirect). Plain node:http, so a handler can write
// anything, slowly or forever, and the server can count what the gateway really fetched.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type HostileHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface HostileProvider {
  readonly baseUrl: string;
  /** Requests received since the last reset. */
  requests: number;
  /** Body bytes written to the gateway since the last reset (what it fetched before it stopped reading). */
  bytesSent: number;
  /** Headers of the last request. */
  lastHeaders: IncomingMessage['headers'];
  handle(h: HostileHandler): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startHostile(): Promise<HostileProvider> {
  let handler: HostileHandler = (_req, res) => res.writeHead(500).end();
  const sockets = new Set<Socket>();
  const p = {
    baseUrl: '',
    requests: 0,
    bytesSent: 0,
    lastHeaders: {} as IncomingMessage['headers'],
    handle(h: HostileHandler) {
      handler = h;
    },
    reset() {
      p.requests = 0;
      p.bytesSent = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    p.requests++;
    p.lastHeaders = req.headers;
    const write = res.write.bind(res);
    res.write = ((chunk: string | Buffer, ...rest: unknown[]) => {
      p.bytesSent += Buffer.byteLength(chunk);
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  p.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return p;
}

/** Writes `chunk` every `everyMs` until the gateway closes the connection (or `max` writes). */
export function drip(res: ServerResponse, chunk: string, everyMs: number, max = Infinity): void {
  let n = 0;
  const tick = () => {
    if (res.destroyed || res.writableEnded || n++ >= max) return;
    const ok = res.write(chunk);
    if (everyMs === 0 && ok) setImmediate(tick);
    else if (everyMs === 0) res.once('drain', tick);
    else setTimeout(tick, everyMs);
  };
  tick();
}

export const CHAT_OK = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});
