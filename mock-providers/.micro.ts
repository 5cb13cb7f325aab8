import { readFileSync } from 'node:fs';
import { startMock } from './index.ts';
// Drive the server's accept path with fake req/res objects to time the JS work alone.
const body = readFileSync('/tmp/body.json');
const m = await startMock();
// reach into the app's handler: re-create a server instance via internals
const mod = await import('./server.ts');
const headers: [string, string][] = [['host', '127.0.0.1:9301'], ['connection', 'keep-alive'], ['content-type', 'application/json'], ['authorization', 'Bearer k'], ['content-length', String(body.length)]];
let handler: any;
const fakeApp: any = new Proxy({}, { get: (_t, p) => (p === 'post' ? (path: string, h: any) => { if (path === '/v1/chat/completions') handler = h; return fakeApp; } : () => fakeApp) });
const uws = (await import('uWebSockets.js')).default as any;
const origApp = uws.App; uws.App = () => fakeApp;
// construct a MockServer through startMock path is hard; use the class via a second startMock with patched App
const p = mod.startMock({}).catch(() => {}); // listen on fakeApp never calls back
uws.App = origApp;
const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.length);
let onData: any, sink = 0;
const res: any = {
  onAborted() { return res; }, onData(f: any) { onData = f; return res; },
  writeStatus() { return res; }, writeHeader() { return res; }, end(b: string) { sink += b.length; return res; },
};
const req: any = { forEach(f: any) { for (const [k, v] of headers) f(k, v); } };
function one() { handler(res, req); onData(ab, true); }
for (let i = 0; i < 200000; i++) one();
const n = 500000; const s = process.hrtime.bigint();
for (let i = 0; i < n; i++) one();
console.log('per request µs', (Number(process.hrtime.bigint() - s) / 1000 / n).toFixed(2), sink > 0);
void p; await m.close(); process.exit(0);
