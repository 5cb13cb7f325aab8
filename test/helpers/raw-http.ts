import { connect, type Socket } from 'node:net';

/**
 * Writes raw bytes on a fresh connection to 127.0.0.1:port (`gapMs` between parts); resolves with
 * whatever the server sent, and whether it closed the connection, by then or after `waitMs`.
 */
export function rawHttp(port: number, parts: Array<string | Buffer>, opts: { gapMs?: number; waitMs?: number } = {}): Promise<{ data: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      resolve({ data, closed });
    });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (sock.destroyed) break;
        sock.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
    setTimeout(() => {
      sock.destroy();
      resolve({ data, closed });
    }, opts.waitMs ?? 1500);
  });
}
