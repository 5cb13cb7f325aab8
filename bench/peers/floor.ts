// The floor: the least any Node proxy on uWS + undici must pay. One upstream, body buffered and
// forwarded as-is, response relayed with backpressure; no parsing, no routing, no headers of ours.
// Follows the tested pattern of engineering.md §3. `tsx bench/peers/floor.ts PORT UPSTREAM_ORIGIN`.
import uWS from 'uWebSockets.js';
import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

const [port = '8091', upstream = 'http://127.0.0.1:9101'] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 256, pipelining: 1 });
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'host']);

class Relay implements Dispatcher.DispatchHandler {
  aborted = false;
  controller: Dispatcher.DispatchController | null = null;
  constructor(readonly res: uWS.HttpResponse) {}
  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (this.aborted) return;
    this.res.cork(() => {
      this.res.writeStatus(String(status));
      for (const k in headers) if (!DROP.has(k)) this.res.writeHeader(k, String(headers[k]));
    });
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.aborted) return;
    let ok = true;
    this.res.cork(() => (ok = this.res.write(chunk)));
    if (!ok) {
      c.pause();
      this.res.onWritable(() => {
        c.resume();
        return true;
      });
    }
  }
  onResponseEnd(): void {
    if (!this.aborted) this.res.cork(() => this.res.end());
    this.aborted = true;
  }
  onResponseError(): void {
    if (!this.aborted) this.res.cork(() => this.res.writeStatus('502').end('{"error":{"message":"upstream"}}'));
    this.aborted = true;
  }
}

uWS
  .App()
  .post('/*', (res, req) => {
    const path = req.getUrl();
    const auth = req.getHeader('authorization');
    const relay = new Relay(res);
    res.onAborted(() => {
      relay.aborted = true;
      relay.controller?.abort(new Error('client aborted'));
    });
    const parts: Buffer[] = [];
    res.onData((ab, last) => {
      parts.push(Buffer.from(ab.slice(0)));
      if (!last) return;
      pool.dispatch({ path, method: 'POST', headers: ['content-type', 'application/json', 'authorization', auth], body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) }, relay);
    });
  })
  .listen('127.0.0.1', Number(port), (t) => {
    if (!t) process.exit(1);
    process.stdout.write(`floor listening on ${port}\n`);
  });
