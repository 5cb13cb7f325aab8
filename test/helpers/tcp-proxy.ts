// A TCP proxy in front of a server (Redis here), for tests that cut connections or make one go silent
// at a chosen command: cut() destroys every connection through it (the client sees a reset and
// reconnects); swallow(text) makes the next connection whose client sends `text` lose that write and
// every answer after it, as a server that stalls mid-conversation.
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Destroys every connection through the proxy. */
  cut(): void;
  /** Resolves once a client has sent `text` (case-insensitive) on some connection, which then hears nothing more. */
  swallow(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let armed: { text: string; seen: () => void } | null = null;
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let silent = false;
    client.on('data', (b: Buffer) => {
      if (armed !== null && b.toString('latin1').toLowerCase().includes(armed.text)) {
        const a = armed;
        armed = null;
        silent = true;
        a.seen();
        return;
      }
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
      if (!silent) client.write(b);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    swallow: (text) =>
      new Promise<void>((resolve) => {
        armed = { text: text.toLowerCase(), seen: resolve };
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
